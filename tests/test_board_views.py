"""The board pages (leaderboard/views/boards.py): who sees what, htmx fragments, CSV, query counts."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Person, ProviderIdentity
from leaderboard import budgets, cache
from leaderboard.models import UsageExport
from tests.test_boards import TODAY, ago, save, standard_week, usage

# Whatever the size of the company. A page read with every cache cold: the session (kept in the
# database), the viewer, the data versions, the roster, the teams, freshness, the ranking, the page's
# series, the page's output and trust levels, and the viewer's open flags (the navigation's badge);
# the ranking's rollups in two reads, the days before today and today's (boards/spans.py).
# Warm, a board page makes three (make bench).
MAX_QUERIES = 11
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def week_of_usage(cast):
    standard_week(cast)
    return cast


def text(response) -> str:
    return response.content.decode()


def board_rows(response) -> list[str]:
    """The names in the board's table, in order (pinned row last)."""
    body = text(response)
    names = []
    for chunk in body.split('<td class="who">')[1:]:
        cell = chunk.split("</td>")[0]
        name = cell.split(">", 1)[1].split("<", 1)[0] if "<a " in cell or "<span" in cell else cell
        names.append(name.strip())
    return names


# --- Access ---------------------------------------------------------------------------------------


def pages(cast):
    return [
        reverse("board"), reverse("board") + "?period=7d", reverse("board_csv"), reverse("board_models"),
        reverse("teams"), reverse("team", args=[cast.engineering.pk]), reverse("me"),
        reverse("person", args=[cast.erin.pk]),
    ]


def test_it_sends_strangers_to_the_login_page(client, cast):
    for url in pages(cast):
        for extra in ({}, HTMX):
            response = client.get(url, **extra)
            assert response.status_code == 302, url
            assert response["Location"].startswith(reverse("login")), url
    response = client.post(reverse("me_ccusage"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("who", ["ada", "maria", "erin", "sam", "lee", "otto"])
def test_it_shows_every_board_to_everyone_logged_in(week_of_usage, login, who):
    client = login(getattr(week_of_usage, who))
    for url in pages(week_of_usage):
        assert client.get(url).status_code == 200, url
        assert client.get(url, **HTMX).status_code == 200, url


# (viewer, subject) -> "full" page, "board" numbers only, or 404.
PERSON_ACCESS = [
    ("erin", "erin", "full"),
    ("maria", "erin", "full"),
    ("maria", "lee", "full"),  # two levels down
    ("sam", "lee", "full"),
    ("ada", "otto", "full"),
    ("ada", "maria", "full"),
    ("sam", "erin", "board"),  # a colleague, not a report
    ("lee", "sam", "board"),  # my manager
    ("otto", "erin", "board"),
    ("erin", "maria", "board"),
]


@pytest.mark.parametrize(("viewer", "subject", "expected"), PERSON_ACCESS)
def test_it_shows_a_person_page_as_far_as_the_role_allows(week_of_usage, login, viewer, subject, expected):
    cast = week_of_usage
    ProviderIdentity.objects.create(vendor="anthropic", kind="email", value=getattr(cast, subject).email,
                                    person=getattr(cast, subject))
    client = login(getattr(cast, viewer))
    url = reverse("person", args=[getattr(cast, subject).pk])
    for extra in ({}, HTMX):
        response = client.get(url, **extra)
        assert response.status_code == 200
        body = text(response)
        assert "Rank by tokens" in body
        if expected == "full":
            assert "Tokens by kind" in body and "Daily usage" in body and "Counted from" in body
        else:
            assert "Tokens by kind" not in body and "Daily usage" not in body
            assert "Counted from" not in body and "Provider identities" not in body
    if expected == "full" and viewer != subject:
        assert "Provider identities" in text(client.get(url))


@pytest.mark.parametrize("privacy", [Person.Privacy.ANONYMOUS, Person.Privacy.HIDDEN])
def test_it_hides_anonymous_and_hidden_colleagues_pages_behind_a_404(week_of_usage, login, privacy):
    cast = week_of_usage
    Person.objects.filter(pk=cast.erin.pk).update(privacy=privacy)
    url = reverse("person", args=[cast.erin.pk])
    for viewer in (cast.sam, cast.lee, cast.otto):
        client = login(viewer)
        for extra in ({}, HTMX, {"QUERY_STRING": "period=90d&by=model"}):
            response = client.get(url, **extra)
            assert response.status_code == 404
            assert "Erin" not in text(response) and "3.0K" not in text(response)
    # Their own page, their managers and admins still see it all.
    for viewer in (cast.erin, cast.maria, cast.ada):
        assert "Tokens by kind" in text(login(viewer).get(url))


def test_it_hides_people_who_left_from_colleagues(week_of_usage, login):
    cast = week_of_usage
    Person.objects.filter(pk=cast.erin.pk).update(status=Person.Status.TERMINATED, is_active=False)
    url = reverse("person", args=[cast.erin.pk])
    assert login(cast.sam).get(url).status_code == 404
    assert login(cast.maria).get(url).status_code == 200


def test_it_answers_404_for_people_and_teams_that_do_not_exist(cast, login):
    client = login(cast.erin)
    assert client.get(reverse("person", args=[9999])).status_code == 404
    assert client.get(reverse("team", args=[9999])).status_code == 404
    assert client.get(reverse("team", args=[9999]), **HTMX).status_code == 404


def test_it_never_shows_a_salary(week_of_usage, login):
    cast = week_of_usage
    Person.objects.update(annual_base_salary=Decimal("987654.32"))
    for viewer in (cast.ada, cast.maria, cast.erin):
        client = login(viewer)
        for url in [*pages(cast), reverse("person", args=[cast.lee.pk]), reverse("person", args=[cast.otto.pk])]:
            body = text(client.get(url + ("&" if "?" in url else "?") + "period=90d"))
            assert "987654" not in body and "987,654" not in body and "988K" not in body, url


# --- The individual board -------------------------------------------------------------------------


def test_it_ranks_the_board_and_highlights_my_row(week_of_usage, login):
    response = login(week_of_usage.erin).get(reverse("board"), {"period": "7d"})
    body = text(response)
    assert board_rows(response) == ["Otto Outsider", "Sam Lead", "Erin Employee", "Maria Manager", "Lee Report"]
    assert 'class="mine" id="my-row"' in body
    assert "You · top 60%" in body
    assert "Tokens · Last 7 days" in body
    assert "10.0K" in body and "▼ 2" in body


def test_it_keeps_hidden_people_off_and_anonymous_people_nameless(week_of_usage, login):
    cast = week_of_usage
    Person.objects.filter(pk=cast.sam.pk).update(privacy=Person.Privacy.HIDDEN)
    Person.objects.filter(pk=cast.otto.pk).update(privacy=Person.Privacy.ANONYMOUS)
    client = login(cast.erin)
    for response in (client.get(reverse("board"), {"period": "7d"}), client.get(reverse("board"), {"period": "7d"}, **HTMX),
                     client.get(reverse("board_csv"), {"period": "7d"}), client.get(reverse("team", args=[cast.platform.pk]), {"period": "7d"})):
        body = text(response)
        assert "Sam Lead" not in body and "sam@example.com" not in body
        assert "Otto" not in body and "otto@example.com" not in body and "Sales" not in body.split("<main", 1)[-1].split("</form>", 1)[-1]
    assert board_rows(client.get(reverse("board"), {"period": "7d"}))[0].startswith("Anonymous #")
    # Sam sees himself.
    assert "Sam Lead" in board_rows(login(cast.sam).get(reverse("board"), {"period": "7d"}))


def test_it_swaps_only_the_board_for_htmx_and_pushes_a_clean_url(week_of_usage, login):
    client = login(week_of_usage.erin)
    response = client.get(reverse("board"), {"period": "7d", "metric": "cost", "vendor": "", "model": "", "team": "", "title": ""}, **HTMX)
    body = text(response)
    assert "<html" not in body and body.lstrip().startswith('<section id="board"')
    assert response["HX-Push-Url"] == "/?period=7d&metric=cost"
    assert board_rows(response)[0] == "Lee Report"
    # The back button after a history cache miss asks for the whole page.
    restore = client.get(reverse("board"), {"period": "7d"}, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in text(restore)


def test_it_paginates_fifty_rows_and_pins_my_row(cast, login):
    people = [Person.objects.create_user(f"p{n}@example.com", "x", name=f"Person {n:02}", team=cast.sales)
              for n in range(60)]
    save([usage(person, 1, tokens=10_000 + n) for n, person in enumerate(people)] + [usage(cast.erin, 1, tokens=5)])
    client = login(cast.erin)
    first = client.get(reverse("board"), {"period": "7d"})
    names = board_rows(first)
    assert len(names) == 51 and names[0] == "Person 59" and names[-1] == "Erin Employee"
    assert 'class="mine pinned"' in text(first) and "top 100%" in text(first)
    assert "/?period=7d&amp;page=2" in text(first)
    second = client.get(reverse("board"), {"period": "7d", "page": "2"})
    names = board_rows(second)
    assert names == ["Person 09", *[f"Person {n:02}" for n in range(8, -1, -1)], "Erin Employee"]
    assert "pinned" not in text(second).split("<tbody", 1)[1]


def test_it_says_so_when_nobody_or_not_me_has_usage(cast, login):
    body = text(login(cast.erin).get(reverse("board"), {"period": "yesterday"}))
    assert "Nobody has total tokens yesterday." in body
    assert "You have no total tokens yesterday, so you are not ranked." in body


def test_it_falls_back_for_an_unknown_metric_and_explains_a_bad_range(week_of_usage, login):
    client = login(week_of_usage.erin)
    response = client.get(reverse("board"), {"metric": "nonsense", "period": "7d"})
    assert response.status_code == 200 and board_rows(response)[0] == "Otto Outsider"
    bad = client.get(reverse("board"), {"period": "custom", "start": "2026-10-30", "end": "2026-10-01"})
    assert bad.status_code == 200 and "The range ends before it starts." in text(bad)


def test_it_filters_by_team_and_role_from_the_url(week_of_usage, login):
    cast = week_of_usage
    client = login(cast.erin)
    assert board_rows(client.get(reverse("board"), {"period": "7d", "team": cast.platform.pk})) == ["Sam Lead", "Lee Report"]
    assert board_rows(client.get(reverse("board"), {"period": "7d", "title": "Engineer"})) == ["Erin Employee", "Lee Report"]
    cursor = client.get(reverse("board"), {"period": "7d", "vendor": "cursor"})
    assert board_rows(cursor) == ["Lee Report"]
    assert "You have no total tokens in the last 7 days with these filters" in text(cursor)
    assert board_rows(client.get(reverse("board"), {"period": "7d", "model": "gpt-5"})) == ["Sam Lead"]


def test_it_shows_how_fresh_the_data_is(cast, login):
    UsageExport.objects.create(file="x", original_name="c.json", size=1, sha256="c", vendors=["cursor"],
                               last_day=ago(1), status=UsageExport.Status.SUCCEEDED)
    body = text(login(cast.erin).get(reverse("board")))
    assert f"Cursor data until {ago(1):%b} {ago(1).day} (UTC)" in body


def test_it_suggests_models_when_the_field_is_used(week_of_usage, login):
    response = login(week_of_usage.erin).get(reverse("board_models"), {"end": TODAY.isoformat()}, **HTMX)
    assert '<option value="composer-2.5">cursor</option>' in text(response)
    assert '<option value="gpt-5">openai</option>' in text(response)


# --- CSV, and the same numbers as manage.py leaderboard -------------------------------------------


def test_it_downloads_the_board_as_csv_with_the_same_filters(week_of_usage, login):
    cast = week_of_usage
    Person.objects.filter(pk=cast.otto.pk).update(privacy=Person.Privacy.ANONYMOUS)
    Person.objects.filter(pk=cast.lee.pk).update(name="=cmd|' /C calc'!A0")
    response = login(cast.erin).get(reverse("board_csv"), {"period": "7d", "metric": "cost"})
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(text(response))))
    assert [row["name"] for row in rows] == [
        "'=cmd|' /C calc'!A0", "Erin Employee", rows[2]["name"], "Sam Lead", "Maria Manager"
    ]
    assert rows[2]["name"].startswith("Anonymous #") and rows[2]["email"] == "" and rows[2]["team"] == ""
    assert rows[0]["cost_usd"] == "5.00" and rows[1]["cache_read_tokens"] == "900"


@pytest.mark.parametrize(
    "filters",
    [{}, {"metric": "cost"}, {"vendor": "openai"}, {"team": "Engineering"}, {"metric": "cost", "vendor": "anthropic"}],
)
def test_it_gives_the_same_numbers_as_the_command(week_of_usage, login, filters):
    cast = week_of_usage
    params = {"period": "custom", "start": ago(13).isoformat(), "end": TODAY.isoformat()}
    args = ["--start", ago(13).isoformat(), "--end", TODAY.isoformat(), "--format", "json"]
    for key, value in filters.items():
        params[key] = str(cast.engineering.pk) if key == "team" else value
        args += [f"--{key}", value]
    page = list(csv.DictReader(io.StringIO(text(login(cast.ada).get(reverse("board_csv"), params)))))
    out = io.StringIO()
    call_command("leaderboard", *args, stdout=out)
    command = json.loads(out.getvalue())
    assert page and len(page) == len(command)
    for mine, theirs in zip(page, command, strict=True):
        assert {k: str(v) for k, v in theirs.items()} == mine
    # ...and the page itself shows the same ranking.
    shown = board_rows(login(cast.ada).get(reverse("board"), params))
    assert shown == [row["name"] for row in command]


# --- Teams ----------------------------------------------------------------------------------------


def test_it_ranks_teams_and_keeps_totals_when_someone_hides(week_of_usage, login):
    cast = week_of_usage
    client = login(cast.erin)
    before = text(client.get(reverse("teams"), {"period": "7d"}))
    assert before.index(">Sales<") < before.index(">Platform<") < before.index(">Engineering<")
    assert "18.0K in total" in before
    Person.objects.filter(pk=cast.sam.pk).update(privacy=Person.Privacy.HIDDEN)
    after = text(client.get(reverse("teams"), {"period": "7d"}))
    assert "18.0K in total" in after and "4.5K" in after


def test_it_sorts_teams_by_another_column(week_of_usage, login):
    response = login(week_of_usage.erin).get(reverse("teams"), {"period": "7d", "sort": "median"}, **HTMX)
    assert response["HX-Push-Url"] == "/teams/?period=7d&sort=median"
    assert 'aria-sort="descending"' in text(response)


def test_it_shows_a_team_with_its_sub_teams_and_trend(week_of_usage, login):
    cast = week_of_usage
    response = login(cast.otto).get(reverse("team", args=[cast.engineering.pk]), {"period": "7d"})
    body = text(response)
    assert board_rows(response) == ["Sam Lead", "Erin Employee", "Maria Manager", "Lee Report"]
    assert "Platform" in body and '<svg class="chart"' in body and "<title" in body
    partial = login(cast.otto).get(reverse("team", args=[cast.engineering.pk]), {"period": "7d", "metric": "cost"}, **HTMX)
    assert partial["HX-Push-Url"] == f"/teams/{cast.engineering.pk}/?period=7d&metric=cost"


# --- My usage -------------------------------------------------------------------------------------


def test_it_shows_my_usage_identities_and_how_to_upload(week_of_usage, login):
    cast = week_of_usage
    ProviderIdentity.objects.create(vendor="openai", kind="user_id", value="user-erin", person=cast.erin, label="Erin")
    ProviderIdentity.objects.create(vendor="openai", kind="user_id", value="user-sam", person=cast.sam)
    body = text(login(cast.erin).get(reverse("me"), {"period": "7d"}))
    assert "3.0K" in body and "#3" in body and "top 60%" in body
    assert "user-erin" in body and "user-sam" not in body
    assert "npx ccusage@latest daily --json --timezone UTC &gt; ccusage.json" in body
    assert f'href="{reverse("settings")}"' in body
    assert '<svg class="chart"' in body and "Show the numbers" in body
    by_model = text(login(cast.erin).get(reverse("me"), {"period": "7d", "by": "model"}, **HTMX))
    assert "claude-sonnet-4-5" in by_model and "<html" not in by_model


def test_it_queues_my_own_ccusage_upload(cast, login, settings, tmp_path, samples):
    settings.MEDIA_ROOT = tmp_path
    client = login(cast.erin)
    upload = SimpleUploadedFile("ccusage.json", (samples / "ccusage" / "dana.brooks.json").read_bytes())
    response = client.post(reverse("me_ccusage"), {"file": upload}, follow=True)
    export = UsageExport.objects.get()
    assert (export.origin, export.uploaded_by, export.attributed_to, export.requested_format) == (
        UsageExport.Origin.SELF_SERVICE, cast.erin, cast.erin, "ccusage"
    )
    assert export.status == UsageExport.Status.QUEUED
    body = text(response)
    assert "ccusage.json: queued" in body and "My uploads" in body
    again = client.post(reverse("me_ccusage"), {"file": SimpleUploadedFile("again.json", upload.file.getvalue())}, follow=True)
    assert "uploaded this file before" in text(again) and UsageExport.objects.count() == 1
    assert client.get(reverse("me_ccusage")).status_code == 405


def test_it_refuses_my_upload_over_the_size_limit_without_keeping_any_of_it(cast, login, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.SELF_UPLOAD_MAX_BYTES = 1000
    upload = SimpleUploadedFile("huge.json", b"[" + b" " * 5000 + b"]")
    response = login(cast.erin).post(reverse("me_ccusage"), {"file": upload}, follow=True)

    assert "over 1,000 bytes" in text(response)
    assert not UsageExport.objects.exists() and not any(tmp_path.rglob("*.json"))


def test_my_upload_still_needs_the_csrf_token(cast, client):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.erin)
    upload = SimpleUploadedFile("ccusage.json", b"[]")
    assert client.post(reverse("me_ccusage"), {"file": upload}).status_code == 403


def test_it_asks_for_a_file(cast, login):
    response = login(cast.erin).post(reverse("me_ccusage"), {}, follow=True)
    assert "Choose the ccusage JSON file" in text(response) and not UsageExport.objects.exists()


def test_it_shows_badges_on_person_pages(cast, login):
    save([usage(cast.erin, n, tokens=60_000_000) for n in range(24, -1, -1)])
    body = text(login(cast.maria).get(reverse("person", args=[cast.erin.pk])))
    assert "First billion tokens" in body and "20-day streak" in body


# --- Speed ----------------------------------------------------------------------------------------


@pytest.fixture
def big_company(week_of_usage):
    """Two hundred more people with usage every day: the query counts must not grow with them."""
    cast = week_of_usage
    people = Person.objects.bulk_create([
        Person(email=f"extra{n}@example.com", name=f"Extra {n}", team=[cast.sales, cast.platform, cast.engineering][n % 3],
               privacy=[Person.Privacy.NAMED, Person.Privacy.ANONYMOUS, Person.Privacy.HIDDEN][n % 3])
        for n in range(200)
    ])
    save([usage(person, day, ["anthropic", "openai"][day % 2], tokens=1000 + n) for n, person in enumerate(people)
          for day in range(0, 20, 3)])
    return cast


def policies_cached():
    """The budget policies in the cache, as any page that read them since the last policy change left
    them (they are cached under their own version, which imports do not move). Without them my usage
    page pays a ninth query: tests/test_board_budget.py counts that case after the morning's warming.
    (The team pages used to read them for everyone; now only for those who may see a team's budget.)"""
    budgets.policy_tables(cache.current())


def page_urls(cast):
    return [
        reverse("board"), reverse("board") + "?period=90d&metric=cost&page=2", reverse("board") + "?vendor=openai",
        reverse("board") + f"?team={cast.engineering.pk}&title=Engineer", reverse("board_csv"),
        reverse("teams"), reverse("team", args=[cast.engineering.pk]), reverse("me"), reverse("me") + "?by=model",
        reverse("person", args=[cast.lee.pk]), reverse("person", args=[cast.otto.pk]), reverse("board_models"),
    ]


@pytest.mark.parametrize("who", ["erin", "maria", "ada"])
def test_it_answers_every_page_in_at_most_eight_queries(big_company, login, django_assert_max_num_queries, who):
    policies_cached()
    client = login(getattr(big_company, who))
    for url in page_urls(big_company):
        for extra in ({}, HTMX):
            with django_assert_max_num_queries(MAX_QUERIES):
                response = client.get(url, **extra)
            assert response.status_code == 200, url


def test_it_reads_only_the_rollups(big_company, login, django_assert_max_num_queries):
    policies_cached()
    client = login(big_company.maria)
    for url in page_urls(big_company):
        with django_assert_max_num_queries(MAX_QUERIES) as queries:
            client.get(url)
        sql = " ".join(query["sql"] for query in queries.captured_queries)
        assert "leaderboard_usagerecord" not in sql and "leaderboard_activityrecord" not in sql, url


def test_my_usage_shows_the_last_30_complete_days_unless_today_is_asked_for(week_of_usage, login):
    client = login(week_of_usage.erin)
    today = timezone.now().date()
    period = client.get(reverse("me")).context["period"]
    assert (period.start, period.end, period.days) == (today - timedelta(days=30), today - timedelta(days=1), 30)
    asked = client.get(reverse("me"), {"period": "30d"}).context["period"]
    assert asked.end == today
    assert client.get(reverse("me"), {"period": "today"}).context["period"].end == today
