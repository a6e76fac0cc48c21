"""The smaller fixes of issue 15, as specs: sortable board columns, a model filter that finds
families, one way of abbreviating numbers, a teams CSV, a roster page that lists and searches people
and offers a template, and `make run` printing the demo logins once."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from django.core.management import call_command
from django.urls import reverse
from pytest_django.asserts import assertContains

from accounts.models import Person
from leaderboard import display
from leaderboard.views.roster import TEMPLATE
from tests.test_board_views import board_rows, text
from tests.test_boards import save, standard_week, usage


def test_the_board_sorts_by_the_column_header_chosen_and_keeps_the_ranks(cast, login):
    standard_week(cast)
    client = login(cast.erin)
    by_rank = client.get(reverse("board"), {"period": "7d"})
    assert board_rows(by_rank)[:3] == ["Otto Outsider", "Sam Lead", "Erin Employee"]
    assertContains(by_rank, 'href="/?period=7d&amp;sort=name"')

    by_name = client.get(reverse("board"), {"period": "7d", "sort": "name"})
    assert board_rows(by_name) == ["Erin Employee", "Lee Report", "Maria Manager", "Otto Outsider", "Sam Lead"]
    assert '<th scope="col" aria-sort="ascending">' in text(by_name)
    # The rank stays the metric's: Erin is still third.
    assert '<td class="num rank">3</td>' in text(by_name).split("Erin Employee")[0].rsplit("<tr", 1)[1]

    by_change = client.get(reverse("board"), {"period": "7d", "sort": "change"})
    assert board_rows(by_change)[0] in {"Otto Outsider", "Sam Lead"}  # the climbers first
    # New on the board, with no change to sort by: last.
    assert set(board_rows(by_change)[-2:]) == {"Lee Report", "Maria Manager"}


def test_sorting_by_name_puts_anonymous_colleagues_by_the_name_the_board_shows(cast, login):
    standard_week(cast)
    Person.objects.filter(pk=cast.otto.pk).update(privacy=Person.Privacy.ANONYMOUS)
    rows = board_rows(login(cast.erin).get(reverse("board"), {"period": "7d", "sort": "name"}))
    assert rows[-1].startswith("Anonymous #")


def test_the_model_filter_matches_part_of_a_model_and_its_family(cast, login):
    save([usage(cast.erin, 1, model="claude-sonnet-4-5", tokens=1000),
          usage(cast.sam, 1, "openai", "gpt-5", tokens=2000)])
    client = login(cast.erin)
    assert board_rows(client.get(reverse("board"), {"period": "7d", "model": "claude"})) == ["Erin Employee"]
    assert board_rows(client.get(reverse("board"), {"period": "7d", "model": "SONNET"})) == ["Erin Employee"]
    assert board_rows(client.get(reverse("board"), {"period": "7d", "model": "gpt"})) == ["Sam Lead"]


def test_numbers_under_a_hundred_keep_their_decimal_so_a_column_reads_evenly():
    assert [display.compact(v) for v in (4_000_000_000, 4_400_000_000, 12_000, 250_000_000)] == [
        "4.0B", "4.4B", "12.0K", "250M"]


def test_the_teams_board_downloads_as_csv_with_its_filters(cast, login):
    standard_week(cast)
    response = login(cast.erin).get(reverse("teams_csv"), {"period": "7d"})
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="teams-tokens-' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert rows[0]["team"] == "Sales" and rows[0]["rank"] == "1"
    assert {row["team"] for row in rows} >= {"Sales", "Platform"}
    page = login(cast.erin).get(reverse("teams"), {"period": "7d"})
    assertContains(page, 'href="/teams.csv?period=7d"')


def test_the_roster_page_lists_and_searches_people(cast, login):
    client = login(cast.ada)
    everyone = client.get(reverse("roster_upload"))
    assertContains(everyone, "People (6)")
    assertContains(everyone, f'<a href="/people/{cast.erin.pk}/">Erin Employee</a>', html=True)
    found = client.get(reverse("roster_upload"), {"q": "mari"})
    assert [p.email for p in found.context["page"]] == ["maria@example.com"]


def test_the_roster_template_downloads_and_imports_as_it_is(cast, login, tmp_path):
    response = login(cast.ada).get(reverse("roster_template"))
    assert response["Content-Disposition"] == 'attachment; filename="roster-template.csv"'
    assert response.content.decode().splitlines()[0].split(",")[:3] == ["email", "name", "team"]
    path = Path(tmp_path) / "roster.csv"
    path.write_text(TEMPLATE)
    call_command("import_people", str(path), stdout=io.StringIO())
    assert Person.objects.get(email="ada.lovelace@example.com").manager.email == "grace.hopper@example.com"


def test_make_run_prints_the_demo_logins_once():
    script = (Path(__file__).resolve().parent.parent / "bin" / "run").read_text()
    loading = next(line for line in script.splitlines() if "demo --if-empty" in line)
    assert "--no-logins" in loading
    assert script.count("demo --logins") == 1


def test_the_demo_can_load_without_printing_the_logins(db, settings, tmp_path, monkeypatch):
    from leaderboard import demo

    monkeypatch.setattr(demo, "build", lambda folder: type("Built", (), {"files": [], "people": 0})())
    out = io.StringIO()
    call_command("demo", "--no-logins", stdout=out)
    assert "Demo logins" not in out.getvalue()


def test_a_parent_teams_row_says_how_many_people_its_sub_teams_add(cast, login):
    standard_week(cast)
    Person.objects.filter(pk=cast.maria.pk).update(team=cast.engineering)
    response = login(cast.erin).get(reverse("teams"), {"period": "7d"})
    size = response.context["with_sub_teams"][cast.engineering.pk]
    assert size == Person.objects.filter(team__in=[cast.engineering, cast.platform]).count()
    assertContains(response, f"{size} with its sub-teams</a>")
    team_page = login(cast.erin).get(reverse("team", args=[cast.engineering.pk]), {"period": "7d"})
    assert {"Sam Lead", "Lee Report"} <= set(board_rows(team_page))  # Platform's members, on Engineering's page
