"""The roster as the boards see it: who is on the boards, their teams and titles, who manages whom,
and the models in use (the filters' choices). Nothing an employee may not read, except the budget
facts kept aside for arithmetic (see Catalog)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Subquery

from accounts import org
from accounts.models import Person, Team

from .. import budgets, cache
from ..cache import PEOPLE, Versions
from ..models import DailyUsage, OrgSettings


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
                 budget_people: dict[int, budgets.PersonFacts] | None = None, peer_bands: bool = True,
                 versions: Versions | None = None):
        self._people = people
        self._versions = versions
        # The organisation's choice to show colleagues by band (boards/bands.py), read with the teams.
        self.peer_bands = peer_bands
        self._budget_people = budget_people
        self.teams = teams
        self._titles = titles
        self.managers = managers
        self._team_sizes = team_sizes

    @property
    def people(self) -> dict[int, Member]:
        if self._people is None and self._versions is not None:
            # Who is on the boards, as the boards show them (no budget facts: those are never cached),
            # kept under the people's version: a ranking rebuilt after an import does not read the
            # roster again.
            self._people = cache.cached(self._versions, "roster", (), lambda: _load_people().people, on=(PEOPLE,))
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
        self._people, self._budget_people = self._people or roster.people, roster.facts

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

    @property
    def parents(self) -> dict[int, int | None]:
        return {pk: team.parent_id for pk, team in self.teams.items()}

    def team_and_below(self, team_id: int) -> set[int]:
        return org.team_and_below(team_id, self.parents)

    def team_path(self, team_id: int | None) -> str:
        """"Engineering › Platform": where a team sits, for people who don't know the org chart."""
        chain = org.team_and_above(team_id, self.parents) if team_id in self.teams else []
        return " › ".join(self.teams[pk].name for pk in reversed(chain) if pk in self.teams)

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

    def read() -> list[tuple[str, str]]:
        return sorted(
            DailyUsage.objects.filter(day__gt=end - timedelta(days=MODELS_WINDOW_DAYS), day__lte=end)
            .exclude(model="")
            .values_list("vendor", "model")
            .distinct()
        )

    return [tuple(pair) for pair in cache.remember_for(f"models:{end.isoformat()}", read, MODELS_CACHE_SECONDS)]


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


def reporting_line(versions: Versions | None) -> dict[int, int]:
    """Everyone's manager (person id -> manager id): whether a viewer is above someone. Cached under
    the data versions; the catalog reads it with the roster, so it rarely costs a query of its own."""
    return cache.cached(versions, "reporting-line", (), lambda: dict(
        Person.objects.exclude(manager=None).order_by().values_list("pk", "manager_id")
    ), on=(PEOPLE,))


def load(versions: Versions | None = None) -> Catalog:
    """The roster and the teams (two queries). With data versions, the small part is cached and the
    people are read only when needed (see Catalog)."""
    loaded: list[Catalog] = []

    def load() -> Catalog:
        roster = _load_people()
        # The bands setting rides along with the teams (a second query only when there is no team).
        setting = OrgSettings.objects.filter(pk=1).values("peer_bands")[:1]
        rows = list(Team.objects.order_by().annotate(bands=Subquery(setting))
                    .values_list("pk", "name", "parent_id", "bands"))
        teams = {row[0]: TeamInfo(*row[:3]) for row in rows}
        bands = rows[0][3] if rows else OrgSettings.objects.filter(pk=1).values_list("peer_bands", flat=True).first()
        # Read with the roster anyway: person pages find the reporting line cached with it.
        cache.cached(versions, "reporting-line", (), lambda: roster.reports_to, on=(PEOPLE,))
        found = Catalog(roster.people, teams, managers=roster.managers, budget_people=roster.facts,
                        peer_bands=bands is not False)
        loaded.append(found)
        return found

    if versions is None:
        return load()

    def summary():
        found = load()
        sizes: dict[int, int] = defaultdict(int)
        for member in found.people.values():
            if member.team_id is not None:
                sizes[member.team_id] += 1
        return found.teams, found.titles(), found.managers, dict(sizes), found.peer_bands

    teams, titles, managers, sizes, peer_bands = cache.cached(versions, "catalog", (), summary, on=(PEOPLE,))
    if loaded:
        return loaded[0]
    return Catalog(None, teams, titles=titles, managers=managers, team_sizes=sizes, peer_bands=peer_bands,
                   versions=versions)
