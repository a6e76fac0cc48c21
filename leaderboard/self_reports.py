"""Trust in self-reported usage: the checks a ccusage file passes before any of it counts, and an
admin's review of a file that failed one.

A person's own ccusage output is the one source anybody can write by hand. So on arrival (inside the
import, after parsing and before writing) its rows are checked: tokens a day above a ceiling, a cost
that is not what the price list says those tokens cost, days in the future or before the person
joined, a model the provider does not sell, the same file uploaded for someone else. A file failing
any check is *held*: nothing of it is written, the reasons are kept with it (file, day, field), and an
admin accepts it (it is then imported through the normal path, without these checks) or rejects it
(the raw file is kept; it never counts). Both decisions, with the admin's reason, stay in the export's
history and the audit trail.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import Person

from . import pricing
from .display import money
from .ingestion.rows import Problem, UsageRow
from .models import UsageExport

# The formats whose numbers the person they belong to wrote themselves.
SELF_REPORTED_FORMATS = frozenset({"ccusage"})
# How many days one row of a period report covers (a week or month is counted on its first day).
PERIOD_DAYS = {"daily": 1, "weekly": 7, "monthly": 31}

Status = UsageExport.Status


class Held(Exception):
    """A self-reported file failed a check: kept, not counted, until an admin decides."""

    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} check(s) failed")
        self.problems = problems


class ReviewRefused(Exception):
    """The export is not held (any more): someone else decided first, or it was never held."""


def applies(format_name: str, export: UsageExport) -> bool:
    """Whether this import is checked: self-reported, and not already accepted by an admin."""
    return format_name in SELF_REPORTED_FORMATS and export.accepted_at is None


# --- The checks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    max_tokens_per_day: int
    cost_tolerance: float

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(settings.SELF_REPORT_MAX_TOKENS_PER_DAY, settings.SELF_REPORT_COST_TOLERANCE)


def check(*, export: UsageExport, rows: list[UsageRow], today: date | None = None,
          limits: Limits | None = None) -> list[Problem]:
    """Every reason to hold this export, located (file, day, model, field); empty: it may count."""
    today = today or timezone.now().date()
    limits = limits or Limits.from_settings()
    name = export.original_name
    person = export.attributed_to
    problems: list[Problem] = []
    per_day: dict[date, int] = defaultdict(int)
    for row in rows:
        per_day[row.day] += _tokens(row)
    span = _period_days(export)
    for day in sorted(per_day):
        where = f"{name} day {day.isoformat()}"
        if day > today:
            problems.append(Problem(where, "date", f"is in the future (today is {today.isoformat()} UTC)"))
        if person is not None and person.start_date and day < person.start_date:
            problems.append(Problem(where, "date", f"is before {person} joined on {person.start_date.isoformat()}"))
        ceiling = limits.max_tokens_per_day * span
        if per_day[day] > ceiling:
            problems.append(Problem(where, "totalTokens", (
                f"claims {per_day[day]:,} tokens, above the ceiling of {ceiling:,} "
                f"({limits.max_tokens_per_day:,} a day)")))
    for row in rows:
        problems += _row_problems(name, row, limits)
    problems += _shared_file(export)
    return problems


def _row_problems(name: str, row: UsageRow, limits: Limits) -> list[Problem]:
    if not row.model:
        return []  # A row without a model breakdown: nothing to price it by or to look up.
    where = f"{name} day {row.day.isoformat()} model {row.model}"
    offered = pricing.offers(row.vendor, row.model)
    if offered is False:
        return [Problem(where, "modelName", f"is not a model {row.vendor} offers (unknown to the price list)")]
    if not row.cost_reported or row.cost_usd is None:
        return []
    prices = pricing.unit_prices(row.vendor, row.model)
    if prices is None:
        return []
    expected = pricing.estimate(prices, input=row.input_tokens, cache_write=row.cache_write_tokens,
                                cache_read=row.cache_read_tokens, output=row.output_tokens)
    if not expected:
        return []
    off = abs(row.cost_usd - expected) / expected
    if off <= Decimal(str(limits.cost_tolerance)):
        return []
    return [Problem(where, "cost", (
        f"claims {_dollars(row.cost_usd)} for {_tokens(row):,} tokens; the price list says {_dollars(expected)} "
        f"({float(off):.0%} off, more than the {limits.cost_tolerance:.0%} allowed)"))]


def _shared_file(export: UsageExport) -> list[Problem]:
    others = (UsageExport.objects.filter(sha256=export.sha256).exclude(pk=export.pk)
              .exclude(attributed_to=export.attributed_to).select_related("attributed_to"))
    return [
        Problem(export.original_name, "", f"the identical file was uploaded for {other.attributed_to or 'nobody'} "
                                          f"(import #{other.pk})")
        for other in others[:5]
    ]


def _period_days(export: UsageExport) -> int:
    """How many days a row of this report covers: 1 for a daily report, 7 weekly, 31 monthly."""
    try:
        with export.file.open("rb") as handle:
            doc = json.load(handle)
    except (OSError, ValueError):
        return 1
    if isinstance(doc, dict):
        return max((days for period, days in PERIOD_DAYS.items() if isinstance(doc.get(period), list)), default=1)
    return 1


def _tokens(row: UsageRow) -> int:
    return row.input_tokens + row.cache_write_tokens + row.cache_read_tokens + row.output_tokens


def _dollars(amount: Decimal) -> str:
    # Cents matter here: a forged claim is typically a few cents for billions of tokens.
    return money(amount) if amount >= 1 else f"${amount:.4f}"


# --- Holding and the admin's review ---------------------------------------------------------------


def history_entry(action: str, *, by: Person | None = None, reason: str = "", problems: list[dict] | None = None) -> dict:
    entry = {"action": action, "at": timezone.now().isoformat(), "by": by.pk if by else None,
             "by_name": str(by) if by else "", "reason": reason}
    if problems is not None:
        entry["problems"] = problems
    return entry


def held_exports():
    """The uploads waiting for an admin, oldest first."""
    return UsageExport.objects.filter(status=Status.HELD).select_related("attributed_to", "uploaded_by").order_by(
        "created_at", "pk")


def accept(*, export: UsageExport, by: Person, reason: str, address: str | None = None) -> UsageExport:
    """Accept a held upload: it is queued to import through the normal path (the caller queues it),
    without the self-report checks. ReviewRefused when it is not held."""
    return _decide(export=export, by=by, reason=reason, address=address, action="accepted")


def reject(*, export: UsageExport, by: Person, reason: str, address: str | None = None) -> UsageExport:
    """Reject a held upload: it never counts; its raw file is kept. ReviewRefused when it is not held."""
    return _decide(export=export, by=by, reason=reason, address=address, action="rejected")


def _decide(*, export: UsageExport, by: Person, reason: str, address: str | None, action: str) -> UsageExport:
    with transaction.atomic():
        locked = UsageExport.objects.select_for_update().get(pk=export.pk)
        if locked.status != Status.HELD:
            raise ReviewRefused(f"Import #{locked.pk} is {locked.get_status_display().lower()}, not held for review.")
        history = [*locked.review_history, history_entry(action, by=by, reason=reason)]
        changes: dict = {"review_history": history}
        if action == "accepted":
            changes.update(status=Status.QUEUED, accepted_at=timezone.now(), attempts=0, lease_owner="",
                           lease_expires_at=None, finished_at=None)
        else:
            changes.update(status=Status.REJECTED, failure=f"Rejected by {by}: {reason}")
        UsageExport.objects.filter(pk=locked.pk).update(**changes)
        audit.record(actor=by, action=f"usage_export.{'accept' if action == 'accepted' else 'reject'}",
                     target=locked, before={"status": Status.HELD},
                     after={"status": changes["status"], "reason": reason}, address=address)
    export.refresh_from_db()
    return export
