"""Deciding, from the facts an evaluation read: who is judged by which rule, what each rule finds, and
the explanation a flag carries. Plain functions over plain data: nothing here reads or writes.

``judge`` applies every enabled rule to everyone; ``detail_span`` says what ``reading.read_details``
must read about the people flagged, and ``with_details`` adds it to their findings.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from accounts.models import Person, ProviderIdentity

from ..budgets import forecast_month
from ..display import CENT, day, day_span, money, percent, vendor_label
from ..models import FlagRule, Severity, Source
from .reading import Details, DetailSpan, Facts, Key, PersonRow, Totals
from .rules import LOW_USAGE_RULES, PERSON_RULES, SERIES_DAYS, SKIP_LABELS, WORKING_DAYS_PER_OUTPUT_DAY, Kind

# A drop from almost nothing is noise: the baseline needs this many active days to count.
DROP_MIN_BASELINE_ACTIVE_DAYS = 10
# A team's median means something only with this many people in it who spent anything.
OUTLIER_MIN_PEERS = 3
OUT_OF_SCOPE = "the rule no longer covers this person's team"


@dataclass
class Finding:
    kind: str
    severity: str
    headline: str  # the first sentence of the explanation
    numbers: dict = field(default_factory=dict)
    explanation: str = ""


@dataclass
class Judgement:
    """What the rules found, and about whom they could not say."""

    findings: dict[Key, Finding] = field(default_factory=dict)  # about people
    unattributed: dict[int, Finding] = field(default_factory=dict)  # identity id -> its finding
    excluded: dict[Key, str] = field(default_factory=dict)  # not judged at all, and why (a live flag resolves)
    unjudged: set[Key] = field(default_factory=set)  # the data can't tell (a live flag stays as it is)
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> people

    def all_findings(self) -> dict[Key, Finding]:
        identities = {(("identity", pk), Kind.UNATTRIBUTED): f for pk, f in self.unattributed.items()}
        return {**self.findings, **identities}


def judge(facts: Facts) -> Judgement:
    """Every enabled rule for every person read, then unattributed usage."""
    judgement = Judgement()
    for pk, person in facts.people.items():
        counted: dict[str, None] = {}  # the reasons this person was not judged, each counted once
        for kind in (kind for kind in PERSON_RULES if kind in facts.rules):
            rule, key = facts.rules[kind], (pk, kind)
            if rule.scope_team_id and person.team_id not in facts.team_scopes[rule.scope_team_id]:
                judgement.excluded[key] = OUT_OF_SCOPE
                continue
            reason = exclusion(facts, person, rule)
            if reason:
                judgement.excluded[key] = SKIP_LABELS[reason]
                counted[reason] = None
                continue
            reason = data_problem(facts, person, kind)
            if reason:
                judgement.unjudged.add(key)
                counted[reason] = None
                continue
            decision = RULES[kind](facts, person, rule)
            if isinstance(decision, str):
                judgement.skipped[decision] += 1
            elif decision is not None:
                judgement.findings[key] = decision
        judgement.skipped.update(counted.keys())
    judgement.unattributed = unattributed(facts)
    return judgement


def exclusion(facts: Facts, person: PersonRow, rule: FlagRule) -> str | None:
    """Why this person is not judged by this rule at all (their live flag, if any, resolves)."""
    if person.status == Person.Status.TERMINATED or not person.is_active:
        return "terminated"
    if person.status == Person.Status.LEAVE:
        return "leave"
    if person.start_date and (facts.as_of - person.start_date).days < facts.grace_days:
        return "grace"
    exempt = facts.exemptions.get(person.pk, [])
    if None in exempt or rule.pk in exempt:
        return "exempt"
    return None


def data_problem(facts: Facts, person: PersonRow, kind: str) -> str | None:
    """Why the data can't support a judgement today (a live flag then stays as it is)."""
    if kind not in LOW_USAGE_RULES:
        return None  # More data only adds spend: a spike or a high forecast stands on what is there.
    if not facts.freshness:
        return "no_data"
    relevant = facts.vendors.get(person.pk) or set(facts.freshness)
    if relevant & set(facts.stale):
        return "stale"
    return None


# --- One function per rule: a Finding, None (nothing to say), or why the person can't be judged --


def underuse(facts: Facts, person: PersonRow, rule: FlagRule) -> Finding | str | None:
    start, end = facts.windows.start(Kind.UNDERUSE), facts.end
    budget = facts.book.budget(person.pk, start, end)
    if not budget.amount:
        return "no_budget"
    totals = _totals(facts, person)
    spend = totals.underuse_spend or Decimal(0)
    share = float(spend / budget.amount)
    if share * 100 >= float(rule.threshold or 0):
        return None
    # Thrift is not disengagement: low spend beside steady output is efficient, never flagged. Where
    # no source reports a person's output, their days of any activity stand in for it.
    steady = steady_output_days(facts, start)
    covered = person.pk in facts.output_sourced
    engaged = totals.underuse_output_days if covered else totals.underuse_active_days or 0
    if engaged >= steady:
        return "efficient"
    severe = rule.severe_threshold is not None and share * 100 < float(rule.severe_threshold)
    limit = rule.severe_threshold if severe else rule.threshold
    if covered and engaged:
        output = (f"output (commits, pull requests, accepted lines or edits, sessions) on only {engaged} of its days, "
                  f"fewer than {steady}")
    elif covered:
        output = "no output (commits, pull requests, accepted lines or edits, sessions) reported by any source"
    elif engaged:
        output = f"activity on only {engaged} of its days, fewer than {steady} (no source reports their output)"
    else:
        output = "no activity from any source"
    headline = (
        f"Used {money(spend)} of a {money(budget.amount)} budget over the {rule.window_days} days "
        f"{day_span(start, end)} ({percent(share)}), below the {limit.normalize():f}% threshold, with {output}."
    )
    return Finding(Kind.UNDERUSE, Severity.HIGH if severe else rule.severity, headline, {
        "window": window(start, end), "share": round(share, 4), "spend_total": str(spend),
        "budget": budget.as_dict(), "threshold_percent": str(rule.threshold),
        "severe_threshold_percent": None if rule.severe_threshold is None else str(rule.severe_threshold),
        "output_days": engaged, "steady_output_days": steady, "output_source": covered,
    })


def steady_output_days(facts: Facts, start: date) -> int:
    """Days with output that make a window's output steady: on average one every working week."""
    return max(1, -(-facts.windows.working_days(start) // WORKING_DAYS_PER_OUTPUT_DAY))


def inactive(facts: Facts, person: PersonRow, rule: FlagRule) -> Finding | None:
    start, end = facts.windows.start(Kind.INACTIVE), facts.end
    last_active = _totals(facts, person).last_active
    if last_active and last_active >= start:
        return None
    since = f"the last usage was on {day(last_active)}" if last_active else "no usage at all on record recently"
    headline = (
        f"No usage from any source in the last {rule.window_days} working days ({day_span(start, end)}); {since}."
    )
    return Finding(Kind.INACTIVE, rule.severity, headline, {
        "window": window(start, end), "working_days": rule.window_days,
        "last_active": last_active.isoformat() if last_active else None,
    })


def drop(facts: Facts, person: PersonRow, rule: FlagRule) -> Finding | None:
    recent_start, base_start = facts.windows.start(Kind.DROP), facts.windows.baseline_start()
    if person.start_date and person.start_date > base_start:
        return None  # Not here long enough to have a baseline of their own.
    totals = _totals(facts, person)
    if (totals.baseline_active or 0) < DROP_MIN_BASELINE_ACTIVE_DAYS:
        return None
    recent_days, base_days = rule.window_days, (recent_start - base_start).days
    recent_avg = (totals.recent_tokens or 0) / recent_days
    base_avg = (totals.baseline_tokens or 0) / base_days
    if not base_avg:
        return None
    fall = 1 - recent_avg / base_avg
    if fall * 100 <= float(rule.threshold or 0):
        return None
    headline = (
        f"Usage over the last {recent_days} days ({recent_avg:,.0f} tokens a day) is down {percent(fall)} against "
        f"the {base_days} days before ({base_avg:,.0f} tokens a day); the threshold is {rule.threshold.normalize():f}%."
    )
    return Finding(Kind.DROP, rule.severity, headline, {
        "window": window(recent_start, facts.end),
        "baseline": window(base_start, recent_start - timedelta(days=1)),
        "recent_tokens_per_day": round(recent_avg), "baseline_tokens_per_day": round(base_avg),
        "drop": round(fall, 4), "threshold_percent": str(rule.threshold),
    })


def runaway(facts: Facts, person: PersonRow, rule: FlagRule) -> Finding | None:
    start, end, book = facts.windows.start(Kind.RUNAWAY), facts.end, facts.book
    totals = _totals(facts, person)
    per_day = book.daily_budget(person.pk, end)
    max_day = totals.max_day_cost or Decimal(0)
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
        forecast = forecast_month(book, person.pk, last_day=end, spent=totals.month_spend or Decimal(0))
        if forecast.projected is not None and forecast.projected > rule.cap_usd:
            reasons.append(f"this month's forecast of {money(forecast.projected)} is above the cap of {money(rule.cap_usd)}")
    if not reasons:
        return None
    headline = "Runaway spend: " + "; ".join(reasons) + f" (looking at {day_span(start, end)})."
    numbers = {
        "window": window(start, end), "max_day_cost": str(max_day.quantize(CENT, ROUND_HALF_UP)),
        "daily_budget": _text(per_day), "multiplier": _text(rule.threshold),
        "day_limit_usd": _text(rule.amount_usd), "cap_usd": _text(rule.cap_usd),
    }
    if forecast is not None:
        numbers["forecast"] = {
            "projected": _text(forecast.projected), "month_budget": _text(forecast.month_budget), "text": forecast.text,
        }
    numbers["budget"] = book.budget(person.pk, start, end).as_dict()
    return Finding(Kind.RUNAWAY, rule.severity, headline, numbers)


def burn_without_output(facts: Facts, person: PersonRow, rule: FlagRule) -> Finding | None:
    start, end = facts.windows.start(Kind.BURN_WITHOUT_OUTPUT), facts.end
    totals = _totals(facts, person)
    spend = totals.burn_spend or Decimal(0)
    if rule.amount_usd is None or spend <= rule.amount_usd or totals.burn_output_days:
        return None
    if person.pk not in facts.output_sourced:
        return "no_output_source"  # Nothing could have seen their output: no answer either way.
    headline = (
        f"Spent {money(spend)} over the {rule.window_days} days {day_span(start, end)} (above {money(rule.amount_usd)}) "
        "with no output reported by any source: no commits, pull requests, accepted lines or edits, or sessions. "
        "If the work shows somewhere no source reports (a repository not connected, research), an answer says so."
    )
    return Finding(Kind.BURN_WITHOUT_OUTPUT, rule.severity, headline, {
        "window": window(start, end), "spend_total": str(spend.quantize(CENT, ROUND_HALF_UP)),
        "amount_usd": str(rule.amount_usd), "output_days": 0,
    })


def outlier(facts: Facts, person: PersonRow, rule: FlagRule) -> Finding | str | None:
    start, end = facts.windows.start(Kind.OUTLIER), facts.end
    days = facts.spend_days.get(person.pk) or {}
    if not days or rule.threshold is None:
        return None
    medians = _team_medians(facts, person)
    if medians is None:
        return "few_peers"
    median_day, median_total = medians
    factor, floor = rule.threshold, rule.amount_usd or Decimal(0)
    worst_day, worst = max(days.items(), key=lambda item: (item[1], item[0]))
    total = sum(days.values(), Decimal(0))
    reasons = []
    if worst >= floor and worst > factor * median_day:
        reasons.append(f"{day(worst_day)}'s spend of {money(worst)} is {worst / median_day:.1f}× the team's median "
                       f"day ({money(median_day)})")
    if total >= floor and total > factor * median_total:
        reasons.append(f"the {rule.window_days} days' spend of {money(total)} is {total / median_total:.1f}× the "
                       f"team's median ({money(median_total)})")
    if not reasons:
        return None
    headline = (
        "Outlier spend: " + "; ".join(reasons) + f" (limit {factor.normalize():f}×, looking at {day_span(start, end)}). "
        "An outlier bill is usually a misconfigured agent or a loop left running, not anyone's fault: "
        "worth a look at what ran."
    )
    return Finding(Kind.OUTLIER, rule.severity, headline, {
        "window": window(start, end), "max_day": worst_day.isoformat(), "max_day_cost": str(worst.quantize(CENT)),
        "window_total": str(total.quantize(CENT)), "team_median_day": str(median_day.quantize(CENT)),
        "team_median_total": str(median_total.quantize(CENT)), "team_multiplier": str(factor),
    })


def _team_medians(facts: Facts, person: PersonRow) -> tuple[Decimal, Decimal] | None:
    """(median day, median window total) of the spend of the person's team (everyone with spend in the
    window), or None with too few people to compare; computed once per team and run."""
    medians = facts.derived.get("team_medians")
    if medians is None:
        members: dict[int | None, list[int]] = {}
        for pk in facts.spend_days:
            members.setdefault(facts.teams.get(pk), []).append(pk)
        medians = {}
        for team, people in members.items():
            if len(people) < OUTLIER_MIN_PEERS:
                continue
            day_costs = [cost for pk in people for cost in facts.spend_days[pk].values()]
            totals = [sum(facts.spend_days[pk].values(), Decimal(0)) for pk in people]
            medians[team] = (_median(day_costs), _median(totals))
        facts.derived["team_medians"] = medians
    return medians.get(facts.teams.get(person.pk, person.team_id))


def _median(values: list[Decimal]) -> Decimal:
    ordered, middle = sorted(values), len(values) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


RULES: dict[str, Callable[[Facts, PersonRow, FlagRule], Finding | str | None]] = {
    Kind.UNDERUSE: underuse, Kind.INACTIVE: inactive, Kind.DROP: drop, Kind.RUNAWAY: runaway,
    Kind.BURN_WITHOUT_OUTPUT: burn_without_output, Kind.OUTLIER: outlier,
}


def unattributed(facts: Facts) -> dict[int, Finding]:
    """Identity id -> a finding, for each identity nobody is mapped to whose usage is above the amount."""
    rule = facts.rules.get(Kind.UNATTRIBUTED)
    if rule is None or rule.amount_usd is None:
        return {}
    start, end = facts.end - timedelta(days=rule.window_days - 1), facts.end
    found = {}
    for usage in facts.unmatched:
        cost = usage.cost or Decimal(0)
        if cost <= rule.amount_usd:
            continue
        kind_label = ProviderIdentity.Kind(usage.kind).label.lower()
        headline = (
            f"{money(cost)} of {vendor_label(usage.vendor)} usage by {kind_label} “{usage.label or usage.value}” over the "
            f"{rule.window_days} days {day_span(start, end)} belongs to nobody (above {money(rule.amount_usd)}). "
            "Map the identity to a person, or mark it a service account."
        )
        finding = Finding(Kind.UNATTRIBUTED, rule.severity, headline, {
            "rule": Kind.UNATTRIBUTED, "window": window(start, end), "spend_total": str(cost),
            "tokens": usage.tokens, "active_days": usage.days, "vendor": usage.vendor,
            "freshness": [_freshness_row(facts, usage.vendor, stale=usage.vendor in facts.stale)],
        })
        finding.explanation = explain(finding)
        found[usage.identity_id] = finding
    return found


# --- Details for the people flagged -------------------------------------------------------------


def detail_span(findings: dict[Key, Finding], end: date) -> DetailSpan | None:
    if not findings:
        return None
    return DetailSpan(
        people=sorted({pk for pk, _ in findings}),
        series_from=min(series_start(finding, end) for finding in findings.values()),
        window_from=min(_window_start(finding) for finding in findings.values()),
    )


def series_start(finding: Finding, end: date) -> date:
    """The first day of the flag's chart: its baseline for a drop, else at least SERIES_DAYS."""
    if finding.kind == Kind.DROP:
        return date.fromisoformat(finding.numbers["baseline"]["start"])
    return min(_window_start(finding), end - timedelta(days=SERIES_DAYS - 1))


def with_details(findings: dict[Key, Finding], facts: Facts, details: Details) -> dict[Key, Finding]:
    """The findings about people with their chart, spend by source, data freshness and explanation."""
    return {key: _detailed(key[0], finding, facts, details) for key, finding in findings.items()}


def _detailed(pk: int, finding: Finding, facts: Facts, details: Details) -> Finding:
    start, first, end = _window_start(finding), series_start(finding, facts.end), facts.end
    days = {d: (cost, tokens) for d, cost, tokens in details.series.get(pk, []) if d >= first}
    series = []
    for offset in range((end - first).days + 1):
        current = first + timedelta(days=offset)
        cost, tokens = days.get(current, (Decimal(0), 0))
        series.append({"day": current.isoformat(), "cost": str(cost.quantize(CENT, ROUND_HALF_UP)), "tokens": tokens})
    totals: dict[tuple[str, str], list] = {}
    for vendor, source, used_on, cost, tokens in details.by_source.get(pk, []):
        if used_on >= start:
            entry = totals.setdefault((vendor, source), [Decimal(0), 0])
            entry[0] += cost
            entry[1] += tokens
    numbers = {**finding.numbers, "series": series, "spend_by_source": [
        {"vendor": v, "source": s, "source_label": _source_label(s), "cost": str(c.quantize(CENT)), "tokens": t}
        for (v, s), (c, t) in sorted(totals.items(), key=lambda item: -item[1][0])
    ]}
    if finding.kind == Kind.RUNAWAY:
        in_window = ((d, cost) for d, cost, _ in details.series.get(pk, []) if d >= start)
        spike = max(in_window, key=lambda pair: pair[1], default=None)
        if spike:
            numbers["spike_day"] = spike[0].isoformat()
    vendors = facts.vendors.get(pk) or set(facts.freshness)
    numbers["freshness"] = [
        _freshness_row(facts, vendor, stale=vendor in facts.stale or vendor not in facts.freshness)
        for vendor in sorted(vendors)
    ]
    numbers["rule"] = finding.kind
    detailed = replace(finding, numbers=numbers)
    detailed.explanation = explain(detailed)
    return detailed


def explain(finding: Finding) -> str:
    """The flag's explanation: the headline, then the budget, the spike and forecast, the spend by
    source and how fresh the data is."""
    numbers = finding.numbers
    lines = [finding.headline]
    if numbers.get("budget"):
        lines.append(f"Budget: {numbers['budget']['derived']}")
    if finding.kind == Kind.RUNAWAY and numbers.get("spike_day"):
        lines.append(f"Highest day: {day(date.fromisoformat(numbers['spike_day']))}.")
    if finding.kind == Kind.RUNAWAY and numbers.get("forecast"):
        lines.append(f"Forecast: {numbers['forecast']['text']}")
    sources = numbers.get("spend_by_source") or []
    if sources:
        lines.append("Spend by source in the window: " + "; ".join(
            f"{vendor_label(s['vendor'])} ({s['source_label']}) {money(Decimal(s['cost']))}" for s in sources) + ".")
    elif finding.kind != Kind.INACTIVE:
        lines.append("No spend recorded from any source in the window.")
    fresh = numbers.get("freshness") or []
    if fresh:
        lines.append("Data: " + "; ".join(
            f"{vendor_label(f['vendor'])} through {day(date.fromisoformat(f['last_day']))}" if f["last_day"]
            else f"{vendor_label(f['vendor'])} never imported"
            for f in fresh) + ".")
    return "\n".join(lines)


# --- Small pieces -------------------------------------------------------------------------------


def window(start: date, end: date) -> dict:
    return {"start": start.isoformat(), "end": end.isoformat(), "days": (end - start).days + 1}


def _window_start(finding: Finding) -> date:
    return date.fromisoformat(finding.numbers["window"]["start"])


def _totals(facts: Facts, person: PersonRow) -> Totals:
    return facts.totals.get(person.pk) or Totals()


def _freshness_row(facts: Facts, vendor: str, *, stale: bool) -> dict:
    last_day = facts.freshness.get(vendor)
    return {"vendor": vendor, "last_day": last_day.isoformat() if last_day else None, "stale": stale}


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _source_label(source: str) -> str:
    try:
        return Source(source).label
    except ValueError:
        return source
