"""Bands for colleagues (leaderboard/boards/bands.py): with the organisation's setting on (the
default), colleagues see each other's place as a band and a bar; the person, their managers and
admins see exact numbers and rank. Hidden and anonymous people count in the bands; the CSV and the
command follow the viewer's rights.

The week (tests/test_boards.py, ``standard_week``), by tokens: Otto 10,000 · Sam 4,000 · Erin 3,000
· Maria 500 = Lee 500. Five people: Otto is in the top 20% (band "Top 25%"), Sam the top 40% ("Top
half"), the others in the bottom half."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import Person
from leaderboard.boards import bands, catalog, ranking
from leaderboard.models import OrgSettings
from tests.test_boards import save, standard_week, usage, week

pytestmark = pytest.mark.peer_bands


@pytest.fixture
def week_of_usage(cast):
    standard_week(cast)
    return cast


def board_for(viewer, filters=None, **options):
    return ranking.leaderboard(filters or week(), viewer=viewer, catalog=catalog.load(), **options)


def shown(board) -> list[tuple[str, str, str]]:
    """(rank or band, name, figure) as the rows show them."""
    return [(row.band or str(row.rank), row.name, row.value_display) for row in board.rows]


def test_bands_are_on_unless_the_organisation_turns_them_off(db):
    assert OrgSettings.load().peer_bands is True
    assert catalog.load().peer_bands is True


@pytest.mark.parametrize(("percentile", "label"), [
    (1, "Top 1%"), (2, "Top 5%"), (5, "Top 5%"), (6, "Top 10%"), (25, "Top 25%"), (26, "Top half"), (50, "Top half"),
    (51, "Bottom half"), (100, "Bottom half"),
])
def test_a_place_falls_in_the_band_of_its_percentile(percentile, label):
    assert bands.band(percentile).label == label


def test_a_colleague_sees_bands_listed_by_band_then_name_and_their_own_exact_rank(week_of_usage):
    board = board_for(week_of_usage.erin)
    assert board.banded
    assert shown(board) == [
        ("Top 25%", "Otto Outsider", "Top 25%"),
        ("Top half", "Sam Lead", "Top half"),
        ("3", "Erin Employee", "3.0K"),
        ("Bottom half", "Lee Report", "Bottom half"),
        ("Bottom half", "Maria Manager", "Bottom half"),
    ]
    otto = board.rows[0]
    # Nothing exact about a colleague leaves the selector: no rank, change, value or totals.
    assert (otto.rank, otto.change, otto.value, otto.totals.total_tokens, otto.totals.cost_usd) == (0, None, None, 0, 0)
    assert board.me.rank == 3 and board.me.exact


def test_a_manager_sees_her_reporting_lines_numbers_and_bands_for_everyone_else(week_of_usage):
    board = board_for(week_of_usage.maria)
    rows = {row.name: (row.band or row.rank, row.value_display) for row in board.rows}
    assert rows == {
        "Otto Outsider": ("Top 25%", "Top 25%"),
        "Sam Lead": (2, "4.0K"),
        "Erin Employee": (3, "3.0K"),
        "Maria Manager": (4, "500"),
        "Lee Report": (4, "500"),
    }


def test_an_admin_sees_every_number_and_rank_in_order(week_of_usage):
    board = board_for(week_of_usage.ada)
    assert not board.banded
    assert [(row.rank, row.name) for row in board.rows] == [
        (1, "Otto Outsider"), (2, "Sam Lead"), (3, "Erin Employee"), (4, "Maria Manager"), (4, "Lee Report"),
    ]


def test_with_bands_off_colleagues_see_numbers_and_ranks(week_of_usage):
    OrgSettings.objects.update_or_create(pk=1, defaults={"peer_bands": False})
    board = board_for(week_of_usage.erin)
    assert not board.banded
    assert shown(board)[0] == ("1", "Otto Outsider", "10.0K")


def test_hidden_and_anonymous_people_still_count_in_the_bands(week_of_usage):
    cast = week_of_usage
    # Fifteen people above everyone, none of them listed: Otto becomes 16th of 20 (top 80%).
    people = Person.objects.bulk_create([
        Person(email=f"quiet{n}@example.com", name=f"Quiet {n}", team=cast.sales,
               privacy=Person.Privacy.HIDDEN if n % 2 else Person.Privacy.ANONYMOUS)
        for n in range(15)
    ])
    save([usage(person, 1, tokens=50_000 + n) for n, person in enumerate(people)])
    board = board_for(cast.erin)
    otto = next(row for row in board.rows if row.name == "Otto Outsider")
    assert otto.band == "Bottom half"
    # The anonymous ones are listed, by band, under their number and never their name.
    anonymous = [row for row in board.rows if row.is_anonymous]
    assert len(anonymous) == 8 and all(row.band and row.rank == 0 for row in anonymous)
    assert not any(row.name.startswith("Quiet") for row in board.rows)


def test_the_page_shows_a_colleague_no_exact_figure(week_of_usage, login):
    body = login(week_of_usage.erin).get(reverse("board"), {"period": "7d"}).content.decode()
    otto_row = body.split("Otto Outsider</a>")[1].split("</tr>")[0]
    assert "Top 25%" in otto_row
    assert "10.0K" not in otto_row and "$2.00" not in otto_row
    assert 'data-note="bands"' in body
    mine = body.split('id="my-row"')[1].split("</tr>")[0]
    assert "3.0K" in mine and "$3.00" in mine


def test_the_csv_follows_the_viewers_rights(week_of_usage, login):
    body = login(week_of_usage.erin).get(reverse("board_csv"), {"period": "7d"}).content.decode()
    rows = {row["name"]: row for row in csv.DictReader(io.StringIO(body))}
    assert rows["Otto Outsider"]["band"] == "Top 25%"
    assert rows["Otto Outsider"]["rank"] == rows["Otto Outsider"]["total_tokens"] == rows["Otto Outsider"]["cost_usd"] == ""
    assert (rows["Erin Employee"]["rank"], rows["Erin Employee"]["total_tokens"], rows["Erin Employee"]["band"]) == (
        "3", "3000", "")
    manager = login(week_of_usage.maria).get(reverse("board_csv"), {"period": "7d"}).content.decode()
    rows = {row["name"]: row for row in csv.DictReader(io.StringIO(manager))}
    assert rows["Lee Report"]["total_tokens"] == "500" and rows["Otto Outsider"]["total_tokens"] == ""


def command_json(*args) -> list[dict]:
    out = io.StringIO()
    call_command("leaderboard", "--format", "json", *args, stdout=out)
    return json.loads(out.getvalue())


def test_the_command_is_exact_by_default_and_follows_a_viewer_when_given_one(week_of_usage):
    start, end = week().period.start.isoformat(), week().period.end.isoformat()
    exact = command_json("--start", start, "--end", end)
    assert list(exact[0]) == ["rank", "email", "name", "team", "total_tokens", "input_tokens", "cache_write_tokens",
                              "cache_read_tokens", "output_tokens", "requests", "cost_usd"]
    assert (exact[0]["rank"], exact[0]["name"], exact[0]["total_tokens"]) == (1, "Otto Outsider", 10_000)
    as_erin = {item["name"]: item for item in command_json("--start", start, "--end", end, "--viewer", "erin@example.com")}
    assert as_erin["Otto Outsider"]["band"] == "Top 25%"
    assert as_erin["Otto Outsider"]["rank"] is None and as_erin["Otto Outsider"]["total_tokens"] is None
    assert as_erin["Erin Employee"]["rank"] == 3 and as_erin["Erin Employee"]["band"] is None


def test_a_colleagues_page_shows_their_place_as_a_band(week_of_usage, login):
    body = login(week_of_usage.erin).get(reverse("person", args=[week_of_usage.otto.pk]), {"period": "7d"})
    body = body.content.decode()
    assert 'data-stat="band"' in body and "Top 25%" in body
    assert "Rank by tokens" not in body and "10.0K" not in body
    # Their manager sees the numbers.
    body = login(week_of_usage.maria).get(reverse("person", args=[week_of_usage.erin.pk]), {"period": "7d"})
    assert "Rank by tokens" in body.content.decode()


def test_an_employee_is_never_ranked_by_budgets_hidden_from_them(week_of_usage, login):
    """Issue 15, item 6: share of budget is offered only to those who may see budgets; a link asking
    for it gets the tokens board, in bands."""
    response = login(week_of_usage.erin).get(reverse("board"), {"period": "7d", "metric": "budget"})
    body = response.content.decode()
    assert 'value="budget"' not in body
    assert "ranked by total tokens" in body
    assert "Top 25%" in body


def test_a_managers_board_of_only_her_line_keeps_its_order(week_of_usage):
    """Sam's team (Platform: Sam and Lee) is all his to see exactly: ranked, not listed by band."""
    board = board_for(week_of_usage.sam, week(team_id=week_of_usage.platform.pk))
    assert not board.banded
    assert [(row.rank, row.name) for row in board.rows] == [(1, "Sam Lead"), (2, "Lee Report")]
