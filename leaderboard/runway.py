"""Budget runway: for the organisation or a team, this month's pooled budget, what has been spent so far,
and the day it runs out at this pace (or the share it leaves unused at the month's end).

The pooled budget is every member's budget for the month added up (leaderboard/budgets.py says how
each is derived). Spend counts the days through yesterday: today's data is still arriving. The pace is
the spend per working day so far, carried over the month's remaining working days, as the monthly
forecast on a person's page does (``budgets.forecast_month``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Sum

from accounts.models import Person, Team
from accounts.org import team_and_below

from . import cache
from .boards import budget_use
from .boards.catalog import Catalog
from .boards.filters import Period
from .budgets import BudgetBook, Calendar, month_end
from .cache import PEOPLE, ROLLUPS, Versions
from .display import CENT, day, money
from .models import PersonDay

ORGANISATION = "The organisation"

# The chart's drawing area, in SVG user units (it scales to the width of its box).
CHART_WIDTH, CHART_HEIGHT = 600, 160


@dataclass
class Runway:
    label: str  # the team's name, or "The organisation"
    first: date  # the month
    last: date
    budget: Decimal | None  # pooled; None: no member has a budget
    spent: Decimal
    through: date | None  # the last day counted (None on the 1st: nothing of the month yet)
    pace: Decimal | None = None  # per working day so far
    projected: Decimal | None = None  # at the month's end, at this pace
    runs_out_on: date | None = None
    unused_share: float | None = None  # of the budget, at the month's end
    cumulative: list[tuple[date, Decimal]] = field(default_factory=list)  # actual, day by day
    projection: list[tuple[date, Decimal]] = field(default_factory=list)  # from the last day counted

    @property
    def text(self) -> str:
        if not self.budget:
            return f"{self.label}: no budget this month."
        head = f"{self.label}: {money(self.spent)} of {money(self.budget)} spent this month"
        if self.through is None:
            return f"{head}; too early in the month to project."
        if self.runs_out_on and self.runs_out_on <= self.through:
            return f"{head}; the budget ran out on {day(self.runs_out_on)}."
        if self.runs_out_on:
            return f"{head}; at this pace it runs out on {day(self.runs_out_on)}."
        if self.unused_share is not None:
            return f"{head}; at this pace {self.unused_share:.0%} of it is left unused at the month's end."
        return f"{head}."

    def chart(self) -> dict | None:
        """SVG geometry: the budget line, the spend so far and its projection, the run-out marker."""
        if not self.budget or not self.cumulative:
            return None
        days = (self.last - self.first).days
        top = max([self.budget, *(v for _, v in self.cumulative), *(v for _, v in self.projection)]) * Decimal("1.1")

        def x(when: date) -> float:
            return round((when - self.first).days / max(days, 1) * CHART_WIDTH, 1)

        def y(value: Decimal) -> float:
            return round(CHART_HEIGHT - float(value / top) * CHART_HEIGHT, 1)

        def points(series) -> str:
            return " ".join(f"{x(d)},{y(v)}" for d, v in series)

        marker = None
        if self.runs_out_on:
            marker = {"x": x(self.runs_out_on), "label": day(self.runs_out_on)}
        return {"width": CHART_WIDTH, "height": CHART_HEIGHT, "budget_y": y(self.budget),
                "spent": points(self.cumulative), "projected": points(self.projection), "marker": marker}


def for_team(team_id: int, *, today: date) -> Runway:
    parents = dict(Team.objects.values_list("pk", "parent_id"))
    teams = team_and_below(team_id, parents)
    members = list(Person.objects.filter(team_id__in=teams, is_active=True).values_list("pk", flat=True))
    return _standalone(Team.objects.get(pk=team_id).name, members, today=today)


def for_organisation(*, today: date) -> Runway:
    members = list(Person.objects.filter(is_active=True).values_list("pk", flat=True))
    return _standalone(ORGANISATION, members, today=today)


def for_manager(person: Person, *, today: date) -> Runway | None:
    """The runway of the manager's own team, for their digest; None without a team."""
    return for_team(person.team_id, today=today) if person.team_id else None


def for_board(*, team_id: int | None, label: str, members: list[int], today: date, catalog: Catalog,
              versions: Versions | None) -> Runway:
    """The team page's runway (``team_id`` None: the organisation's), from the board's catalog and cached
    budgets: one query for the month's spend, none once it is cached."""
    first, last = _month(today)
    amounts = budget_use.period_budgets(Period("month", first, last), catalog=catalog, versions=versions)
    calendar = budget_use.budget_book({}, catalog=catalog, versions=versions).calendar
    daily = cache.cached(versions, "runway-spend", (team_id, first, today),
                         lambda: daily_spend(members, first=first, today=today), on=(ROLLUPS, PEOPLE))
    return project(label=label, budget=_pooled(amounts.get(pk) for pk in members), daily=daily,
                   calendar=calendar, today=today)


def _standalone(label: str, members: list[int], *, today: date) -> Runway:
    first, last = _month(today)
    book = BudgetBook.load(members)
    return project(label=label, budget=_pooled(book.budget(pk, first, last).amount for pk in members),
                   daily=daily_spend(members, first=first, today=today), calendar=book.calendar, today=today)


def daily_spend(members: list[int], *, first: date, today: date) -> dict[date, Decimal]:
    """The members' spend per day of the month through yesterday (today's data is still arriving)."""
    if today <= first:
        return {}
    rows = (PersonDay.objects.filter(person_id__in=members, day__gte=first, day__lt=today)
            .values_list("day").annotate(cost=Sum("cost_usd")))
    return dict(rows)


def _pooled(amounts) -> Decimal | None:
    known = [amount for amount in amounts if amount is not None]
    return sum(known, Decimal(0)) if known else None


def _month(today: date) -> tuple[date, date]:
    return today.replace(day=1), month_end(today)


def project(*, label: str, budget: Decimal | None, daily: dict[date, Decimal], calendar: Calendar,
            today: date) -> Runway:
    """The runway of a pooled ``budget`` for the month of ``today``, from the spend per day so far."""
    first, last = _month(today)
    through = today - timedelta(days=1) if today > first else None
    runway = Runway(label, first, last, budget, sum(daily.values(), Decimal(0)), through)
    if through is None or not budget:
        return runway
    running = Decimal(0)
    for offset in range((through - first).days + 1):
        current = first + timedelta(days=offset)
        running += daily.get(current, Decimal(0))
        runway.cumulative.append((current, running))
        if running > budget and runway.runs_out_on is None:
            runway.runs_out_on = current
    elapsed = calendar.working_days(first, through)
    if not elapsed:
        return runway
    pace = runway.spent / elapsed
    runway.pace = pace.quantize(CENT, ROUND_HALF_UP)
    projected, current = runway.spent, through
    runway.projection.append((through, projected))
    while current < last:
        current += timedelta(days=1)
        if calendar.is_working(current):
            projected += pace
        runway.projection.append((current, projected))
        if projected > budget and runway.runs_out_on is None:
            runway.runs_out_on = current
    runway.projected = projected.quantize(CENT, ROUND_HALF_UP)
    if runway.runs_out_on is None:
        runway.unused_share = float((budget - projected) / budget)
    return runway
