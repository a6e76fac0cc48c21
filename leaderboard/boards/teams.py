"""The teams board, and what a team's page shows besides its members' board: its trend by vendor and
what it spent."""

from __future__ import annotations

import csv
import statistics
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Q, Sum

from accounts.models import Person

from .. import cache
from ..cache import BUDGETS, PEOPLE, ROLLUPS, Versions
from ..display import cents, spreadsheet_safe
from ..models import DailyUsage
from . import budget_use
from .budget_use import ALL_BUDGETS, NO_BUDGETS, BudgetSight
from .catalog import Catalog
from .filters import BoardFilters
from .ranking import Totals, aggregate
from .series import buckets, series

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
    filters: BoardFilters, *, catalog: Catalog, sort: str = "total", versions: Versions | None = None,
    sight: BudgetSight = NO_BUDGETS,
) -> TeamBoard:
    """Teams by their own members' usage (each person counted once, so the rows add up to the
    company), hidden and anonymous people included: a team total reveals no one. The same for every
    viewer, so cached whole with data versions; except by share of budget, which lists only the
    teams whose every budget the viewer may see (``sight``), and is cached per sight."""
    budgeted = filters.metric.budgeted
    parts = (filters.period.start, filters.period.end, filters.period.key, filters.metric.name, filters.vendor,
             filters.model, filters.team_id, filters.title, sort, sight.key if budgeted else None)
    sight = sight if budgeted else ALL_BUDGETS
    return cache.cached(versions, "teams", parts,
                        lambda: _team_board(filters, catalog=catalog, sort=sort, versions=versions, sight=sight),
                        on=(ROLLUPS, PEOPLE, BUDGETS) if budgeted else (ROLLUPS, PEOPLE),
                        per_person=budgeted and not sight.everyone)


def _team_shares(people: list[int], totals: dict[int, Totals], amounts: dict[int, Decimal | None]) -> tuple:
    """A team by share of budget: (the team's spend over its budget, the same for its active members,
    the median member's share), over the members who have a budget."""
    budgeted = [pk for pk in people if amounts.get(pk)]
    spend = {pk: totals[pk].cost_usd if pk in totals else Decimal(0) for pk in budgeted}
    active = [pk for pk in budgeted if pk in totals and totals[pk].active_days]

    def share(pks: list[int]) -> float:
        return budget_use.share(sum((spend[pk] for pk in pks), Decimal(0)),
                                sum((amounts[pk] for pk in pks), Decimal(0)))

    shares = [budget_use.share(spend[pk], amounts[pk]) for pk in budgeted]
    return share(budgeted), share(active), statistics.median(shares) if shares else 0.0


def _team_board(filters: BoardFilters, *, catalog: Catalog, sort: str, versions: Versions | None,
                sight: BudgetSight) -> TeamBoard:
    metric = filters.metric
    money_like = metric.field == "cost_usd" and not metric.budgeted
    # Active days too: "per active member" and the active share need them.
    totals = aggregate(filters, previous=False, everything=True, versions=versions, catalog=catalog)
    amounts = budget_use.period_budgets(filters.period, catalog=catalog, versions=versions) if metric.budgeted else {}
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


def team_trend(
    filters: BoardFilters, team_ids: set[int], *, versions: Versions | None = None
) -> tuple[list[tuple[date, date]], dict[str, list], Decimal]:
    """A team's (and its sub-teams') daily metric by vendor over the period, and what the team's
    members on the roster spent in it (what the team's budget is compared with): one grouped query,
    cached with data versions."""
    parts = (filters.period.start, filters.period.end, filters.metric.name, filters.vendor, filters.model,
             tuple(sorted(team_ids)))
    return cache.cached(versions, "team-trend", parts, lambda: _team_trend(filters, team_ids))


def _team_trend(filters: BoardFilters, team_ids: set[int]) -> tuple[list[tuple[date, date]], dict[str, list], Decimal]:
    field = filters.metric.daily_field
    rows = DailyUsage.objects.filter(
        person__team_id__in=team_ids, day__gte=filters.period.start, day__lte=filters.period.end
    )
    if filters.vendor:
        rows = rows.filter(vendor=filters.vendor)
    if filters.model:
        rows = rows.filter(filters.model_q())
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


TEAM_CSV_COLUMNS = ["rank", "team", "path", "members", "active_members", "total", "per_active_member",
                    "median_per_member"]


def write_team_csv(board: TeamBoard, out) -> None:
    """The teams board as CSV, the numbers as the board shows them rounded (tokens whole, cost in
    dollars and cents), cells that a spreadsheet would run as formulas escaped."""
    writer = csv.writer(out)
    writer.writerow(TEAM_CSV_COLUMNS)
    metric = board.filters.metric

    def number(value):
        if value is None:
            return ""
        if metric.field == "cost_usd":
            return cents(value)
        if metric.budgeted:
            return f"{float(value):.4f}"
        return value

    for row in board.rows:
        writer.writerow([spreadsheet_safe(cell) for cell in (
            row.rank, row.name, row.path, row.members, row.active_members, number(row.total),
            number(row.per_active), number(row.median),
        )])
