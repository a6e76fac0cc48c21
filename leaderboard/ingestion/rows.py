"""The typed values every parser yields. Nothing past a parser sees a provider's dicts or columns."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NamedTuple


class IdentityKey(NamedTuple):
    """How a provider names someone: (vendor, kind, value). Kinds are ProviderIdentity.Kind values.

    A tuple rather than a dataclass: an import looks every row's key up in a dict, and a tuple hashes
    and compares in C.
    """

    vendor: str
    kind: str
    value: str


@dataclass(slots=True)
class UsageRow:
    """Token usage for one natural key: vendor, source, identity, UTC day, model and ``dims``.

    The four token counts are disjoint: ``input_tokens`` is uncached input. ``cost_usd`` is the
    provider's own figure in dollars when ``cost_reported``; None means "estimate it from the price
    list". Rows sharing a natural key within one file are summed; across files they replace.
    """

    vendor: str
    source: str
    identity: IdentityKey
    day: date
    model: str = ""
    dims: str = ""
    input_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    output_tokens: int = 0
    requests: int = 0
    cost_usd: Decimal | None = None
    cost_reported: bool = False


@dataclass(slots=True)
class ActivityRow:
    """Non-token activity for (vendor, source, identity, day); summed within a file like usage."""

    vendor: str
    source: str
    identity: IdentityKey
    day: date
    active: bool = False
    sessions: int = 0
    requests: int = 0
    lines_added: int = 0
    lines_removed: int = 0
    commits: int = 0
    pull_requests: int = 0
    edits_accepted: int = 0
    edits_rejected: int = 0
    # Cursor's applied edits and accepted tab completions (the latter also among edits_accepted).
    applies: int = 0
    tabs_accepted: int = 0
    # Copilot: whether chat and the agent were used that day (1 or 0), so that a period adds up to days.
    chat_days: int = 0
    agent_days: int = 0


@dataclass(slots=True)
class IdentityRow:
    """What an identity list says about one identity.

    ``email`` ties it to the person with that email; ``linked_to`` ties it to whoever another identity
    belongs to (an API key to the account that created it), now or once that account is mapped.
    """

    identity: IdentityKey
    label: str = ""
    email: str | None = None
    linked_to: IdentityKey | None = None
    is_service_account: bool = False


@dataclass(slots=True)
class CostRow:
    """An amount from a provider's own cost report, in dollars: what the invoice says a day cost, per
    the report's own grouping (``dims``). Never anyone's usage: the reconciliation page sets it beside
    the board's figures. Rows sharing (vendor, source, day, dims) within one file are summed."""

    vendor: str
    source: str
    day: date
    amount_usd: Decimal
    dims: str = ""
    model: str = ""


# What a problem must not carry from the file into its own text: control characters (a NUL cannot be
# stored in PostgreSQL's jsonb, a newline breaks the one-line summary) and lone surrogates (which
# cannot be encoded). Field names and paths come from the file too (keys of an open map).
_UNSAFE = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
# The longest text of a problem: a path, field or message is a line a person reads, and up to fifty
# problems are kept with a failed import.
MAX_PROBLEM_TEXT = 500


def _readable(text: str) -> str:
    if len(text) > MAX_PROBLEM_TEXT:
        text = text[: MAX_PROBLEM_TEXT - 3] + "..."
    return _UNSAFE.sub(lambda match: repr(match.group())[1:-1], text)


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong with the input, said so a person can find it: where, which field, what."""

    where: str
    field: str
    message: str

    def __post_init__(self):
        for name in ("where", "field", "message"):
            text = getattr(self, name)
            if len(text) > MAX_PROBLEM_TEXT or _UNSAFE.search(text):
                object.__setattr__(self, name, _readable(text))

    def as_dict(self) -> dict:
        return {"where": self.where, "field": self.field, "message": self.message}

    def __str__(self) -> str:
        field_part = f" {self.field}:" if self.field else ""
        return f"{self.where}:{field_part} {self.message}"


Item = UsageRow | ActivityRow | IdentityRow | CostRow | Problem


class ImportRefused(Exception):
    """The file cannot be imported at all (unknown format, unreadable, too large)."""

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem(where="", field="", message=problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


@dataclass(slots=True)
class ParseContext:
    """What a parser may know beyond the bytes: the file's name and, for single-person files, whose."""

    file_name: str
    person_email: str | None = None
    extras: dict = field(default_factory=dict)
