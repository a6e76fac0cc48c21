"""Importers, one module per provider, found through FORMATS (name -> Format).

Each module exposes ``FORMATS``: a list of :class:`~.formats.Format`. To add a provider, write its
module with that shape and list it here; nothing else changes.
"""

from __future__ import annotations

from . import anthropic, ccusage, cursor, generic, github, openai
from .formats import Format
from .reading import Export
from .rows import ImportRefused, Problem

SNIFF_DOCUMENTS = 20

_MODULES = (anthropic, openai, cursor, github, ccusage, generic)

FORMATS: dict[str, Format] = {fmt.name: fmt for module in _MODULES for fmt in module.FORMATS}


def detect_format(export: Export) -> Format:
    """The format of ``export``, recognised from its content (never from its file name).

    JSON files are judged by their first documents that some format claims, so a JSON Lines file
    that starts with a quiet day's empty page is still recognised. A file that turns out malformed,
    truncated or past a reading limit before any document is claimed is refused for that, where it
    is: "not a format this app knows" would hide what is wrong with it.
    """
    candidates = [fmt for fmt in FORMATS.values() if fmt.kind == export.kind]
    samples = export.leading_documents(SNIFF_DOCUMENTS) if export.kind == "json" else [export.header()]
    for sample in samples:
        matches = [fmt for fmt in candidates if fmt.sniff(sample)]
        if len(matches) == 1:
            return matches[0]
        if matches:
            names = ", ".join(sorted(fmt.label for fmt in matches))
            raise ImportRefused(Problem(export.name, "", f"could be any of {names}; choose the format explicitly"))
    raise ImportRefused(
        Problem(export.name, "", f"not a usage export this app knows ({export.kind.upper()} in no known format); "
                "choose the format explicitly if it is one of: " + known_labels())
    )


def known_labels() -> str:
    """The formats as the upload form's dropdown names them: what an admin can choose from."""
    return ", ".join(sorted((fmt.label for fmt in FORMATS.values()), key=str.lower))


def get_format(name: str) -> Format:
    try:
        return FORMATS[name]
    except KeyError:
        raise ImportRefused(
            Problem("", "format", f"unknown format '{name}'; known formats: {', '.join(sorted(FORMATS))}")
        ) from None
