"""The boards' cache (leaderboard/boards.py, "Cache"): pages are cached under the data version, and
whatever changes what a board shows (an import, an identity remap, a privacy change, a team move)
shows on the next request, with no stale page in between."""

from __future__ import annotations

import re
import threading
from datetime import datetime, time, timedelta

import pytest
from django.core.cache import cache as django_cache
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse, reverse_lazy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Person, ProviderIdentity, Team
from leaderboard import cache, freshness, identities, imports, review, rollups
from leaderboard.boards import filters as board_filters
from leaderboard.boards import ranking, usage, warming
from leaderboard.models import DailyUsage, Flag, UsageExport
from tests.test_board_views import board_rows, text
from tests.test_boards import TODAY, ago, save, standard_week
from tests.test_boards import usage as usage_row
from tests.test_review_views import make_flag

HEADER = "date,email,provider,model,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,requests,cost_usd\n"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def week_of_usage(cast):
    standard_week(cast)
    return cast


def import_csv(*rows: str, name: str = "usage.csv") -> UsageExport:
    """An export imported the way a worker does it, its transaction committed (the version moves then)."""
    content = (HEADER + "".join(row + "\n" for row in rows)).encode()
    export, _ = imports.store_export(
        content=ContentFile(content, name=name), name=name, origin=UsageExport.Origin.COMMAND
    )
    imports.process_export(export.pk)
    export.refresh_from_db()
    assert export.status == UsageExport.Status.SUCCEEDED, export.failure
    return export


def scans(client, url) -> list[str]:
    """The queries of a page that aggregate the rollups (a period of everyone's days)."""
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in queries.captured_queries if "SUM(" in q["sql"]
            and ("leaderboard_personday" in q["sql"] or "leaderboard_dailyusage" in q["sql"])]


def test_it_reads_the_rollups_once_per_data_version(week_of_usage, login):
    client = login(week_of_usage.erin)
    url = reverse("board") + "?period=7d"
    assert scans(client, url)
    assert scans(client, url) == []
    # Another viewer gets the same ranking, their own row marked.
    other = login(week_of_usage.sam)
    assert scans(other, url) == [] and 'class="mine"' in text(other.get(url))
    assert scans(other, reverse("teams") + "?period=7d")
    assert scans(other, reverse("teams") + "?period=7d") == []


def test_it_shows_an_import_at_once(week_of_usage, login, django_capture_on_commit_callbacks):
    cast = week_of_usage
    client = login(cast.erin)
    url = reverse("board") + "?period=7d"
    assert board_rows(client.get(url))[0] == "Otto Outsider"
    teams = text(client.get(reverse("teams") + "?period=7d"))
    assert "18.0K in total" in teams
    with django_capture_on_commit_callbacks(execute=True):
        import_csv(f"{ago(1)},ada@example.com,mistral,mistral-large-2,50000,0,0,0,3,1.00")
    assert board_rows(client.get(url))[0] == "Ada Admin"
    assert "68.0K in total" in text(client.get(reverse("teams") + "?period=7d"))
    assert "50.0K" in text(login(cast.ada).get(reverse("me") + "?period=7d"))


def test_it_shows_an_identity_remap_at_once(week_of_usage, login, django_capture_on_commit_callbacks):
    cast = week_of_usage
    with django_capture_on_commit_callbacks(execute=True):
        import_csv(f"{ago(1)},old.laptop@elsewhere.example,mistral,mistral-large-2,90000,0,0,0,3,1.00")
    client = login(cast.erin)
    url = reverse("board") + "?period=7d"
    assert board_rows(client.get(url))[0] == "Otto Outsider"
    identity = ProviderIdentity.objects.get(value="old.laptop@elsewhere.example")
    with django_capture_on_commit_callbacks(execute=True):
        identities.assign_identity(identity=identity, person=cast.sam, by=cast.ada)
    assert board_rows(client.get(url))[0] == "Sam Lead"
    # And back: Sam loses it again.
    with django_capture_on_commit_callbacks(execute=True):
        identities.assign_identity(identity=identity, person=None, by=cast.ada)
    assert board_rows(client.get(url))[0] == "Otto Outsider"


def test_it_shows_a_privacy_change_at_once_however_it_was_written(week_of_usage, login):
    cast = week_of_usage
    client = login(cast.erin)
    url = reverse("board") + "?period=7d"
    assert "Sam Lead" in board_rows(client.get(url))
    # A queryset update sends no signal: the database's triggers move the version.
    Person.objects.filter(pk=cast.sam.pk).update(privacy=Person.Privacy.HIDDEN)
    assert "Sam Lead" not in board_rows(client.get(url))
    cast.sam.refresh_from_db()
    cast.sam.privacy = Person.Privacy.ANONYMOUS
    cast.sam.save()
    rows = board_rows(client.get(url))
    assert "Sam Lead" not in rows and any(row.startswith("Anonymous #") for row in rows)


def test_a_board_page_names_its_people_without_reading_them_again(week_of_usage, login):
    cast = week_of_usage
    client = login(cast.erin)
    url = reverse("board") + "?period=7d"
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert "Sam Lead" in board_rows(client.get(url))
    assert len(queries) == 3  # my session, who I am, and the data version
    Person.objects.filter(pk=cast.sam.pk).update(name="Samantha Lead")
    assert "Samantha Lead" in board_rows(client.get(url))


def test_it_shows_a_team_move_and_a_renamed_team_at_once(week_of_usage, login):
    cast = week_of_usage
    client = login(cast.erin)
    url = reverse("board") + f"?period=7d&team={cast.sales.pk}"
    assert board_rows(client.get(url)) == ["Otto Outsider"]
    Person.objects.filter(pk=cast.sam.pk).update(team=cast.sales)
    assert board_rows(client.get(url)) == ["Otto Outsider", "Sam Lead"]
    Team.objects.filter(pk=cast.sales.pk).update(name="Revenue")
    assert ">Revenue<" in text(client.get(reverse("teams") + "?period=7d"))


def test_it_changes_the_version_only_when_something_shown_changes(cast):
    before = cache.current()
    Person.objects.filter(pk=cast.erin.pk).update(last_login=cast.erin.date_joined)  # a login
    assert cache.current() == before
    Person.objects.filter(pk=cast.erin.pk).update(title="Engineer")  # the same title
    assert cache.current() == before
    Person.objects.filter(pk=cast.erin.pk).update(title="Staff Engineer")
    changed = cache.current()
    assert changed.people != before.people and changed.rollups == before.rollups
    cache.bump(cache.ROLLUPS)
    assert cache.current().rollups != changed.rollups


def test_it_moves_the_version_only_once_an_import_commits(cast, django_capture_on_commit_callbacks):
    before = cache.current()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        rollups.recompute([cast.erin.pk], ago(3), TODAY)
    # Still inside the transaction: a board read now must not be cached under a version to come.
    assert cache.current() == before
    for callback in callbacks:
        callback()
    assert cache.current().rollups != before.rollups


def test_it_warms_the_common_boards(week_of_usage, login):
    # A vendor in the board's menu (it lists the vendors of successful imports).
    UsageExport.objects.create(file="x", original_name="a.csv", size=1, sha256="a", vendors=["anthropic"],
                               last_day=ago(1), status=UsageExport.Status.SUCCEEDED)
    warmed = warming.warm_cache()
    assert "board 30d tokens" in warmed and "board year tokens" in warmed and "teams 30d" in warmed
    assert "download 30d" in warmed
    client = login(week_of_usage.erin)
    assert scans(client, reverse("board")) == []
    assert scans(client, reverse("board") + "?period=year") == []
    # The metrics people switch to, over the periods they pick most.
    assert scans(client, reverse("board") + "?period=quarter&metric=cost") == []
    assert scans(client, reverse("board") + "?period=month&metric=active_days") == []
    # (A vendor's sparklines are read for the page's rows only, by index.)
    assert [sql for sql in scans(client, reverse("board") + "?metric=cost&vendor=anthropic")
            if '"person_id" IN (' not in sql] == []
    assert scans(client, reverse("teams")) == []
    # A person's page by default (the last 30 complete days): the company's weeks are ready.
    assert everyone_scans(client, reverse("me")) == []


def test_it_keeps_a_hidden_viewer_on_their_own_board_only(week_of_usage, login):
    cast = week_of_usage
    Person.objects.filter(pk=cast.sam.pk).update(privacy=Person.Privacy.HIDDEN)
    url = reverse("board") + "?period=7d"
    assert "Sam Lead" not in board_rows(login(cast.erin).get(url))
    assert "Sam Lead" in board_rows(login(cast.sam).get(url))
    assert "Sam Lead" not in board_rows(login(cast.lee).get(url))


def test_a_process_keeps_what_it_read_of_a_version_without_asking_the_shared_cache_again(monkeypatch):
    version = cache.Versions(rollups=1, people=1)
    computed = []
    assert cache.cached(version, "spec", (1,), lambda: computed.append(1) or "value") == "value"
    # Gone from the shared cache (another process evicted it, say): this process still has it.
    monkeypatch.setattr(cache, "cache", None)
    assert cache.cached(version, "spec", (1,), lambda: computed.append(1) or "other") == "value"
    assert computed == [1]


def test_a_new_version_is_never_answered_from_what_a_process_kept():
    old, new = cache.Versions(rollups=1, people=1), cache.Versions(rollups=2, people=1)
    cache.cached(old, "spec", (), lambda: "old numbers")
    assert cache.cached(new, "spec", (), lambda: "new numbers") == "new numbers"


def test_what_a_process_keeps_is_bounded_and_expires(monkeypatch):
    recent = cache.Recent(size=2)
    for key in "abc":
        recent.set(key, key.upper(), seconds=60)
    assert [recent.get(key) for key in "abc"] == [None, "B", "C"]
    now = cache.time.monotonic()
    monkeypatch.setattr(cache.time, "monotonic", lambda: now + 61)
    assert recent.get("c") is None


def test_a_process_keeps_a_lasting_value_past_a_minute_but_not_a_time_bound_one(monkeypatch):
    version = cache.Versions(rollups=1, people=1)
    cache.cached(version, "board", ("30d",), lambda: "everyone's ranking")
    cache.cached(version, "freshness", (), lambda: "data until Monday", seconds=freshness.CACHE_SECONDS)
    now = cache.time.monotonic()
    monkeypatch.setattr(cache.time, "monotonic", lambda: now + 61)
    monkeypatch.setattr(cache, "cache", locmem_without_entries())
    assert cache.cached(version, "board", ("30d",), lambda: "computed again") == "everyone's ranking"
    assert cache.cached(version, "freshness", (), lambda: "data until Tuesday",
                         seconds=freshness.CACHE_SECONDS) == "data until Tuesday"


def locmem_without_entries():
    """A shared cache that has let everything go (expired, evicted)."""
    from django.core.cache.backends.locmem import LocMemCache

    return LocMemCache("lost", {})


def test_a_value_missing_is_computed_once_while_the_others_asking_for_it_wait(monkeypatch):
    """The office opening the board right after an import: one request computes the ranking, the rest
    get what it computed (each gunicorn worker is a process of its own; threads stand in for them)."""
    version = cache.Versions(rollups=7, people=1)
    computed = []

    def rank():
        computed.append(1)
        cache.time.sleep(0.3)
        return "everyone's ranking"

    answers = []
    crowd = [threading.Thread(target=lambda: answers.append(cache.cached(version, "board", ("30d",), rank)))
             for _ in range(6)]
    for person in crowd:
        person.start()
    for person in crowd:
        person.join(timeout=15)
    assert answers == ["everyone's ranking"] * 6 and computed == [1]


def test_a_value_whose_computing_process_died_is_computed_by_the_next_to_ask():
    version = cache.Versions(rollups=8, people=1)
    key = cache.key(version, "board", ("30d",), (cache.ROLLUPS, cache.PEOPLE))
    cache.cache.set(f"computing:{key}", 1, 1)  # a marker left behind, that expires
    assert cache.cached(version, "board", ("30d",), lambda: "computed") == "computed"


def test_a_crowd_opening_their_own_pages_leaves_the_shared_rankings_in_the_process(monkeypatch):
    version = cache.Versions(rollups=1, people=1)
    cache.cached(version, "board", ("30d",), lambda: "everyone's ranking")
    for person in range(cache.shared.size * 2):
        cache.cached(version, "usage", (person,), lambda: "my overview", per_person=True)
    monkeypatch.setattr(cache, "cache", None)  # only what this process kept answers now
    assert cache.cached(version, "board", ("30d",), lambda: "computed again") == "everyone's ranking"


def test_my_usage_overview_is_mine_even_when_kept_for_the_next_request(week_of_usage):
    period = board_filters.resolve_period("30d", today=TODAY)
    version = cache.current()
    first = usage.usage_overview(week_of_usage.maria, period, today=TODAY, versions=version)
    again = Person.objects.get(pk=week_of_usage.maria.pk)
    second = usage.usage_overview(again, period, today=TODAY, versions=version)
    assert second.person is again and first.person is week_of_usage.maria
    assert second.total_tokens == first.total_tokens


# --- My own rows: identities, uploads, flags --------------------------------------------------------

PERSONAL_TABLES = ("accounts_provideridentity", "leaderboard_usageexport", "leaderboard_flag")


def personal_reads(client, url: str) -> list[str]:
    """The queries of a page that read someone's identities, uploads or flags."""
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in queries.captured_queries if any(table in q["sql"] for table in PERSONAL_TABLES)]


def test_my_page_reads_my_identities_uploads_and_flags_once_until_one_changes(week_of_usage, login):
    cast = week_of_usage
    client = login(cast.erin)
    assert personal_reads(client, reverse("me"))
    assert personal_reads(client, reverse("me")) == []
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("me"))
    assert len(queries) == 3  # my session, who I am, and the data version

    # Every way those rows change shows on the next request, whoever wrote them and however.
    identity = ProviderIdentity.objects.create(vendor="openai", kind="user_id", value="user-erin", person=cast.erin)
    assert "user-erin" in text(client.get(reverse("me")))
    ProviderIdentity.objects.filter(pk=identity.pk).update(label="Erin on the batch project")
    assert "Erin on the batch project" in text(client.get(reverse("me")))
    ProviderIdentity.objects.filter(pk=identity.pk).delete()
    assert "user-erin" not in text(client.get(reverse("me")))

    imports.store_export(content=ContentFile(b"{}", name="mine.json"), name="mine.json",
                         origin=UsageExport.Origin.SELF_SERVICE, uploaded_by=cast.erin, attributed_to=cast.erin)
    assert "mine.json" in text(client.get(reverse("me")))
    UsageExport.objects.filter(original_name="mine.json").update(status=UsageExport.Status.FAILED, failure="Not ccusage")
    assert "Not ccusage" in text(client.get(reverse("me")))

    flag = make_flag(cast.erin)
    assert reverse("flag", args=[flag.pk]) in text(client.get(reverse("me")))
    review.add_note(flag=flag, by=cast.maria, text="How can I help?", to_employee=True)
    assert "1 reply to you" in text(client.get(reverse("me")))
    Flag.objects.filter(pk=flag.pk).update(status=Flag.Status.RESOLVED)
    assert reverse("flag", args=[flag.pk]) not in text(client.get(reverse("me")))


def test_my_manager_sees_my_identities_and_flags_change_on_my_page(week_of_usage, login):
    cast = week_of_usage
    client = login(cast.maria)
    url = reverse("person", args=[cast.erin.pk])
    assert personal_reads(client, url)
    assert personal_reads(client, url) == []
    flag = make_flag(cast.erin)
    ProviderIdentity.objects.create(vendor="cursor", kind="email", value="erin@cursor.example", person=cast.erin)
    body = text(client.get(url))
    assert reverse("flag", args=[flag.pk]) in body and "erin@cursor.example" in body


def test_only_my_own_uploads_and_not_an_admins_imports_move_the_personal_version(week_of_usage):
    before = cache.current().personal
    imports.store_export(content=ContentFile(b"{}", name="admin.json"), name="admin.json",
                         origin=UsageExport.Origin.COMMAND)
    UsageExport.objects.filter(original_name="admin.json").update(status=UsageExport.Status.FAILED)
    assert cache.current().personal == before
    ProviderIdentity.objects.create(vendor="cursor", kind="email", value="someone@cursor.example")
    assert cache.current().personal != before


@pytest.mark.django_db(transaction=True)
def test_the_personal_version_moves_once_the_change_commits():
    """Real commits (on PostgreSQL the triggers are deferred to the commit, once per transaction)."""
    before = cache.current().personal
    with transaction.atomic():
        for n in range(3):
            ProviderIdentity.objects.create(vendor="cursor", kind="email", value=f"dev{n}@cursor.example")
    after = cache.current().personal
    assert after != before
    ProviderIdentity.objects.filter(vendor="cursor").update(label="Cursor")
    assert cache.current().personal not in (before, after)


def test_emptying_a_table_of_someones_rows_moves_the_personal_version(cast):
    review.add_note(flag=make_flag(cast.erin), by=cast.maria, text="How can I help?", to_employee=True)
    before = cache.current().personal
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # What `flush` and a console do (the note's checks first: nothing may be pending).
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("TRUNCATE leaderboard_flagnote")
        else:  # SQLite has no TRUNCATE; a DELETE runs the row triggers.
            cursor.execute("DELETE FROM leaderboard_flagnote")
    assert cache.current().personal != before


# --- Today apart from the history (cache.rollups_changed, boards/spans.py) ------------------------


def test_a_rebuild_of_todays_rows_alone_moves_today_and_one_reaching_back_moves_the_history(
        cast, django_capture_on_commit_callbacks):
    before = cache.current()
    with django_capture_on_commit_callbacks(execute=True):
        rollups.recompute([cast.erin.pk], TODAY, TODAY)
    after = cache.current()
    assert after.today != before.today and after.rollups == before.rollups
    with django_capture_on_commit_callbacks(execute=True):
        rollups.recompute([cast.erin.pk], ago(1), TODAY)
    assert cache.current().rollups != after.rollups


def test_a_rebuild_of_what_was_today_committed_after_midnight_moves_the_history(cast, monkeypatch):
    """A board cached just after midnight for a period ending yesterday must not miss yesterday's
    last minutes, folded by a rebuild that began before midnight and committed after it."""

    class AfterMidnight(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.combine(TODAY + timedelta(days=1), time(0, 0, 5), tzinfo=tz)

    before = cache.current()
    monkeypatch.setattr(cache, "datetime", AfterMidnight)
    cache.rollups_changed(TODAY)
    assert cache.current().rollups != before.rollups


def everyone_scans(client, url) -> list[str]:
    """The page's reads of everyone's rollups (not of its rows' own: sparklines, output)."""
    return [sql for sql in scans(client, url) if '"person_id" IN (' not in sql]


def test_a_fold_into_today_reads_only_today_again_and_shows_at_once(week_of_usage, login):
    cast = week_of_usage
    client = login(cast.erin)
    url = reverse("board") + "?period=30d"
    assert len(everyone_scans(client, url)) == 2  # the days before today, and today's
    assert scans(client, url) == []
    # What telemetry folding does: today's rows rebuilt, then the version moved.
    DailyUsage.objects.filter(person=cast.otto, day=TODAY).delete()
    save([usage_row(cast.otto, 0, tokens=90_000, cost="9.00")])
    cache.rollups_changed(TODAY)
    assert len(everyone_scans(client, url)) == 1  # today's alone
    page = text(client.get(url))
    assert board_rows(client.get(url))[0] == "Otto Outsider"
    assert "100K" in page and "10K" not in page  # 10,000 + 50 earlier in the period, and today's 90,000


def test_boards_over_days_before_today_stay_cached_through_todays_folds(week_of_usage, login):
    client = login(week_of_usage.erin)
    url = reverse("board") + "?period=yesterday"
    assert scans(client, url)
    cache.rollups_changed(TODAY)
    assert scans(client, url) == []


PAGES_OVER_DAYS = [
    reverse_lazy("board"), "/?period=7d&metric=cost", "/?period=yesterday", "/?period=year&metric=active_days",
    "/?period=30d&metric=tokens&vendor=anthropic", "/teams/", "/me/", "/me/?period=7d", "/board.csv",
]


def as_shown(client) -> dict[str, str]:
    """Each page's content, less what differs on every response (the CSP nonce, the CSRF token, the
    charts' element ids)."""
    found = {}
    for url in PAGES_OVER_DAYS:
        body = client.get(str(url)).content.decode()
        found[str(url)] = re.sub(r'nonce="[^"]*"|[A-Za-z0-9]{64}|\b(chart|rank)-\d+', "", body)
    return found


@pytest.mark.parametrize("days_ago", [[0, 3], [3, 0], [0, 0, 1], [1, 0], [5, 0, 0, 2]])
def test_pages_after_writes_to_today_and_earlier_days_equal_pages_computed_afresh(cast, login, days_ago):
    standard_week(cast)
    client = login(cast.maria)
    for n, days in enumerate(days_ago):
        as_shown(client)  # cached under the versions of the moment
        DailyUsage.objects.filter(person=cast.otto, day=ago(days)).delete()
        save([usage_row(cast.otto, days, tokens=20_000 * (n + 2), cost=f"{n + 3}.00")])
        cache.rollups_changed(ago(days))
    kept = as_shown(client)
    django_cache.clear()
    cache.forget_in_process()
    assert kept == as_shown(client)


WRITES = st.lists(st.tuples(st.sampled_from(["erin", "otto", "lee"]), st.sampled_from([0, 0, 1, 6, 35]),
                            st.integers(0, 50_000)), min_size=1, max_size=6)


@settings(max_examples=15, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(writes=WRITES)
def test_cached_aggregates_equal_an_uncached_scan_after_any_mix_of_writes_to_today_and_earlier_days(cast, writes):
    """Whatever day a rebuild touched, and whichever version it moved, a board's cached totals (its
    history part and today's part added up) are what a scan of the rollups now gives."""
    boards = [board_filters.BoardFilters(period=board_filters.resolve_period(key, today=TODAY),
                                         metric=board_filters.METRICS[metric])
              for key in ("yesterday", "7d", "30d", "90d") for metric in ("tokens", "cost", "active_days")]

    def totals(filters, versions):
        found = ranking.aggregate(filters, everything=True, versions=versions)
        return sorted((t.person_id, t.total_tokens, t.cost_usd, t.active_days, t.value, t.previous)
                      for t in found.values())

    for filters in boards:  # warm, so that each write below finds parts to keep or leave
        totals(filters, cache.current())
    for name, days_ago, tokens in writes:
        person = getattr(cast, name)
        DailyUsage.objects.filter(person=person, day=ago(days_ago)).delete()
        save([usage_row(person, days_ago, tokens=tokens, cost=f"{tokens / 10_000:.2f}")])
        cache.rollups_changed(ago(days_ago))  # what rollups.recompute runs after its commit
        for filters in boards:
            assert totals(filters, cache.current()) == totals(filters, None), (filters.period.key, filters.metric.name)

