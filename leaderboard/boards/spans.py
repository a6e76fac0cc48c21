"""A scan of a period's rollups, cached in two parts: the days before today, which only an import or
a sync changes, and today's, which the agents' telemetry changes every half minute (see the data
versions in leaderboard/cache.py). Sums and counts of days add up across the two, so a board after
a telemetry fold reads one day of rollups instead of the whole period again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from .. import cache
from ..cache import HISTORY, ROLLUPS, Versions
from .filters import utc_today


def cached_scan(versions: Versions | None, kind: str, parts: tuple, first: date, last: date,
                scan: Callable[[date, date], list[tuple]], *, keys: int = 1, also: tuple[str, ...] = ()) -> list[tuple]:
    """``scan(first, last)``'s rows, each its ``keys`` leading values (a person's id...) then numbers,
    cached as the days before today and today's (under the versions of the rollups and ``also``
    those of what else the scan reads), and added up. ``scan`` must give rows whose numbers add up
    across disjoint spans of days (sums, counts of days); a number None in both parts stays None."""
    today = utc_today()
    spans = []
    if first < today:
        spans.append((first, min(last, today - timedelta(days=1)), HISTORY))
    if last >= today:
        spans.append((max(first, today), last, ROLLUPS))
    found = [cache.cached(versions, kind, (*parts, start, end), lambda s=start, e=end: scan(s, e), on=(on, *also))
             for start, end, on in spans]
    if len(found) < 2 or not found[1]:
        return found[0] if found else []
    history, todays = found
    # Today's rows are few beside the period's (the people active today): added into the rest.
    rows = {row[:keys]: row for row in history}
    for row in todays:
        key = row[:keys]
        before = rows.get(key)
        rows[key] = row if before is None else (*key, *map(_add, before[keys:], row[keys:]))
    return list(rows.values())


def _add(a, b):
    return a if b is None else b if a is None else a + b
