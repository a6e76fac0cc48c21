"""ccusage JSON reports: one person's Claude Code token usage, read from their own machine's logs.

``ccusage daily --json`` gives ``{"daily": [row, ...], "totals": {...}}``; ``monthly`` and ``weekly``
give the same rows under ``monthly`` (``month``: YYYY-MM, counted on the month's first day) and
``weekly`` (``week``: the week's first day); ``daily --instances`` groups rows by project as
``{"projects": {name: [row, ...]}}``. A row holds camelCase token counts, ``totalCost`` and
``modelBreakdowns`` (per model: ``modelName``, four token counts and ``cost`` in dollars); ``--no-cost``
leaves out every cost field. Field meanings are in ``provider-formats.md`` section 7.2.

The file names nobody, so whoever imports it says whose it is (``--email``, or an upload from the
person's page). It is the lowest-precedence Anthropic source: the pipeline counts it only for days no
Admin API or Claude Code analytics data covers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

from accounts.models import ProviderIdentity

from . import fields
from .formats import Format
from .reading import Export
from .rows import IdentityKey, ImportRefused, Item, ParseContext, Problem, UsageRow

VENDOR = "anthropic"
SOURCE = "ccusage"
PERIODS = ("daily", "weekly", "monthly")
TOKEN_FIELDS = ("inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens")


def sniff(doc) -> bool:
    if not isinstance(doc, dict):
        return False
    if any(isinstance(doc.get(period), list) for period in PERIODS):
        return True
    projects = doc.get("projects")
    if not isinstance(projects, dict) or not all(isinstance(rows, list) for rows in projects.values()):
        return False
    firsts = [rows[0] for rows in projects.values() if rows]
    return bool(firsts) and all(isinstance(row, dict) and "date" in row for row in firsts)


def parse(export: Export, context: ParseContext) -> Iterator[Item]:
    identity = _person(context)
    for where, doc in export.documents():
        for entry in _rows(f"{context.file_name} {where}", doc):
            if isinstance(entry, Problem):
                yield entry
            else:
                yield from _row_items(*entry, identity)


def _person(context: ParseContext) -> IdentityKey:
    if context.person_email is None:
        raise ImportRefused(
            Problem(
                context.file_name,
                "",
                "a ccusage file names nobody, so it must be attributed to a person: "
                "give --email on the command line, or upload it from the person's page",
            )
        )
    try:
        email = fields.email(context.person_email, "email")
    except fields.FieldError as error:
        raise ImportRefused(Problem(context.file_name, error.field, error.message)) from None
    return IdentityKey(VENDOR, ProviderIdentity.Kind.EMAIL, email)


def _rows(place: str, doc) -> Iterator[tuple[str, object] | Problem]:
    """(where, row) for every period row of a report, or a Problem when the document is no report."""
    if not isinstance(doc, dict):
        yield Problem(place, "", "must be a ccusage JSON report (an object with a daily, weekly or monthly list)")
        return
    found = False
    for period in PERIODS:
        if period in doc:
            found = True
            rows = doc[period]
            if not isinstance(rows, list):
                yield Problem(place, period, "must be a list")
                continue
            for index, row in enumerate(rows):
                yield f"{place} {period}[{index}]", row
    if "projects" in doc:
        found = True
        yield from _project_rows(place, doc["projects"])
    if not found:
        yield Problem(place, "", "must be a ccusage JSON report (an object with a daily, weekly or monthly list)")


def _project_rows(place: str, projects) -> Iterator[tuple[str, object] | Problem]:
    if not isinstance(projects, dict):
        yield Problem(place, "projects", "must be an object of project name -> rows")
        return
    for name, rows in projects.items():
        path = f"projects[{json.dumps(name)}]"
        if not isinstance(rows, list):
            yield Problem(place, path, "must be a list")
            continue
        for index, row in enumerate(rows):
            yield f"{place} {path}[{index}]", row


def _row_items(where: str, row, identity: IdentityKey) -> Iterator[Item]:
    """The usage rows of one report row, or Problems for what in it cannot be read."""
    if not isinstance(row, dict):
        yield Problem(where, "", "must be an object")
        return
    agents = _agents(row)
    # ccusage also reads Codex, OpenCode, Gemini CLI and more, and its unified report mixes them in a
    # row; their token totals then include counts (e.g. reasoning) outside the four fields.
    claude_only = agents <= {"claude"}
    try:
        day = _day(row)
        if claude_only:
            _check_total(row)
    except fields.FieldError as error:
        yield Problem(where, error.field, error.message)
        return
    breakdowns = row.get("modelBreakdowns")
    if not breakdowns:
        if not claude_only:
            yield Problem(where, "modelBreakdowns", _not_claude(agents))
            return
        try:
            yield _usage(row, day, identity, model="", cost_field="totalCost")
        except fields.FieldError as error:
            yield Problem(where, error.field, error.message)
        return
    if not isinstance(breakdowns, list):
        yield Problem(where, "modelBreakdowns", "must be a list")
        return
    for index, breakdown in enumerate(breakdowns):
        place = f"{where}.modelBreakdowns[{index}]"
        try:
            if not isinstance(breakdown, dict):
                raise fields.FieldError("", "must be an object")
            model = fields.text(breakdown.get("modelName"), "modelName")
            if not claude_only and "claude" not in model.lower():
                raise fields.FieldError("modelName", f"'{model}' is {_not_claude(agents)}")
            yield _usage(breakdown, day, identity, model=model, cost_field="cost")
        except fields.FieldError as error:
            yield Problem(place, error.field, error.message)


def _agents(row: dict) -> set[str]:
    """The tools a row says its usage came from; empty when it does not say (Claude Code only)."""
    metadata = row.get("metadata")
    agents = metadata.get("agents") if isinstance(metadata, dict) else None
    if isinstance(agents, list):
        return {str(agent) for agent in agents}
    agent = row.get("agent")
    return {agent} if isinstance(agent, str) and agent != "all" else set()


def _not_claude(agents: set[str]) -> str:
    tools = ", ".join(sorted(agents))
    return (
        f"not Claude Code usage (this report mixes {tools}); "
        "export Claude Code alone with `ccusage claude daily --json`"
    )


def _day(row: dict) -> date:
    """The UTC day a row is counted on: its date, the first day of its week, or of its month."""
    for key in ("date", "period", "week", "month"):
        if key in row:
            value = row[key]
            if isinstance(value, str) and len(value.strip()) == 7:  # YYYY-MM
                try:
                    first = date.fromisoformat(value.strip() + "-01")
                except ValueError:
                    raise fields.FieldError(key, f"must be a month (YYYY-MM), got {fields.show(value)}") from None
                return fields.claimed(first, key, value)
            # A day in the future is read, and the upload held for review (leaderboard/self_reports.py).
            return fields.claimed_day(value, key)
    raise fields.FieldError("date", "is required")


def _check_total(row: dict) -> None:
    # A sum that does not add up means an edited or corrupted file: better refused than counted.
    if row.get("totalTokens") is None:
        return
    total = fields.count(row["totalTokens"], "totalTokens")
    parts = sum(fields.count(row.get(name), name) for name in TOKEN_FIELDS)
    if total != parts:
        raise fields.FieldError(
            "totalTokens", f"is {total:,} but inputTokens + outputTokens + cacheCreationTokens + cacheReadTokens is {parts:,}"
        )


def _usage(counts: dict, day: date, identity: IdentityKey, *, model: str, cost_field: str) -> UsageRow:
    row = UsageRow(
        vendor=VENDOR,
        source=SOURCE,
        identity=identity,
        day=day,
        model=model,
        input_tokens=fields.count(counts.get("inputTokens"), "inputTokens"),
        output_tokens=fields.count(counts.get("outputTokens"), "outputTokens"),
        cache_write_tokens=fields.count(counts.get("cacheCreationTokens"), "cacheCreationTokens"),
        cache_read_tokens=fields.count(counts.get("cacheReadTokens"), "cacheReadTokens"),
    )
    cost = fields.money(counts.get(cost_field), cost_field)
    # ccusage writes 0 for a model missing from its price table: that is "unknown", not free.
    tokens = row.input_tokens + row.output_tokens + row.cache_write_tokens + row.cache_read_tokens
    if cost is not None and not (cost == 0 and tokens):
        row.cost_usd, row.cost_reported = cost, True
    return row


FORMATS = [
    Format(
        name="ccusage",
        label="ccusage daily/monthly JSON",
        kind="json",
        sniff=sniff,
        parse=parse,
        needs_person=True,
    )
]
