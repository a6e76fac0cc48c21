"""Computing the boards most people open first, after an import, so that nobody waits for them."""

from __future__ import annotations

from datetime import date

from .. import cache, freshness
from . import budget_use, catalog, download, ranking, teams, usage
from .filters import DEFAULT_PERIOD, METRICS, BoardFilters, resolve_period, utc_today

# The board over the periods and by the metrics people switch to most, and the teams. Each is one
# scan of a period's rollups (up to a second for 10,000 people's year on PostgreSQL): done here, in
# the worker, after the data changed, rather than by the first person to pick that filter.
WARM_PERIODS = ("30d", "7d", "90d", "month", "quarter", "year")
WARM_METRICS = ("tokens", "cost", "output", "active_days")


def warm_cache(*, today: date | None = None) -> list[str]:
    """Compute and cache the common boards under the current data versions. Returns what was warmed."""
    today = today or utc_today()
    versions = cache.current()
    found = catalog.load(versions)
    warmed = []

    def board(filters: BoardFilters) -> None:
        # The first page's spend, output and trust, in the order that exact viewers see it and, where
        # colleagues are shown by band, in the order everyone else does.
        for bands_on in sorted({False, found.peer_bands}):
            ranking.leaderboard(filters, viewer=None, catalog=found, sparklines=False, versions=versions,
                                bands_on=bands_on, outputs=True)

    for key in WARM_PERIODS:
        for metric in WARM_METRICS:
            board(BoardFilters(period=resolve_period(key, today=today), metric=METRICS[metric]))
            warmed.append(f"board {key} {metric}")
    default = resolve_period(DEFAULT_PERIOD, today=today)
    # The default period for each vendor with data, by tokens and by cost: the vendor menu's boards.
    for vendor in sorted(item.vendor for item in freshness.by_vendor(versions)):
        for metric in ("tokens", "cost"):
            board(BoardFilters(period=default, metric=METRICS[metric], vendor=vendor))
        warmed.append(f"board {DEFAULT_PERIOD} {vendor}")
    # The default board's download, as colleagues and as those who see it exactly get it.
    download.warm(BoardFilters(period=default), catalog=found, versions=versions)
    warmed.append(f"download {DEFAULT_PERIOD}")
    teams.team_board(BoardFilters(period=default), catalog=found, versions=versions)
    warmed.append(f"teams {DEFAULT_PERIOD}")
    # What every person's own page shares: the company's weeks.
    usage.company_weeks(usage.complete_days(default), today=today, versions=versions)
    warmed.append(f"my usage {DEFAULT_PERIOD}")
    # Budgets on every page: the policies, and everyone's budget for the default period.
    budget_use.period_budgets(default, catalog=found, versions=versions)
    warmed.append("budgets")
    freshness.by_vendor(versions)
    warmed.append("freshness")
    return warmed
