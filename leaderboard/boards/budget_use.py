"""Budgets as the pages show them: everyone's budget for a period (no query once the policies are
cached), the share of it each person used (the ``budget`` metric), and who may see which of them.

Budgets themselves (which policy applies to whom on which day, and the arithmetic) are
leaderboard/budgets.py's; this module feeds it what the boards have already read (the catalog's
people and teams, the policies from the cache) and keeps what it derives under the budget version.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from accounts import org
from accounts.models import Person

from .. import budgets, cache
from ..cache import BUDGETS, PEOPLE, Versions
from ..display import money, percent
from .catalog import Catalog, reporting_line
from .filters import Period

# --- Budgets for a period -------------------------------------------------------------------------


def budget_book(people: dict[int, budgets.PersonFacts], *, catalog: Catalog,
                versions: Versions | None) -> budgets.BudgetBook:
    """A BudgetBook for ``people`` without a query once the policies are cached."""
    return budgets.BudgetBook.from_tables(budgets.policy_tables(versions), people=people, teams=catalog.team_table)


def period_budgets(period: Period, *, catalog: Catalog, versions: Versions | None) -> dict[int, Decimal | None]:
    """Everyone's budget over the period (None: no policy applies), cached under the budget and
    people versions: arithmetic over the catalog's people, shared by every board of the period."""

    def compute() -> dict[int, Decimal | None]:
        book = budget_book(catalog.budget_people, catalog=catalog, versions=versions)
        return {pk: book.budget(pk, period.start, period.end).amount for pk in book.people}

    return cache.cached(versions, "budgets", (period.start, period.end), compute, on=(BUDGETS, PEOPLE))


def share(spend, budget) -> float:
    """Spend over budget; 0 without a budget (so nobody without one is ranked by it)."""
    return float(Decimal(spend or 0) / budget) if budget else 0.0


def apply_shares(totals: Iterable, period: Period, *, catalog: Catalog, versions: Versions | None) -> None:
    """The ``budget`` metric: each person's cost (already summed by the aggregate) over their budget
    for the period, and the same for the previous period (rank change). People without a budget get
    0: they are not ranked."""
    totals = list(totals)
    now = period_budgets(period, catalog=catalog, versions=versions)
    before = (period_budgets(period.previous(), catalog=catalog, versions=versions)
              if any(t.previous for t in totals) else {})
    for t in totals:
        t.budget = now.get(t.person_id)
        t.value = share(t.cost_usd, t.budget)
        t.previous = share(t.previous, before.get(t.person_id))


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


def budget_sight(viewer: Person | None, *, catalog: Catalog, versions: Versions | None) -> BudgetSight:
    """What ``viewer`` may see of budgets (see above). No query for most viewers: whether someone
    has reports is in the catalog; a manager's reporting line is walked from the cached managers."""
    if viewer is None:
        return NO_BUDGETS
    if viewer.is_staff:
        return ALL_BUDGETS
    if not catalog.has_reports(viewer.pk):
        return NO_BUDGETS

    def walk() -> frozenset[int]:
        return frozenset({viewer.pk} | org.reports_of(viewer.pk, reporting_line(versions)))

    line = cache.cached(versions, "reporting-line-below", (viewer.pk,), walk, on=(PEOPLE,), per_person=True)
    return BudgetSight(people=line, key=f"line:{viewer.pk}")


def team_members(catalog: Catalog, versions: Versions | None) -> dict[int, frozenset[int]]:
    """Each team's own people on the boards (not its sub-teams'): whose budgets a team figure adds
    up. Cached under the data version, so a manager's page does not read the whole roster for it."""

    def compute() -> dict[int, frozenset[int]]:
        found: dict[int, set[int]] = defaultdict(set)
        for member in catalog.people.values():
            if member.team_id is not None:
                found[member.team_id].add(member.pk)
        return {team_id: frozenset(pks) for team_id, pks in found.items()}

    return cache.cached(versions, "team-members", (), compute, on=(PEOPLE,))


def may_rank_teams_by_budget(sight: BudgetSight, *, catalog: Catalog, versions: Versions | None) -> bool:
    """Whether the teams board by share of budget would show this viewer any team."""
    if sight.everyone or not sight.people:
        return sight.everyone
    return any(sight.covers(pks) for pks in team_members(catalog, versions).values())


def may_see_team_budget(sight: BudgetSight, team_ids: set[int], *, catalog: Catalog,
                        versions: Versions | None) -> bool:
    """Whether the budget of a team (``team_ids``: it and its sub-teams) is this viewer's to see."""
    if sight.everyone or not sight.people:
        return sight.everyone
    members = team_members(catalog, versions)
    return sight.covers(pk for team_id in team_ids for pk in members.get(team_id, ()))


# --- Budget against spend ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetUse:
    """A budget over a period and the spend against it, as a page shows them."""

    budget: Decimal | None
    spend: Decimal
    derivation: str = ""
    forecast: str = ""
    people: int = 0  # how many budgets the total adds up (a team's)
    without_budget: int = 0  # members no policy gives a budget
    # A person's budget as people think of it: this month's amount and what is spent of it so far.
    month_budget: Decimal | None = None
    month_spent: Decimal | None = None
    month: date | None = None

    @property
    def month_display(self) -> str:
        return money(self.month_budget) if self.month_budget is not None else "none"

    @property
    def month_spent_display(self) -> str:
        return money(self.month_spent or 0)

    @property
    def month_share_display(self) -> str:
        return percent(float(self.month_spent / self.month_budget)) if self.month_budget and self.month_spent is not None else "—"

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
                versions: Versions | None, sight: BudgetSight) -> BudgetUse | None:
    """The budgets of a team's members (sub-teams included) added up over the period, against what
    they spent (``team_trend_and_spend`` sums it); None unless the viewer may see every one of those
    budgets (``sight``; see "Who may see budgets"). Cached under the budget and people versions."""
    if not may_see_team_budget(sight, team_ids, catalog=catalog, versions=versions):
        return None

    def compute() -> tuple[Decimal, int, int]:
        amounts = period_budgets(period, catalog=catalog, versions=versions)
        members = [pk for pk, member in catalog.people.items() if member.team_id in team_ids]
        with_budget = [amounts[pk] for pk in members if amounts.get(pk) is not None]
        return sum(with_budget, Decimal(0)), len(with_budget), len(members) - len(with_budget)

    total, people, without = cache.cached(
        versions, "team-budget", (period.start, period.end, tuple(sorted(team_ids))), compute, on=(BUDGETS, PEOPLE)
    )
    return BudgetUse(budget=total if people else None, spend=spend, people=people, without_budget=without)
