"""The board's CSV download is put together from lines made once for everyone (boards/download.py):
whoever downloads it, with bands on or off, anonymous or hidden, it must be exactly the file made
for them alone, row by row."""

from __future__ import annotations

import io

import pytest

from accounts.models import Person
from leaderboard import cache
from leaderboard.boards import budget_use, catalog, download, ranking
from leaderboard.models import OrgSettings
from tests.test_boards import standard_week, week


def made_for(viewer, filters) -> str:
    """The file as it was made before there were shared lines: every row for this viewer."""
    roster = catalog.load()
    sight = budget_use.budget_sight(viewer, catalog=roster, versions=None)
    board = ranking.leaderboard(filters, viewer=viewer, catalog=roster, breakdown=True, sparklines=False,
                                previous=False, sight=sight)
    out = io.StringIO()
    ranking.write_csv(board.all_rows(), out, bands=board.banded)
    return out.getvalue()


def downloaded(viewer, filters) -> str:
    versions = cache.current()
    roster = catalog.load(versions)
    sight = budget_use.budget_sight(viewer, catalog=roster, versions=versions)
    return download.board_csv(filters, viewer=viewer, catalog=roster, sight=sight, versions=versions)


@pytest.mark.parametrize("bands_on", [True, False])
@pytest.mark.parametrize("metric", ["tokens", "cost", "budget"])
def test_everyones_download_is_the_file_made_for_them_alone(cast, bands_on, metric):
    standard_week(cast)
    OrgSettings.objects.update_or_create(pk=1, defaults={"peer_bands": bands_on})
    # Anonymous to colleagues (named on her own line), and a hidden lead listed only on his own file.
    Person.objects.filter(pk=cast.erin.pk).update(privacy=Person.Privacy.ANONYMOUS)
    Person.objects.filter(pk=cast.sam.pk).update(privacy=Person.Privacy.HIDDEN)
    filters = week(metric)
    for viewer in (cast.erin, cast.lee, cast.sam, cast.maria, cast.otto, cast.ada):
        viewer.refresh_from_db()
        # Twice: the second download reads the shared lines the first one made.
        assert downloaded(viewer, filters) == made_for(viewer, filters), viewer.name
        assert downloaded(viewer, filters) == made_for(viewer, filters), viewer.name


def test_a_change_of_name_shows_in_the_next_download(cast, login):
    standard_week(cast)
    filters = week()
    assert "Otto Outsider" in downloaded(cast.erin, filters)
    Person.objects.filter(pk=cast.otto.pk).update(name="Otto Renamed")
    assert "Otto Renamed" in downloaded(cast.erin, filters)
