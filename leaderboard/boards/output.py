"""What usage produced, beside it: commits, pull requests and accepted lines from the sources that
report them, the ratios that count every dollar, and which trust level a person's numbers rest on.

Output is read from the DailyOutput rollup (rollups.py builds it from the activity rows of the output
sources, models.OUTPUT_SOURCES): per person, day and vendor only the best-ranked output source present
counts, as for tokens, so a commit that Claude Code's analytics and its telemetry both report counts
once; different tools (Claude Code, Cursor, Copilot) add up. Someone with no output source in a period has output
*unknown*, never zero: nothing reported is not the same as nothing done.

Ratios divide everything spent in the period by everything produced in it: a day or a run that
produced nothing still adds its dollars (no "denominator trap" of averaging only over the days with
a pull request). Spend with nothing produced is its own answer ("no pull requests"), ranked last.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import BigIntegerField, CharField, DecimalField, Q, Sum, Value

from accounts.models import Person

from .. import cache, display
from ..cache import PEOPLE, ROLLUPS, Versions
from ..models import (
    TRUST_ORDER,
    DailyOutput,
    DailyUsage,
    PersonDay,
    Trust,
    trust_of,
)
from .filters import BoardFilters, Period

SHORT_TRUST = {Trust.PROVIDER.value: "provider", Trust.TELEMETRY.value: "telemetry",
               Trust.SELF_REPORTED.value: "self-reported"}
# The output rows' "source" in the page query (never a real source's name).
OUTPUT_ROW = "#output"
# A ratio with spend and nothing produced: worse than any finite ratio.
NO_OUTPUT = Decimal("Infinity")


@dataclass(frozen=True, slots=True)
class Output:
    commits: int = 0
    pull_requests: int = 0
    accepted_lines: int = 0

    def __add__(self, other: Output) -> Output:
        return Output(self.commits + other.commits, self.pull_requests + other.pull_requests,
                      self.accepted_lines + other.accepted_lines)


def ratio(numerator, output: Output | None, per: str) -> Decimal | None:
    """``numerator`` (cost, tokens) per unit of ``output``'s ``per``: None when unknown (no output
    source) or when there is nothing to divide (no spend, nothing produced); NO_OUTPUT for spend
    with nothing produced."""
    if output is None:
        return None
    numerator = Decimal(numerator or 0)
    denominator = getattr(output, per)
    if denominator:
        return numerator / denominator
    return NO_OUTPUT if numerator > 0 else None


# --- Reading output -----------------------------------------------------------------------------


def daily_output(start: date, end: date, *, vendor: str = "", person_ids: Iterable[int] | None = None
                 ) -> dict[int, dict[date, Output]]:
    """Each person's output per day (only people with an output source in the days, only the days it
    reported), from the DailyOutput rollup."""
    rows = DailyOutput.objects.filter(day__gte=start, day__lte=end)
    if vendor:
        rows = rows.filter(vendor=vendor)
    if person_ids is not None:
        rows = rows.filter(person_id__in=list(person_ids))
    found: dict[int, dict[date, Output]] = defaultdict(dict)
    for pk, day, commits, pulls, lines in (
        rows.order_by().values("person_id", "day")
        .annotate(c=Sum("commits"), p=Sum("pull_requests"), l=Sum("accepted_lines"))
        .values_list("person_id", "day", "c", "p", "l")
    ):
        found[pk][day] = Output(commits or 0, pulls or 0, lines or 0)
    return found


def output_by_person(period: Period, *, vendor: str = "", model: str = "",
                     versions: Versions | None = None) -> dict[int, Output]:
    """Everyone's output over the period; a person missing has an unknown output. No source reports
    output per model, so under a model filter everyone's is unknown. Cached under the rollups
    version, like every rollup."""
    if model:
        return {}

    def scan() -> dict[int, tuple[int, int, int]]:
        rows = DailyOutput.objects.filter(day__gte=period.start, day__lte=period.end)
        if vendor:
            rows = rows.filter(vendor=vendor)
        return {pk: (commits or 0, pulls or 0, lines or 0) for pk, commits, pulls, lines in (
            rows.order_by().values("person_id")
            .annotate(c=Sum("commits"), p=Sum("pull_requests"), l=Sum("accepted_lines"))
            .values_list("person_id", "c", "p", "l")
        )}

    found = cache.cached(versions, "output", (period.start, period.end, vendor), scan,
                         on=(cache.rollups_through(period.end),))
    return {pk: Output(*counts) for pk, counts in found.items()}


# --- Trust --------------------------------------------------------------------------------------


def trust_levels(sources: Iterable[str]) -> tuple[str, ...]:
    """The trust levels of the sources that counted, strongest first."""
    from_sources = {trust_of(source) for source in sources}
    return tuple(level.value for level in TRUST_ORDER if level in from_sources)


def trust_label(levels: Iterable[str]) -> str:
    """"Provider-reported", "Provider-reported and self-reported": what a person's numbers rest on."""
    labels = [Trust(level).label for level in levels]
    if not labels:
        return ""
    text = " and ".join(labels) if len(labels) < 3 else ", ".join(labels[:-1]) + " and " + labels[-1]
    return text[:1].upper() + text[1:].lower()


# --- A board page's rows ------------------------------------------------------------------------


class OutputFigures:
    """The counts and ratios a row or a trend shows from its ``output`` (None: unknown), ``cost_usd``
    and ``total_tokens``; "unknown" wherever no source reports output."""

    output: Output | None
    cost_usd: Decimal
    total_tokens: int

    def _count(self, name: str) -> str:
        return "unknown" if self.output is None else f"{getattr(self.output, name):,}"

    @property
    def commits_display(self) -> str:
        return self._count("commits")

    @property
    def pull_requests_display(self) -> str:
        return self._count("pull_requests")

    @property
    def accepted_lines_display(self) -> str:
        return self._count("accepted_lines")

    @property
    def cost_per_pr(self) -> Decimal | None:
        return ratio(self.cost_usd, self.output, "pull_requests")

    @property
    def tokens_per_line(self) -> Decimal | None:
        return ratio(self.total_tokens, self.output, "accepted_lines")

    @property
    def cost_per_pr_display(self) -> str:
        return "unknown" if not self.known else display.cost_per_pull_request(self.cost_per_pr)

    @property
    def tokens_per_line_display(self) -> str:
        return "unknown" if not self.known else display.tokens_per_line(self.tokens_per_line)


@dataclass
class RowOutput(OutputFigures):
    """What a board row shows beside its metric: spend, output (None: unknown), the two ratios and
    the trust levels its numbers rest on."""

    total_tokens: int = 0
    cost_usd: Decimal = Decimal(0)
    unpriced: int = 0
    output: Output | None = None
    trust: tuple[str, ...] = field(default_factory=tuple)

    @property
    def known(self) -> bool:
        return self.output is not None

    @property
    def cost_display(self) -> str:
        return display.money(self.cost_usd)

    @property
    def tokens_display(self) -> str:
        return display.compact(self.total_tokens)

    @property
    def trust_label(self) -> str:
        return trust_label(self.trust)

    @property
    def trust_short(self) -> str:
        """"Provider", "Provider + self-reported": the trust column's few words."""
        text = " + ".join(SHORT_TRUST[level] for level in self.trust)
        return text[:1].upper() + text[1:]

    @property
    def weakest_trust(self) -> str:
        return self.trust[-1] if self.trust else ""


def attach(board, rows: list, *, versions: Versions | None = None) -> None:
    """Each row's ``extra``: for a row the viewer sees exactly, its spend, output and ratios; for a
    colleague shown by band, only the trust levels (a word, not a figure)."""
    if not rows:
        return
    groups = [tuple(row.person_id for row in rows if row is not board.pinned),
              tuple(row.person_id for row in rows if row is board.pinned)]
    found = row_outputs(board.filters, groups, versions=versions)
    for row in rows:
        extra = found[row.person_id]
        row.extra = extra if row.exact else RowOutput(trust=extra.trust)


def row_outputs(filters: BoardFilters, groups: list[tuple[int, ...]], *,
                versions: Versions | None) -> dict[int, RowOutput]:
    """RowOutput for these groups of people (a board page's rows, a pinned row): their tokens and cost
    by the source that counted them (its trust level), and their output over the period. One query
    for a page, the rollups of its people only; cached per group under the rollups version."""

    def compute(pks: list[int]) -> dict[int, tuple]:
        period = filters.period
        usage = DailyUsage.objects.filter(person_id__in=pks, day__gte=period.start, day__lte=period.end)
        if filters.vendor:
            usage = usage.filter(vendor=filters.vendor)
        if filters.model:
            usage = usage.filter(model=filters.model)
        zero = Value(0, output_field=BigIntegerField())
        spend = (usage.order_by().values("person_id", "source")
                 .annotate(t=Sum("total_tokens"), c=Sum("cost_usd"), u=Sum("unpriced_records"), oc=zero, op=zero,
                           ol=zero)
                 .values_list("person_id", "source", "t", "c", "u", "oc", "op", "ol"))
        rows = spend
        if not filters.model:  # no source reports output per model
            made = DailyOutput.objects.filter(person_id__in=pks, day__gte=period.start, day__lte=period.end)
            if filters.vendor:
                made = made.filter(vendor=filters.vendor)
            made = (made.order_by().values("person_id")
                    .annotate(s=Value(OUTPUT_ROW, output_field=CharField()), t=zero,
                              c=Value(Decimal(0), output_field=DecimalField(max_digits=18, decimal_places=6)),
                              u=zero, oc=Sum("commits"), op=Sum("pull_requests"), ol=Sum("accepted_lines"))
                    .values_list("person_id", "s", "t", "c", "u", "oc", "op", "ol"))
            rows = spend.union(made, all=True)
        found: dict[int, list] = {pk: [0, Decimal(0), 0, None, set()] for pk in pks}
        for pk, source, tokens, cost, unpriced, commits, pulls, lines in rows:
            mine = found[pk]
            if source == OUTPUT_ROW:
                mine[3] = (commits or 0, pulls or 0, lines or 0)
                continue
            mine[0] += tokens or 0
            mine[1] += Decimal(cost or 0)
            mine[2] += unpriced or 0
            mine[4].add(source)
        return {pk: (tokens, cost, unpriced, made, trust_levels(sources))
                for pk, (tokens, cost, unpriced, made, sources) in found.items()}

    parts = (filters.period.start, filters.period.end, filters.vendor, filters.model)
    found = cache.cached_many(versions, "row-output", parts, groups, compute,
                              on=(cache.rollups_through(filters.period.end),))
    return {
        pk: RowOutput(tokens, cost, unpriced, Output(*made) if made is not None else None, trust)
        for pk, (tokens, cost, unpriced, made, trust) in found.items()
    }


# --- A person's output over time, against their team -------------------------------------------


@dataclass
class OutputTrend(OutputFigures):
    """A person's output and cost per output by span (day or week) of a period, beside their team's
    median person; None where unknown."""

    spans: list[tuple[date, date]]
    known: bool
    output: Output | None
    cost_usd: Decimal
    total_tokens: int
    team_median_cost_per_pr: Decimal | None
    team_median_tokens_per_line: Decimal | None
    # Per span: (pull requests, cost per pull request or None, the team median's or None)
    points: list[tuple[int, Decimal | None, Decimal | None]]

    @property
    def team_cost_per_pr_display(self) -> str:
        median = self.team_median_cost_per_pr
        return "unknown" if median is None else display.cost_per_pull_request(median)

    @property
    def team_tokens_per_line_display(self) -> str:
        median = self.team_median_tokens_per_line
        return "unknown" if median is None else display.tokens_per_line(median)

    @property
    def weeks(self) -> list[tuple[str, str, str, str]]:
        """(the week, pull requests, cost per pull request, the team median's), newest first."""
        return [
            (display.day_span(first, last), f"{pulls:,}" if self.known else "unknown",
             display.cost_per_pull_request(mine) if self.known else "unknown",
             "unknown" if team is None else display.cost_per_pull_request(team))
            for (first, last), (pulls, mine, team) in reversed(list(zip(self.spans, self.points, strict=True)))
        ]


def _median(values: list[Decimal]) -> Decimal | None:
    """The middle of the team's ratios, spend without output (infinite) included: a median that left
    out the people who produced nothing would flatter the team."""
    return statistics.median(values) if values else None


def weeks_of(period: Period) -> list[tuple[date, date]]:
    """The period in weeks counted back from its last day (the first may be shorter), oldest first."""
    spans, end = [], period.end
    while end >= period.start:
        start = max(period.start, end - timedelta(days=6))
        spans.append((start, end))
        end = start - timedelta(days=1)
    return spans[::-1]


def _team_days(person_id: int, team_id: int | None, period: Period) -> dict[int, dict[date, list]]:
    """Per person of the team (and the person), per day: [tokens, cost, Output or None]. One query:
    the spend and the output rollups side by side."""
    members = Q(pk=person_id)
    if team_id is not None:
        members |= Q(team_id=team_id) & ~Q(status=Person.Status.TERMINATED)
    # The team's ids as a subquery: a join filtered on the team made PostgreSQL read every person's
    # days of the period (300,000 rows for a 30-day period of 10,000 people) to keep a hundred's.
    people = Q(person_id__in=Person.objects.filter(members).values("pk"))
    in_period = Q(day__gte=period.start, day__lte=period.end)
    zero = Value(0, output_field=BigIntegerField())
    spend = (PersonDay.objects.filter(people, in_period).order_by()
             .annotate(k=Value("spend", output_field=CharField()), oc=zero, op=zero, ol=zero)
             .values_list("person_id", "day", "k", "total_tokens", "cost_usd", "oc", "op", "ol"))
    made = (DailyOutput.objects.filter(people, in_period).order_by().values("person_id", "day")
            .annotate(k=Value(OUTPUT_ROW, output_field=CharField()), t=zero,
                      c=Value(Decimal(0), output_field=DecimalField(max_digits=18, decimal_places=6)),
                      oc=Sum("commits"), op=Sum("pull_requests"), ol=Sum("accepted_lines"))
            .values_list("person_id", "day", "k", "t", "c", "oc", "op", "ol"))
    found: dict[int, dict[date, list]] = defaultdict(lambda: defaultdict(lambda: [0, Decimal(0), None]))
    for pk, day, kind, tokens, cost, commits, pulls, lines in spend.union(made, all=True):
        entry = found[pk][day]
        if kind == OUTPUT_ROW:
            entry[2] = Output(commits or 0, pulls or 0, lines or 0)
        else:
            entry[0] += tokens or 0
            entry[1] += Decimal(cost or 0)
    found.setdefault(person_id, defaultdict(lambda: [0, Decimal(0), None]))
    return found


def _sum_span(days: dict[date, list], first: date, last: date, *, known: bool) -> tuple[Output | None, int, Decimal]:
    """A person's output (None: unknown), tokens and cost over [first, last]. Known over the whole
    period means known in each span too: a week without output is zero output, not unknown."""
    made, tokens, cost = Output(), 0, Decimal(0)
    for day, (day_tokens, day_cost, day_made) in days.items():
        if first <= day <= last:
            tokens += day_tokens
            cost += day_cost
            if day_made is not None:
                made = made + day_made
    return (made if known else None), tokens, cost


def output_trend(person_id: int, team_id: int | None, period: Period, *,
                 versions: Versions | None = None) -> OutputTrend:
    """The person's output and cost per pull request week by week against the median of their team
    (its people with an output source, the person included, spend without output counting as
    such), and the period's totals. One query, cached under the rollups and people versions."""
    spans = weeks_of(period)

    def compute() -> OutputTrend:
        days = _team_days(person_id, team_id, period)
        known = {pk: any(entry[2] is not None for entry in person_days.values()) for pk, person_days in days.items()}
        points = []
        for first, last in spans:
            made, _tokens, cost = _sum_span(days[person_id], first, last, known=known[person_id])
            others = [ratio(c, m, "pull_requests")
                      for m, _t, c in (_sum_span(d, first, last, known=known[pk]) for pk, d in days.items())]
            points.append((made.pull_requests if made else 0, ratio(cost, made, "pull_requests"),
                           _median([v for v in others if v is not None])))
        whole = {pk: _sum_span(d, period.start, period.end, known=known[pk]) for pk, d in days.items()}
        made, tokens, cost = whole[person_id]
        return OutputTrend(
            spans=spans, known=made is not None, output=made, cost_usd=cost, total_tokens=tokens,
            team_median_cost_per_pr=_median([v for v in (ratio(c, m, "pull_requests") for m, _t, c in whole.values())
                                             if v is not None]),
            team_median_tokens_per_line=_median([v for v in (ratio(t, m, "accepted_lines")
                                                             for m, t, _c in whole.values()) if v is not None]),
            points=points,
        )

    parts = (person_id, team_id, period.start, period.end)
    return cache.cached(versions, "output-trend", parts, compute, on=(ROLLUPS, PEOPLE), per_person=True)
