"""Numbers over time for the charts: a period cut into days (or weeks), and the daily values of the
people on a board's page (its sparklines)."""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from django.db.models import Sum

from .. import cache
from ..cache import Versions
from .filters import WEEKLY_AFTER_DAYS, BoardFilters, Period, rollup_rows


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


def daily_values(filters: BoardFilters, person_ids: Iterable[int], field: str) -> dict[int, dict[date, Any]]:
    rows, daily = rollup_rows(filters, breakdown=False)
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


def attach_sparklines(board, rows: list, *, versions: Versions | None = None) -> None:
    """Daily usage over the period for the rows on the page only: one query, whatever the board.
    With data versions, cached per page (everyone on it sees the same) and for a pinned row."""
    if not rows:
        return
    filters = board.filters
    spans = buckets(filters.period)

    def compute(person_ids: list[int]) -> dict[int, list]:
        values = daily_values(filters, person_ids, filters.metric.daily_field)
        return {pk: series(values.get(pk, {}), spans) for pk in person_ids}

    # The page's rows and a pinned row (someone's own) are cached apart: the page's are shared.
    groups = [tuple(row.person_id for row in rows if row is not board.pinned),
              tuple(row.person_id for row in rows if row is board.pinned)]
    parts = (filters.period.start, filters.period.end, filters.metric.daily_field, filters.vendor, filters.model)
    found = cache.cached_many(versions, "sparklines", parts, groups, compute)
    for row in rows:
        row.sparkline = found[row.person_id]
