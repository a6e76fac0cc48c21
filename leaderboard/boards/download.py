"""The whole board as a file (the CSV download): every row, as the viewer may see it.

Ten thousand rows cost more to make than any page (a row object each, then its CSV line: over a
second for a 10,000-person company), and under bands one person's download differs from a
colleague's only in the rows each sees exactly (their own, their reporting line's). So the lines
are made once per data version for each way a row can be shown, exactly or by its band, and a
download picks, row by row, the line its viewer may see. Only a viewer's own line is theirs alone
(they are named on it even when anonymous to others).
"""

from __future__ import annotations

import io

from accounts.models import Person

from .. import cache
from ..cache import PEOPLE, ROLLUPS, Versions
from . import ranking
from .budget_use import ALL_BUDGETS, NO_BUDGETS, BudgetSight
from .catalog import Catalog
from .filters import BoardFilters


class _Lines(list):
    """What a csv.writer writes, a line per ``writerow``."""

    write = list.append


def _written(rows, *, bands: bool) -> tuple[str, list[str]]:
    """The header and the CSV line of each row, as ``ranking.write_csv`` writes them."""
    out = _Lines()
    ranking.write_csv(rows, out, bands=bands)
    return out[0], out[1:]


def board_csv(filters: BoardFilters, *, viewer: Person, catalog: Catalog, sight: BudgetSight,
              versions: Versions | None) -> str:
    """The board with these filters, every page of it, as ``viewer`` sees it, as CSV text."""
    board = ranking.leaderboard(filters, viewer=viewer, catalog=catalog, breakdown=True, sparklines=False,
                                previous=False, sight=sight, versions=versions, per_page=1)
    # A budget's figures depend on whose budgets the viewer sees, and a hidden viewer's board lists
    # them among the others (moving ranks): theirs is made for them alone.
    if versions is None or filters.metric.budgeted or viewer.privacy == Person.Privacy.HIDDEN:
        out = io.StringIO()
        ranking.write_csv(board.all_rows(), out, bands=board.banded)
        return out.getvalue()
    header, exact = _shared_lines(filters, catalog=catalog, versions=versions, banded=False, bands=board.banded)
    by_band = (_shared_lines(filters, catalog=catalog, versions=versions, banded=True, bands=True)[1]
               if board.banded else {})
    lines = [header]
    for item in board.ranked:
        pk = item[1]
        if pk == viewer.pk:
            lines.extend(_written([board._make_row(*item)], bands=board.banded)[1])
        elif not board.banded or pk in board.exact.people:
            lines.append(exact[pk])
        else:
            lines.append(by_band[pk])
    return "".join(lines)


def _shared_lines(filters: BoardFilters, *, catalog: Catalog, versions: Versions, banded: bool,
                  bands: bool) -> tuple[str, dict[int, str]]:
    """Every listed person's line as anyone but themself sees it: exactly, or (``banded``) by band;
    ``bands`` says whether the file has the band column. Cached under the data versions."""

    def compute() -> tuple[str, dict[int, str]]:
        board = ranking.leaderboard(filters, viewer=None, catalog=catalog, breakdown=True, sparklines=False,
                                    previous=False, sight=NO_BUDGETS if banded else ALL_BUDGETS,
                                    versions=versions, per_page=1, bands_on=banded)
        rows = board.all_rows()
        header, lines = _written(rows, bands=bands)
        return header, {row.person_id: line for row, line in zip(rows, lines, strict=True)}

    parts = (filters.period.start, filters.period.end, filters.period.key, filters.metric.name, filters.vendor,
             filters.model, filters.team_id, filters.title, banded, bands)
    return cache.cached(versions, "csv-lines", parts, compute, on=(ROLLUPS, PEOPLE))


def warm(filters: BoardFilters, *, catalog: Catalog, versions: Versions) -> None:
    """Make the shared lines of a board's download ahead of its first download."""
    # (lines shown by band, file with a band column): exact viewers' file, and under bands the
    # exact and the banded lines of everyone else's.
    variants = [(False, False), *([(False, True), (True, True)] if catalog.peer_bands else [])]
    for banded, bands in variants:
        _shared_lines(filters, catalog=catalog, versions=versions, banded=banded, bands=bands)
