"""Cursor: per-request usage events (Admin API JSON and dashboard CSV) and daily activity.

``cursor_events``: pages of the Admin API ``POST /teams/filtered-usage-events``,
``{totalUsageEventsCount, pagination, usageEvents: [...], period}``. One event is one request: a
millisecond ``timestamp``, ``userEmail``, ``model``, ``kind`` and, for token-based calls,
``tokenUsage`` with four disjoint buckets and ``totalCents`` (the model cost in cents).

``cursor_events_csv``: the dashboard's usage-events export, one row per request::

    Date,User,Cloud Agent ID,Automation ID,Kind,Model,Max Mode,Input (w/ Cache Write),
    Input (w/o Cache Write),Cache Read,Output Tokens,Total Tokens,Cost

"Input (w/ Cache Write)" holds the cache-write tokens and "Input (w/o Cache Write)" the plain input:
the four token columns are disjoint and Total Tokens is their sum. Cost is dollars ("0.12", "$0.01")
or a word ("Included", "Free", "-"). Older exports lack User, Cloud Agent ID and Automation ID, and
some have Requests instead of Cost.

Both describe the same events, so both yield source ``cursor_events`` with the event's own
millisecond time in ``dims``: an event imported from the API and again from a CSV has one natural key
and counts once.

``cursor_daily_usage``: pages of ``POST /teams/daily-usage-data``, ``{data: [...], period}``, one
row per person and day with activity counts (requests, accepted lines, accepted edits) and no tokens.

``cursor_members``: ``GET /teams/members``, ``{teamMembers: [{name, email, role}]}``: who is on the team.

``cursor_spend``: pages of ``POST /teams/spend``, ``{teamMemberSpend: [...], subscriptionCycleStart}``:
each member's spend in the current billing cycle (``spendCents``), for reconciliation only. It covers
the cycle so far, so it is kept on the cycle's first day and replaced by each later answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from accounts.models import ProviderIdentity

from . import fields
from .formats import Format
from .reading import Export
from .rows import ActivityRow, CostRow, IdentityKey, IdentityRow, Item, ParseContext, Problem, UsageRow

VENDOR = "cursor"
# The sources these rows count as (leaderboard.models.Source values: that module imports this package,
# so the names are written out rather than imported).
SOURCE_EVENTS, SOURCE_DAILY = "cursor_events", "cursor_daily"
SOURCE_SPEND = "cursor_spend"

# Words in Kind or Cost that say Cursor charged nothing for the request ("Errored, No Charge",
# "Aborted, Not Charged", "Free"). "Included" is not one of them: included usage still has a model
# cost, which the API reports as totalCents and the CSV hides, so it is estimated instead.
NOT_CHARGED = ("no charge", "not charged", "free")

CSV_DATE, CSV_USER, CSV_KIND, CSV_MODEL = "date", "user", "kind", "model"
CSV_CACHE_WRITE, CSV_INPUT = "input (w/ cache write)", "input (w/o cache write)"
CSV_CACHE_READ, CSV_OUTPUT, CSV_TOTAL, CSV_COST = "cache read", "output tokens", "total tokens", "cost"
CSV_REQUIRED = (CSV_DATE, CSV_MODEL, CSV_CACHE_WRITE, CSV_INPUT, CSV_CACHE_READ, CSV_OUTPUT)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MILLISECOND = timedelta(milliseconds=1)


# --- usage events, Admin API JSON -----------------------------------------------------------------


def sniff_events(document) -> bool:
    return isinstance(document, dict) and "usageEvents" in document


def parse_events(export: Export, context: ParseContext) -> Iterator[Item]:
    for where, page in export.documents():
        events = page.get("usageEvents") if isinstance(page, dict) else None
        if not isinstance(events, list):
            yield Problem(f"{context.file_name} {where}", "usageEvents", "must be a list of usage events")
            continue
        for index, event in enumerate(events):
            try:
                yield _event_row(event)
            except fields.FieldError as error:
                yield Problem(f"{context.file_name} {where} usageEvents[{index}]", error.field, error.message)


def _event_row(event) -> UsageRow:
    if not isinstance(event, dict):
        raise fields.FieldError("", "must be a usage event object")
    millis = _epoch_millis(event.get("timestamp"), "timestamp")
    # Calls priced per request rather than per token (isTokenBasedCall false) carry no tokenUsage.
    usage = event.get("tokenUsage") or {}
    if not isinstance(usage, dict):
        raise fields.FieldError("tokenUsage", "must be an object")
    row = UsageRow(
        vendor=VENDOR,
        source=SOURCE_EVENTS,
        identity=_email_identity(event.get("userEmail"), "userEmail"),
        day=fields.epoch_day(millis, "timestamp", milliseconds=True),
        model=fields.text(event.get("model"), "model"),
        dims=_event_dims(millis),
        input_tokens=fields.count(usage.get("inputTokens"), "tokenUsage.inputTokens"),
        cache_write_tokens=fields.count(usage.get("cacheWriteTokens"), "tokenUsage.cacheWriteTokens"),
        cache_read_tokens=fields.count(usage.get("cacheReadTokens"), "tokenUsage.cacheReadTokens"),
        output_tokens=fields.count(usage.get("outputTokens"), "tokenUsage.outputTokens"),
        requests=1,
    )
    charged = not fields.flag(event.get("isFreeBugbot"), "isFreeBugbot") and _charged(event.get("kind"))
    _set_cost(row, fields.money(usage.get("totalCents"), "tokenUsage.totalCents", cents=True), charged=charged)
    return row


def _epoch_millis(value, field: str) -> int:
    """The API's event time: epoch milliseconds, as a string ("1790856596170") or a number."""
    fields.epoch_day(value, field, milliseconds=True)  # junk, and times before 2020 or after today
    millis = Decimal(str(value).strip())  # a number now: epoch_day read it
    if millis != millis.to_integral_value():
        raise fields.FieldError(field, f"must be whole milliseconds, got {fields.show(value)}")
    return int(millis)


# --- usage events, dashboard CSV ------------------------------------------------------------------


def sniff_events_csv(header) -> bool:
    return (
        isinstance(header, list)
        and {CSV_DATE, CSV_MODEL, CSV_KIND, CSV_CACHE_READ} <= set(header)
        and "provider" not in header
    )


def parse_events_csv(export: Export, context: ParseContext) -> Iterator[Item]:
    header = export.require_columns(*CSV_REQUIRED)
    owner = None
    if CSV_USER not in header:
        # Older exports are one person's own usage and name nobody. Attributing them needs the
        # uploader to say whose it is; guessing would give usage to the wrong person.
        if not context.person_email:
            yield Problem(
                f"{context.file_name} line 1",
                "User",
                "this export has no User column, so its usage cannot be attributed; export the team "
                "usage events again from the Cursor dashboard with the User column, or import this file "
                "on behalf of the one person it belongs to",
            )
            return
        owner = context.person_email
    for where, row in export.rows():
        try:
            yield _csv_row(row, owner)
        except fields.FieldError as error:
            yield Problem(f"{context.file_name} {where}", error.field, error.message)


def _csv_row(row: dict[str, str], owner: str | None) -> UsageRow:
    millis = _iso_millis(row.get(CSV_DATE), CSV_DATE)
    usage = UsageRow(
        vendor=VENDOR,
        source=SOURCE_EVENTS,
        identity=_email_identity(owner if owner is not None else row.get(CSV_USER), CSV_USER),
        day=fields.epoch_day(millis, CSV_DATE, milliseconds=True),
        model=fields.text(row.get(CSV_MODEL), CSV_MODEL),
        dims=_event_dims(millis),
        input_tokens=fields.count(row.get(CSV_INPUT), CSV_INPUT),
        cache_write_tokens=fields.count(row.get(CSV_CACHE_WRITE), CSV_CACHE_WRITE),
        cache_read_tokens=fields.count(row.get(CSV_CACHE_READ), CSV_CACHE_READ),
        output_tokens=fields.count(row.get(CSV_OUTPUT), CSV_OUTPUT),
        requests=1,
    )
    _check_total(row.get(CSV_TOTAL), usage)
    charged = _charged(row.get(CSV_KIND)) and _charged(row.get(CSV_COST))
    _set_cost(usage, fields.money(row.get(CSV_COST), CSV_COST), charged=charged)
    return usage


def _iso_millis(value, field: str) -> int:
    """Epoch milliseconds of an ISO 8601 time ("2026-10-16T16:43:52.831Z"); no offset means UTC."""
    text = fields.text(value, field, required=True)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise fields.FieldError(field, f"must be an ISO 8601 time, got '{text}'") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // MILLISECOND


def _check_total(cell, row: UsageRow) -> None:
    """Total Tokens must be the sum of the four columns: a mismatch means a column is misread."""
    if cell is None or not cell.strip():
        return
    total = fields.count(cell, CSV_TOTAL)
    parts = row.input_tokens + row.cache_write_tokens + row.cache_read_tokens + row.output_tokens
    if total != parts:
        raise fields.FieldError(CSV_TOTAL, f"is {total:,} but the four token columns add up to {parts:,}")


# --- shared by both event formats -----------------------------------------------------------------


def _event_dims(millis: int) -> str:
    # The event's own time makes each request its own key, the same from the API and the CSV.
    return f"event {millis}"


def _email_identity(value, field: str) -> IdentityKey:
    return IdentityKey(VENDOR, ProviderIdentity.Kind.EMAIL, fields.email(value, field))


def _charged(word) -> bool:
    lowered = word.lower() if isinstance(word, str) else ""
    return not any(marker in lowered for marker in NOT_CHARGED)


def _set_cost(row: UsageRow, amount: Decimal | None, *, charged: bool) -> None:
    """Cursor's own amount when it gives one; else 0 when nothing can have cost money; else estimate.

    Nothing costs money when Cursor says it charged nothing, or when the request used no tokens (a
    request-priced call): pricing zero tokens can only give 0, or "unknown" for models the price list
    lacks, which would wrongly mark the day unpriced. Otherwise ("Included", "-", no Cost column, no
    totalCents) the cost is left None for the price list to estimate.
    """
    tokens = row.input_tokens + row.cache_write_tokens + row.cache_read_tokens + row.output_tokens
    if amount is None and (not charged or tokens == 0):
        amount = Decimal(0)
    row.cost_usd, row.cost_reported = amount, amount is not None


# --- daily usage, Admin API JSON ------------------------------------------------------------------


def sniff_daily(document) -> bool:
    if not isinstance(document, dict) or not isinstance(document.get("data"), list):
        return False
    data = document["data"]
    if not data:
        # An empty page is still recognisable by its period, which no other provider's page has.
        return isinstance(document.get("period"), dict) and "startDate" in document["period"]
    return isinstance(data[0], dict) and {"isActive", "email"} <= data[0].keys()


def parse_daily(export: Export, context: ParseContext) -> Iterator[Item]:
    for where, page in export.documents():
        days = page.get("data") if isinstance(page, dict) else None
        if not isinstance(days, list):
            yield Problem(f"{context.file_name} {where}", "data", "must be a list of daily usage rows")
            continue
        for index, day in enumerate(days):
            try:
                yield _daily_row(day)
            except fields.FieldError as error:
                yield Problem(f"{context.file_name} {where} data[{index}]", error.field, error.message)


def _daily_row(day) -> ActivityRow:
    if not isinstance(day, dict):
        raise fields.FieldError("", "must be a daily usage object")

    def total(*names: str) -> int:
        return sum(fields.count(day.get(name), name) for name in names)

    return ActivityRow(
        vendor=VENDOR,
        source=SOURCE_DAILY,
        identity=_email_identity(day.get("email"), "email"),
        day=fields.epoch_day(day.get("date"), "date", milliseconds=True),
        active=fields.flag(day.get("isActive"), "isActive"),
        # Every kind of AI request Cursor counts; the subscription/API-key/usage-based counts split
        # the same requests by who pays, so adding them too would count requests twice.
        requests=total("composerRequests", "chatRequests", "agentRequests", "cmdkUsages", "bugbotUsages"),
        lines_added=total("acceptedLinesAdded"),
        lines_removed=total("acceptedLinesDeleted"),
        edits_accepted=total("totalAccepts", "totalTabsAccepted"),
        edits_rejected=total("totalRejects"),
        applies=total("totalApplies"),
        tabs_accepted=total("totalTabsAccepted"),
    )


# --- members and spend, Admin API JSON -----------------------------------------------------------


def sniff_members(document) -> bool:
    return isinstance(document, dict) and isinstance(document.get("teamMembers"), list)


def parse_members(export: Export, context: ParseContext) -> Iterator[Item]:
    for where, page in export.documents():
        members = page.get("teamMembers") if isinstance(page, dict) else None
        if not isinstance(members, list):
            yield Problem(f"{context.file_name} {where}", "teamMembers", "must be a list of team members")
            continue
        for index, member in enumerate(members):
            try:
                if not isinstance(member, dict):
                    raise fields.FieldError("", "must be a team member object")
                identity = _email_identity(member.get("email"), "email")
                yield IdentityRow(identity=identity, label=fields.text(member.get("name"), "name") or identity.value,
                                  email=identity.value)
            except fields.FieldError as error:
                yield Problem(f"{context.file_name} {where} teamMembers[{index}]", error.field, error.message)


def sniff_spend(document) -> bool:
    return isinstance(document, dict) and isinstance(document.get("teamMemberSpend"), list)


def parse_spend(export: Export, context: ParseContext) -> Iterator[Item]:
    for where, page in export.documents():
        place = f"{context.file_name} {where}"
        spend = page.get("teamMemberSpend") if isinstance(page, dict) else None
        if not isinstance(spend, list):
            yield Problem(place, "teamMemberSpend", "must be a list of members' spend")
            continue
        try:
            cycle = fields.epoch_day(page.get("subscriptionCycleStart"), "subscriptionCycleStart", milliseconds=True)
        except fields.FieldError as error:
            yield Problem(place, error.field, error.message)
            continue
        for index, member in enumerate(spend):
            try:
                if not isinstance(member, dict):
                    raise fields.FieldError("", "must be a member's spend object")
                email = fields.email(member.get("email"), "email")
                amount = fields.money(member.get("spendCents"), "spendCents", cents=True) or Decimal(0)
                yield CostRow(vendor=VENDOR, source=SOURCE_SPEND, day=cycle, amount_usd=amount, dims=f"member {email}")
            except fields.FieldError as error:
                yield Problem(f"{place} teamMemberSpend[{index}]", error.field, error.message)


FORMATS = [
    Format(name="cursor_events", label="Cursor usage events (Admin API)", kind="json",
           sniff=sniff_events, parse=parse_events),
    Format(name="cursor_events_csv", label="Cursor usage events CSV (dashboard export)", kind="csv",
           sniff=sniff_events_csv, parse=parse_events_csv),
    Format(name="cursor_daily_usage", label="Cursor daily usage (Admin API)", kind="json",
           sniff=sniff_daily, parse=parse_daily),
    Format(name="cursor_members", label="Cursor team members (Admin API)", kind="json",
           sniff=sniff_members, parse=parse_members),
    Format(name="cursor_spend", label="Cursor spend this billing cycle (Admin API)", kind="json",
           sniff=sniff_spend, parse=parse_spend),
]
