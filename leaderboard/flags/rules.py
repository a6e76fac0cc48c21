"""The flag rules: what each kind's numbers mean and their defaults, which days each rule looks at,
how the kinds relate (which judge low usage, which covers another), and the admins' writes on rules
and exemptions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import Person

from ..budgets import Calendar
from ..models import Exemption, FlagRule, Severity

Kind = FlagRule.Kind

# What each number of a rule means, per kind: (field, label, help). The rules page shows these.
PARAMETERS: dict[str, list[tuple[str, str, str]]] = {
    Kind.UNDERUSE: [
        ("window_days", "Trailing days", "The window the share of budget is measured over."),
        ("threshold", "Flag below (% of budget)", "Share of the window's budget used, in percent."),
        ("severe_threshold", "High severity below (%)", "A second, higher severity for very low use."),
    ],
    Kind.INACTIVE: [
        ("window_days", "Working days without usage", "No usage or activity from any source for this long."),
    ],
    Kind.DROP: [
        ("window_days", "Recent days", "Usage over these last days…"),
        ("baseline_days", "Against the previous days", "…compared with the person's own days before them."),
        ("threshold", "Drop of more than (%)", "Daily average tokens down by more than this."),
    ],
    Kind.RUNAWAY: [
        ("window_days", "Days looked at", "A spike older than this no longer keeps the flag open."),
        ("threshold", "A day above (× daily budget)", "One day's spend above this multiple of a working day's budget."),
        ("amount_usd", "Or a day above (USD)", "An absolute daily amount, whatever the budget. Empty: off."),
        ("cap_usd", "Or this month's forecast above (USD)", "At the current pace. Empty: off."),
    ],
    Kind.UNATTRIBUTED: [
        ("window_days", "Trailing days", "Usage of identities nobody is mapped to over this window…"),
        ("amount_usd", "Above (USD)", "…above this amount, per identity. Shown to admins only."),
    ],
    Kind.BURN_WITHOUT_OUTPUT: [
        ("window_days", "Trailing days", "Spend over this window…"),
        ("amount_usd", "Above (USD)", "…above this amount, with no output (commits, pull requests, accepted "
                                      "lines or edits, sessions) reported by any source."),
    ],
    Kind.OUTLIER: [
        ("window_days", "Days looked at", "A day, or these days together, compared with the person's team."),
        ("threshold", "Above (× the team's median)", "A day (or the days together) above this multiple of the "
                                                     "team's median day (or total)."),
        ("amount_usd", "And at least (USD)", "Smaller amounts are never outliers worth a flag."),
    ],
}

DEFAULT_RULES: dict[str, dict] = {
    Kind.UNDERUSE: {"severity": Severity.MEDIUM, "window_days": 30, "threshold": Decimal(10), "severe_threshold": Decimal(2)},
    Kind.INACTIVE: {"severity": Severity.MEDIUM, "window_days": 10},
    Kind.DROP: {"severity": Severity.LOW, "window_days": 14, "baseline_days": 56, "threshold": Decimal(70)},
    # Money still burning can't wait for an answer: runaway spend goes to managers at once.
    Kind.RUNAWAY: {"severity": Severity.HIGH, "window_days": 7, "threshold": Decimal(5),
                   "amount_usd": Decimal(1000), "cap_usd": Decimal(10000), "employee_first_days": 0},
    Kind.UNATTRIBUTED: {"severity": Severity.MEDIUM, "window_days": 30, "amount_usd": Decimal(50)},
    Kind.BURN_WITHOUT_OUTPUT: {"severity": Severity.MEDIUM, "window_days": 14, "amount_usd": Decimal(200)},
    Kind.OUTLIER: {"severity": Severity.LOW, "window_days": 7, "threshold": Decimal(5), "amount_usd": Decimal(50)},
}

# The rules about a person, in the order they are judged (the flags of one run open in this order).
PERSON_RULES = (Kind.INACTIVE, Kind.UNDERUSE, Kind.DROP, Kind.RUNAWAY, Kind.BURN_WITHOUT_OUTPUT, Kind.OUTLIER)
LOW_USAGE_RULES = (Kind.UNDERUSE, Kind.INACTIVE, Kind.DROP)
# A more telling flag covers a weaker one about the same person: no second flag is opened.
COVERED_BY = {Kind.UNDERUSE: (Kind.INACTIVE,), Kind.DROP: (Kind.INACTIVE, Kind.UNDERUSE), Kind.OUTLIER: (Kind.RUNAWAY,)}
# What counts as output, from any source's activity rows: a day with any of these is a day with output.
OUTPUT_FIELDS = ("commits", "pull_requests", "lines_added", "edits_accepted", "sessions")
# The sources whose activity rows report output; a person none of them covers has no output to see.
OUTPUT_SOURCES = ("claude_code_analytics", "claude_code_telemetry", "codex_telemetry", "codex_telemetry_metrics",
                  "gemini_cli_telemetry", "cursor_daily", "copilot_usage")
# Steady output: on average a day with output in every working week of the window.
WORKING_DAYS_PER_OUTPUT_DAY = 5
# The default of "employee first": a new flag is the person's alone for this many days.
EMPLOYEE_FIRST_DAYS = 3
# The chart on a flag shows this many days (more for drop, which compares two periods).
SERIES_DAYS = 30

SKIP_LABELS = {
    "grace": "in their first days (grace period)",
    "leave": "on leave",
    "terminated": "terminated",
    "exempt": "exempted by an admin",
    "stale": "their vendors' data is not fresh",
    "no_data": "no usage data imported yet",
    "no_budget": "no budget applies",
    "dismissed": "a recent dismissal still holds",
    "efficient": "low spend with steady output (efficient, not flagged)",
    "few_peers": "too few teammates with spend to compare with",
    "no_output_source": "no source reports their output",
}


def ensure_rules() -> dict[str, FlagRule]:
    """The rule rows, creating the defaults that are missing (a fresh install; a flushed test database)."""
    FlagRule.objects.bulk_create(
        [FlagRule(kind=kind, **params) for kind, params in DEFAULT_RULES.items()], ignore_conflicts=True
    )
    return {rule.kind: rule for rule in FlagRule.objects.all()}


@dataclass
class Windows:
    """The days each enabled rule looks at, for a run as of ``as_of`` (windows end the day before)."""

    as_of: date
    end: date
    rules: dict[str, FlagRule]
    calendar: Calendar

    def start(self, kind: str) -> date:
        rule = self.rules[kind]
        if kind == Kind.INACTIVE:
            return self.working_days_back(rule.window_days)
        return self.end - timedelta(days=rule.window_days - 1)

    def baseline_start(self) -> date:
        rule = self.rules[Kind.DROP]
        return self.start(Kind.DROP) - timedelta(days=rule.baseline_days or 56)

    def working_days_back(self, count: int) -> date:
        """The first day of the last ``count`` working days ending at ``end``."""
        day, seen = self.end, 0
        while True:
            if self.calendar.is_working(day):
                seen += 1
                if seen >= count:
                    return day
            day -= timedelta(days=1)
            if (self.end - day).days > 366:
                return day

    def working_days(self, start: date) -> int:
        """How many working days from ``start`` to ``end``, both included."""
        return sum(self.calendar.is_working(start + timedelta(days=n)) for n in range((self.end - start).days + 1))

    def earliest(self) -> date:
        """The first day any rule, the month's forecast or a flag's chart needs."""
        starts = [self.end - timedelta(days=SERIES_DAYS - 1), self.end.replace(day=1)]
        starts += [self.start(kind) for kind in self.rules if kind != Kind.UNATTRIBUTED]
        if Kind.DROP in self.rules:
            starts.append(self.baseline_start())
        return min(starts)


# --- Admin writes -------------------------------------------------------------------------------


def update_rules(*, changes: dict[int, dict], by: Person, address: str | None = None) -> int:
    """Save admins' edits to rules (rule id -> field values), each in the audit trail with the values
    before and after; returns how many rules changed."""
    editable = {"enabled", "severity", "window_days", "baseline_days", "threshold", "severe_threshold",
                "amount_usd", "cap_usd", "scope_team", "employee_first_days"}
    with transaction.atomic():
        for pk, values in changes.items():
            fields = {k: v for k, v in values.items() if k in editable}
            rule = FlagRule.objects.select_for_update().get(pk=pk)
            before = {name: _plain(getattr(rule, name)) for name in fields}
            after = {name: _plain(value) for name, value in fields.items()}
            FlagRule.objects.filter(pk=pk).update(**fields, updated_by=by, updated_at=timezone.now())
            if after != before:
                audit.record(actor=by, action="flag_rule.update", target=rule,
                             before={k: v for k, v in before.items() if after[k] != v},
                             after={k: v for k, v in after.items() if before[k] != v}, address=address)
    return len(changes)


def _plain(value):
    """A rule's field as the audit trail keeps it: a team as its id and name."""
    return {"id": value.pk, "name": str(value)} if hasattr(value, "pk") else value


def create_exemption(*, person: Person, reason: str, expires_on: date, rule: FlagRule | None = None,
                     by: Person | None = None, starts_on: date | None = None, address: str | None = None) -> Exemption:
    with transaction.atomic():
        exemption = Exemption.objects.create(person=person, rule=rule, reason=reason, expires_on=expires_on,
                                             starts_on=starts_on or timezone.now().date(), created_by=by)
        audit.record(actor=by, action="exemption.create", target=exemption, after={
            "person_id": person.pk, "rule": rule.kind if rule else None, "reason": reason,
            "starts_on": exemption.starts_on, "expires_on": expires_on}, address=address)
        return exemption


def end_exemption(*, exemption: Exemption, today: date | None = None, by: Person | None = None,
                  address: str | None = None) -> None:
    """End it now: it covered up to yesterday (or is dropped if it had not started)."""
    today = today or timezone.now().date()
    with transaction.atomic():
        before = {"person_id": exemption.person_id, "starts_on": exemption.starts_on, "expires_on": exemption.expires_on}
        if exemption.starts_on >= today:
            audit.record(actor=by, action="exemption.end", target=exemption, before=before, after=None, address=address)
            exemption.delete()
        else:
            Exemption.objects.filter(pk=exemption.pk).update(expires_on=today - timedelta(days=1))
            audit.record(actor=by, action="exemption.end", target=exemption, before=before,
                         after={**before, "expires_on": today - timedelta(days=1)}, address=address)
