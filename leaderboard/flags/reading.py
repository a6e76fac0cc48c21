"""What an evaluation reads, in a fixed number of queries whatever the number of people, returned as
plain data: ``read`` before deciding, ``read_details`` for the people a rule found something about,
``read_live`` (the flags already there) before reconciling.

Nothing here decides anything: thresholds, exclusions and texts are ``deciding``'s.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Max, Q, Sum

from accounts.models import Person
from accounts.org import team_and_below

from ..budgets import BudgetBook, Calendar
from ..freshness import latest_days
from ..models import (
    ActivityRecord,
    DailyUsage,
    Exemption,
    Flag,
    FlagRule,
    OrgSettings,
    PersonDay,
    UsageRecord,
)
from .rules import OUTPUT_FIELDS, OUTPUT_SOURCES, Kind, Windows, ensure_rules

# "Which vendors does this person use": looked up over this many days, to know whose data matters.
VENDOR_LOOKBACK_DAYS = 90
# What a finding or a flag is about: (person id, kind), or (("identity", identity id), "unattributed").
Key = tuple


@dataclass(frozen=True)
class PersonRow:
    """What the rules need to know of a person besides their numbers."""

    pk: int
    team_id: int | None = None
    status: str = Person.Status.ACTIVE
    is_active: bool = True
    start_date: date | None = None


@dataclass
class Totals:
    """One person's sums over the rules' windows (only those the enabled rules need are read)."""

    month_spend: Decimal | None = None
    underuse_spend: Decimal | None = None
    last_active: date | None = None
    recent_tokens: int | None = None
    baseline_tokens: int | None = None
    baseline_active: int | None = None
    max_day_cost: Decimal | None = None
    burn_spend: Decimal | None = None
    # Days with output (commits, pull requests, accepted lines or edits, sessions) from any source.
    underuse_output_days: int = 0
    underuse_active_days: int | None = None  # days with any usage or activity
    burn_output_days: int = 0


@dataclass(frozen=True)
class UnmatchedUsage:
    """Usage over the unattributed rule's window of an identity nobody is mapped to."""

    identity_id: int
    vendor: str
    kind: str
    value: str
    label: str
    cost: Decimal | None
    tokens: int | None
    days: int


@dataclass
class Facts:
    """Everything one evaluation decides on."""

    windows: Windows
    grace_days: int
    people: dict[int, PersonRow]
    book: BudgetBook
    exemptions: dict[int, list[int | None]] = field(default_factory=dict)  # person -> rule ids (None: all)
    freshness: dict[str, date] = field(default_factory=dict)  # vendor -> its latest imported day
    stale: dict[str, date] = field(default_factory=dict)  # the vendors whose latest day is too old
    vendors: dict[int, set[str]] = field(default_factory=dict)  # person -> the vendors they use
    totals: dict[int, Totals] = field(default_factory=dict)
    team_scopes: dict[int, set[int]] = field(default_factory=dict)  # a rule's team -> it and its sub-teams
    unmatched: list[UnmatchedUsage] = field(default_factory=list)
    person_filter: list[int] | None = None  # only these people (after an import); None: everyone
    # For the outlier rule, about everyone (a team's median needs the whole team, whoever is judged):
    spend_days: dict[int, dict[date, Decimal]] = field(default_factory=dict)  # person -> day -> cost
    teams: dict[int, int | None] = field(default_factory=dict)  # person -> team
    output_sourced: set[int] = field(default_factory=set)  # the people a source reporting output covers
    derived: dict = field(default_factory=dict)  # what deciding computes once per run (team medians)

    @property
    def as_of(self) -> date:
        return self.windows.as_of

    @property
    def end(self) -> date:
        return self.windows.end

    @property
    def rules(self) -> dict[str, FlagRule]:
        """The enabled rules, by kind."""
        return self.windows.rules


@dataclass
class Details:
    """For the people flagged: their daily series and their usage by vendor and source."""

    series: dict[int, list[tuple[date, Decimal, int]]] = field(default_factory=dict)  # (day, cost, tokens)
    by_source: dict[int, list[tuple[str, str, date, Decimal, int]]] = field(default_factory=dict)


@dataclass(frozen=True)
class DetailSpan:
    """What ``read_details`` reads: whose days, from which day (``deciding.detail_span`` says)."""

    people: list[int]
    series_from: date  # the first day of the earliest chart
    window_from: date  # the first day of the earliest window


def read(*, as_of: date, people: Iterable[int] | None = None, rules: dict[str, FlagRule] | None = None) -> Facts:
    """The facts of a run as of ``as_of`` for everyone (or only ``people``). Creates the default rules
    that are missing. ``rules``: rules as they would be (the policy simulator's, unsaved) instead."""
    person_filter = None if people is None else sorted(set(people))
    settings = OrgSettings.load()
    rules = {kind: rule for kind, rule in (rules or ensure_rules()).items() if rule.enabled}
    windows = Windows(as_of, as_of - timedelta(days=1), rules, Calendar.from_settings(settings))
    book = BudgetBook.load(person_filter, settings=settings)
    freshness = latest_days()
    oldest_fresh = as_of - timedelta(days=settings.max_data_lag_days)
    return Facts(
        windows=windows,
        grace_days=settings.grace_days,
        people=_people(person_filter),
        book=book,
        exemptions=_exemptions(as_of, person_filter),
        freshness=freshness,
        stale={vendor: day for vendor, day in freshness.items() if day < oldest_fresh},
        vendors=_person_vendors(person_filter, windows.end),
        totals=_totals(windows, person_filter),
        team_scopes={
            rule.scope_team_id: team_and_below(rule.scope_team_id, book.parents)
            for rule in rules.values() if rule.scope_team_id
        },
        unmatched=_unmatched(windows),
        person_filter=person_filter,
        output_sourced=_output_sourced(windows, person_filter),
        **_outlier_facts(windows),
    )


def _only(rows, person_ids: list[int] | None):
    return rows if person_ids is None else rows.filter(person_id__in=person_ids)


def _people(person_ids: list[int] | None) -> dict[int, PersonRow]:
    people = Person.objects.all()
    if person_ids is not None:
        people = people.filter(pk__in=person_ids)
    return {row[0]: PersonRow(*row) for row in people.values_list("pk", "team_id", "status", "is_active", "start_date")}


def _exemptions(as_of: date, person_ids: list[int] | None) -> dict[int, list[int | None]]:
    found: dict[int, list[int | None]] = defaultdict(list)
    rows = _only(Exemption.objects.filter(starts_on__lte=as_of, expires_on__gte=as_of), person_ids)
    for person_id, rule_id in rows.values_list("person_id", "rule_id"):
        found[person_id].append(rule_id)
    return found


def _person_vendors(person_ids: list[int] | None, end: date) -> dict[int, set[str]]:
    rows = _only(DailyUsage.objects.filter(day__gt=end - timedelta(days=VENDOR_LOOKBACK_DAYS), day__lte=end), person_ids)
    found: dict[int, set[str]] = defaultdict(set)
    for person_id, vendor in rows.values_list("person_id", "vendor").distinct():
        found[person_id].add(vendor)
    return found


def _totals(windows: Windows, person_ids: list[int] | None) -> dict[int, Totals]:
    """One aggregate per person over the longest window any rule needs."""
    rules, end = windows.rules, windows.end
    annotations = {"month_spend": Sum("cost_usd", filter=Q(day__gte=end.replace(day=1)))}
    if Kind.UNDERUSE in rules:
        annotations["underuse_spend"] = Sum("cost_usd", filter=Q(day__gte=windows.start(Kind.UNDERUSE)))
        annotations["underuse_active_days"] = Count("pk", filter=Q(day__gte=windows.start(Kind.UNDERUSE), active=True))
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
    if Kind.BURN_WITHOUT_OUTPUT in rules:
        annotations["burn_spend"] = Sum("cost_usd", filter=Q(day__gte=windows.start(Kind.BURN_WITHOUT_OUTPUT)))
    rows = _only(PersonDay.objects.filter(day__gte=windows.earliest(), day__lte=end), person_ids)
    totals = {row.pop("person_id"): Totals(**row) for row in rows.values("person_id").annotate(**annotations)}
    for person_id, counts in _output_days(windows, person_ids).items():
        for name, count in counts.items():
            setattr(totals.setdefault(person_id, Totals()), name, count or 0)
    return totals


def _output_days(windows: Windows, person_ids: list[int] | None) -> dict[int, dict[str, int]]:
    """Per person, the days with output from any source in the underuse and burn windows (one query)."""
    starts = {f"{name}_output_days": windows.start(kind) for name, kind in
              (("underuse", Kind.UNDERUSE), ("burn", Kind.BURN_WITHOUT_OUTPUT)) if kind in windows.rules}
    if not starts:
        return {}
    output = Q()
    for name in OUTPUT_FIELDS:
        output |= Q(**{f"{name}__gt": 0})
    rows = ActivityRecord.objects.filter(output, day__gte=min(starts.values()), day__lte=windows.end,
                                         identity__person__isnull=False)
    if person_ids is not None:
        rows = rows.filter(identity__person_id__in=person_ids)
    annotations = {name: Count("day", distinct=True, filter=Q(day__gte=start)) for name, start in starts.items()}
    return {row.pop("identity__person_id"): row for row in rows.values("identity__person_id").annotate(**annotations)}


def _output_sourced(windows: Windows, person_ids: list[int] | None) -> set[int]:
    """The people a source that reports output (commits, lines, sessions...) has covered lately."""
    if Kind.UNDERUSE not in windows.rules and Kind.BURN_WITHOUT_OUTPUT not in windows.rules:
        return set()
    rows = ActivityRecord.objects.filter(source__in=OUTPUT_SOURCES, identity__person__isnull=False,
                                         day__gt=windows.end - timedelta(days=VENDOR_LOOKBACK_DAYS), day__lte=windows.end)
    if person_ids is not None:
        rows = rows.filter(identity__person_id__in=person_ids)
    return set(rows.values_list("identity__person_id", flat=True).distinct())


def _outlier_facts(windows: Windows) -> dict:
    """Everyone's spend by day over the outlier rule's window, and their teams: nothing when it is off."""
    if Kind.OUTLIER not in windows.rules:
        return {}
    spend: dict[int, dict[date, Decimal]] = defaultdict(dict)
    rows = PersonDay.objects.filter(day__gte=windows.start(Kind.OUTLIER), day__lte=windows.end, cost_usd__gt=0)
    for person_id, day, cost in rows.values_list("person_id", "day", "cost_usd"):
        spend[person_id][day] = cost
    return {"spend_days": dict(spend), "teams": dict(Person.objects.values_list("pk", "team_id"))}


def _unmatched(windows: Windows) -> list[UnmatchedUsage]:
    """Usage of identities nobody is mapped to (service accounts aside), per identity: nothing is read
    when the unattributed rule is off or has no amount."""
    rule = windows.rules.get(Kind.UNATTRIBUTED)
    if rule is None or rule.amount_usd is None:
        return []
    start = windows.end - timedelta(days=rule.window_days - 1)
    rows = (
        UsageRecord.objects.filter(
            day__gte=start, day__lte=windows.end, identity__person__isnull=True, identity__is_service_account=False
        )
        .values_list("identity_id", "identity__vendor", "identity__kind", "identity__value", "identity__label")
        .annotate(cost=Sum("cost_usd"), tokens=Sum("input_tokens") + Sum("cache_write_tokens")
                  + Sum("cache_read_tokens") + Sum("output_tokens"), days=Count("day", distinct=True))
    )
    return [UnmatchedUsage(*row) for row in rows]


def read_details(span: DetailSpan, *, end: date) -> Details:
    """Daily series and usage by source of the people flagged, through ``end``: two queries."""
    details = Details(defaultdict(list), defaultdict(list))
    rows = PersonDay.objects.filter(person_id__in=span.people, day__gte=span.series_from, day__lte=end)
    for pk, day, cost, tokens in rows.values_list("person_id", "day", "cost_usd", "total_tokens"):
        details.series[pk].append((day, cost, tokens))
    usage = DailyUsage.objects.filter(person_id__in=span.people, day__gte=span.window_from, day__lte=end)
    for pk, *row in usage.values_list("person_id", "vendor", "source", "day", "cost_usd", "total_tokens"):
        details.by_source[pk].append(tuple(row))
    return details


def key_of(flag: Flag) -> Key:
    """What a flag is about, as the findings are keyed."""
    if flag.person_id:
        return flag.person_id, flag.rule.kind
    return ("identity", flag.identity_id), flag.rule.kind


@dataclass
class LiveFlags:
    current: dict[Key, Flag] = field(default_factory=dict)  # open, acknowledged or snoozed
    suppressed: set[Key] = field(default_factory=set)  # dismissed, and the rule still keeps quiet


def read_live(*, as_of: date, person_filter: list[int] | None = None) -> LiveFlags:
    """The live flags, and the dismissals still holding, about the people read (and every identity)."""
    flags = Flag.objects.filter(
        Q(status__in=Flag.LIVE) | Q(status=Flag.Status.DISMISSED, suppressed_until__gte=as_of)
    ).select_related("rule")
    if person_filter is not None:
        flags = flags.filter(Q(person_id__in=person_filter) | Q(identity__isnull=False))
    live = LiveFlags()
    for flag in flags:
        if flag.status == Flag.Status.DISMISSED:
            live.suppressed.add(key_of(flag))
        else:
            live.current[key_of(flag)] = flag
    return live
