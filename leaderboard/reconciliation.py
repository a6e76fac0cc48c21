"""Reconciliation: the board's dollars for a vendor and period next to the provider's own cost report,
and where every dollar of the difference comes from.

    difference = provider's total - people's total (what the board shows)
               = days not yet synced      (provider's cost on those days less what people have of them)
               + unattributed usage       (usage that belongs to nobody, on synced days)
               + estimates vs reported    (the rest: the price list against the invoice, and models
                                           whose price is unknown, whose dollars are not in our totals)

The three parts add up to the difference exactly; the page says how much of our figure was
estimated, and which models have no price, so the last part can be judged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Exists, Min, OuterRef, Q, Subquery, Sum

from .models import ActivityRecord, Connection, DailyUsage, ProviderCost, UsageRecord

ZERO = Decimal(0)
# The cost report each vendor's reconciliation reads.
COST_SOURCES = {"anthropic": "anthropic_cost_report", "openai": "openai_costs", "cursor": "cursor_spend"}


@dataclass
class Unpriced:
    model: str
    records: int
    tokens: int


@dataclass
class Reconciliation:
    vendor: str
    start: date
    end: date
    provider_total: Decimal | None  # None: no cost report held for the period
    people_total: Decimal
    people_reported: Decimal
    people_estimated: Decimal
    unattributed: Decimal
    unsynced_days: list[date]
    unsynced: Decimal
    unpriced: list[Unpriced] = field(default_factory=list)
    cycle: bool = False  # Cursor: the current billing cycle, not a calendar month

    @property
    def difference(self) -> Decimal | None:
        return None if self.provider_total is None else self.provider_total - self.people_total

    @property
    def estimates(self) -> Decimal | None:
        """What is left once unsynced days and unattributed usage are taken out."""
        return None if self.difference is None else self.difference - self.unsynced - self.unattributed


def month_bounds(month: date) -> tuple[date, date]:
    start = month.replace(day=1)
    following = (start + timedelta(days=32)).replace(day=1)
    return start, following - timedelta(days=1)


def _sum(queryset, column: str) -> Decimal:
    return queryset.aggregate(total=Sum(column))["total"] or ZERO


def _synced_days(vendor: str, start: date, end: date) -> set[date]:
    """Days whose usage is here: a connection of the vendor holds them complete, or some export
    brought usage or activity of the vendor for them."""
    days: set[date] = set()
    held = Connection.objects.filter(vendor=vendor, complete_through__isnull=False).annotate(
        first=Min("runs__window_start")
    ).values_list("first", "complete_through")
    for first, last in held:
        day = max(start, first or start)
        while day <= min(end, last):
            days.add(day)
            day += timedelta(days=1)
    for model in (UsageRecord, ActivityRecord):
        days.update(model.objects.filter(vendor=vendor, day__gte=start, day__lte=end).values_list("day", flat=True)
                    .distinct())
    return days


def _cursor_cycle(today: date) -> date | None:
    return (ProviderCost.objects.filter(vendor="cursor", source=COST_SOURCES["cursor"], day__lte=today)
            .order_by("-day").values_list("day", flat=True).first())


def reconcile(vendor: str, month: date, *, today: date) -> Reconciliation:
    start, end = month_bounds(month)
    cycle = False
    if vendor == "cursor":
        # Cursor's spend covers the current billing cycle so far, kept on the cycle's first day.
        found = _cursor_cycle(today)
        if found is not None:
            start, end, cycle = found, today, True
    end = min(end, today)
    costs = ProviderCost.objects.filter(vendor=vendor, source=COST_SOURCES.get(vendor, ""), day__gte=start,
                                        day__lte=end)
    provider_total = _sum(costs, "amount_usd") if costs.exists() else None
    people = DailyUsage.objects.filter(vendor=vendor, day__gte=start, day__lte=end)
    counted = UsageRecord.objects.filter(
        vendor=vendor, day__gte=start, day__lte=end, identity__person__isnull=False,
    ).filter(Exists(DailyUsage.objects.filter(
        person=OuterRef("identity__person"), day=OuterRef("day"), vendor=vendor, model=OuterRef("model"),
        source=OuterRef("source"),
    )))
    # Usage of nobody has no person-day to say which source counts: the best source of the vendor's
    # day is taken, as it would be for a person.
    best = UsageRecord.objects.filter(vendor=vendor, day=OuterRef("day")).values("day").annotate(
        best=Min("source_rank")).values("best")
    nobody = UsageRecord.objects.filter(
        vendor=vendor, day__gte=start, day__lte=end, source_rank=Subquery(best[:1]),
    ).filter(Q(identity__person__isnull=True))

    if cycle:
        unsynced_days: list[date] = []
    else:
        synced = _synced_days(vendor, start, end)
        unsynced_days = sorted(d for d in costs.values_list("day", flat=True).distinct() if d not in synced)
    unsynced = ZERO
    if unsynced_days:
        unsynced = (_sum(costs.filter(day__in=unsynced_days), "amount_usd")
                    - _sum(people.filter(day__in=unsynced_days), "cost_usd"))

    unpriced: dict[str, Unpriced] = {}
    for model, records, tokens in people.filter(unpriced_records__gt=0).values_list("model").annotate(
        records=Sum("unpriced_records"), tokens=Sum("total_tokens")
    ):
        unpriced[model] = Unpriced(model, records, tokens)
    for model, records, tokens in nobody.filter(cost_usd__isnull=True).values_list("model").annotate(
        records=Count("pk"), tokens=Sum("input_tokens") + Sum("cache_write_tokens") + Sum("cache_read_tokens")
        + Sum("output_tokens")
    ):
        found = unpriced.setdefault(model, Unpriced(model, 0, 0))
        found.records += records
        found.tokens += tokens or 0

    return Reconciliation(
        vendor=vendor, start=start, end=end, provider_total=provider_total, people_total=_sum(people, "cost_usd"),
        people_reported=_sum(counted.filter(cost_reported=True), "cost_usd"),
        people_estimated=_sum(counted.filter(cost_reported=False), "cost_usd"),
        unattributed=_sum(nobody.exclude(day__in=unsynced_days), "cost_usd"), unsynced_days=unsynced_days,
        unsynced=unsynced, unpriced=sorted(unpriced.values(), key=lambda u: -u.tokens), cycle=cycle,
    )
