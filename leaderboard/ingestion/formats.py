"""The one shape every importer has, so the pipeline can treat them all alike."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .reading import Export
from .rows import Item, ParseContext


@dataclass(frozen=True)
class Format:
    """An export format: how to recognise it and how to read it into typed rows.

    ``sniff`` gets the first JSON document (for ``kind="json"``) or the normalized CSV header
    (``kind="csv"``) and says whether the file is in this format. ``parse`` streams the file and
    yields UsageRow, ActivityRow and IdentityRow values, or Problem values for rows it rejects (and
    then carries on, so that one pass reports many problems).
    """

    name: str
    label: str
    kind: str  # "json" or "csv"
    sniff: Callable[[object], bool]
    parse: Callable[[Export, ParseContext], Iterator[Item]]
    # True for files with no identity in them (ccusage): the uploader must say whose they are.
    needs_person: bool = False
