"""A person's own page ("my usage", and a person's page for their managers): their totals and rank
over a period, their usage by day and vendor or model, their rank week by week, badges, their budget,
and their own rows (identities, uploads, flags).

A page costs two queries whatever the company's size (see ``_usage_overview``), none when cached.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils import timezone

from accounts.models import Person, ProviderIdentity

from .. import budgets, cache, display
from ..cache import BUDGETS, PEOPLE, PERSONAL, ROLLUPS, Versions
from ..display import compact, money, vendor_label
from ..models import DailyUsage, Flag, FlagNote, PersonDay, Source, UsageExport
from . import bands, budget_use, spans
from .budget_use import BudgetUse
from .catalog import Catalog
from .filters import Period
from .ranking import competition_ranks
from .series import buckets, series

RANK_WEEKS = 12


@dataclass
class UsageOverview:
    """What a person's own page shows: totals, daily usage by vendor or model, rank over time."""

    person: Person
    period: Period
    by: str
    total_tokens: int
    input_tokens: int
    cache_write_tokens: int
    cache_read_tokens: int
    output_tokens: int
    requests: int
    cost_usd: Decimal
    unpriced: int
    active_days: int
    rank: int | None
    ranked_people: int
    spans: list[tuple[date, date]]
    stacks: dict[str, list]
    by_vendor: list[tuple[str, int, Decimal, str]]
    rank_weeks: list[tuple[date, int | None]]
    badges: list[Badge]
    # Cost per day of the month so far (through yesterday): what this month's budget forecast reads.
    month_costs: dict[date, Decimal] = field(default_factory=dict)
    # "Top n%" by tokens among everyone counted, hidden people included: what a band is made of.
    band_percentile: int | None = None

    @property
    def band(self) -> str:
        return bands.band(self.band_percentile).label if self.band_percentile else ""

    @property
    def percentile(self) -> int | None:
        if not self.rank or not self.ranked_people:
            return None
        return max(1, math.ceil(self.rank * 100 / self.ranked_people))

    @property
    def total_display(self) -> str:
        return compact(self.total_tokens)

    @property
    def output_display(self) -> str:
        return compact(self.output_tokens)

    @property
    def cost_display(self) -> str:
        return money(self.cost_usd)

    @property
    def requests_display(self) -> str:
        return compact(self.requests)

    @property
    def has_usage(self) -> bool:
        return bool(self.total_tokens or self.requests or self.active_days)

    @property
    def kinds(self) -> list[tuple[str, str, int]]:
        """(label, "1.2M", percent of all tokens) for the four disjoint token kinds."""
        kinds = [
            ("Input (uncached)", self.input_tokens), ("Cache writes", self.cache_write_tokens),
            ("Cache reads", self.cache_read_tokens), ("Output", self.output_tokens),
        ]
        whole = sum(n for _, n in kinds) or 1
        return [(label, compact(n), round(100 * n / whole)) for label, n in kinds]

    @property
    def by_vendor_rows(self) -> list[tuple[str, str, str, str, str]]:
        return [
            (vendor, vendor_label(vendor), compact(tokens), money(cost), sources)
            for vendor, tokens, cost, sources in self.by_vendor
        ]


@dataclass(frozen=True)
class Badge:
    slug: str
    title: str
    detail: str
    icon: str


BILLION = 10**9
STREAK_DAYS = 20


def _week_spans(today: date) -> list[tuple[date, date]]:
    """The last RANK_WEEKS whole weeks (Monday to Sunday) and this week so far, oldest first."""
    monday = today - timedelta(days=today.weekday())
    return [(monday - timedelta(weeks=n), min(monday - timedelta(weeks=n) + timedelta(days=6), today))
            for n in range(RANK_WEEKS - 1, -1, -1)]


def complete_days(period: Period) -> Period:
    """The same number of days, ending yesterday: what a person's page shows unless a period is asked
    for (today has little or no data yet and would read as a day without usage, "27 of 30 active days")."""
    return replace(period, start=period.start - timedelta(days=1), end=period.end - timedelta(days=1))


def usage_overview(
    person: Person, period: Period, *, by: str = "vendor", today: date, detail: bool = True,
    versions: Versions | None = None,
) -> UsageOverview:
    """Everything a person page needs about ``person`` (see ``_usage_overview``), cached with data
    versions: a rank among everyone costs a scan of everyone's weeks."""
    def compute() -> UsageOverview:
        found = _usage_overview(person, period, by=by, today=today, detail=detail, versions=versions)
        found.person = None  # Not cached: the page shows the person as they are now.
        return found

    parts = (person.pk, period.start, period.end, period.key, by, today, detail)
    overview = cache.cached(versions, "usage", parts, compute, per_person=True)
    # A copy: the cached overview is shared by this process's requests.
    return replace(overview, person=person)


def company_weeks(period: Period, *, today: date, versions: Versions | None) -> Standing:
    """The company-wide part of every person page for a period: for each person on the roster (not
    terminated) with rollups in the window, their privacy, tokens and active days in the period, and
    tokens in each of the last RANK_WEEKS weeks, with everyone's places worked out. One scan and one
    sort serve every person's page: cached."""
    weeks = _week_spans(today)

    def scan(first: date, last: date) -> list[tuple]:
        in_period = Q(day__gte=period.start, day__lte=period.end)
        # Prefixed names: an annotation called like a column ("active") would shadow it in the filters.
        columns = {
            "c_tokens": Sum("total_tokens", filter=in_period),
            "c_active": Count("pk", filter=in_period & Q(active=True)),
        }
        for n, (start, end) in enumerate(weeks):
            columns[f"w{n}"] = Sum("total_tokens", filter=Q(day__gte=start, day__lte=end))
        return list(
            PersonDay.objects.filter(day__gte=first, day__lte=last)
            .exclude(person__status=Person.Status.TERMINATED)
            .order_by()
            .values("person_id", "person__privacy")
            .annotate(**columns)
            .values_list("person_id", "person__privacy", *columns)
        )

    def standing() -> Standing:
        # The days before today are read once per import; today's again after each telemetry fold.
        return Standing.of(spans.cached_scan(versions, "usage-weeks", (period.start, period.end, today),
                                             min(period.start, weeks[0][0]), max(period.end, today), scan,
                                             keys=2, also=(PEOPLE,)))

    return cache.cached(versions, "usage-standing", (period.start, period.end, today), standing)


@dataclass(frozen=True)
class Standing:
    """Everyone's numbers on the person pages, and what a person's place among them is read from.

    ``rows``: person -> (privacy, tokens in the period, active days, tokens in each week).
    ``ordered``: for the period's tokens and each week's, the positive values of the people on the
    boards (employed, not hidden), ascending, so that a rank is a bisection instead of a pass over
    ten thousand people on each person's first view. ``counted``: the period's positive tokens of
    everyone, hidden people included (what a band is made of). ``climb``: the largest rise in rank
    from the week before last to last week among the people on the boards, and who made it.
    """

    rows: dict[int, tuple]
    ordered: tuple[list, ...]
    counted: list
    climb: int
    climbers: frozenset[int]

    # Where in a row's numbers the period's tokens, its active days and each week's tokens are.
    TOKENS, ACTIVE, FIRST_WEEK = 1, 2, 3

    @classmethod
    def of(cls, rows: Iterable[tuple]) -> Standing:
        found = {pk: tuple(values) for pk, *values in rows}
        shown = [values for values in found.values() if values[0] != Person.Privacy.HIDDEN]
        columns = [cls.TOKENS, *range(cls.FIRST_WEEK, cls.FIRST_WEEK + RANK_WEEKS)]
        ordered = tuple(sorted(v for values in shown if (v := values[column]) and v > 0) for column in columns)
        counted = sorted(v for values in found.values() if (v := values[cls.TOKENS]) and v > 0)
        climb, climbers = cls._climbers({pk: values for pk, values in found.items()
                                         if values[0] != Person.Privacy.HIDDEN})
        return cls(rows=found, ordered=ordered, counted=counted, climb=climb, climbers=climbers)

    @classmethod
    def _climbers(cls, rows: dict[int, tuple]) -> tuple[int, frozenset[int]]:
        """The best rise in rank by tokens from the week before last to last week (ties share it)."""
        last_week = cls.FIRST_WEEK + RANK_WEEKS - 2

        def ranks(column: int) -> dict[int, int]:
            return {pk: rank for rank, pk, _ in competition_ranks((pk, values[column] or 0)
                                                                  for pk, values in rows.items())}

        last, before = ranks(last_week), ranks(last_week - 1)
        climbs = {pk: before[pk] - rank for pk, rank in last.items() if pk in before}
        best = max(climbs.values(), default=0)
        return best, frozenset(pk for pk, climb in climbs.items() if climb == best and best > 0)

    def figure(self, person_id: int, index: int) -> int:
        """One of the person's numbers (``TOKENS``, ``ACTIVE``...), 0 if they have no row."""
        mine = self.rows.get(person_id)
        return (mine[index] or 0) if mine else 0

    def place(self, person_id: int, column: int) -> tuple[int | None, int]:
        """(competition rank or None, how many are ranked) of the person in a column (0: the period,
        1 + n: week n), among the people on the boards and the person themself, who always counts."""
        values = self.ordered[column]
        own = self.figure(person_id, self.TOKENS if column == 0 else self.FIRST_WEEK + column - 1)
        mine = self.rows.get(person_id)
        hidden_self = mine is not None and mine[0] == Person.Privacy.HIDDEN and own > 0
        ranked = len(values) + hidden_self
        if own <= 0:
            return None, ranked
        return 1 + len(values) - bisect.bisect_right(values, own), ranked

    def band_percentile(self, person_id: int) -> int | None:
        own = self.figure(person_id, self.TOKENS)
        if own <= 0 or not self.counted:
            return None
        above = len(self.counted) - bisect.bisect_right(self.counted, own)
        return max(1, math.ceil((1 + above) * 100 / len(self.counted)))

    def climb_of(self, person_id: int) -> int:
        """The person's rise if it was the week's biggest, else 0."""
        mine = self.rows.get(person_id)
        if mine is not None and mine[0] == Person.Privacy.HIDDEN:
            # A hidden person counts on their own page: the week's ranks are theirs to be among.
            others = {pk: values for pk, values in self.rows.items() if values[0] != Person.Privacy.HIDDEN}
            climb, climbers = self._climbers({**others, person_id: mine})
        else:
            climb, climbers = self.climb, self.climbers
        return climb if person_id in climbers else 0


def _usage_overview(
    person: Person, period: Period, *, by: str, today: date, detail: bool, versions: Versions | None = None
) -> UsageOverview:
    """Everything a person page needs about ``person``, in two queries whatever the company's size:

    - the company-wide PersonDay aggregate over the period and the last twelve weeks (``company_weeks``,
      shared by every person's page): the person's totals and rank in the period, their rank each
      week, who climbed most last week;
    - the person's own DailyUsage, all of it: the daily chart by vendor or model and the four token
      kinds (with ``detail``: only they and those above them see that), and the badges' history.
    """
    weeks = _week_spans(today)
    standing = company_weeks(period, today=today, versions=versions)
    band_percentile = standing.band_percentile(person.pk)
    rank, ranked_people = standing.place(person.pk, 0)
    rank_weeks = [(start, standing.place(person.pk, 1 + n)[0]) for n, (start, _) in enumerate(weeks)]

    by = by if by in ("vendor", "model") else "vendor"
    spans = buckets(period)
    per_day: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    kinds: dict[str, int] = defaultdict(int)
    vendor_totals: dict[str, list] = defaultdict(lambda: [0, Decimal(0), set()])
    used_days: dict[date, int] = defaultdict(int)
    month_costs: dict[date, Decimal] = defaultdict(Decimal)
    yesterday = today - timedelta(days=1)
    month_first = yesterday.replace(day=1)
    sums = {"output": 0, "requests": 0, "cost": Decimal(0), "unpriced": 0}
    history = (
        DailyUsage.objects.filter(person=person)
        .order_by()
        .values_list("day", "vendor", "model", "source", "input_tokens", "cache_write_tokens", "cache_read_tokens",
                     "output_tokens", "total_tokens", "requests", "cost_usd", "unpriced_records")
    )
    for day, vendor, model, source, inp, cw, cr, out, total, requests, cost, unpriced in history:
        if total or requests:
            used_days[day] += total
        if month_first <= day <= yesterday:
            month_costs[day] += cost
        if not period.start <= day <= period.end:
            continue
        sums["output"] += out
        sums["requests"] += requests
        sums["cost"] += cost
        sums["unpriced"] += unpriced
        if not detail:
            continue
        per_day[vendor if by == "vendor" else (model or f"{vendor} (unknown model)")][day] += total
        kinds["input"] += inp
        kinds["cache_write"] += cw
        kinds["cache_read"] += cr
        vendor_totals[vendor][0] += total
        vendor_totals[vendor][1] += cost
        vendor_totals[vendor][2].add(source)
    biggest_first = sorted(per_day.items(), key=lambda item: -sum(item[1].values()))
    stacks = {key: series(values, spans) for key, values in biggest_first}
    source_labels = dict(Source.choices)
    by_vendor = [
        (vendor, total, cost, ", ".join(sorted(source_labels.get(s, s) for s in sources)))
        for vendor, (total, cost, sources) in sorted(vendor_totals.items(), key=lambda item: -item[1][0])
    ]
    return UsageOverview(
        person=person, period=period, by=by,
        total_tokens=standing.figure(person.pk, Standing.TOKENS),
        input_tokens=kinds["input"], cache_write_tokens=kinds["cache_write"], cache_read_tokens=kinds["cache_read"],
        output_tokens=sums["output"], requests=sums["requests"], cost_usd=sums["cost"], unpriced=sums["unpriced"],
        active_days=standing.figure(person.pk, Standing.ACTIVE), rank=rank, ranked_people=ranked_people, spans=spans, stacks=stacks,
        by_vendor=by_vendor, rank_weeks=rank_weeks,
        badges=earned_badges(person.pk, used_days, climb=standing.climb_of(person.pk), weeks=weeks), month_costs=dict(month_costs),
        band_percentile=band_percentile,
    )


def earned_badges(person_id: int, used_days: dict[date, int], *, climb: int, weeks) -> list[Badge]:
    """Badges from the rollups, recomputed on every view: no counters to keep, nothing that nags.

    - first billion tokens, all time, and the day it happened;
    - a run of STREAK_DAYS consecutive days with usage (the longest run so far);
    - biggest climber: the largest rise in rank by tokens from the week before last to last week,
      among everyone ranked in both (ties share it): ``climb``, from the company's standing."""
    badges = []
    cumulative, crossed = 0, None
    longest, run, best_end, previous = 0, 0, None, None
    for day in sorted(used_days):
        cumulative += used_days[day]
        if crossed is None and cumulative >= BILLION:
            crossed = day
        run = run + 1 if previous == day - timedelta(days=1) else 1
        previous = day
        if run > longest:
            longest, best_end = run, day
    if crossed:
        badges.append(Badge(
            "billion", "First billion tokens", f"Passed 1B tokens on {display.day(crossed)}.", "◆"
        ))
    if longest >= STREAK_DAYS:
        run_of = display.day_span(best_end - timedelta(days=longest - 1), best_end)
        badges.append(Badge("streak", f"{STREAK_DAYS}-day streak", f"Used AI {longest} days in a row, {run_of}.", "▮"))
    if climb > 0:
        start = weeks[len(weeks) - 2][0]
        badges.append(Badge(
            "climber", "Biggest climber of the week", f"Up {climb} places in the week of {display.short_day(start)}.", "▲"
        ))
    return badges


def person_budget(person: Person, overview: UsageOverview, *, catalog: Catalog, versions: Versions | None,
                  today: date) -> BudgetUse:
    """A person's budget over the overview's period, the spend against it (the cost the overview has
    summed), how the budget was derived and this month's forecast: no query once the policies are
    cached (the person's facts are on the row the page has loaded; the teams are the catalog's)."""
    period = overview.period
    facts = budgets.PersonFacts.of(person)

    def compute() -> BudgetUse:
        book = budget_use.budget_book({person.pk: facts}, catalog=catalog, versions=versions)
        budget = book.budget(person.pk, period.start, period.end)
        forecast = budgets.forecast_this_month(book, person.pk, today=today, daily_spend=overview.month_costs)
        # The month of the last complete day (this month's, from its 2nd): what the forecast is about.
        month = (today - timedelta(days=1)).replace(day=1) if today.day > 1 else today.replace(day=1)
        month_budget = book.budget(person.pk, month, budgets.month_end(month)).amount
        month_spent = sum((cost for day, cost in (overview.month_costs or {}).items()
                           if month <= day < today), Decimal(0))
        return BudgetUse(budget=budget.amount, spend=overview.cost_usd, derivation=budget.explain(),
                         forecast=forecast.text, month_budget=month_budget, month_spent=month_spent, month=month)

    # Arithmetic only, yet a tenth of a warm "my usage" page: cached under everything it reads (the
    # overview's numbers and the teams under the data versions; the policies; the person's facts).
    return cache.cached(versions, "person-budget", (facts, period.start, period.end, today), compute,
                        on=(ROLLUPS, PEOPLE, BUDGETS), per_person=True)


# --- A person's own: identities, uploads, flags -------------------------------------------------


@dataclass
class Personal:
    """What "my usage" shows besides the numbers: the identities linked to me, my own uploads and my
    live flags (a person's page shows the first and the last)."""

    identities: list[IdentityInfo]
    uploads: list[UsageExport]
    flags: list[Flag]


def personal(person: Person, versions: Versions | None = None) -> Personal:
    """The person's own rows, cached under the personal version (moved whenever one of them changes):
    a page view reads none of them until one does.

    For pages that write nothing before they read this: on PostgreSQL the version moves when a
    transaction commits, so rows a transaction has written but not committed would be cached under
    the version from before them."""

    def read() -> Personal:
        return Personal(linked_identities(person), my_uploads(person), open_flags(person))

    return cache.cached(versions, "personal", (person.pk,), read, on=(PERSONAL,), per_person=True)


def live_flag_count(person: Person, versions: Versions | None = None) -> int:
    """How many live flags are about the person: the badge in the navigation."""
    return cache.cached(versions, "live-flags", (person.pk,),
                        lambda: Flag.objects.filter(person=person, status__in=Flag.LIVE).count(),
                        on=(PERSONAL,), per_person=True)


# A closed flag stays on the person's page this long, with the conversation, so that a reply that came
# with the resolution is read.
CLOSED_FLAGS_SHOWN_DAYS = 30


def open_flags(person: Person, today: date | None = None) -> list[Flag]:
    """The person's live flags (open, acknowledged, snoozed), then the ones closed in the last 30 days,
    newest first: the rule, how many replies to the person and answers from them each has, and that
    conversation (``flag.conversation``; never the internal notes)."""
    today = today or timezone.now().date()
    found = list(
        Flag.objects.filter(person=person)
        .filter(Q(status__in=Flag.LIVE) | Q(closed_on__gte=today - timedelta(days=CLOSED_FLAGS_SHOWN_DAYS)))
        .select_related("rule")
        .annotate(
            replies=Count("notes", filter=Q(notes__kind=FlagNote.Kind.REPLY)),
            answers=Count("notes", filter=Q(notes__kind=FlagNote.Kind.ANSWER)),
        )
        .order_by("-opened_on", "-pk")
    )
    talked = [flag.pk for flag in found if flag.replies or flag.answers]
    notes: dict[int, list[FlagNote]] = defaultdict(list)
    if talked:  # one more query, only when there is a conversation to show
        for note in (FlagNote.objects.filter(flag_id__in=talked, kind__in=[FlagNote.Kind.REPLY, FlagNote.Kind.ANSWER])
                     .select_related("author")):
            notes[note.flag_id].append(note)
    for flag in found:
        flag.conversation = notes.get(flag.pk, [])
    return sorted(found, key=lambda flag: not flag.is_live)


@dataclass
class IdentityInfo:
    vendor: str
    kind: str
    value: str
    label: str
    mapped_at: Any

    @property
    def vendor_label(self) -> str:
        return vendor_label(self.vendor)


def linked_identities(person: Person) -> list[IdentityInfo]:
    kinds = dict(ProviderIdentity.Kind.choices)
    return [
        IdentityInfo(vendor, kinds.get(kind, kind), value, label, mapped_at)
        for vendor, kind, value, label, mapped_at in person.identities.order_by("vendor", "kind", "value")
        .values_list("vendor", "kind", "value", "label", "mapped_at")
    ]


def my_uploads(person: Person, limit: int = 5) -> list[UsageExport]:
    return list(
        UsageExport.objects.filter(origin=UsageExport.Origin.SELF_SERVICE, attributed_to=person)
        .only("original_name", "status", "created_at", "first_day", "last_day", "failure", "origin")
        .order_by("-created_at", "-pk")[:limit]
    )
