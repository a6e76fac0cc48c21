"""Selectors of the boards: periods, metrics, rankings, team rankings, my usage, freshness and badges.

Everything here reads the daily rollups (PersonDay; DailyUsage when a vendor or model is chosen or
the four token kinds are wanted), never UsageRecord, and returns plain data for a template, a CSV
or a JSON dump. A page costs a fixed handful of queries whatever the size of the company:

- ``catalog()``: everyone on the roster and every team (two queries; the model list is cached);
- ``leaderboard()``: one aggregate over the period and the one before it (rank change), then one
  query for the sparklines of the rows on the page;
- ``freshness()``: one query over the exports (cached a few minutes under the data version).

Budgets (the ``budget`` metric, the budget on my usage, person and team pages) cost no query of their
own once cached: the policies and the working week come from the cache under the budget version
(leaderboard/budgets.py, "The pages' cache"), each person's salary, working time and start date come
with the roster the boards read anyway, and the spend is the cost the board or the page summed already.

Ranks are computed in Python in one pass over the aggregate. Who is listed depends on the viewer
only through their own row: hidden people are left off (but counted in team and company totals),
anonymous people are numbered from an HMAC of the period and their id, and a viewer always sees
themselves, named.
"""

from __future__ import annotations

import bisect
import csv
import hashlib
import hmac
import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Max, Q, Sum

from accounts.models import Person, ProviderIdentity, Team

from . import budgets, versioned
from .models import DailyUsage, Flag, FlagNote, PersonDay, Source, UsageExport

PER_PAGE = 50
CENT = Decimal("0.01")
# Charts over longer periods plot weeks, not days: 365 bars of a pixel each read as noise.
WEEKLY_AFTER_DAYS = 92


def utc_today() -> date:
    """Usage days are UTC days (design.md §2), whatever the server's or the viewer's clock says."""
    return datetime.now(UTC).date()


# --- Numbers as people read them ----------------------------------------------------------------

VENDOR_LABELS = {"anthropic": "Anthropic", "openai": "OpenAI", "cursor": "Cursor", "github": "GitHub Copilot"}


def vendor_label(vendor: str) -> str:
    return VENDOR_LABELS.get(vendor, vendor[:1].upper() + vendor[1:])



def compact(value) -> str:
    """1234 -> "1.2K", 1_234_567 -> "1.2M": a board is read at a glance, not digit by digit."""
    value = int(value or 0)
    for size, suffix in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        # 999,600 reads "1M", not "1000K".
        if abs(value) >= size * 0.9995:
            scaled = value / size
            text = f"{scaled:.1f}" if abs(scaled) < 100 else f"{scaled:.0f}"
            return text.removesuffix(".0") + suffix
    return str(value)


def money(value) -> str:
    value = Decimal(value or 0)
    if abs(value) >= 1000:
        return f"${value:,.0f}"
    return f"${value.quantize(CENT, ROUND_HALF_UP):,}"


def day_count(value) -> str:
    value = int(value or 0)
    return f"{value} day" if value == 1 else f"{value} days"


def percent(value) -> str:
    """A share (0.123) as people read it: "12%", "4.5%", "0.3%"; "—" when there is none."""
    if value is None:
        return "—"
    value = float(value) * 100
    if value == 0:
        return "0%"
    if value < 10:
        text = f"{value:.2f}" if value < 1 else f"{value:.1f}"
        return text.rstrip("0").rstrip(".") + "%"
    return f"{value:,.0f}%"


def cents(value) -> str:
    """Cost as the CLI and CSV write it: full precision, rounded to the cent, as a string."""
    return str(Decimal(value or 0).quantize(CENT, ROUND_HALF_UP))


# --- Periods ------------------------------------------------------------------------------------

PERIODS = {
    "today": "Today",
    "yesterday": "Yesterday",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "week": "This week",
    "month": "This month",
    "quarter": "This quarter",
    "year": "This year",
    "custom": "Custom range",
}
DEFAULT_PERIOD = "30d"
# A custom range longer than this is refused: it would aggregate years of rollups per request.
MAX_CUSTOM_DAYS = 3 * 366


@dataclass(frozen=True)
class Period:
    key: str
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def label(self) -> str:
        return PERIODS.get(self.key, PERIODS["custom"])

    def previous(self) -> Period:
        """The period of the same length just before this one: what rank change compares with."""
        return Period(self.key, self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def day_list(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range(self.days)]

    def describe(self) -> str:
        """"Oct 1 – 30, 2026", "Oct 14, 2026", "Dec 20, 2025 – Jan 3, 2026"."""
        start, end = self.start, self.end
        if start == end:
            return f"{start:%b} {start.day}, {start.year}"
        if start.year != end.year:
            return f"{start:%b} {start.day}, {start.year} – {end:%b} {end.day}, {end.year}"
        if start.month != end.month:
            return f"{start:%b} {start.day} – {end:%b} {end.day}, {end.year}"
        return f"{start:%b} {start.day} – {end.day}, {end.year}"

    def query_params(self) -> dict[str, str]:
        """The URL's period parameters (design.md §3), the default left out."""
        if self.key == "custom":
            return {"period": "custom", "start": self.start.isoformat(), "end": self.end.isoformat()}
        return {} if self.key == DEFAULT_PERIOD else {"period": self.key}

    @property
    def phrase(self) -> str:
        """The period inside a sentence: "nobody has tokens {in the last 7 days}"."""
        if self.key in ("today", "yesterday"):
            return self.label.lower()
        if self.key in ("week", "month", "quarter", "year"):
            return self.label.lower()
        if self.key == "custom":
            return f"from {self.describe()}" if self.start != self.end else f"on {self.describe()}"
        return f"in the {self.label.lower()}"

    def __str__(self) -> str:
        return f"{self.label}, {self.describe()}" if self.key != "custom" else self.describe()


def resolve_period(key: str, *, today: date, start: date | None = None, end: date | None = None) -> Period:
    """The UTC days a period name means on ``today``; "this week/month/..." run to today."""
    if key == "custom" and start and end:
        return Period("custom", min(start, end), max(start, end))
    spans = {
        "today": (today, today),
        "yesterday": (today - timedelta(days=1), today - timedelta(days=1)),
        "7d": (today - timedelta(days=6), today),
        "30d": (today - timedelta(days=29), today),
        "90d": (today - timedelta(days=89), today),
        "week": (today - timedelta(days=today.weekday()), today),
        "month": (today.replace(day=1), today),
        "quarter": (date(today.year, 3 * ((today.month - 1) // 3) + 1, 1), today),
        "year": (date(today.year, 1, 1), today),
    }
    if key not in spans:
        key = DEFAULT_PERIOD
    return Period(key, *spans[key])


# --- Metrics ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metric:
    """One way to rank people: which aggregated number, how to call it and how to print it.

    ``field`` names an attribute of Totals, aggregated for the period and the one before it.
    ``prepare`` may replace each Totals' ``value`` and ``previous`` after aggregation (a share of a
    budget divides the cost by each person's budget), so adding such a metric is one entry here; it is
    called as ``prepare(totals, filters, catalog=..., version=...)``. ``budgeted``: the ranking also
    depends on budgets, so it is cached under the budget version too.
    """

    name: str
    label: str
    noun: str
    field: str
    daily_field: str
    format: Callable[[Any], str]
    prepare: Callable[..., None] | None = None
    budgeted: bool = False


def _share(spend, budget) -> float:
    """Spend over budget; 0 without a budget (so nobody without one is ranked by it)."""
    return float(Decimal(spend or 0) / budget) if budget else 0.0


def _budget_shares(totals: list[Totals], filters: BoardFilters, *, catalog: Catalog, version: DataVersion | None):
    """The ``budget`` metric: each person's cost (already summed by the aggregate) over their budget
    for the period, and the same for the previous period (rank change). People without a budget get
    0: they are not ranked."""
    now = period_budgets(filters.period, catalog=catalog, version=version)
    before = (period_budgets(filters.period.previous(), catalog=catalog, version=version)
              if any(t.previous for t in totals) else {})
    for t in totals:
        t.budget = now.get(t.person_id)
        t.value = _share(t.cost_usd, t.budget)
        t.previous = _share(t.previous, before.get(t.person_id))


METRICS: dict[str, Metric] = {
    metric.name: metric
    for metric in [
        Metric("tokens", "Tokens", "total tokens", "total_tokens", "total_tokens", compact),
        Metric("output", "Output tokens", "output tokens", "output_tokens", "output_tokens", compact),
        Metric("cost", "Cost", "cost", "cost_usd", "cost_usd", money),
        Metric("budget", "Share of budget used", "share of budget used", "cost_usd", "cost_usd", percent,
               prepare=_budget_shares, budgeted=True),
        Metric("active_days", "Active days", "active days", "active_days", "total_tokens", day_count),
    ]
}
DEFAULT_METRIC = "tokens"


def get_metric(name: str | None) -> Metric:
    """A metric by name; an unknown one (an old or mistyped link's) ranks by the default rather than failing."""
    return METRICS.get(name or "", METRICS[DEFAULT_METRIC])


# --- Who and what can be shown ------------------------------------------------------------------


@dataclass(slots=True)
class Member:
    """A person as the boards know them: no salary, nothing an employee may not read."""

    pk: int
    name: str
    email: str
    team_id: int | None
    title: str
    privacy: str

    @property
    def display_name(self) -> str:
        return self.name or self.email


@dataclass(frozen=True, slots=True)
class TeamInfo:
    pk: int
    name: str
    parent_id: int | None


class Catalog:
    """Everyone on the roster and every team: filters, team trees, names and anonymous numbers are
    worked out from it in Python, in a fixed number of queries whatever the size of the company.

    Built from a data version (``catalog(version)``), the small part (teams, titles, who manages
    whom) comes from the cache and ``people`` is read only if a request needs all of them (a board
    not cached yet, a CSV); ``members()`` reads just the few a page shows.

    The same read brings what budgets need of each person (``budget_people``: salary, working time,
    start date), so that ranking by share of budget costs no query of its own. Those facts stay in
    this object, for arithmetic only: they are never cached, listed or shown."""

    def __init__(self, people: dict[int, Member] | None, teams: dict[int, TeamInfo], *, titles: list[str] | None = None,
                 managers: frozenset[int] = frozenset(), team_sizes: dict[int, int] | None = None,
                 budget_people: dict[int, budgets.PersonFacts] | None = None):
        self._people = people
        self._budget_people = budget_people
        self.teams = teams
        self._titles = titles
        self.managers = managers
        self._team_sizes = team_sizes

    @property
    def people(self) -> dict[int, Member]:
        if self._people is None:
            self._load()
        return self._people

    @property
    def budget_people(self) -> dict[int, budgets.PersonFacts]:
        """Everyone on the boards, as budgets know them (read with ``people``)."""
        if self._budget_people is None:
            self._load()
        return self._budget_people

    def _load(self) -> None:
        roster = _load_people()
        self._people, self._budget_people = roster.people, roster.facts

    @property
    def team_table(self) -> dict[int, tuple[str, int | None]]:
        """Teams as budgets know them: id -> (name, parent id)."""
        return {pk: (team.name, team.parent_id) for pk, team in self.teams.items()}

    def members(self, pks: Iterable[int]) -> dict[int, Member]:
        """The people among ``pks`` who are on the boards (employed), as ``people`` would give them."""
        pks = set(pks)
        if self._people is not None or not pks:
            return {pk: self.people[pk] for pk in pks if pk in self.people}
        return {
            row[0]: Member(*row)
            for row in Person.objects.employed().filter(pk__in=pks).order_by()
            .values_list("pk", "name", "email", "team_id", "title", "privacy")
        }

    def has_reports(self, person_id: int) -> bool:
        """Whether anyone reports to this person (what the Review link in the header needs)."""
        return person_id in self.managers

    def team_size(self, team_ids: set[int]) -> int:
        """How many people on the boards are in these teams."""
        if self._team_sizes is not None:
            return sum(self._team_sizes.get(pk, 0) for pk in team_ids)
        return sum(1 for m in self.people.values() if m.team_id in team_ids)

    def team_and_below(self, team_id: int) -> set[int]:
        children = defaultdict(list)
        for team in self.teams.values():
            children[team.parent_id].append(team.pk)
        found, frontier = {team_id}, [team_id]
        while frontier:
            frontier = [child for pk in frontier for child in children[pk] if child not in found]
            found.update(frontier)
        return found

    def team_path(self, team_id: int | None) -> str:
        """"Engineering › Platform": where a team sits, for people who don't know the org chart."""
        names, seen = [], set()
        while team_id and team_id in self.teams and team_id not in seen:
            seen.add(team_id)
            names.append(self.teams[team_id].name)
            team_id = self.teams[team_id].parent_id
        return " › ".join(reversed(names))

    def team_name(self, team_id: int | None) -> str:
        return self.teams[team_id].name if team_id in self.teams else ""

    def titles(self) -> list[str]:
        if self._titles is None:
            self._titles = sorted({m.title for m in self.people.values() if m.title}, key=str.lower)
        return self._titles

    def team_choices(self) -> list[tuple[int, str]]:
        """Teams in tree order, sub-teams indented under their parent."""
        children = defaultdict(list)
        for team in sorted(self.teams.values(), key=lambda t: t.name.lower()):
            children[team.parent_id if team.parent_id in self.teams else None].append(team)
        choices: list[tuple[int, str]] = []

        def walk(parent, depth):
            for team in children[parent]:
                choices.append((team.pk, "\u2003" * depth + team.name))
                walk(team.pk, depth + 1)

        walk(None, 0)
        return choices


MODELS_CACHE_SECONDS = 10 * 60
MODELS_WINDOW_DAYS = 35


def known_models(end: date) -> list[tuple[str, str]]:
    """(vendor, model) pairs used in the five weeks up to ``end``: the model filter's suggestions.

    A distinct over the rollups grows with the company, so it is cached for a few minutes (a model
    missing from the suggestions can still be typed) and only fetched when the field is used."""
    key = f"boards:models:{end.isoformat()}"
    found = cache.get(key)
    if found is None:
        found = sorted(
            DailyUsage.objects.filter(day__gt=end - timedelta(days=MODELS_WINDOW_DAYS), day__lte=end)
            .exclude(model="")
            .values_list("vendor", "model")
            .distinct()
        )
        cache.set(key, found, MODELS_CACHE_SECONDS)
    return [tuple(pair) for pair in found]


@dataclass
class Roster:
    people: dict[int, Member]
    managers: frozenset[int]
    facts: dict[int, budgets.PersonFacts]
    reports_to: dict[int, int]


def _load_people() -> Roster:
    """People still employed (those on leave too; terminated people leave the boards), whoever has
    someone reporting to them, employed or not, everyone's manager, and what budgets need of the
    employed: one query."""
    people, facts, reports_to = {}, {}, {}
    for pk, name, email, team_id, title, privacy, status, manager_id, salary, work_percent, start in (
        Person.objects.order_by().values_list(
            "pk", "name", "email", "team_id", "title", "privacy", "status", "manager_id",
            "annual_base_salary", "work_percent", "start_date",
        )
    ):
        if manager_id is not None:
            reports_to[pk] = manager_id
        if status != Person.Status.TERMINATED:
            people[pk] = Member(pk, name, email, team_id, title, privacy)
            facts[pk] = budgets.PersonFacts(pk, name or email, team_id, salary, work_percent or 100, start)
    return Roster(people, frozenset(reports_to.values()), facts, reports_to)


def reporting_line(version: DataVersion | None) -> dict[int, int]:
    """Everyone's manager (person id -> manager id): whether a viewer is above someone. Cached under
    the data version, and put there by the catalog when it reads the roster, so it rarely costs a query."""
    return cached(version, "reporting-line", (), lambda: dict(
        Person.objects.exclude(manager=None).order_by().values_list("pk", "manager_id")
    ))


def catalog(version: DataVersion | None = None) -> Catalog:
    """The roster and the teams (two queries). With a data version, the small part is cached and the
    people are read only when needed (see Catalog)."""

    def load() -> Catalog:
        roster = _load_people()
        teams = {row[0]: TeamInfo(*row) for row in Team.objects.order_by().values_list("pk", "name", "parent_id")}
        if version is not None:
            # Read with the roster anyway: person pages find it cached (``reporting_line``).
            cache.set(cache_key(version, "reporting-line", ()), roster.reports_to, CACHE_SECONDS)
        return Catalog(roster.people, teams, managers=roster.managers, budget_people=roster.facts)

    if version is None:
        return load()
    loaded: list[Catalog] = []

    def summary():
        found = load()
        loaded.append(found)
        sizes: dict[int, int] = defaultdict(int)
        for member in found.people.values():
            if member.team_id is not None:
                sizes[member.team_id] += 1
        return found.teams, found.titles(), found.managers, dict(sizes)

    teams, titles, managers, sizes = cached(version, "catalog", (), summary)
    if loaded:
        return loaded[0]
    return Catalog(None, teams, titles=titles, managers=managers, team_sizes=sizes)


# --- Cache --------------------------------------------------------------------------------------
#
# Boards are cached under the data version: two random numbers that change with the rollups (each
# recompute, after it commits) and with the people and teams (database triggers, whatever wrote
# them); see migration 0004. A request reads the version (one small query) and finds its board
# under it, so an import, an identity remap or a privacy change shows at once, and an entry of an
# older version is simply never asked for again (it expires). Values are compact (tuples, small
# dataclasses) so that reading one costs a millisecond or two, whatever the size of the company.
#
# The same table holds the budget version (leaderboard/budgets.py, "The pages' cache"), read in the
# same query: what depends on budgets (the ``budget`` metric's ranking, budgets for a period) is cached
# under it as well, so a new policy, working week or part-time share shows on the next request. And
# the personal version (migration 0006), moved by any change to identities, self-service uploads or
# flags: each person's own part of their page is cached under it (``personal`` below).

CACHE_SECONDS = 24 * 60 * 60
VERSION_TABLE = "leaderboard_boards_version"


@dataclass(frozen=True)
class DataVersion:
    rollups: int
    people: int
    budgets: int = 0
    personal: int = 0


def data_version() -> DataVersion:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT name, value FROM {VERSION_TABLE}")
        values = dict(cursor.fetchall())
    return DataVersion(
        rollups=values.get("rollups", 0), people=values.get("people", 0),
        budgets=values.get(budgets.VERSION_NAME, 0), personal=values.get("personal", 0),
    )


def cache_key(version: DataVersion, kind: str, parts: tuple) -> str:
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
    return f"boards:{kind}:{version.rollups}:{version.people}:{digest}"


def cached(version: DataVersion | None, kind: str, parts: tuple, compute: Callable[[], Any], *,
           seconds: int = CACHE_SECONDS, per_person: bool = False) -> Any:
    """``compute()``, or what it gave before under the same data version and arguments.
    ``per_person``: one person's value, kept apart from the shared ones (leaderboard/versioned.py)."""
    if version is None:
        return compute()
    return versioned.remember(cache_key(version, kind, parts), compute, seconds, per_person=per_person)


def budget_cached(version: DataVersion | None, kind: str, parts: tuple, compute: Callable[[], Any]) -> Any:
    """Like ``cached``, for what depends on budgets and the roster but not on usage: keyed by the
    budget and people versions, so an import (a new rollups version) leaves it cached."""
    if version is None:
        return compute()
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
    return versioned.remember(f"boards:{kind}:b{version.budgets}:{version.people}:{digest}", compute, CACHE_SECONDS)


def budget_part(metric: Metric, version: DataVersion | None) -> int | None:
    """What a cache key of a ranking by ``metric`` needs besides the data version."""
    return version.budgets if metric.budgeted and version is not None else None


# --- Budgets ------------------------------------------------------------------------------------


def budget_book(people: dict[int, budgets.PersonFacts], *, catalog: Catalog,
                version: DataVersion | None) -> budgets.BudgetBook:
    """A BudgetBook for ``people`` without a query once the policies are cached (see budgets.py)."""
    tables = budgets.policy_tables(version.budgets if version is not None else None)
    return budgets.BudgetBook.from_tables(tables, people=people, teams=catalog.team_table)


def period_budgets(period: Period, *, catalog: Catalog, version: DataVersion | None) -> dict[int, Decimal | None]:
    """Everyone's budget over the period (None: no policy applies), cached under the budget and
    people versions: arithmetic over the catalog's people, shared by every board of the period."""

    def compute() -> dict[int, Decimal | None]:
        book = budget_book(catalog.budget_people, catalog=catalog, version=version)
        return {pk: book.budget(pk, period.start, period.end).amount for pk in book.people}

    return budget_cached(version, "budgets", (period.start, period.end), compute)


# --- Who may see budgets ------------------------------------------------------------------------
#
# A budget can be a share of salary, so it is private: the person, their managers (transitively)
# and admins see it. An aggregate of budgets (a team's budget, a team's or the company's share of
# budget used, a ranking by share of budget) is shown only to a viewer who may see every budget
# inside it. That is the whole rule, and it is what makes every figure safe to show: any difference
# of two aggregates (a parent team minus its sub-teams, one period or filter minus another) is made
# of budgets the viewer could see anyway, and no minimum team size or rounding is needed. In practice:
# admins see every budget figure; a manager sees those of teams (sub-teams included) made only of
# themself and people in their reporting line, and ranks by share of budget only among those people;
# anyone else sees no budget figure but their own (on their own page), and is not offered the metric,
# since even a ranking without numbers would tell who overspends.


@dataclass(frozen=True)
class BudgetSight:
    """Whose budgets a viewer may see: everyone's (an admin, the operator's CLI) or the people in
    ``people`` (a manager: themself and their reporting line). ``key`` names it in cache keys: a
    board cached for one sight is never served to another."""

    everyone: bool = False
    people: frozenset[int] = frozenset()
    key: str = "none"

    @property
    def any(self) -> bool:
        return self.everyone or bool(self.people)

    def covers(self, person_ids: Iterable[int]) -> bool:
        """Whether every one of these budgets is the viewer's to see (nobody's budget is nothing
        to show: an empty team is not a reason to offer budgets to an employee)."""
        if self.everyone:
            return True
        return bool(self.people) and self.people.issuperset(person_ids)


NO_BUDGETS = BudgetSight()
ALL_BUDGETS = BudgetSight(everyone=True, key="all")


def budget_sight(viewer: Person | None, *, catalog: Catalog, version: DataVersion | None) -> BudgetSight:
    """What ``viewer`` may see of budgets (see above). No query for most viewers: whether someone
    has reports is in the catalog; a manager's reporting line is walked from the cached managers."""
    if viewer is None:
        return NO_BUDGETS
    if viewer.is_staff:
        return ALL_BUDGETS
    if not catalog.has_reports(viewer.pk):
        return NO_BUDGETS

    def walk() -> frozenset[int]:
        below: dict[int, list[int]] = defaultdict(list)
        for pk, manager_id in reporting_line(version).items():
            below[manager_id].append(pk)
        found, frontier = {viewer.pk}, [viewer.pk]
        while frontier:
            frontier = [pk for manager_id in frontier for pk in below[manager_id] if pk not in found]
            found.update(frontier)
        return frozenset(found)

    line = cached(version, "reporting-line-below", (viewer.pk,), walk, per_person=True)
    return BudgetSight(people=line, key=f"line:{viewer.pk}")


def team_members(catalog: Catalog, version: DataVersion | None) -> dict[int, frozenset[int]]:
    """Each team's own people on the boards (not its sub-teams'): whose budgets a team figure adds
    up. Cached under the data version, so a manager's page does not read the whole roster for it."""

    def compute() -> dict[int, frozenset[int]]:
        found: dict[int, set[int]] = defaultdict(set)
        for member in catalog.people.values():
            if member.team_id is not None:
                found[member.team_id].add(member.pk)
        return {team_id: frozenset(pks) for team_id, pks in found.items()}

    return cached(version, "team-members", (), compute)


def may_rank_teams_by_budget(sight: BudgetSight, *, catalog: Catalog, version: DataVersion | None) -> bool:
    """Whether the teams board by share of budget would show this viewer any team."""
    if sight.everyone or not sight.people:
        return sight.everyone
    return any(sight.covers(pks) for pks in team_members(catalog, version).values())


def may_see_team_budget(sight: BudgetSight, team_ids: set[int], *, catalog: Catalog,
                        version: DataVersion | None) -> bool:
    """Whether the budget of a team (``team_ids``: it and its sub-teams) is this viewer's to see."""
    if sight.everyone or not sight.people:
        return sight.everyone
    members = team_members(catalog, version)
    return sight.covers(pk for team_id in team_ids for pk in members.get(team_id, ()))


# --- Filters ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoardFilters:
    period: Period
    metric: Metric = METRICS[DEFAULT_METRIC]
    vendor: str = ""
    model: str = ""
    team_id: int | None = None
    title: str = ""

    @property
    def by_vendor_or_model(self) -> bool:
        return bool(self.vendor or self.model)

    def query_params(self, **changes) -> dict[str, str]:
        """The URL's parameters for these filters (design.md §3), defaults left out so links stay short."""
        params = {
            **self.period.query_params(),
            "metric": self.metric.name,
            "vendor": self.vendor,
            "model": self.model,
            "team": str(self.team_id or ""),
            "title": self.title,
        }
        params.update({k: str(v) for k, v in changes.items()})
        defaults = {"metric": DEFAULT_METRIC, "page": "1"}
        return {k: v for k, v in params.items() if v and defaults.get(k) != v}


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


def _rollup(filters: BoardFilters, *, breakdown: bool):
    """PersonDay holds a person's whole day; only DailyUsage can be cut by vendor or model, and only
    DailyUsage has all four token kinds."""
    if filters.by_vendor_or_model or breakdown:
        rows = DailyUsage.objects.all()
        if filters.vendor:
            rows = rows.filter(vendor=filters.vendor)
        if filters.model:
            rows = rows.filter(model=filters.model)
        return rows, True
    return PersonDay.objects.all(), False


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
    version: DataVersion | None = None, catalog: Catalog | None = None,
) -> dict[int, Totals]:
    """Each person's totals over the period (and the metric over the previous one), in ONE query.

    The previous period is read in the same scan with conditional sums, so rank change costs no
    second round trip. People are not filtered here: that is done in Python from the catalog.
    Only the metric (and for cost, whether any usage was unpriced) is summed unless ``everything``
    (the default with ``breakdown``) asks for every total: each sum costs time on every row.
    With a data version the rows are cached (as plain tuples): the one place the boards scan a period
    of rollups, so a page that finds them costs no scan at all. A metric's ``prepare`` runs on the
    totals afterwards (with the ``catalog``), never on what is cached."""
    period, metric = filters.period, filters.metric
    everything = breakdown if everything is None else everything
    names = list(TOTALS) if everything else [metric.field, *(["unpriced"] if metric.field == "cost_usd" else [])]
    if breakdown:
        names += KINDS

    def scan() -> list[tuple]:
        rows, daily = _rollup(filters, breakdown=breakdown)
        current = Q(day__gte=period.start) if previous else None
        rows = rows.filter(day__gte=period.previous().start if previous else period.start, day__lte=period.end)
        # Aliased: an annotation named like a column ("total_tokens") would shadow it inside the filters.
        columns = {f"a_{name}": _aggregate(daily, name, current) for name in names}
        if previous:
            columns["a_previous"] = _aggregate(daily, metric.field, ~current)
        return list(rows.order_by().values("person_id").annotate(**columns).values_list("person_id", *columns))

    parts = (period.start, period.end, metric.field, tuple(names), filters.vendor, filters.model, previous, breakdown)
    found: dict[int, Totals] = {}
    for person_id, *values in cached(version, "aggregate", parts, scan):
        totals = Totals(person_id=person_id)
        for name, value in zip(names, values, strict=False):
            setattr(totals, name, value or (Decimal(0) if name == "cost_usd" else 0))
        totals.value = getattr(totals, metric.field)
        totals.previous = (values[-1] or 0) if previous else 0
        found[person_id] = totals
    if metric.prepare:
        if catalog is None:
            raise ValueError(f"ranking by {metric.name} needs the catalog")
        metric.prepare(list(found.values()), filters, catalog=catalog, version=version)
    return found


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


def rank_board(
    filters: BoardFilters, *, viewer_id: int | None, catalog: Catalog, reveal: bool = False, breakdown: bool = False,
    previous: bool = True, version: DataVersion | None = None, sight: BudgetSight = NO_BUDGETS,
) -> Ranking:
    """``sight``: whose budgets the viewer may see (nobody's unless said). Ranked by share of budget,
    only they count and are listed (even without its numbers, a rank among others would tell who
    overspends)."""
    metric = filters.metric
    teams = catalog.team_and_below(filters.team_id) if filters.team_id else None
    totals = aggregate(filters, previous=previous, breakdown=breakdown, version=version, catalog=catalog)
    # Who counts (the filters) and, of them, who is listed (not hidden, unless it is me).
    counted = [t for pk, t in totals.items() if pk in catalog.people and _passes(catalog.people[pk], filters, teams)]
    if metric.budgeted and not sight.everyone:
        counted = [t for t in counted if t.person_id in sight.people]
    listed = [
        t for t in counted
        if reveal or t.person_id == viewer_id or catalog.people[t.person_id].privacy != Person.Privacy.HIDDEN
    ]
    before = {pk: rank for rank, pk, _ in competition_ranks((t.person_id, t.previous) for t in listed)}
    ranked = [
        (rank, pk, value, (before[pk] - rank) if pk in before else None)
        for rank, pk, value in competition_ranks((t.person_id, t.value) for t in listed)
    ]
    # Hidden people still count in the company's total.
    if metric.budgeted:
        with_budget = [t for t in counted if t.budget]
        company_total = _share(sum((t.cost_usd for t in with_budget), Decimal(0)),
                               sum((t.budget for t in with_budget), Decimal(0)))
    else:
        company_total = sum((t.value for t in counted), start=Decimal(0) if metric.field == "cost_usd" else 0)
    return Ranking(
        ranked=ranked, leader=ranked[0][2] if ranked else 0, company_total=company_total, compared=bool(before),
        anonymous={} if reveal else anonymous_numbers(
            catalog.people.values(), filters.period, scope=f"{filters.team_id or ''}:{filters.title or ''}"
        ),
        unpriced=frozenset(t.person_id for t in listed if t.unpriced), totals=totals,
    )


def leaderboard(
    filters: BoardFilters,
    *,
    viewer: Person | None,
    catalog: Catalog,
    page: int = 1,
    per_page: int = PER_PAGE,
    reveal: bool = False,
    breakdown: bool = False,
    sparklines: bool = True,
    previous: bool = True,
    version: DataVersion | None = None,
    sight: BudgetSight | None = None,
) -> Board:
    """The ranked board as ``viewer`` may see it, one page of it, and their pinned row.

    ``reveal`` lists everyone by name, hidden people included: what an operator running
    ``manage.py leaderboard`` sees. ``breakdown`` also reads the four token kinds (CSV, CLI).
    With a data version the ranking is cached, and only the people on the page are read.
    Ranked by share of budget, the board lists only the people whose budgets the viewer may see
    (``sight``, worked out from the viewer when not given; everyone's with ``reveal``)."""
    metric = filters.metric
    me = viewer.pk if viewer is not None else None
    # A hidden viewer is listed on their own board, so they get a ranking of their own.
    hidden_me = me if viewer is not None and viewer.privacy == Person.Privacy.HIDDEN else None
    if not metric.budgeted:
        sight = ALL_BUDGETS  # nothing budgeted to hide: one ranking for everyone
    elif reveal:
        sight = ALL_BUDGETS
    elif sight is None:
        sight = budget_sight(viewer, catalog=catalog, version=version)

    def rank() -> Ranking:
        found = rank_board(filters, viewer_id=me, catalog=catalog, reveal=reveal, breakdown=breakdown,
                           previous=previous, version=version, sight=sight)
        if version is not None:
            found.totals = None
        return found

    cacheable = version is not None and not (reveal or breakdown)
    # Whose budgets the ranking was made of is part of its key: a manager's is never an employee's.
    parts = (filters.period.start, filters.period.end, filters.period.key, metric.name, filters.vendor, filters.model,
             filters.team_id, filters.title, previous, hidden_me, budget_part(metric, version),
             sight.key if metric.budgeted else None)
    ranking = cached(version if cacheable else None, "ranking", parts, rank,
                     per_person=metric.budgeted and not sight.everyone)
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
        members = cached(version, "members", shown, lambda: catalog.members(shown))
        if me is not None and me not in members:
            members = {**members, **cached(version, "member", (me,), lambda: catalog.members([me]), per_person=True)}

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
            share=0.0 if withheld or not leader else float(value / leader),
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
        _make_row=make_row,
    )
    if me is not None and my_row is None and me in members:
        teams = catalog.team_and_below(filters.team_id) if filters.team_id else None
        board.me_unranked = _passes(members[me], filters, teams)
    if sparklines:
        attach_sparklines(board, [row for row in [*rows, pinned] if row is not None], version=version)
    return board


def _daily_values(filters: BoardFilters, person_ids: Iterable[int], field: str) -> dict[int, dict[date, Any]]:
    rows, daily = _rollup(filters, breakdown=False)
    period = filters.period
    rows = rows.filter(person_id__in=list(person_ids), day__gte=period.start, day__lte=period.end).order_by()
    if daily:
        rows = rows.values("person_id", "day").annotate(value=Sum(field)).values_list("person_id", "day", "value")
    else:
        rows = rows.values_list("person_id", "day", field)
    found: dict[int, dict[date, Any]] = defaultdict(dict)
    for pk, day, value in rows:
        found[pk][day] = value or 0
    return found


def buckets(period: Period) -> list[tuple[date, date]]:
    """Days, or whole weeks for long periods, as (first day, last day) pairs covering the period."""
    if period.days <= WEEKLY_AFTER_DAYS:
        return [(day, day) for day in period.day_list()]
    spans, start = [], period.start
    while start <= period.end:
        end = min(start + timedelta(days=6), period.end)
        spans.append((start, end))
        start = end + timedelta(days=1)
    return spans


def series(values: dict[date, Any], spans: list[tuple[date, date]]) -> list:
    if all(first == last for first, last in spans):
        return [values.get(first, 0) for first, _ in spans]
    # Spans are consecutive: each day falls in one, found by bisecting the spans' first days.
    firsts = [first for first, _ in spans]
    totals = [0] * len(spans)
    for day, value in values.items():
        n = bisect.bisect_right(firsts, day) - 1
        if n >= 0 and day <= spans[n][1]:
            totals[n] += value
    return totals


def attach_sparklines(board: Board, rows: list[BoardRow], *, version: DataVersion | None = None) -> None:
    """Daily usage over the period for the rows on the page only: one query, whatever the board.
    With a data version, cached per page (everyone on it sees the same) and for a pinned row."""
    if not rows:
        return
    filters = board.filters
    spans = buckets(filters.period)
    key = (filters.period.start, filters.period.end, filters.metric.daily_field, filters.vendor, filters.model)
    # The page's rows and a pinned row (someone's own) are cached apart: the page's are shared.
    groups = [tuple(row.person_id for row in rows if row is not board.pinned),
              tuple(row.person_id for row in rows if row is board.pinned)]
    keys = {pks: cache_key(version, "sparklines", (*key, pks)) for pks in groups if pks} if version else {}
    found: dict[int, list] = {}
    for hit in cache.get_many(list(keys.values())).values() if keys else ():
        found.update(hit)
    missing = [pk for pks in groups for pk in pks if pk not in found]
    if missing:
        values = _daily_values(filters, missing, filters.metric.daily_field)
        found.update({pk: series(values.get(pk, {}), spans) for pk in missing})
        fresh = {k: {pk: found[pk] for pk in pks} for pks, k in keys.items() if set(pks) & set(missing)}
        if fresh:
            cache.set_many(fresh, CACHE_SECONDS)
    for row in rows:
        row.sparkline = found[row.person_id]


# --- CSV and JSON -------------------------------------------------------------------------------

EXPORT_COLUMNS = [
    "rank", "email", "name", "team", "total_tokens", "input_tokens", "cache_write_tokens", "cache_read_tokens",
    "output_tokens", "requests", "cost_usd",
]


def export_rows(rows: Iterable[BoardRow]) -> list[dict[str, Any]]:
    """Rows as ``manage.py leaderboard --format json`` writes them (design.md §3)."""
    return [
        {
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
        for row in rows
    ]


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value) -> Any:
    """A text cell a spreadsheet would run as a formula ("=HYPERLINK(...)") gets a leading quote.

    Numbers are written as numbers; only text is escaped (a team called "-ops" still reads right)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(rows: Iterable[BoardRow], out) -> None:
    """The board as CSV, the same for the download and ``manage.py leaderboard --format csv``."""
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for item in export_rows(rows):
        writer.writerow([spreadsheet_safe(item[column]) for column in EXPORT_COLUMNS])


# --- Freshness ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Freshness:
    vendor: str
    last_day: date

    @property
    def label(self) -> str:
        return f"{vendor_label(self.vendor)} data until {self.last_day:%b} {self.last_day.day} (UTC)"


# An import that changes the rollups moves the data version, and with it this; one that matched
# nobody does not, so what is cached also expires soon.
FRESHNESS_SECONDS = 2 * 60


def freshness(version: DataVersion | None = None) -> list[Freshness]:
    """Per vendor, the last day a successful import covered: a late export, not a lazy colleague.

    One query: exports are grouped by their vendor list (few distinct values), split in Python. With
    a data version, cached for a couple of minutes: every page shows it."""
    return cached(version, "freshness", (), _freshness, seconds=FRESHNESS_SECONDS)


def _freshness() -> list[Freshness]:
    latest: dict[str, date] = {}
    rows = (
        UsageExport.objects.filter(status=UsageExport.Status.SUCCEEDED, last_day__isnull=False)
        .order_by()
        .values_list("vendors")
        .annotate(last=Max("last_day"))
    )
    for vendors, last in rows:
        for vendor in vendors or []:
            if vendor not in latest or latest[vendor] < last:
                latest[vendor] = last
    return [Freshness(vendor, latest[vendor]) for vendor in sorted(latest)]


# --- Team boards --------------------------------------------------------------------------------

TEAM_SORTS = {"total": "Total", "per_active": "Per active member", "median": "Median per member"}


@dataclass
class TeamRow:
    rank: int
    team_id: int
    name: str
    path: str
    members: int
    active_members: int
    total: Any
    per_active: Any
    median: Any
    share: float
    format: Callable[[Any], str] = field(repr=False, default=str)

    @property
    def share_percent(self) -> str:
        return f"{max(self.share * 100, 0.5):.1f}"

    @property
    def active_share(self) -> int:
        return round(100 * self.active_members / self.members) if self.members else 0

    @property
    def total_display(self) -> str:
        return self.format(self.total)

    @property
    def per_active_display(self) -> str:
        return self.format(self.per_active)

    @property
    def median_display(self) -> str:
        return self.format(self.median)


@dataclass
class TeamBoard:
    filters: BoardFilters
    sort: str
    rows: list[TeamRow]
    company_total: Any
    company_total_display: str
    people: int
    # Ranked by share of budget for someone who may not see every budget: only the teams made of
    # budgets they may see are listed, and the total is theirs, not the company's.
    partial: bool = False

    @property
    def sort_label(self) -> str:
        return TEAM_SORTS[self.sort]


def _per(total, count: int, *, money_like: bool):
    if not count:
        return Decimal(0) if money_like else 0
    return (Decimal(total) / count) if money_like else total / count


def team_board(
    filters: BoardFilters, *, catalog: Catalog, sort: str = "total", version: DataVersion | None = None,
    sight: BudgetSight = NO_BUDGETS,
) -> TeamBoard:
    """Teams by their own members' usage (each person counted once, so the rows add up to the
    company), hidden and anonymous people included: a team total reveals no one. The same for every
    viewer, so cached whole with a data version; except by share of budget, which lists only the
    teams whose every budget the viewer may see (``sight``), and is cached per sight."""
    budgeted = filters.metric.budgeted
    parts = (filters.period.start, filters.period.end, filters.period.key, filters.metric.name, filters.vendor,
             filters.model, filters.team_id, filters.title, sort, budget_part(filters.metric, version),
             sight.key if budgeted else None)
    sight = sight if budgeted else ALL_BUDGETS
    return cached(version, "teams", parts,
                  lambda: _team_board(filters, catalog=catalog, sort=sort, version=version, sight=sight),
                  per_person=budgeted and not sight.everyone)


def _team_shares(people: list[int], totals: dict[int, Totals], amounts: dict[int, Decimal | None]) -> tuple:
    """A team by share of budget: (the team's spend over its budget, the same for its active members,
    the median member's share), over the members who have a budget."""
    budgeted = [pk for pk in people if amounts.get(pk)]
    spend = {pk: totals[pk].cost_usd if pk in totals else Decimal(0) for pk in budgeted}
    active = [pk for pk in budgeted if pk in totals and totals[pk].active_days]

    def share(pks: list[int]) -> float:
        return _share(sum((spend[pk] for pk in pks), Decimal(0)), sum((amounts[pk] for pk in pks), Decimal(0)))

    shares = [_share(spend[pk], amounts[pk]) for pk in budgeted]
    return share(budgeted), share(active), statistics.median(shares) if shares else 0.0


def _team_board(filters: BoardFilters, *, catalog: Catalog, sort: str, version: DataVersion | None,
                sight: BudgetSight) -> TeamBoard:
    metric = filters.metric
    money_like = metric.field == "cost_usd" and not metric.budgeted
    # Active days too: "per active member" and the active share need them.
    totals = aggregate(filters, previous=False, everything=True, version=version, catalog=catalog)
    amounts = period_budgets(filters.period, catalog=catalog, version=version) if metric.budgeted else {}
    members: dict[int, list[int]] = defaultdict(list)
    for member in catalog.people.values():
        if member.team_id in catalog.teams:
            members[member.team_id].append(member.pk)
    if metric.budgeted and not sight.everyone:
        members = {team_id: people for team_id, people in members.items() if sight.covers(people)}
    zero = Decimal(0) if money_like else 0
    rows = []
    for team_id, people in members.items():
        active = sum(1 for pk in people if pk in totals and totals[pk].active_days)
        if metric.budgeted:
            total, per_active, median = _team_shares(people, totals, amounts)
        else:
            values = [totals[pk].value if pk in totals else zero for pk in people]
            total = sum(values, start=zero)
            per_active = _per(total, active, money_like=money_like)
            median = statistics.median(values) if values else zero
        rows.append(TeamRow(
            rank=0, team_id=team_id, name=catalog.teams[team_id].name, path=catalog.team_path(team_id),
            members=len(people), active_members=active, total=total, per_active=per_active,
            median=median, share=0.0, format=metric.format,
        ))
    sort = sort if sort in TEAM_SORTS else "total"
    rows.sort(key=lambda row: (-getattr(row, sort), row.name.lower()))
    best = getattr(rows[0], sort) if rows else 0
    rank, last = 0, None
    for position, row in enumerate(rows, start=1):
        value = getattr(row, sort)
        if value != last:
            rank, last = position, value
        row.rank = rank
        row.share = float(value / best) if best else 0.0
    partial = metric.budgeted and not sight.everyone
    if partial:
        # The listed teams' share, never the company's: that adds up budgets the viewer may not see.
        company = _team_shares([pk for people in members.values() for pk in people], totals, amounts)[0]
    elif metric.budgeted:
        company = _team_shares(list(catalog.people), totals, amounts)[0]
    else:
        company = sum((t.value for pk, t in totals.items() if pk in catalog.people), start=zero)
    return TeamBoard(
        filters=filters, sort=sort, rows=rows, company_total=company, company_total_display=metric.format(company),
        people=sum(len(people) for people in members.values()) if partial else len(catalog.people), partial=partial,
    )


@dataclass
class TeamSummary:
    team: TeamInfo
    path: str
    sub_teams: list[TeamInfo]
    members: int
    active_members: int
    total_display: str
    per_active_display: str


def team_trend(filters: BoardFilters, team_ids: set[int]) -> tuple[list[tuple[date, date]], dict[str, list]]:
    """A team's (and its sub-teams') daily metric by vendor over the period: one grouped query."""
    spans, stacks, _ = team_trend_and_spend(filters, team_ids)
    return spans, stacks


def team_trend_and_spend(
    filters: BoardFilters, team_ids: set[int]
) -> tuple[list[tuple[date, date]], dict[str, list], Decimal]:
    """``team_trend``, and what the team's members on the roster spent in the period (what the team's
    budget is compared with), from the same grouped query."""
    field = filters.metric.daily_field
    rows = DailyUsage.objects.filter(
        person__team_id__in=team_ids, day__gte=filters.period.start, day__lte=filters.period.end
    )
    if filters.vendor:
        rows = rows.filter(vendor=filters.vendor)
    if filters.model:
        rows = rows.filter(model=filters.model)
    by_vendor: dict[str, dict[date, Any]] = defaultdict(dict)
    spend = Decimal(0)
    employed = ~Q(person__status=Person.Status.TERMINATED)
    for day, vendor, value, cost in (
        rows.order_by().values_list("day", "vendor").annotate(value=Sum(field), cost=Sum("cost_usd", filter=employed))
    ):
        by_vendor[vendor][day] = value or 0
        spend += cost or 0
    spans = buckets(filters.period)
    return spans, {vendor: series(values, spans) for vendor, values in sorted(by_vendor.items())}, spend


@dataclass(frozen=True)
class BudgetUse:
    """A budget over a period and the spend against it, as a page shows them."""

    budget: Decimal | None
    spend: Decimal
    derivation: str = ""
    forecast: str = ""
    people: int = 0  # how many budgets the total adds up (a team's)
    without_budget: int = 0  # members no policy gives a budget

    @property
    def share(self) -> float | None:
        return float(self.spend / self.budget) if self.budget else None

    @property
    def budget_display(self) -> str:
        return money(self.budget) if self.budget is not None else "none"

    @property
    def spend_display(self) -> str:
        return money(self.spend)

    @property
    def share_display(self) -> str:
        return percent(self.share)

    @property
    def bar_percent(self) -> str:
        """The bar's width: the share used, full when over budget (a sliver for any spend at all)."""
        share = self.share or 0
        return f"{min(100.0, max(share * 100, 0.5 if share else 0)):.1f}"

    @property
    def over(self) -> bool:
        return bool(self.budget) and self.spend > self.budget


def team_budget(period: Period, team_ids: set[int], *, spend: Decimal, catalog: Catalog,
                version: DataVersion | None, sight: BudgetSight) -> BudgetUse | None:
    """The budgets of a team's members (sub-teams included) added up over the period, against what
    they spent (``team_trend_and_spend`` sums it); None unless the viewer may see every one of those
    budgets (``sight``; see "Who may see budgets"). Cached under the budget and people versions."""
    if not may_see_team_budget(sight, team_ids, catalog=catalog, version=version):
        return None

    def compute() -> tuple[Decimal, int, int]:
        amounts = period_budgets(period, catalog=catalog, version=version)
        members = [pk for pk, member in catalog.people.items() if member.team_id in team_ids]
        with_budget = [amounts[pk] for pk in members if amounts.get(pk) is not None]
        return sum(with_budget, Decimal(0)), len(with_budget), len(members) - len(with_budget)

    total, people, without = budget_cached(
        version, "team-budget", (period.start, period.end, tuple(sorted(team_ids))), compute
    )
    return BudgetUse(budget=total if people else None, spend=spend, people=people, without_budget=without)


# --- My usage and person pages ------------------------------------------------------------------

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


def usage_overview(
    person: Person, period: Period, *, by: str = "vendor", today: date, detail: bool = True,
    version: DataVersion | None = None,
) -> UsageOverview:
    """Everything a person page needs about ``person`` (see ``_usage_overview``), cached with a data
    version: a rank among everyone costs a scan of everyone's weeks."""
    def compute() -> UsageOverview:
        found = _usage_overview(person, period, by=by, today=today, detail=detail, version=version)
        found.person = None  # Not cached: the page shows the person as they are now.
        return found

    overview = cached(version, "usage-2", (person.pk, period.start, period.end, period.key, by, today, detail), compute,
                      per_person=True)
    # A copy: the cached overview is shared by this process's requests.
    return replace(overview, person=person)


def _everyone(period: Period, *, today: date, version: DataVersion | None) -> list[tuple]:
    """The company-wide part of every person page for a period: for each person on the roster (not
    terminated) with rollups in the window, (id, privacy, tokens and active days in the period, tokens
    in each of the last RANK_WEEKS weeks). One scan serves every person's page: cached."""
    weeks = _week_spans(today)

    def scan() -> list[tuple]:
        in_period = Q(day__gte=period.start, day__lte=period.end)
        # Prefixed names: an annotation called like a column ("active") would shadow it in the filters.
        columns = {
            "c_tokens": Sum("total_tokens", filter=in_period),
            "c_active": Count("pk", filter=in_period & Q(active=True)),
        }
        for n, (start, end) in enumerate(weeks):
            columns[f"w{n}"] = Sum("total_tokens", filter=Q(day__gte=start, day__lte=end))
        return list(
            PersonDay.objects.filter(day__gte=min(period.start, weeks[0][0]), day__lte=max(period.end, today))
            .exclude(person__status=Person.Status.TERMINATED)
            .order_by()
            .values("person_id", "person__privacy")
            .annotate(**columns)
            .values_list("person_id", "person__privacy", *columns)
        )

    return cached(version, "usage-everyone", (period.start, period.end, today), scan)


def _usage_overview(
    person: Person, period: Period, *, by: str, today: date, detail: bool, version: DataVersion | None = None
) -> UsageOverview:
    """Everything a person page needs about ``person``, in two queries whatever the company's size:

    - the company-wide PersonDay aggregate over the period and the last twelve weeks (``_everyone``,
      shared by every person's page): the person's totals and rank in the period, their rank each
      week, who climbed most last week;
    - the person's own DailyUsage, all of it: the daily chart by vendor or model and the four token
      kinds (with ``detail``: only they and those above them see that), and the badges' history.
    """
    weeks = _week_spans(today)
    names = ["person_id", "c_tokens", "c_active", *(f"w{n}" for n in range(len(weeks)))]
    # Ranks count the people on the boards: employed, not hidden (the person themself always counts).
    everyone = [
        dict(zip(names, (pk, *values), strict=True))
        for pk, privacy, *values in _everyone(period, today=today, version=version)
        if privacy != Person.Privacy.HIDDEN or pk == person.pk
    ]
    mine = next((row for row in everyone if row["person_id"] == person.pk), {})

    def rank_of(column: str) -> tuple[int | None, int]:
        # The same competition rank as the board ("1, 2, 2, 4"), without sorting everyone.
        values = [row[column] for row in everyone if row[column] and row[column] > 0]
        own = mine.get(column) or 0
        return (1 + sum(1 for value in values if value > own) if own > 0 else None), len(values)

    rank, ranked_people = rank_of("c_tokens")
    rank_weeks = [(start, rank_of(f"w{n}")[0]) for n, (start, _) in enumerate(weeks)]

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
        total_tokens=mine.get("c_tokens") or 0,
        input_tokens=kinds["input"], cache_write_tokens=kinds["cache_write"], cache_read_tokens=kinds["cache_read"],
        output_tokens=sums["output"], requests=sums["requests"], cost_usd=sums["cost"], unpriced=sums["unpriced"],
        active_days=mine.get("c_active") or 0, rank=rank, ranked_people=ranked_people, spans=spans, stacks=stacks,
        by_vendor=by_vendor, rank_weeks=rank_weeks,
        badges=earned_badges(person.pk, used_days, everyone=everyone, weeks=weeks), month_costs=dict(month_costs),
    )


def earned_badges(person_id: int, used_days: dict[date, int], *, everyone: list[dict], weeks) -> list[Badge]:
    """Badges from the rollups, recomputed on every view: no counters to keep, nothing that nags.

    - first billion tokens, all time, and the day it happened;
    - a run of STREAK_DAYS consecutive days with usage (the longest run so far);
    - biggest climber: the largest rise in rank by tokens from the week before last to last week,
      among everyone ranked in both (ties share it)."""
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
            "billion", "First billion tokens", f"Passed 1B tokens on {crossed:%b} {crossed.day}, {crossed.year}.", "◆"
        ))
    if longest >= STREAK_DAYS:
        run_of = Period("custom", best_end - timedelta(days=longest - 1), best_end)
        badges.append(Badge(
            "streak", f"{STREAK_DAYS}-day streak", f"Used AI {longest} days in a row, {run_of.describe()}.", "▮"
        ))
    last_week, week_before = len(weeks) - 2, len(weeks) - 3

    def ranks(column: str) -> dict[int, int]:
        return {pk: rank for rank, pk, _ in competition_ranks((r["person_id"], r[column] or 0) for r in everyone)}

    last, before = ranks(f"w{last_week}"), ranks(f"w{week_before}")
    climbs = {pk: before[pk] - rank for pk, rank in last.items() if pk in before}
    best = max(climbs.values(), default=0)
    if best > 0 and climbs.get(person_id) == best:
        start = weeks[last_week][0]
        badges.append(Badge(
            "climber", "Biggest climber of the week", f"Up {best} places in the week of {start:%b} {start.day}.", "▲"
        ))
    return badges


def person_budget(person: Person, overview: UsageOverview, *, catalog: Catalog, version: DataVersion | None,
                  today: date) -> BudgetUse:
    """A person's budget over the overview's period, the spend against it (the cost the overview has
    summed), how the budget was derived and this month's forecast: no query once the policies are
    cached (the person's facts are on the row the page has loaded; the teams are the catalog's)."""
    period = overview.period
    facts = budgets.PersonFacts.of(person)

    def compute() -> BudgetUse:
        book = budget_book({person.pk: facts}, catalog=catalog, version=version)
        budget = book.budget(person.pk, period.start, period.end)
        yesterday = today - timedelta(days=1)
        if yesterday.month != today.month:
            forecast = "Too early in the month to forecast."
        else:
            forecast = budgets.forecast_month(book, person.pk, last_day=yesterday,
                                              daily_spend=overview.month_costs).text
        return BudgetUse(budget=budget.amount, spend=overview.cost_usd, derivation=budget.explain(),
                         forecast=forecast)

    # Arithmetic only, yet a tenth of a warm "my usage" page: cached under everything it reads (the
    # overview's numbers and the teams under the data version; the policies; the person's facts).
    budgets_version = version.budgets if version is not None else None
    return cached(version, "person-budget", (facts, period.start, period.end, today, budgets_version), compute,
                  per_person=True)


# --- A person's own: identities, uploads, flags -------------------------------------------------


@dataclass
class Personal:
    """What "my usage" shows besides the numbers: the identities linked to me, my own uploads and my
    live flags (a person's page shows the first and the last)."""

    identities: list[IdentityInfo]
    uploads: list[UsageExport]
    flags: list[Flag]


def personal(person: Person, version: DataVersion | None = None) -> Personal:
    """The person's own rows, cached under the personal version (moved by triggers on each of their
    tables, migration 0006): a page view reads none of them until one changes.

    For pages that write nothing before they read this: on PostgreSQL the version moves when a
    transaction commits, so rows a transaction has written but not committed would be cached under
    the version from before them."""

    def read() -> Personal:
        return Personal(linked_identities(person), my_uploads(person), open_flags(person))

    if version is None:
        return read()
    return versioned.remember(f"boards:personal:{version.personal}:{person.pk}", read, CACHE_SECONDS, per_person=True)


# The three reads below run whenever the personal version moves. Compiling an ORM query costs
# Django more than SQLite takes to answer it (about 0.5 ms against 0.05), so they are written as raw
# SQL over indexed columns: ``raw()`` where the page wants model instances.


def open_flags(person: Person) -> list[Flag]:
    """The person's live flags (open, acknowledged, snoozed), newest first: the rule, and how many
    replies to the person and answers from them each has (never the internal notes). Most people
    have none: a probe of the (person, status) index says so before the full query is built."""
    live = list(Flag.LIVE)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {Flag._meta.db_table} WHERE person_id = %s AND status IN ({', '.join(['%s'] * len(live))}) "
            "LIMIT 1",
            [person.pk, *live],
        )
        if cursor.fetchone() is None:
            return []
    return list(
        Flag.objects.filter(person=person, status__in=live)
        .select_related("rule")
        .annotate(
            replies=Count("notes", filter=Q(notes__kind=FlagNote.Kind.REPLY)),
            answers=Count("notes", filter=Q(notes__kind=FlagNote.Kind.ANSWER)),
        )
        .order_by("-opened_on", "-pk")
    )


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
    kinds = ProviderIdentity.Kind
    return [
        IdentityInfo(i.vendor, kinds(i.kind).label if i.kind in kinds.values else i.kind, i.value, i.label, i.mapped_at)
        for i in ProviderIdentity.objects.raw(
            f"SELECT id, vendor, kind, value, label, mapped_at FROM {ProviderIdentity._meta.db_table} "
            "WHERE person_id = %s ORDER BY vendor, kind, value",
            [person.pk],
        )
    ]


def my_uploads(person: Person, limit: int = 5) -> list[UsageExport]:
    return list(UsageExport.objects.raw(
        f"SELECT id, original_name, status, created_at, first_day, last_day, failure, origin "
        f"FROM {UsageExport._meta.db_table} WHERE origin = %s AND attributed_to_id = %s "
        "ORDER BY created_at DESC, id DESC LIMIT %s",
        [UsageExport.Origin.SELF_SERVICE, person.pk, limit],
    ))


# --- Warming ------------------------------------------------------------------------------------

# The boards most people open first: the default board and its common periods, and the teams.
WARM_PERIODS = ("30d", "7d", "90d", "year")


def warm_cache(*, today: date | None = None) -> list[str]:
    """Compute and cache the common boards under the current data version, so that the first
    request after an import finds them ready. Returns what was warmed."""
    today = today or utc_today()
    version = data_version()
    found = catalog(version)
    warmed = []
    for key in WARM_PERIODS:
        filters = BoardFilters(period=resolve_period(key, today=today))
        leaderboard(filters, viewer=None, catalog=found, sparklines=False, version=version)
        warmed.append(f"board {key}")
    default = resolve_period(DEFAULT_PERIOD, today=today)
    team_board(BoardFilters(period=default), catalog=found, version=version)
    warmed.append(f"teams {DEFAULT_PERIOD}")
    # What every person's own page shares: the company's weeks.
    _everyone(default, today=today, version=version)
    warmed.append(f"my usage {DEFAULT_PERIOD}")
    # Budgets on every page: the policies, and everyone's budget for the default period.
    period_budgets(default, catalog=found, version=version)
    warmed.append("budgets")
    freshness(version)
    warmed.append("freshness")
    return warmed
