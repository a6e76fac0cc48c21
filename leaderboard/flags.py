"""Flag evaluation: every rule, for everyone, in a fixed number of queries.

``evaluate`` reads the rollups once (one aggregate per person over the longest window any rule
needs), decides per person and rule, and writes with bulk statements. At most one live flag exists
per person and rule (a conditional unique constraint): re-evaluation updates it, a cleared
condition resolves it (recorded as an event), and nothing is ever duplicated.

Windows end on the day before ``as_of``: the beat job runs in the morning, and today's data is
still arriving. Some people are never judged: in their first days (grace period), on leave,
terminated, exempted by an admin, or when the vendor data a rule needs is stale. Each run is recorded
(FlagEvaluation) so the queue can say what was not judged and why.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from accounts.models import Person, ProviderIdentity

from .budgets import CENT, BudgetBook, Calendar, forecast_month, money
from .models import (
    DailyUsage,
    Exemption,
    Flag,
    FlagEvaluation,
    FlagEvent,
    FlagRule,
    OrgSettings,
    PersonDay,
    Severity,
    Source,
    UsageExport,
    UsageRecord,
)

log = logging.getLogger(__name__)

Kind = FlagRule.Kind
Status = Flag.Status
Action = FlagEvent.Action

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
}

DEFAULT_RULES: dict[str, dict] = {
    Kind.UNDERUSE: {"severity": Severity.MEDIUM, "window_days": 30, "threshold": Decimal(10), "severe_threshold": Decimal(2)},
    Kind.INACTIVE: {"severity": Severity.MEDIUM, "window_days": 10},
    Kind.DROP: {"severity": Severity.LOW, "window_days": 14, "baseline_days": 56, "threshold": Decimal(70)},
    Kind.RUNAWAY: {"severity": Severity.HIGH, "window_days": 7, "threshold": Decimal(5),
                   "amount_usd": Decimal(1000), "cap_usd": Decimal(10000)},
    Kind.UNATTRIBUTED: {"severity": Severity.MEDIUM, "window_days": 30, "amount_usd": Decimal(50)},
}

# A drop from almost nothing is noise: the baseline needs this many active days to count.
DROP_MIN_BASELINE_ACTIVE_DAYS = 10
# The chart on a flag shows this many days (more for drop, which compares two periods).
SERIES_DAYS = 30
# "Which vendors does this person use": looked up over this many days, to know whose data matters.
VENDOR_LOOKBACK_DAYS = 90
LOW_USAGE_RULES = (Kind.UNDERUSE, Kind.INACTIVE, Kind.DROP)
# A more telling flag covers a weaker one about the same person: no second flag is opened.
COVERED_BY = {Kind.UNDERUSE: (Kind.INACTIVE,), Kind.DROP: (Kind.INACTIVE, Kind.UNDERUSE)}

SKIP_LABELS = {
    "grace": "in their first days (grace period)",
    "leave": "on leave",
    "terminated": "terminated",
    "exempt": "exempted by an admin",
    "stale": "their vendors' data is not fresh",
    "no_data": "no usage data imported yet",
    "no_budget": "no budget applies",
    "dismissed": "a recent dismissal still holds",
}


def ensure_rules() -> dict[str, FlagRule]:
    """The rule rows, creating the defaults that are missing (a fresh install; a flushed test database)."""
    FlagRule.objects.bulk_create(
        [FlagRule(kind=kind, **params) for kind, params in DEFAULT_RULES.items()], ignore_conflicts=True
    )
    return {rule.kind: rule for rule in FlagRule.objects.all()}


def fmt_day(day: date) -> str:
    return f"{day:%b} {day.day}, {day.year}"


def pct(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.1%}" if value < 0.1 else f"{value:.0%}"


# --- Reading ------------------------------------------------------------------------------------


@dataclass
class Windows:
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

    def earliest(self) -> date:
        starts = [self.end - timedelta(days=SERIES_DAYS - 1), self.end.replace(day=1)]
        starts += [self.start(kind) for kind in self.rules if kind != Kind.UNATTRIBUTED]
        if Kind.DROP in self.rules:
            starts.append(self.baseline_start())
        return min(starts)


def vendor_freshness() -> dict[str, date]:
    """Each vendor's latest imported day, from the exports that succeeded."""
    latest: dict[str, date] = {}
    rows = UsageExport.objects.filter(status=UsageExport.Status.SUCCEEDED, last_day__isnull=False)
    for vendors, last_day in rows.values_list("vendors", "last_day"):
        for vendor in vendors or []:
            if vendor not in latest or last_day > latest[vendor]:
                latest[vendor] = last_day
    return latest


def _aggregates(windows: Windows, person_ids: list[int] | None) -> dict[int, dict]:
    rules, end = windows.rules, windows.end
    annotations = {"month_spend": Sum("cost_usd", filter=Q(day__gte=end.replace(day=1)))}
    if Kind.UNDERUSE in rules:
        annotations["underuse_spend"] = Sum("cost_usd", filter=Q(day__gte=windows.start(Kind.UNDERUSE)))
    if Kind.INACTIVE in rules:
        annotations["last_active"] = Max("day", filter=Q(active=True))
    if Kind.DROP in rules:
        recent = windows.start(Kind.DROP)
        annotations["recent_tokens"] = Sum("total_tokens", filter=Q(day__gte=recent))
        baseline = Q(day__gte=windows.baseline_start(), day__lt=recent)
        annotations["baseline_tokens"] = Sum("total_tokens", filter=baseline)
        annotations["baseline_active"] = Count("pk", filter=baseline & Q(active=True))
    if Kind.RUNAWAY in rules:
        annotations["max_day_cost"] = Max("cost_usd", filter=Q(day__gte=windows.start(Kind.RUNAWAY)))
    rows = PersonDay.objects.filter(day__gte=windows.earliest(), day__lte=end)
    if person_ids is not None:
        rows = rows.filter(person_id__in=person_ids)
    return {row.pop("person_id"): row for row in rows.values("person_id").annotate(**annotations)}


def _person_vendors(person_ids: list[int] | None, end: date) -> dict[int, set[str]]:
    rows = DailyUsage.objects.filter(day__gt=end - timedelta(days=VENDOR_LOOKBACK_DAYS), day__lte=end)
    if person_ids is not None:
        rows = rows.filter(person_id__in=person_ids)
    found: dict[int, set[str]] = defaultdict(set)
    for person_id, vendor in rows.values_list("person_id", "vendor").distinct():
        found[person_id].add(vendor)
    return found


# --- Deciding -----------------------------------------------------------------------------------


@dataclass
class Finding:
    kind: str
    severity: str
    headline: str  # the first sentence of the explanation
    numbers: dict = field(default_factory=dict)
    explanation: str = ""


@dataclass
class Outcome:
    """What happened to one flag in a run, for the command's report."""

    action: str  # opened, updated, resolved
    flag: Flag
    text: str


@dataclass
class Result:
    as_of: date
    opened: list[Outcome] = field(default_factory=list)
    updated: list[Outcome] = field(default_factory=list)
    resolved: list[Outcome] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    stale_vendors: list[dict] = field(default_factory=list)
    people: int = 0
    evaluation: FlagEvaluation | None = None


class _Evaluation:
    def __init__(self, *, as_of: date, people: Iterable[int] | None):
        self.as_of = as_of
        self.end = as_of - timedelta(days=1)
        self.person_filter = None if people is None else sorted(set(people))
        self.settings = OrgSettings.load()
        self.all_rules = ensure_rules()
        self.rules = {kind: rule for kind, rule in self.all_rules.items() if rule.enabled}
        self.calendar = Calendar.from_settings(self.settings)
        self.windows = Windows(as_of, self.end, self.rules, self.calendar)
        self.skipped: dict[str, int] = defaultdict(int)

    # -- reads --

    def load(self) -> None:
        people = Person.objects.all()
        if self.person_filter is not None:
            people = people.filter(pk__in=self.person_filter)
        self.people = {
            row["pk"]: row
            for row in people.values("pk", "email", "name", "team_id", "status", "is_active", "start_date")
        }
        ids = self.person_filter
        self.book = BudgetBook.load(ids, settings=self.settings)
        self.exemptions: dict[int, list[int | None]] = defaultdict(list)
        exemptions = Exemption.objects.filter(starts_on__lte=self.as_of, expires_on__gte=self.as_of)
        if ids is not None:
            exemptions = exemptions.filter(person_id__in=ids)
        for person_id, rule_id in exemptions.values_list("person_id", "rule_id"):
            self.exemptions[person_id].append(rule_id)
        self.freshness = vendor_freshness()
        lag = self.settings.max_data_lag_days
        self.stale = {v: d for v, d in self.freshness.items() if d < self.as_of - timedelta(days=lag)}
        self.vendors = _person_vendors(ids, self.end)
        self.aggregates = _aggregates(self.windows, ids)
        self.team_scopes = {
            rule.scope_team_id: set(_descendants(rule.scope_team_id, self.book.parents))
            for rule in self.rules.values() if rule.scope_team_id
        }

    # -- decisions --

    def exclusion(self, person: dict, rule: FlagRule) -> str | None:
        """Why this person is not judged by this rule at all (their live flag, if any, resolves)."""
        if person["status"] == Person.Status.TERMINATED or not person["is_active"]:
            return "terminated"
        if person["status"] == Person.Status.LEAVE:
            return "leave"
        start = person["start_date"]
        if start and (self.as_of - start).days < self.settings.grace_days:
            return "grace"
        exempt = self.exemptions.get(person["pk"], [])
        if None in exempt or rule.pk in exempt:
            return "exempt"
        return None

    def data_problem(self, person: dict, kind: str) -> str | None:
        """Why the data can't support a judgement today (a live flag then stays as it is)."""
        if kind not in LOW_USAGE_RULES:
            return None  # More data only adds spend: a spike or a high forecast stands on what is there.
        if not self.freshness:
            return "no_data"
        relevant = self.vendors.get(person["pk"]) or set(self.freshness)
        if relevant & set(self.stale):
            return "stale"
        return None

    def decide(self, person: dict, kind: str) -> Finding | None:
        return getattr(self, f"_{kind}")(person, self.rules[kind], self.aggregates.get(person["pk"], {}))

    def _underuse(self, person, rule, agg) -> Finding | None:
        start = self.windows.start(Kind.UNDERUSE)
        budget = self.book.budget(person["pk"], start, self.end)
        if not budget.amount:
            self.skipped["no_budget"] += 1
            return None
        spend = agg.get("underuse_spend") or Decimal(0)
        share = float(spend / budget.amount)
        if share * 100 >= float(rule.threshold or 0):
            return None
        severe = rule.severe_threshold is not None and share * 100 < float(rule.severe_threshold)
        limit = rule.severe_threshold if severe else rule.threshold
        headline = (
            f"Used {money(spend)} of a {money(budget.amount)} budget over the {rule.window_days} days "
            f"{fmt_day(start)} – {fmt_day(self.end)} ({pct(share)}), below the {limit.normalize():f}% threshold."
        )
        return Finding(Kind.UNDERUSE, Severity.HIGH if severe else rule.severity, headline, {
            "window": _window(start, self.end), "share": round(share, 4), "spend_total": str(spend),
            "budget": budget.as_dict(), "threshold_percent": str(rule.threshold),
            "severe_threshold_percent": None if rule.severe_threshold is None else str(rule.severe_threshold),
        })

    def _inactive(self, person, rule, agg) -> Finding | None:
        start = self.windows.start(Kind.INACTIVE)
        last_active = agg.get("last_active")
        if last_active and last_active >= start:
            return None
        since = f"the last usage was on {fmt_day(last_active)}" if last_active else "no usage at all on record recently"
        headline = (
            f"No usage from any source in the last {rule.window_days} working days "
            f"({fmt_day(start)} – {fmt_day(self.end)}); {since}."
        )
        return Finding(Kind.INACTIVE, rule.severity, headline, {
            "window": _window(start, self.end), "working_days": rule.window_days,
            "last_active": last_active.isoformat() if last_active else None,
        })

    def _drop(self, person, rule, agg) -> Finding | None:
        recent_start, base_start = self.windows.start(Kind.DROP), self.windows.baseline_start()
        if person["start_date"] and person["start_date"] > base_start:
            return None  # Not here long enough to have a baseline of their own.
        if (agg.get("baseline_active") or 0) < DROP_MIN_BASELINE_ACTIVE_DAYS:
            return None
        recent_days, base_days = rule.window_days, (recent_start - base_start).days
        recent_avg = (agg.get("recent_tokens") or 0) / recent_days
        base_avg = (agg.get("baseline_tokens") or 0) / base_days
        if not base_avg:
            return None
        drop = 1 - recent_avg / base_avg
        if drop * 100 <= float(rule.threshold or 0):
            return None
        headline = (
            f"Usage over the last {recent_days} days ({recent_avg:,.0f} tokens a day) is down {drop:.0%} against "
            f"the {base_days} days before ({base_avg:,.0f} tokens a day); the threshold is {rule.threshold.normalize():f}%."
        )
        return Finding(Kind.DROP, rule.severity, headline, {
            "window": _window(recent_start, self.end),
            "baseline": _window(base_start, recent_start - timedelta(days=1)),
            "recent_tokens_per_day": round(recent_avg), "baseline_tokens_per_day": round(base_avg),
            "drop": round(drop, 4), "threshold_percent": str(rule.threshold),
        })

    def _runaway(self, person, rule, agg) -> Finding | None:
        pk = person["pk"]
        start = self.windows.start(Kind.RUNAWAY)
        per_day = self.book.daily_budget(pk, self.end)
        max_day = agg.get("max_day_cost") or Decimal(0)
        day_reasons, reasons = [], []
        if per_day and rule.threshold and max_day > per_day * rule.threshold:
            day_reasons.append(
                f"{max_day / per_day:.1f}× the daily budget of {money(per_day)} (limit {rule.threshold.normalize():f}×)"
            )
        if rule.amount_usd and max_day > rule.amount_usd:
            day_reasons.append(f"above the {money(rule.amount_usd)} day limit")
        if day_reasons:
            reasons.append(f"a day's spend of {money(max_day)} is " + " and ".join(day_reasons))
        forecast = None
        if rule.cap_usd:
            forecast = forecast_month(self.book, pk, last_day=self.end, spent=agg.get("month_spend") or Decimal(0))
            if forecast.projected is not None and forecast.projected > rule.cap_usd:
                reasons.append(f"this month's forecast of {money(forecast.projected)} is above the cap of {money(rule.cap_usd)}")
        if not reasons:
            return None
        headline = "Runaway spend: " + "; ".join(reasons) + f" (looking at {fmt_day(start)} – {fmt_day(self.end)})."
        numbers = {
            "window": _window(start, self.end), "max_day_cost": str(max_day.quantize(CENT, ROUND_HALF_UP)),
            "daily_budget": None if per_day is None else str(per_day),
            "multiplier": None if rule.threshold is None else str(rule.threshold),
            "day_limit_usd": None if rule.amount_usd is None else str(rule.amount_usd),
            "cap_usd": None if rule.cap_usd is None else str(rule.cap_usd),
        }
        if forecast is not None:
            numbers["forecast"] = {
                "projected": None if forecast.projected is None else str(forecast.projected),
                "month_budget": None if forecast.month_budget is None else str(forecast.month_budget),
                "text": forecast.text,
            }
        numbers["budget"] = self.book.budget(pk, start, self.end).as_dict()
        return Finding(Kind.RUNAWAY, rule.severity, headline, numbers)

    # -- details for the people flagged --

    def details(self, findings: dict[tuple[int, str], Finding]) -> None:
        """Spend by source, daily series and freshness, read for the flagged people only."""
        people = sorted({pk for pk, _ in findings})
        if not people:
            return
        firsts = {key: self.series_start(finding) for key, finding in findings.items()}
        series: dict[int, list] = defaultdict(list)
        rows = PersonDay.objects.filter(person_id__in=people, day__gte=min(firsts.values()), day__lte=self.end)
        for pk, day, cost, tokens, active in rows.values_list("person_id", "day", "cost_usd", "total_tokens", "active"):
            series[pk].append((day, cost, tokens, active))
        window_start = min(_parse(f.numbers["window"]["start"]) for f in findings.values())
        by_source: dict[int, list] = defaultdict(list)
        usage = (
            DailyUsage.objects.filter(person_id__in=people, day__gte=window_start, day__lte=self.end)
            .values_list("person_id", "vendor", "source", "day", "cost_usd", "total_tokens")
        )
        for row in usage:
            by_source[row[0]].append(row[1:])
        for (pk, kind), finding in findings.items():
            start = _parse(finding.numbers["window"]["start"])
            first = firsts[(pk, kind)]
            days = {d: (c, t) for d, c, t, _ in series[pk] if d >= first}
            finding.numbers["series"] = []
            for offset in range((self.end - first).days + 1):
                day = first + timedelta(days=offset)
                cost, tokens = days.get(day, (Decimal(0), 0))
                finding.numbers["series"].append(
                    {"day": day.isoformat(), "cost": str(cost.quantize(CENT, ROUND_HALF_UP)), "tokens": tokens}
                )
            totals: dict[tuple[str, str], list] = {}
            for vendor, source, day, cost, tokens in by_source[pk]:
                if day >= start:
                    entry = totals.setdefault((vendor, source), [Decimal(0), 0])
                    entry[0] += cost
                    entry[1] += tokens
            finding.numbers["spend_by_source"] = [
                {"vendor": v, "source": s, "source_label": _source_label(s), "cost": str(c.quantize(CENT)), "tokens": t}
                for (v, s), (c, t) in sorted(totals.items(), key=lambda item: -item[1][0])
            ]
            if kind == Kind.RUNAWAY:
                spike = max(((d, c) for d, c, _, _ in series[pk] if d >= start), key=lambda x: x[1], default=None)
                if spike:
                    finding.numbers["spike_day"] = spike[0].isoformat()
            finding.numbers["freshness"] = self.freshness_rows(pk)
            finding.numbers["rule"] = kind
            finding.explanation = self.explain(finding)

    def series_start(self, finding: Finding) -> date:
        if finding.kind == Kind.DROP:
            return _parse(finding.numbers["baseline"]["start"])
        return min(_parse(finding.numbers["window"]["start"]), self.end - timedelta(days=SERIES_DAYS - 1))

    def freshness_rows(self, person_id: int | None) -> list[dict]:
        vendors = (self.vendors.get(person_id) if person_id else None) or set(self.freshness)
        return [
            {"vendor": v, "last_day": self.freshness[v].isoformat() if v in self.freshness else None,
             "stale": v in self.stale or v not in self.freshness}
            for v in sorted(vendors)
        ]

    def explain(self, finding: Finding) -> str:
        lines = [finding.headline]
        budget = finding.numbers.get("budget")
        if budget:
            lines.append(f"Budget: {budget['derived']}")
        if finding.kind == Kind.RUNAWAY and finding.numbers.get("spike_day"):
            lines.append(f"Highest day: {fmt_day(_parse(finding.numbers['spike_day']))}.")
        if finding.kind == Kind.RUNAWAY and finding.numbers.get("forecast"):
            lines.append(f"Forecast: {finding.numbers['forecast']['text']}")
        sources = finding.numbers.get("spend_by_source") or []
        if sources:
            lines.append("Spend by source in the window: " + "; ".join(
                f"{s['vendor']} ({s['source_label']}) {money(Decimal(s['cost']))}" for s in sources) + ".")
        elif finding.kind != Kind.INACTIVE:
            lines.append("No spend recorded from any source in the window.")
        fresh = finding.numbers.get("freshness") or []
        if fresh:
            lines.append("Data: " + "; ".join(
                f"{f['vendor']} through {fmt_day(_parse(f['last_day']))}" if f["last_day"] else f"{f['vendor']} never imported"
                for f in fresh) + ".")
        return "\n".join(lines)

    # -- unattributed usage --

    def unattributed(self) -> dict[int, Finding]:
        rule = self.rules.get(Kind.UNATTRIBUTED)
        if rule is None or rule.amount_usd is None:
            return {}
        start = self.end - timedelta(days=rule.window_days - 1)
        rows = (
            UsageRecord.objects.filter(
                day__gte=start, day__lte=self.end, identity__person__isnull=True, identity__is_service_account=False
            )
            .values("identity_id", "identity__vendor", "identity__kind", "identity__value", "identity__label")
            .annotate(cost=Sum("cost_usd"), tokens=Sum("input_tokens") + Sum("cache_write_tokens")
                      + Sum("cache_read_tokens") + Sum("output_tokens"), days=Count("day", distinct=True))
        )
        found = {}
        for row in rows:
            cost = row["cost"] or Decimal(0)
            if cost <= rule.amount_usd:
                continue
            name = row["identity__label"] or row["identity__value"]
            kind_label = ProviderIdentity.Kind(row["identity__kind"]).label.lower()
            headline = (
                f"{money(cost)} of {row['identity__vendor']} usage by {kind_label} “{name}” over the "
                f"{rule.window_days} days {fmt_day(start)} – {fmt_day(self.end)} belongs to nobody "
                f"(above {money(rule.amount_usd)}). Map the identity to a person, or mark it a service account."
            )
            vendor = row["identity__vendor"]
            finding = Finding(Kind.UNATTRIBUTED, rule.severity, headline, {
                "rule": Kind.UNATTRIBUTED, "window": _window(start, self.end), "spend_total": str(cost),
                "tokens": row["tokens"], "active_days": row["days"], "vendor": vendor,
                "freshness": [{"vendor": vendor, "last_day": self.freshness[vendor].isoformat()
                               if vendor in self.freshness else None, "stale": vendor in self.stale}],
            })
            finding.explanation = self.explain(finding)
            found[row["identity_id"]] = finding
        return found


def _descendants(team_id: int, parents: dict[int, int | None]) -> list[int]:
    found = [team_id]
    changed = True
    while changed:
        changed = False
        for team, parent in parents.items():
            if parent in found and team not in found:
                found.append(team)
                changed = True
    return found


def _window(start: date, end: date) -> dict:
    return {"start": start.isoformat(), "end": end.isoformat(), "days": (end - start).days + 1}


def _parse(value: str) -> date:
    return date.fromisoformat(value)


def _source_label(source: str) -> str:
    try:
        return Source(source).label
    except ValueError:
        return source


# --- Writing ------------------------------------------------------------------------------------


def evaluate(*, as_of: date, people: Iterable[int] | None = None, trigger: str = "beat") -> Result:
    """Evaluate every enabled rule as of ``as_of`` for everyone (or only ``people``, after an import).

    Opens, updates and resolves flags; returns what it did. Safe to run twice, and alongside another
    run: the unique constraint turns a race into an IntegrityError, and the loser starts over once.
    """
    for attempt in (1, 2):
        try:
            return _evaluate(as_of=as_of, people=people, trigger=trigger)
        except IntegrityError:
            if attempt == 2:
                raise
            log.info("Another evaluation opened the same flag first; evaluating again")
    raise AssertionError("unreachable")


def _evaluate(*, as_of: date, people: Iterable[int] | None, trigger: str) -> Result:
    from . import notifications

    started = time.monotonic()
    run = _Evaluation(as_of=as_of, people=people)
    run.load()
    result = Result(as_of=as_of, people=len(run.people))
    rules = run.rules
    findings: dict[tuple[int, str], Finding] = {}
    excluded: dict[tuple[int, str], str] = {}
    unjudged: set[tuple[int, str]] = set()
    person_kinds = [k for k in (Kind.INACTIVE, Kind.UNDERUSE, Kind.DROP, Kind.RUNAWAY) if k in rules]
    for pk, person in run.people.items():
        counted = set()
        for kind in person_kinds:
            rule = rules[kind]
            if rule.scope_team_id and person["team_id"] not in run.team_scopes[rule.scope_team_id]:
                excluded[(pk, kind)] = "the rule no longer covers this person's team"
                continue
            reason = run.exclusion(person, rule)
            if reason is None:
                reason = run.data_problem(person, kind)
                if reason:
                    unjudged.add((pk, kind))
                    counted.add(reason)
                    continue
            else:
                excluded[(pk, kind)] = SKIP_LABELS[reason]
                counted.add(reason)
                continue
            finding = run.decide(person, kind)
            if finding:
                findings[(pk, kind)] = finding
        for reason in counted:
            run.skipped[reason] += 1
    run.details(findings)
    identity_findings = run.unattributed()

    live = Flag.objects.filter(
        Q(status__in=Flag.LIVE) | Q(status=Status.DISMISSED, suppressed_until__gte=as_of)
    ).select_related("rule")
    if run.person_filter is not None:
        live = live.filter(Q(person_id__in=run.person_filter) | Q(identity__isnull=False))
    current: dict[tuple, Flag] = {}
    suppressed: set[tuple] = set()
    for flag in live:
        key = (flag.person_id, flag.rule.kind) if flag.person_id else (("identity", flag.identity_id), flag.rule.kind)
        if flag.status == Status.DISMISSED:
            suppressed.add(key)
        else:
            current[key] = flag

    # A flag about a person that an already-raised stronger flag explains is not opened.
    def covered(pk: int, kind: str) -> bool:
        return any((pk, other) in findings or (pk, other) in current for other in COVERED_BY.get(kind, ()))

    now = timezone.now()
    new_flags: list[Flag] = []
    changed: list[Flag] = []
    events: list[FlagEvent] = []
    all_findings = {**findings, **{(("identity", i), Kind.UNATTRIBUTED): f for i, f in identity_findings.items()}}

    for key, finding in all_findings.items():
        flag = current.get(key)
        subject, kind = key
        if flag is None:
            if key in suppressed:
                run.skipped["dismissed"] += 1
                continue
            if kind in COVERED_BY and covered(subject, kind):
                continue
            flag = Flag(
                rule=rules[kind], severity=finding.severity, status=Status.OPEN, explanation=finding.explanation,
                numbers=finding.numbers, opened_on=as_of, updated_on=as_of,
            )
            if kind == Kind.UNATTRIBUTED:
                flag.identity_id = subject[1]
            else:
                flag.person_id = subject
            new_flags.append(flag)
            continue
        before = {"severity": flag.severity, "status": flag.status}
        touched = flag.explanation != finding.explanation or flag.severity != finding.severity
        if flag.status == Status.SNOOZED and flag.snoozed_until and flag.snoozed_until < as_of:
            flag.status, flag.snoozed_until = Status.OPEN, None
            events.append(FlagEvent(flag=flag, at=now, action=Action.WOKE, before=before,
                                    after={"status": Status.OPEN}, message="The snooze ended."))
            touched = True
        if flag.severity != finding.severity:
            events.append(FlagEvent(
                flag=flag, at=now, action=Action.UPDATED, before={"severity": flag.severity},
                after={"severity": finding.severity}, message=finding.headline,
            ))
        if touched:
            flag.severity, flag.explanation, flag.numbers = finding.severity, finding.explanation, finding.numbers
            flag.updated_on, flag.updated_at = as_of, now
            changed.append(flag)
            result.updated.append(Outcome("updated", flag, finding.headline))

    for key, flag in current.items():
        if key in all_findings:
            continue
        subject, kind = key
        if kind not in rules:
            why = "The rule was turned off."
        elif key in unjudged:
            # Stale data: can't tell, so the flag stays as it is (though a snooze still ends).
            if flag.status == Status.SNOOZED and flag.snoozed_until and flag.snoozed_until < as_of:
                events.append(FlagEvent(flag=flag, at=now, action=Action.WOKE, before={"status": flag.status},
                                        after={"status": Status.OPEN}, message="The snooze ended."))
                flag.status, flag.snoozed_until, flag.updated_on, flag.updated_at = Status.OPEN, None, as_of, now
                changed.append(flag)
            continue
        elif key in excluded:
            why = f"No longer judged: {excluded[key]}."
        elif kind == Kind.UNATTRIBUTED:
            why = "The condition cleared: the identity was mapped, or its usage fell below the amount."
        elif subject not in run.people:
            continue
        else:
            why = "The condition cleared on re-evaluation."
        before = {"status": flag.status, "severity": flag.severity}
        flag.status, flag.closed_on, flag.updated_on, flag.updated_at = Status.RESOLVED, as_of, as_of, now
        flag.snoozed_until, flag.resolution = None, why
        changed.append(flag)
        events.append(FlagEvent(flag=flag, at=now, action=Action.AUTO_RESOLVED, before=before,
                                after={"status": Status.RESOLVED}, message=why))
        result.resolved.append(Outcome("resolved", flag, why))

    with transaction.atomic():
        Flag.objects.bulk_create(new_flags)
        for flag in new_flags:
            events.append(FlagEvent(flag=flag, at=now, action=Action.OPENED,
                                    after={"status": Status.OPEN, "severity": flag.severity},
                                    message=flag.explanation.split("\n", 1)[0]))
            result.opened.append(Outcome("opened", flag, flag.explanation.split("\n", 1)[0]))
        if changed:
            Flag.objects.bulk_update(
                changed, ["status", "severity", "explanation", "numbers", "updated_on", "updated_at", "closed_on",
                          "snoozed_until", "resolution"],
            )
        FlagEvent.objects.bulk_create(events)
        result.skipped = dict(run.skipped)
        result.stale_vendors = [{"vendor": v, "last_day": d.isoformat()} for v, d in sorted(run.stale.items())]
        if not run.freshness:
            result.stale_vendors = []
        result.evaluation = FlagEvaluation.objects.create(
            as_of=as_of, trigger=trigger, duration=time.monotonic() - started, people=len(run.people),
            opened=len(result.opened), updated=len(result.updated), resolved=len(result.resolved),
            skipped=result.skipped, stale_vendors=result.stale_vendors,
        )
        notifications.queue_new_flags([f for f in new_flags if f.severity == Severity.HIGH])
    return result


def last_evaluation() -> FlagEvaluation | None:
    return FlagEvaluation.objects.filter(trigger__in=["beat", "command"]).first() or FlagEvaluation.objects.first()


# --- Admin writes -------------------------------------------------------------------------------


def update_rules(*, changes: dict[int, dict], by: Person) -> int:
    """Save admins' edits to rules (rule id -> field values); returns how many rules changed."""
    editable = {"enabled", "severity", "window_days", "baseline_days", "threshold", "severe_threshold",
                "amount_usd", "cap_usd", "scope_team"}
    with transaction.atomic():
        for pk, values in changes.items():
            fields = {k: v for k, v in values.items() if k in editable}
            FlagRule.objects.filter(pk=pk).update(**fields, updated_by=by, updated_at=timezone.now())
    return len(changes)


def create_exemption(*, person: Person, reason: str, expires_on: date, rule: FlagRule | None = None,
                     by: Person | None = None, starts_on: date | None = None) -> Exemption:
    with transaction.atomic():
        return Exemption.objects.create(person=person, rule=rule, reason=reason, expires_on=expires_on,
                                        starts_on=starts_on or timezone.now().date(), created_by=by)


def end_exemption(*, exemption: Exemption, today: date | None = None) -> None:
    """End it now: it covered up to yesterday (or is dropped if it had not started)."""
    today = today or timezone.now().date()
    with transaction.atomic():
        if exemption.starts_on >= today:
            exemption.delete()
        else:
            Exemption.objects.filter(pk=exemption.pk).update(expires_on=today - timedelta(days=1))
