"""GitHub Copilot: the per-user usage metrics report and the seat list.

- ``copilot_usage``: the Copilot usage metrics per-user report (``users-1-day`` / ``users-28-day``,
  downloaded from the signed links the ``/copilot/metrics/reports/...`` endpoints return). NDJSON with
  one user-day object per line; a JSON array of such objects is accepted too. It says who used Copilot
  on a day and how (prompts, accepted code, lines); tokens exist only for Copilot CLI use.
- ``copilot_seats``: ``GET /orgs/{org}/copilot/billing/seats`` pages (``{total_seats, seats: [...]}``).
  It names every seat holder, and each seat's ``last_activity_at`` marks that day as active.

People are named by GitHub login only (no email), so identities are ``("github", "login", login)`` and
the roster's ``github_login`` column maps them. Field meanings are in ``provider-formats.md`` section 6.
"""

from __future__ import annotations

from collections.abc import Iterator

from accounts.models import ProviderIdentity

from . import fields
from .formats import Format
from .reading import Export
from .rows import ActivityRow, IdentityKey, IdentityRow, Item, ParseContext, Problem, UsageRow

VENDOR = "github"


def _login(value, field: str) -> IdentityKey:
    # GitHub logins are case-insensitive; identities of that kind are stored lower-cased.
    login = fields.text(value, field, required=True).lower()
    return IdentityKey(VENDOR, ProviderIdentity.Kind.LOGIN, login)




# --- Usage metrics: one user-day per line ------------------------------------------------------


def sniff_usage(doc) -> bool:
    # A JSON Lines file whose lines are arrays of user-days shows its first array here.
    if isinstance(doc, list):
        doc = doc[0] if doc else None
    # The user-teams report has user_login and day too, but only to join users to teams.
    return isinstance(doc, dict) and {"user_login", "day"} <= doc.keys() and "team_id" not in doc


def parse_usage(export: Export, context: ParseContext) -> Iterator[Item]:
    for where, doc in export.documents():
        for place, record in _user_days(f"{context.file_name} {where}", doc):
            try:
                yield from _user_day_rows(record)
            except fields.FieldError as error:
                yield Problem(place, error.field, error.message)


def _user_days(place: str, doc) -> Iterator[tuple[str, object]]:
    if isinstance(doc, list):
        for index, record in enumerate(doc):
            yield f"{place}[{index}]", record
    else:
        yield place, doc


def _user_day_rows(record) -> list[ActivityRow | UsageRow]:
    """The activity of one user-day and, when they used the CLI with tokens, its token usage."""
    if not isinstance(record, dict):
        raise fields.FieldError("", "must be a user-day object")
    identity = _login(record.get("user_login"), "user_login")
    day = fields.iso_day(record.get("day"), "day")
    # Absent when the user did not use the CLI that day.
    cli = fields.mapping(record.get("totals_by_cli"), "totals_by_cli")
    activity = ActivityRow(
        vendor=VENDOR,
        source="copilot_usage",
        identity=identity,
        day=day,
        active=True,  # a user with no activity that day has no line at all
        requests=fields.count(record.get("user_initiated_interaction_count"), "user_initiated_interaction_count"),
        lines_added=fields.count(record.get("loc_added_sum"), "loc_added_sum"),
        lines_removed=fields.count(record.get("loc_deleted_sum"), "loc_deleted_sum"),
        edits_accepted=fields.count(record.get("code_acceptance_activity_count"), "code_acceptance_activity_count"),
        sessions=fields.count(cli.get("session_count"), "totals_by_cli.session_count"),
        chat_days=int(fields.flag(record.get("used_chat"), "used_chat")),
        agent_days=int(fields.flag(record.get("used_agent"), "used_agent")),
    )
    tokens = fields.mapping(cli.get("token_usage"), "totals_by_cli.token_usage")
    if not tokens:
        return [activity]
    # The report has no per-model split of CLI tokens, and no split of cached prompt tokens either:
    # all prompt tokens count as uncached input.
    usage = UsageRow(
        vendor=VENDOR,
        source="copilot_usage",
        identity=identity,
        day=day,
        input_tokens=fields.count(tokens.get("prompt_tokens_sum"), "totals_by_cli.token_usage.prompt_tokens_sum"),
        output_tokens=fields.count(tokens.get("output_tokens_sum"), "totals_by_cli.token_usage.output_tokens_sum"),
        requests=fields.count(cli.get("request_count"), "totals_by_cli.request_count"),
    )
    return [activity, usage]


# --- Seats -------------------------------------------------------------------------------------


def sniff_seats(doc) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("seats"), list)


def parse_seats(export: Export, context: ParseContext) -> Iterator[Item]:
    for where, page in export.documents():
        place = f"{context.file_name} {where}"
        seats = page.get("seats") if isinstance(page, dict) else None
        if not isinstance(seats, list):
            yield Problem(place, "seats", "must be a list (a page of GET /orgs/{org}/copilot/billing/seats)")
            continue
        for index, seat in enumerate(seats):
            try:
                yield from _seat_rows(seat)
            except fields.FieldError as error:
                yield Problem(f"{place} seats[{index}]", error.field, error.message)


def _seat_rows(seat) -> list[IdentityRow | ActivityRow]:
    if not isinstance(seat, dict):
        raise fields.FieldError("", "must be a seat object")
    assignee = fields.mapping(seat.get("assignee"), "assignee")
    login = fields.text(assignee.get("login"), "assignee.login", required=True)
    identity = _login(login, "assignee.login")
    rows: list[IdentityRow | ActivityRow] = [IdentityRow(identity=identity, label=login)]
    # Null means the seat was never used: the identity is still worth knowing (an idle licence).
    last_activity = seat.get("last_activity_at")
    if last_activity is not None:
        rows.append(
            ActivityRow(
                vendor=VENDOR,
                source="copilot_seats",
                identity=identity,
                day=fields.iso_day(last_activity, "last_activity_at"),
                active=True,
            )
        )
    return rows


FORMATS = [
    Format(
        name="copilot_usage",
        label="GitHub Copilot usage metrics, per-user report (NDJSON)",
        kind="json",
        sniff=sniff_usage,
        parse=parse_usage,
    ),
    Format(
        name="copilot_seats",
        label="GitHub Copilot seats (GET /orgs/{org}/copilot/billing/seats)",
        kind="json",
        sniff=sniff_seats,
        parse=parse_seats,
    ),
]
