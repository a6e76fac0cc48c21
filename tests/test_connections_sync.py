"""A connection's sync against the fake providers on 127.0.0.1: backfill, incremental runs, revisions,
rate limits, server errors, slow answers, a wrong key, and one run at a time."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.db.models import Sum
from django.utils import timezone

from leaderboard import imports, tasks
from leaderboard.connections import setup, sync
from leaderboard.models import Connection, PersonDay, ProviderCost, SyncRun, UsageExport, UsageRecord
from tests.fake_providers import KEYS, SONNET, Entry

Status = Connection.Status


@pytest.fixture(autouse=True)
def quick(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CONNECTION_BACKOFF_SECONDS = 0.01
    settings.CONNECTION_READ_TIMEOUT = 1.0
    settings.CONNECTION_CONNECT_TIMEOUT = 1.0
    settings.CONNECTION_RETRIES = 3
    settings.CONNECTION_MAX_RETRY_AFTER = 5


@pytest.fixture
def sleeps(monkeypatch):
    """The waits the client asked for, without waiting them."""
    asked: list[float] = []
    monkeypatch.setattr("leaderboard.connections.http.time.sleep", asked.append)
    return asked


def connect(providers, vendor: str, *, days_back: int = 9, credential: str | None = None, **extra) -> Connection:
    today = sync.today()
    options = setup.clean_options(vendor, start=today - timedelta(days=days_back),
                                  organization="acme" if vendor == "github" else "")
    return setup.create_connection(vendor=vendor, name=f"{vendor} test", credential=credential or KEYS[vendor],
                                   base_url=providers.base_url(vendor), options=options, **extra)


def seeded(providers, days: int = 9):
    today = sync.today()
    providers.seed([today - timedelta(days=n) for n in range(days, 0, -1)])
    return today


def tokens(person, **filters) -> int:
    return PersonDay.objects.filter(person=person, **filters).aggregate(t=Sum("total_tokens"))["t"] or 0


def test_it_backfills_from_the_start_day_through_every_page(providers, cast):
    today = seeded(providers)
    connection = connect(providers, "anthropic")

    outcome = sync.run(connection.pk, force=True)

    run = outcome.run
    assert outcome.ok, run.error
    assert run.backfill and run.window_start == today - timedelta(days=9) and run.window_end == today
    assert run.days_done == run.days_total == 10
    # Two buckets a page: every chunk's report took several pages, each asked with the same parameters.
    usage = providers.calls("anthropic", "usage_report/messages")
    assert len(usage) > 2
    first = [(k, v) for k, v in usage[0].query if k != "page"]
    assert all([(k, v) for k, v in call.query if k != "page"] == first for call in usage[:3] if
               call.param("starting_at") == usage[0].param("starting_at"))
    # Identity lists before usage.
    paths = [call.path for call in providers.calls("anthropic")]
    assert paths.index("/v1/organizations/users") < paths.index("/v1/organizations/usage_report/messages")
    connection.refresh_from_db()
    assert connection.status == Status.OK and connection.complete_through == today - timedelta(days=1)
    assert connection.last_success_at is not None and not connection.is_running
    # Erin's 9 days: 1000*n input + 100*n output on each day n of the month.
    days = [today - timedelta(days=n) for n in range(9, 0, -1)]
    assert tokens(cast.erin) == sum(1100 * d.day for d in days)
    # Lee owns the CI key (the key list says so).
    assert tokens(cast.lee) == 550 * 9
    exports = UsageExport.objects.filter(sync_run=run)
    assert {e.origin for e in exports} == {UsageExport.Origin.CONNECTION}
    assert {e.format for e in exports} >= {"anthropic_users", "anthropic_api_keys", "anthropic_usage_report",
                                           "anthropic_cost_report"}
    assert run.exports_new == exports.count() and run.rows_read > 0 and run.pages >= len(usage)
    assert ProviderCost.objects.filter(vendor="anthropic").aggregate(s=Sum("amount_usd"))["s"] == 9 * 2.5


def test_an_hourly_run_asks_only_for_the_recent_days(providers, cast):
    today = seeded(providers)
    connection = connect(providers, "anthropic")
    sync.run(connection.pk, force=True)
    providers.requests.clear()
    Connection.objects.filter(pk=connection.pk).update(next_sync_at=None)
    providers.usage["anthropic"][today] = [Entry("user_erin", SONNET, 40, 2)]  # a new day has begun

    outcome = sync.run(connection.pk)

    assert outcome.ok and not outcome.run.backfill and outcome.run.trigger == SyncRun.Trigger.SCHEDULE
    # The last complete day was yesterday; the re-pull window is 3 days.
    assert outcome.run.window_start == today - timedelta(days=3)
    starts = {call.param("starting_at")[:10] for call in providers.calls("anthropic", "usage_report/messages")}
    assert starts == {(today - timedelta(days=3)).isoformat()}
    # Nothing before the window was asked for again, nothing counted twice, and the new day is in.
    assert tokens(cast.erin) == sum(1100 * (today - timedelta(days=n)).day for n in range(9, 0, -1)) + 42
    assert tokens(cast.erin, day=today) == 42


def test_a_run_not_due_does_nothing(providers, cast):
    seeded(providers)
    connection = connect(providers, "anthropic")
    sync.run(connection.pk, force=True)
    assert sync.run(connection.pk) is None  # an hour has not passed
    assert connection.pk not in sync.due()
    assert SyncRun.objects.count() == 1


def test_a_revised_day_replaces_its_totals(providers, cast):
    today = seeded(providers)
    connection = connect(providers, "anthropic")
    sync.run(connection.pk, force=True)
    revised = today - timedelta(days=2)
    before = tokens(cast.erin, day=revised)
    providers.usage["anthropic"][revised][0] = Entry("user_erin", SONNET, 7777, 3333)

    assert sync.run(connection.pk, force=True).ok

    assert before != 11110 and tokens(cast.erin, day=revised) == 11110
    assert UsageRecord.objects.filter(identity__person=cast.erin, day=revised).count() == 1


def test_a_sync_and_an_upload_of_the_same_days_count_once(providers, cast):
    today = seeded(providers)
    connection = connect(providers, "anthropic")
    assert sync.run(connection.pk, force=True).ok
    synced = tokens(cast.erin)
    # The admin also uploads an export of two of those days, fetched the way the console would.
    import httpx

    day = today - timedelta(days=3)
    answer = httpx.get(f"{providers.base_url('anthropic')}/v1/organizations/usage_report/messages", params={
        "starting_at": f"{day}T00:00:00Z", "ending_at": f"{day + timedelta(days=2)}T00:00:00Z", "limit": "31",
        "group_by[]": ["account_id", "model"]}, headers={"x-api-key": KEYS["anthropic"], "anthropic-version": "1"})
    export, created = imports.store_export(content=ContentFile(answer.content, name="usage.json"), name="usage.json",
                                           origin=UsageExport.Origin.UPLOAD)
    imports.process_export(export.pk)
    export.refresh_from_db()

    assert export.status == UsageExport.Status.SUCCEEDED and export.records_written > 0
    assert tokens(cast.erin) == synced
    # And a sync after the upload replaces it again rather than adding to it.
    assert sync.run(connection.pk, force=True).ok
    assert tokens(cast.erin) == synced


def test_a_429_waits_as_retry_after_says(providers, cast, sleeps):
    seeded(providers, days=2)
    connection = connect(providers, "anthropic", days_back=2)
    providers.fail("usage_report/messages", 429, headers={"Retry-After": "3"})

    outcome = sync.run(connection.pk, force=True)

    assert outcome.ok, outcome.run.error
    assert 3.0 in sleeps
    assert tokens(cast.erin) > 0


def test_a_429_asking_too_long_a_wait_ends_the_run_for_the_next_one(providers, cast, sleeps):
    seeded(providers, days=2)
    connection = connect(providers, "anthropic", days_back=2)
    providers.fail("usage_report/messages", 429, headers={"Retry-After": "3600"})

    outcome = sync.run(connection.pk, force=True)

    assert not outcome.ok and "rate limited (429)" in outcome.run.error
    assert 3600 not in sleeps
    connection.refresh_from_db()
    assert connection.status == Status.FAILING and connection.enabled


def test_server_errors_are_retried_with_exponential_backoff(providers, cast, sleeps):
    seeded(providers, days=2)
    connection = connect(providers, "openai", days_back=2)
    providers.fail("/organization/users", 500, times=2)

    outcome = sync.run(connection.pk, force=True)

    assert outcome.ok, outcome.run.error
    assert sleeps[:2] == [0.01, 0.02]


def test_server_errors_past_the_bound_fail_the_run_with_the_reason(providers, cast, sleeps):
    seeded(providers, days=2)
    connection = connect(providers, "openai", days_back=2)
    providers.fail("/organization/users", 502, times=100)

    outcome = sync.run(connection.pk, force=True)

    assert not outcome.ok
    assert "server error (502), 4 times" in outcome.run.error
    assert len(providers.calls("openai", "/organization/users")) == 4  # the first call and 3 retries
    assert not providers.calls("openai", "/usage/")  # no usage without the identities first
    connection.refresh_from_db()
    assert connection.status == Status.FAILING and connection.last_error == outcome.run.error


def test_a_slow_answer_times_out_and_is_asked_again(providers, cast):
    seeded(providers, days=2)
    connection = connect(providers, "cursor", days_back=2)
    providers.slow("/teams/members", 3.0)

    outcome = sync.run(connection.pk, force=True)

    assert outcome.ok, outcome.run.error
    assert outcome.run.requests > outcome.run.pages  # the timed-out call was one of them
    assert tokens(cast.erin) > 0


def test_a_wrong_key_stops_the_connection_at_once_without_retrying(providers, cast, sleeps, caplog):
    seeded(providers, days=2)
    wrong = "sk-ant-admin01-WRONGwrongWRONGwrong99"
    connection = connect(providers, "anthropic", days_back=2, credential=wrong)

    outcome = sync.run(connection.pk, force=True)

    assert not outcome.ok and outcome.run.requests == 1 and sleeps == []
    assert "401" in outcome.run.error and "wrong, expired or revoked key" in outcome.run.error
    assert wrong not in outcome.run.error and wrong[:10] not in outcome.run.error
    connection.refresh_from_db()
    assert connection.status == Status.STOPPED
    # The schedule leaves it alone until the credential changes.
    Connection.objects.filter(pk=connection.pk).update(next_sync_at=None)
    assert connection.pk not in sync.due() and sync.run(connection.pk) is None
    setup.update_connection(connection=connection, changes={}, credential=KEYS["anthropic"])
    assert connection.pk in sync.due()
    assert sync.run(connection.pk).ok
    assert wrong not in caplog.text


def test_sync_now_while_a_run_is_in_progress_starts_no_second_run(providers, cast):
    seeded(providers, days=2)
    connection = connect(providers, "anthropic", days_back=2)
    running = sync.claim(connection.pk, force=True)
    assert running is not None

    assert sync.request_sync(connection) is False
    assert sync.run(connection.pk) is None
    assert sync.run(connection.pk, force=True) is None
    assert SyncRun.objects.count() == 0 and providers.requests == []


def test_sync_now_runs_once_however_often_its_message_arrives(providers, cast):
    seeded(providers, days=2)
    connection = connect(providers, "anthropic", days_back=2)
    sync.run(connection.pk, force=True)

    assert sync.request_sync(connection) is True
    assert sync.run(connection.pk).run.trigger == SyncRun.Trigger.MANUAL
    assert sync.run(connection.pk) is None  # the same request delivered twice
    assert SyncRun.objects.count() == 2


def test_openai_asks_for_aligned_days_and_places_an_unaligned_first_bucket_on_its_day(providers, cast):
    today = seeded(providers, days=3)
    providers.openai_first_bucket_shift = 3600  # the provider starts the first bucket an hour late
    connection = connect(providers, "openai", days_back=3)

    assert sync.run(connection.pk, force=True).ok

    assert all(int(call.param("start_time")) % 86400 == 0 for call in providers.calls("openai", "/usage/"))
    first = today - timedelta(days=3)
    # Erin's 2000 input includes 500 cache reads: 2000 + 500 + 200 tokens in all.
    assert tokens(cast.erin, day=first) == 2700
    assert tokens(cast.sam) == 0 and tokens(cast.lee) == 3 * 330
    assert ProviderCost.objects.filter(vendor="openai").count() == 3


def test_cursor_events_daily_usage_members_and_spend(providers, cast):
    seeded(providers, days=3)
    connection = connect(providers, "cursor", days_back=3)

    outcome = sync.run(connection.pk, force=True)

    assert outcome.ok, outcome.run.error
    assert tokens(cast.erin) == 3 * 440 and tokens(cast.lee) == 3 * (110 + 132)
    assert PersonDay.objects.filter(person=cast.lee).aggregate(c=Sum("cost_usd"))["c"] == Decimal("0.165")
    formats = set(UsageExport.objects.filter(sync_run=outcome.run).values_list("format", flat=True))
    assert formats == {"cursor_members", "cursor_events", "cursor_daily_usage", "cursor_spend"}
    assert ProviderCost.objects.get(vendor="cursor", dims="member erin@example.com").amount_usd == Decimal("0.375")


def test_github_reports_are_downloaded_without_the_token(providers, cast):
    today = seeded(providers, days=3)
    cast.erin.github_login = "erin-gh"
    cast.erin.save()
    del providers.usage["github"][today - timedelta(days=2)]  # no report that day
    connection = connect(providers, "github", days_back=3)

    outcome = sync.run(connection.pk, force=True)

    assert outcome.ok, outcome.run.error
    assert tokens(cast.erin) == 2 * 770
    downloads = providers.calls("github", "/download/")
    assert len(downloads) == 2 and all("authorization" not in call.headers for call in downloads)
    assert all(call.headers.get("authorization") == f"Bearer {KEYS['github']}"
               for call in providers.calls("github", "/orgs/"))


def test_a_wrong_organisation_fails_with_that_reason(providers, cast):
    connection = connect(providers, "github", days_back=1)
    Connection.objects.filter(pk=connection.pk).update(options={"organization": "nobody"})
    connection.refresh_from_db()

    worked, said = sync.test_connection(connection)
    outcome = sync.run(connection.pk, force=True)

    assert not worked and "Wrong organisation" in said and "orgs/nobody" in said
    assert not outcome.ok and "no such organisation" in outcome.run.error


@pytest.mark.parametrize("vendor, found", [
    ("anthropic", "2 users"), ("openai", "2+ users"), ("cursor", "2 members"), ("github", "2 Copilot seats"),
])
def test_testing_a_connection_says_what_it_found(providers, cast, vendor, found):
    worked, said = sync.test_connection(connect(providers, vendor))
    assert worked and found in said


def test_testing_a_connection_says_exactly_why_it_failed(providers, cast, settings):
    worked, said = sync.test_connection(connect(providers, "openai", credential="sk-admin-WRONGwrongWRONGwrong"))
    assert not worked and said.startswith("Wrong key or missing scope") and "401" in said
    assert "WRONGwrong" not in said
    providers.fail("/teams/members", 403)
    worked, said = sync.test_connection(connect(providers, "cursor"))
    assert not worked and "403" in said and "missing scope" in said
    unreachable = setup.create_connection(vendor="anthropic", name="nowhere", credential=KEYS["anthropic"],
                                          base_url="http://127.0.0.1:9")
    worked, said = sync.test_connection(unreachable)
    assert not worked and said.startswith("Unreachable") and "could not connect" in said


def test_beat_queues_only_the_connections_that_are_due(cast, providers, sent_tasks):
    due = setup.create_connection(vendor="cursor", name="due", credential=KEYS["cursor"])
    later = setup.create_connection(vendor="openai", name="later", credential=KEYS["openai"])
    Connection.objects.filter(pk=later.pk).update(next_sync_at=timezone.now() + timedelta(minutes=30))
    stopped = setup.create_connection(vendor="anthropic", name="stopped", credential=KEYS["anthropic"])
    Connection.objects.filter(pk=stopped.pk).update(status=Connection.Status.STOPPED)

    tasks.sync_due_connections()

    assert sent_tasks == [("leaderboard.tasks.sync_connection", (due.pk,), {})]


def test_a_day_revised_and_revised_back_ends_as_the_provider_last_said(providers, cast):
    today = seeded(providers, days=2)
    connection = connect(providers, "anthropic", days_back=2)
    day = today - timedelta(days=1)
    original = providers.usage["anthropic"][day][0]
    assert sync.run(connection.pk, force=True).ok
    first = tokens(cast.erin, day=day)

    providers.usage["anthropic"][day][0] = Entry("user_erin", SONNET, 5, 5)
    assert sync.run(connection.pk, force=True).ok
    assert tokens(cast.erin, day=day) == 10

    providers.usage["anthropic"][day][0] = original  # the same bytes as the first run's answer
    outcome = sync.run(connection.pk, force=True)
    assert outcome.ok and tokens(cast.erin, day=day) == first
