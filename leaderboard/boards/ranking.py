"""The individual board: each person's totals over a period, their ranks, and one page of them as
a viewer may see it (plus their own row, pinned), in the CSV and JSON shapes too.

A board costs one aggregate over the period and the one before it (rank change), then one query for
the sparklines of the rows on the page; with data versions the ranking is cached whole, and a warm
page reads no rollup and no person. Ranks are computed in Python in one pass over the aggregate. Who
is listed depends on the viewer only through their own row: hidden people are left off (but counted
in team and company totals), anonymous people are numbered from an HMAC of the period and their id,
and a viewer always sees themselves, named.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, Sum

from accounts.models import Person

from .. import cache
from ..cache import BUDGETS, PEOPLE, Versions
from ..display import cents, spreadsheet_safe
from . import bands, budget_use, output, series, spans
from .budget_use import ALL_BUDGETS, NO_BUDGETS, BudgetSight
from .catalog import Catalog, Member
from .filters import BoardFilters, Period, rollup_rows

PER_PAGE = 50


# --- Aggregation --------------------------------------------------------------------------------


@dataclass(slots=True)
class Totals:
    """One person's numbers over a period, and the ranked metric over the period before.

    Only the totals an aggregate was asked for are filled in (see ``aggregate``); ``value`` is the
    metric ranked by, ``previous`` the same over the previous period."""

    person_id: int
    total_tokens: int = 0
    output_tokens: int = 0
    requests: int = 0
    cost_usd: Decimal = Decimal(0)
    unpriced: int = 0
    active_days: int = 0
    # The other three token kinds: only read when asked for (CSV, CLI), from DailyUsage.
    input_tokens: int | None = None
    cache_write_tokens: int | None = None
    cache_read_tokens: int | None = None
    value: Any = 0
    previous: Any = 0
    # The budget over the period, when the metric divides by it.
    budget: Decimal | None = None
    # What the usage produced (output metrics only): unknown unless ``output_known``.
    commits: int = 0
    pull_requests: int = 0
    accepted_lines: int = 0
    output_known: bool = False


TOTALS = ("total_tokens", "output_tokens", "requests", "cost_usd", "unpriced", "active_days")
KINDS = ("input_tokens", "cache_write_tokens", "cache_read_tokens")


def _aggregate(daily: bool, name: str, when: Q | None):
    """The SQL aggregate behind one Totals field, over the rows ``when`` matches."""
    if name == "active_days":
        # DailyUsage knows days with tokens or requests; PersonDay also days with other activity.
        active = Q(total_tokens__gt=0) | Q(requests__gt=0) if daily else Q(active=True)
        active = active & when if when is not None else active
        return Count("day", distinct=True, filter=active) if daily else Count("pk", filter=active)
    return Sum("unpriced_records" if name == "unpriced" else name, filter=when)


def aggregate(
    filters: BoardFilters, *, previous: bool = True, breakdown: bool = False, everything: bool | None = None,
    versions: Versions | None = None, catalog: Catalog | None = None,
) -> dict[int, Totals]:
    """Each person's totals over the period (and the metric over the previous one), in ONE query.

    The previous period is read in the same scan with conditional sums, so rank change costs no
    second round trip. People are not filtered here: that is done in Python from the catalog.
    Only the metric (and for cost, whether any usage was unpriced) is summed unless ``everything``
    (the default with ``breakdown``) asks for every total: each sum costs time on every row.
    With data versions the rows are cached (as plain tuples): the one place the boards scan a period
    of rollups, so a page that finds them costs no scan at all. Shares of budget are worked out on
    the totals afterwards (with the ``catalog``), never on what is cached."""
    period, metric = filters.period, filters.metric
    everything = breakdown if everything is None else everything
    names = list(TOTALS) if everything else [metric.field, *(["unpriced"] if metric.field == "cost_usd" else [])]
    if metric.counts_output:
        # Counted from the activity rows (boards/output.py), not the token rollups; the tokens say
        # who used AI with no output source (their output is unknown).
        names = [name for name in names if name in TOTALS] or ["total_tokens"]
        previous_from_rollups = False
    else:
        previous_from_rollups = previous
    if breakdown:
        names += KINDS

    def scan(first, last) -> list[tuple]:
        rows, daily = rollup_rows(filters, breakdown=breakdown)
        current = Q(day__gte=period.start) if previous_from_rollups else None
        rows = rows.filter(day__gte=first, day__lte=last)
        # Aliased: an annotation named like a column ("total_tokens") would shadow it inside the filters.
        columns = {f"a_{name}": _aggregate(daily, name, current) for name in names}
        if previous_from_rollups:
            columns["a_previous"] = _aggregate(daily, metric.field, ~current)
        return list(rows.order_by().values("person_id").annotate(**columns).values_list("person_id", *columns))

    scanned = names or previous_from_rollups
    parts = (period.start, period.end, metric.field, tuple(names), filters.vendor, filters.model,
             previous_from_rollups, breakdown)
    found: dict[int, Totals] = {}
    first = period.previous().start if previous_from_rollups else period.start
    for person_id, *values in spans.cached_scan(versions, "aggregate", parts, first, period.end, scan) if scanned else ():
        totals = Totals(person_id=person_id)
        for name, value in zip(names, values, strict=False):
            setattr(totals, name, value or (Decimal(0) if name == "cost_usd" else 0))
        totals.value = getattr(totals, metric.field, 0)
        totals.previous = (values[-1] or 0) if previous_from_rollups else 0
        found[person_id] = totals
    if metric.output:
        _apply_output(found, filters, previous=previous, versions=versions)
    if metric.budgeted:
        if catalog is None:
            raise ValueError(f"ranking by {metric.name} needs the catalog")
        budget_use.apply_shares(found.values(), period, catalog=catalog, versions=versions)
    return found


def _apply_output(found: dict[int, Totals], filters: BoardFilters, *, previous: bool,
                  versions: Versions | None) -> None:
    """Output metrics: each person's output over the period (and the one before), and the metric
    worked out from it; people with output and no usage are counted too (a ratio of $0)."""
    metric, period = filters.metric, filters.period
    now = output.output_by_person(period, vendor=filters.vendor, model=filters.model, versions=versions)
    before = (output.output_by_person(period.previous(), vendor=filters.vendor, model=filters.model,
                                      versions=versions) if previous else {})
    for pk in now:
        if pk not in found:
            found[pk] = Totals(person_id=pk)
    for pk, totals in found.items():
        made = now.get(pk)
        if made is not None:
            totals.commits, totals.pull_requests, totals.accepted_lines = (
                made.commits, made.pull_requests, made.accepted_lines)
            totals.output_known = True
        if metric.per:
            totals.value = output.ratio(getattr(totals, metric.field), made, metric.per)
            totals.previous = output.ratio(totals.previous, before.get(pk), metric.per) if previous else None
        else:
            totals.value = getattr(made, metric.field) if made is not None else 0
            totals.previous = getattr(before.get(pk), metric.field, 0) if previous else 0


def ranks_for(metric) -> Callable[[Iterable[tuple[int, Any]]], list[tuple[int, int, Any]]]:
    return ascending_ranks if metric.ascending else competition_ranks


def ascending_ranks(values: Iterable[tuple[int, Any]]) -> list[tuple[int, int, Any]]:
    """Like ``competition_ranks``, lowest first (a ratio of spend to output): None (unknown, or
    nothing to divide) is not ranked; spend with nothing produced (infinite) ranks last."""
    ordered = sorted(((pk, v) for pk, v in values if v is not None), key=lambda item: (item[1], item[0]))
    ranked, rank, last = [], 0, None
    for position, (pk, value) in enumerate(ordered, start=1):
        if value != last:
            rank, last = position, value
        ranked.append((rank, pk, value))
    return ranked


def competition_ranks(values: Iterable[tuple[int, Any]]) -> list[tuple[int, int, Any]]:
    """[(person_id, value)] -> [(rank, person_id, value)] best first; equal values share a rank
    ("1, 2, 2, 4"). Ties are listed by person id only so that the order is stable between pages."""
    ordered = sorted(((pk, v) for pk, v in values if v and v > 0), key=lambda item: (-item[1], item[0]))
    ranked, rank, last = [], 0, None
    for position, (pk, value) in enumerate(ordered, start=1):
        if value != last:
            rank, last = position, value
        ranked.append((rank, pk, value))
    return ranked


# --- The individual board -----------------------------------------------------------------------


def anonymous_numbers(people: Iterable[Member], period: Period, *, scope: str = "") -> dict[int, int]:
    """"Anonymous #n": numbered in the order of an HMAC of (secret key, period, scope, id), so a number
    says nothing about who it is, their id or their rank. The scope is the team and title filters: a
    number that stayed the same while an admirer narrowed the board down by team and title would
    end up naming its person."""
    key = settings.SECRET_KEY.encode()

    def digest(pk: int) -> bytes:
        message = f"anonymous:{period.start}:{period.end}:{scope}:{pk}"
        return hmac.new(key, message.encode(), hashlib.sha256).digest()

    anonymous = sorted((m.pk for m in people if m.privacy == Person.Privacy.ANONYMOUS), key=digest)
    return {pk: n for n, pk in enumerate(anonymous, start=1)}


@dataclass
class BoardRow:
    rank: int
    person_id: int
    name: str
    email: str
    team: str
    title: str
    totals: Totals
    value: Any
    value_display: str
    share: float
    change: int | None
    is_me: bool = False
    is_anonymous: bool = False
    linked: bool = False
    percentile: int | None = None
    sparkline: list = field(default_factory=list)
    chart: str = ""
    # A colleague's place as the viewer may see it: their band ("Top 5%") instead of a rank and
    # figures, or "" when the viewer sees the exact numbers (boards/bands.py).
    band: str = ""
    # Spend, output, ratios and trust levels beside the metric (boards/output.py), when asked for.
    extra: output.RowOutput | None = None

    @property
    def exact(self) -> bool:
        return not self.band

    @property
    def share_percent(self) -> str:
        # A visible sliver even for tiny values, so nobody's bar reads as "nothing".
        return f"{max(self.share * 100, 0.5):.1f}"

    @property
    def is_new(self) -> bool:
        return self.change is None

    @property
    def trend(self) -> str:
        if self.change is None:
            return "new"
        return "up" if self.change > 0 else "down" if self.change < 0 else "same"

    @property
    def change_display(self) -> str:
        if self.change is None:
            return "new"
        if self.change == 0:
            return "–"
        return f"▲ {self.change}" if self.change > 0 else f"▼ {-self.change}"

    @property
    def change_label(self) -> str:
        if self.change is None:
            return "not ranked in the previous period"
        if self.change == 0:
            return "same rank as the previous period"
        places = "place" if abs(self.change) == 1 else "places"
        return f"up {self.change} {places}" if self.change > 0 else f"down {-self.change} {places}"


@dataclass
class Board:
    filters: BoardFilters
    rows: list[BoardRow]
    count: int
    page: int
    pages: int
    per_page: int
    me: BoardRow | None = None
    # My row, shown under the table when it is not on this page.
    pinned: BoardRow | None = None
    # True when I pass the filters but have nothing to rank in the period.
    me_unranked: bool = False
    leader_value: Any = 0
    company_total: Any = 0
    company_total_display: str = ""
    ranked: list[tuple[int, int, Any, int | None]] = field(default_factory=list, repr=False)
    _compared: bool = field(default=False, repr=False)
    _make_row: Callable[..., BoardRow] | None = field(default=None, repr=False)
    # Whether colleagues are shown by band to this viewer (listed by band, then by name), and whom
    # the viewer sees exactly all the same (besides themself).
    banded: bool = False
    exact: BudgetSight = ALL_BUDGETS
    # Counted, with spend, yet with no output source: their output is unknown (output metrics only).
    unknown_output: int = 0
    # Whether the rows carry their spend, output, ratios and trust levels (``extra``).
    outputs: bool = False

    @property
    def compared(self) -> bool:
        """Whether anyone was ranked in the previous period: if not, "new" everywhere says nothing."""
        return self._compared

    @property
    def first_index(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.count else 0

    @property
    def last_index(self) -> int:
        return min(self.page * self.per_page, self.count)

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    def page_numbers(self) -> list[int | None]:
        """1 … 4 5 [6] 7 8 … 20: the pages worth a link; None is a gap."""
        keep = {1, self.pages, *range(self.page - 2, self.page + 3)}
        numbers, last = [], 0
        for n in sorted(p for p in keep if 1 <= p <= self.pages):
            if n - last > 1:
                numbers.append(None)
            numbers.append(n)
            last = n
        return numbers

    def all_rows(self) -> list[BoardRow]:
        """Every listed row, not only this page's (CSV, CLI)."""
        return [self._make_row(*item) for item in self.ranked]


def _passes(member: Member, filters: BoardFilters, teams: set[int] | None) -> bool:
    if teams is not None and member.team_id not in teams:
        return False
    return not (filters.title and member.title != filters.title)


@dataclass
class Ranking:
    """Who a board lists and in what order: the costly part of a board, the same for every viewer
    (except a hidden one, who is listed too), so cached once per data version and filters.

    ``ranked`` is [(rank, person_id, value, rank change or None)] best first."""

    ranked: list[tuple[int, int, Any, int | None]]
    leader: Any
    company_total: Any
    compared: bool
    anonymous: dict[int, int]
    # Whose cost includes usage of unpriced models (the "+" after a cost).
    unpriced: frozenset[int] = frozenset()
    # Everyone's totals: only kept when not cached (a CSV or the CLI lists them all).
    totals: dict[int, Totals] | None = None
    # Each listed person's place among everyone counted, hidden and anonymous people included: "top
    # n%", what their band is made of.
    percentiles: dict[int, int] = field(default_factory=dict)
    # ``ranked`` listed by band, then by name (anonymous people after, by number): the order a
    # banded board shows, which must not give the ranks away.
    by_band: list[tuple[int, int, Any, int | None]] = field(default_factory=list)
    unknown_output: int = 0


def rank_board(
    filters: BoardFilters, *, viewer_id: int | None, catalog: Catalog, reveal: bool = False, breakdown: bool = False,
    previous: bool = True, versions: Versions | None = None, sight: BudgetSight = NO_BUDGETS,
) -> Ranking:
    """``sight``: whose budgets the viewer may see (nobody's unless said). Ranked by share of budget,
    only they count and are listed (even without its numbers, a rank among others would tell who
    overspends)."""
    metric = filters.metric
    teams = catalog.team_and_below(filters.team_id) if filters.team_id else None
    totals = aggregate(filters, previous=previous, breakdown=breakdown, versions=versions, catalog=catalog)
    # Who counts (the filters) and, of them, who is listed (not hidden, unless it is me).
    counted = [t for pk, t in totals.items() if pk in catalog.people and _passes(catalog.people[pk], filters, teams)]
    if metric.budgeted and not sight.everyone:
        counted = [t for t in counted if t.person_id in sight.people]
    listed = [
        t for t in counted
        if reveal or t.person_id == viewer_id or catalog.people[t.person_id].privacy != Person.Privacy.HIDDEN
    ]
    ranks = ranks_for(metric)
    before = {pk: rank for rank, pk, _ in ranks((t.person_id, t.previous) for t in listed)}
    ranked = [
        (rank, pk, value, (before[pk] - rank) if pk in before else None)
        for rank, pk, value in ranks((t.person_id, t.value) for t in listed)
    ]
    everyone = ranks((t.person_id, t.value) for t in counted)
    listed_ids = {pk for _, pk, _, _ in ranked}
    percentiles = {pk: max(1, math.ceil(rank * 100 / len(everyone))) for rank, pk, _ in everyone if pk in listed_ids}
    anonymous = {} if reveal else anonymous_numbers(
        catalog.people.values(), filters.period, scope=f"{filters.team_id or ''}:{filters.title or ''}"
    )

    def band_order(item) -> tuple:
        pk = item[1]
        member = catalog.people[pk]
        if pk in anonymous:
            return bands.band(percentiles[pk]).order, 1, "", anonymous[pk]
        return bands.band(percentiles[pk]).order, 0, member.display_name.lower(), pk
    # Hidden people still count in the company's total.
    if metric.budgeted:
        with_budget = [t for t in counted if t.budget]
        company_total = budget_use.share(sum((t.cost_usd for t in with_budget), Decimal(0)),
                                         sum((t.budget for t in with_budget), Decimal(0)))
    elif metric.per:
        # Everything the people with an output source spent, over everything they produced.
        known = [t for t in counted if t.output_known]
        company_total = output.ratio(
            sum((getattr(t, metric.field) for t in known), start=Decimal(0)),
            output.Output(sum(t.commits for t in known), sum(t.pull_requests for t in known),
                          sum(t.accepted_lines for t in known)), metric.per,
        )
    else:
        company_total = sum((t.value or 0 for t in counted), start=Decimal(0) if metric.field == "cost_usd" else 0)
    return Ranking(
        ranked=ranked, leader=ranked[0][2] if ranked else 0, company_total=company_total, compared=bool(before),
        anonymous=anonymous,
        unpriced=frozenset(t.person_id for t in listed if t.unpriced), totals=totals,
        percentiles=percentiles, by_band=sorted(ranked, key=band_order),
        unknown_output=sum(1 for t in listed if metric.output and not t.output_known
                           and (t.total_tokens or t.cost_usd)),
    )


# The individual board's column headers: by rank (the metric) unless a header asked otherwise.
PERSON_SORTS = {"total": "Rank", "name": "Name", "team": "Team", "change": "Change"}


def _resorted(ranking: Ranking, sort: str, *, catalog: Catalog, viewer_id: int | None, reveal: bool) -> list:
    """The ranked rows in another order, ranks kept. Anonymous people sort by the name and team the
    board shows for them ("Anonymous #n", none), so an order never tells what the row hides."""

    def hidden_from_viewer(pk: int) -> bool:
        return not reveal and pk != viewer_id and catalog.people[pk].privacy == Person.Privacy.ANONYMOUS

    def name(item) -> tuple:
        pk = item[1]
        if hidden_from_viewer(pk):
            return (1, ranking.anonymous.get(pk, 0), item[0])
        return (0, catalog.people[pk].display_name.lower(), item[0])

    def team(item) -> tuple:
        pk = item[1]
        shown = "" if hidden_from_viewer(pk) else catalog.team_name(catalog.people[pk].team_id) or ""
        return (not shown, shown.lower(), item[0])

    def change(item) -> tuple:
        return (item[3] is None, -(item[3] or 0), item[0])

    return sorted(ranking.ranked, key={"name": name, "team": team, "change": change}[sort])


def leaderboard(
    filters: BoardFilters,
    *,
    viewer: Person | None,
    catalog: Catalog,
    page: int = 1,
    per_page: int = PER_PAGE,
    sort: str = "total",
    reveal: bool = False,
    breakdown: bool = False,
    sparklines: bool = True,
    previous: bool = True,
    versions: Versions | None = None,
    sight: BudgetSight | None = None,
    bands_on: bool | None = None,
    outputs: bool = False,
) -> Board:
    """The ranked board as ``viewer`` may see it, one page of it, and their pinned row.

    ``reveal`` lists everyone by name, hidden people included: what an operator running
    ``manage.py leaderboard`` sees. ``breakdown`` also reads the four token kinds (CSV, CLI).
    With data versions the ranking is cached, and only the people on the page are read.
    Ranked by share of budget, the board lists only the people whose budgets the viewer may see
    (``sight``, worked out from the viewer when not given; everyone's with ``reveal``).

    The same people see exact figures and ranks: the viewer, those below them in the reporting line,
    everyone for an admin. With ``bands_on`` (the organisation's setting unless given) every other
    row shows its band and a bar, and the board lists by band then name. ``outputs`` reads the page's
    spend, output, ratios and trust levels (boards/output.py) into each row's ``extra``."""
    metric = filters.metric
    me = viewer.pk if viewer is not None else None
    if reveal:
        exact = ALL_BUDGETS
    elif sight is not None:
        exact = sight
    else:
        exact = budget_use.budget_sight(viewer, catalog=catalog, versions=versions)
    if bands_on is None:
        bands_on = not reveal and catalog.peer_bands
    # A hidden viewer is listed on their own board, so they get a ranking of their own.
    hidden_me = me if viewer is not None and viewer.privacy == Person.Privacy.HIDDEN else None
    if not metric.budgeted:
        sight = ALL_BUDGETS  # nothing budgeted to hide: one ranking for everyone
    elif reveal:
        sight = ALL_BUDGETS
    elif sight is None:
        sight = budget_use.budget_sight(viewer, catalog=catalog, versions=versions)

    def rank() -> Ranking:
        found = rank_board(filters, viewer_id=me, catalog=catalog, reveal=reveal, breakdown=breakdown,
                           previous=previous, versions=versions, sight=sight)
        if versions is not None and not breakdown:
            found.totals = None  # a page reads its rows' figures from the ranked values: kept small
        return found

    cacheable = versions is not None and not reveal
    rollups = cache.rollups_through(filters.period.end)
    # Whose budgets the ranking was made of is part of its key: a manager's is never an employee's.
    parts = (filters.period.start, filters.period.end, filters.period.key, metric.name, filters.vendor, filters.model,
             filters.team_id, filters.title, previous, hidden_me, sight.key if metric.budgeted else None, breakdown)
    ranking = cache.cached(versions if cacheable else None, "ranking", parts, rank,
                           on=(rollups, PEOPLE, BUDGETS) if metric.budgeted else (rollups, PEOPLE),
                           per_person=metric.budgeted and not sight.everyone)
    # By band only where the board lists someone the viewer may not see exactly: a manager's own
    # team, or her line ranked by share of budget, keeps its order.
    banded = bands_on and not exact.everyone and any(
        pk != me and pk not in exact.people for _, pk, _, _ in ranking.ranked
    )
    if sort in ("name", "team"):
        # Alphabetical orders tell nothing a band hides; an order by change would, so banded boards
        # keep their band order for it.
        ranked = _resorted(ranking, sort, catalog=catalog, viewer_id=me, reveal=reveal)
    elif banded:
        ranked = ranking.by_band
    elif sort == "change":
        ranked = _resorted(ranking, sort, catalog=catalog, viewer_id=me, reveal=reveal)
    else:
        ranked = ranking.ranked
    count = len(ranked)
    leader = ranking.leader
    pages = max(1, math.ceil(count / per_page))
    page = min(max(1, page), pages)
    on_page = ranked[(page - 1) * per_page: page * per_page]
    mine = next((item for item in on_page if item[1] == me), None)
    pinned_item = None
    if mine is None and me is not None:
        pinned_item = next((item for item in ranked if item[1] == me), None)
    if reveal or breakdown:
        members = catalog.people
    else:
        # The names on a page and mine, kept under the data version (the roster's triggers move it):
        # everyone who opens this page shares the first, and a page view reads no person. (From the
        # roster when this request has read it anyway, else from the few rows.)
        shown = tuple(item[1] for item in on_page)
        members = cache.cached(versions, "members", shown, lambda: catalog.members(shown), on=(PEOPLE,))
        if me is not None and me not in members:
            members = {**members, **cache.cached(versions, "member", (me,), lambda: catalog.members([me]),
                                                 on=(PEOPLE,), per_person=True)}

    # A budget is private (it can be a share of salary): the ranking lists only budgets the viewer
    # may see; should a row ever be outside them, its number is still never shown.
    withhold = metric.budgeted and not sight.everyone

    def make_row(rank: int, pk: int, value, change=None) -> BoardRow:
        member = members[pk]
        is_me = pk == me
        withheld = withhold and pk not in sight.people
        shown_anonymous = not reveal and not is_me and member.privacy == Person.Privacy.ANONYMOUS
        totals = ranking.totals[pk] if ranking.totals is not None else Totals(
            person_id=pk, value=value, unpriced=int(pk in ranking.unpriced)
        )
        if banded and not is_me and pk not in exact.people:
            # Nothing exact leaves for a colleague's row: no rank, change, figure or total.
            place = bands.band(ranking.percentiles.get(pk, 100))
            return BoardRow(
                rank=0, person_id=pk,
                name=f"Anonymous #{ranking.anonymous.get(pk, '?')}" if shown_anonymous else member.display_name,
                email="" if shown_anonymous else member.email,
                team="" if shown_anonymous else catalog.team_name(member.team_id),
                title="" if shown_anonymous else member.title,
                totals=Totals(person_id=pk), value=None, value_display=place.label, share=place.bar / 100,
                change=None, is_anonymous=shown_anonymous, linked=not shown_anonymous, band=place.label,
            )
        if metric.ascending:
            # A ratio's best is the lowest: the bar shows the place, not the value.
            share = 1 - (rank - 1) / count if count else 0.0
        else:
            share = 0.0 if withheld or not leader else float(value / leader)
        return BoardRow(
            rank=rank,
            person_id=pk,
            name=f"Anonymous #{ranking.anonymous.get(pk, '?')}" if shown_anonymous else member.display_name,
            # Anonymity would mean little next to an email address or, in a small team, a team name.
            email="" if shown_anonymous else member.email,
            team="" if shown_anonymous else catalog.team_name(member.team_id),
            title="" if shown_anonymous else member.title,
            totals=totals,
            value=value,
            value_display="—" if withheld else metric.format(value),
            share=share,
            change=change,
            is_me=is_me,
            is_anonymous=shown_anonymous,
            linked=not shown_anonymous,
            percentile=max(1, math.ceil(rank * 100 / count)) if count else None,
        )

    rows = [make_row(*item) for item in on_page]
    my_row = next((row for row in rows if row.is_me), None)
    pinned = None
    if pinned_item is not None:
        my_row = pinned = make_row(*pinned_item)
    board = Board(
        filters=filters, rows=rows, count=count, page=page, pages=pages, per_page=per_page, me=my_row,
        pinned=pinned, leader_value=leader, company_total=ranking.company_total,
        company_total_display=metric.format(ranking.company_total), ranked=ranked, _compared=ranking.compared,
        _make_row=make_row, banded=banded, exact=exact, unknown_output=ranking.unknown_output, outputs=outputs,
    )
    if me is not None and my_row is None and me in members:
        teams = catalog.team_and_below(filters.team_id) if filters.team_id else None
        board.me_unranked = _passes(members[me], filters, teams)
    shown = [row for row in [*rows, pinned] if row is not None]
    if sparklines:
        series.attach_sparklines(board, [row for row in shown if row.exact], versions=versions)
    if outputs:
        output.attach(board, shown, versions=versions)
    return board


# --- CSV and JSON -------------------------------------------------------------------------------

EXPORT_COLUMNS = [
    "rank", "email", "name", "team", "total_tokens", "input_tokens", "cache_write_tokens", "cache_read_tokens",
    "output_tokens", "requests", "cost_usd",
]


def export_rows(rows: Iterable[BoardRow], *, bands: bool = False) -> list[dict[str, Any]]:
    """Rows as ``manage.py leaderboard --format json`` writes them (design.md §3). With ``bands`` (a
    board shown to a viewer who sees colleagues by band) each object also has ``band``: a
    colleague's band, with their rank and figures left null; null for a row seen exactly."""
    found = []
    for row in rows:
        if not row.exact:
            item = {"rank": None, "email": row.email, "name": row.name, "team": row.team,
                    **{column: None for column in EXPORT_COLUMNS[4:]}}
        else:
            item = {
                "rank": row.rank,
                "email": row.email,
                "name": row.name,
                "team": row.team,
                "total_tokens": row.totals.total_tokens,
                "input_tokens": row.totals.input_tokens or 0,
                "cache_write_tokens": row.totals.cache_write_tokens or 0,
                "cache_read_tokens": row.totals.cache_read_tokens or 0,
                "output_tokens": row.totals.output_tokens,
                "requests": row.totals.requests,
                "cost_usd": cents(row.totals.cost_usd),
            }
        if bands:
            item["band"] = row.band or None
        found.append(item)
    return found


def write_csv(rows: Iterable[BoardRow], out, *, bands: bool = False) -> None:
    """The board as CSV, the same for the download and ``manage.py leaderboard --format csv``; with
    ``bands``, a last column says a colleague's band (their figures left empty)."""
    columns = [*EXPORT_COLUMNS, *(["band"] if bands else [])]
    writer = csv.writer(out)
    writer.writerow(columns)
    for item in export_rows(rows, bands=bands):
        writer.writerow([spreadsheet_safe("" if item[column] is None else item[column]) for column in columns])
