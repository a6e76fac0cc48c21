"""Faults under a provider connection's sync, with real processes: a Celery worker, the fake provider
APIs on 127.0.0.1 (tests/fake_providers.py), and, for the tests that stop a server, a Redis or a
PostgreSQL of the test's own (tests/servers.py). Every wait is bounded.

The sync is the Anthropic connection's first one: a backfill of 29 days in 7-day chunks, its usage
pages made slow so that a fault lands in the middle. "Counted once" means what a clean run gives:
every usage entry the provider holds, once (tests/fake_providers.py's ``seed``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.db import connection as db_connection
from django.db.models import F, Sum

from leaderboard import celery_app, tasks
from leaderboard.connections import setup, sync
from leaderboard.models import Connection, DailyUsage, SyncRun, UsageRecord
from tests.conftest import PASSWORD
from tests.fake_providers import KEYS
from tests.test_faults import app_broker, manage, query  # noqa: F401 - app_broker is a fixture
from tests.workers import wait_for

pytestmark = pytest.mark.celery
DAYS_BACK = 29
SLOW_PAGE = 0.5  # seconds per usage page: the backfill takes ten seconds or so


@pytest.fixture
def key(settings):
    """The credential key, the same in this process and in the workers, as production's would be."""
    value = Fernet.generate_key().decode()
    settings.CREDENTIAL_KEYS = [value]
    return value


def seed(providers) -> list:
    today = sync.today()
    days = [today - timedelta(days=n) for n in range(DAYS_BACK, 0, -1)]
    providers.seed(days)
    providers.slow("usage_report/messages", SLOW_PAGE, times=10_000)
    return days


def connect(providers, vendor: str = "anthropic", name: str = "Anthropic") -> Connection:
    return setup.create_connection(
        vendor=vendor, name=name, credential=KEYS[vendor], base_url=providers.base_url(vendor),
        options=setup.clean_options(vendor, start=sync.today() - timedelta(days=DAYS_BACK)),
    )


def send(connection: Connection, broker_url: str, queue: str) -> None:
    """What "Sync now" does once the connection is marked as asked for."""
    with celery_app.connection_for_write(broker_url) as broker:
        tasks.sync_connection.apply_async((connection.pk,), connection=broker, queue=queue)


def runs(connection: Connection):
    return SyncRun.objects.filter(connection=connection).order_by("pk")


def midway(connection: Connection) -> bool:
    """A run under way: its first chunk done, most of the backfill still to come."""
    return runs(connection).filter(status=SyncRun.Status.RUNNING, days_done__gte=7).exists()


def succeeded(connection: Connection) -> bool:
    return runs(connection).filter(status=SyncRun.Status.SUCCEEDED).exists()


def expected(providers, days) -> dict:
    entries = [e for day in days for e in providers.usage["anthropic"][day]]
    erin = [e for day in days for e in providers.usage["anthropic"][day] if e.who == "user_erin"]
    return {"records": len(entries), "tokens": sum(e.input + e.output + e.cache_read + e.cache_write for e in entries),
            "erin": sum(e.input + e.output + e.cache_read + e.cache_write for e in erin)}


def assert_counted_once(providers, days, cast) -> None:
    want = expected(providers, days)
    records = UsageRecord.objects.filter(vendor="anthropic", source="anthropic_usage_report")
    assert records.count() == want["records"]
    total = F("input_tokens") + F("output_tokens") + F("cache_read_tokens") + F("cache_write_tokens")
    assert records.aggregate(t=Sum(total))["t"] == want["tokens"]
    erin = DailyUsage.objects.filter(person=cast.erin, vendor="anthropic")
    assert erin.aggregate(t=Sum("total_tokens"))["t"] == want["erin"]


# --- Redis going away ---------------------------------------------------------------------------


def test_a_sync_runs_on_through_a_redis_outage_and_the_worker_takes_the_next_one_once_redis_is_back(
    workers, own_redis, providers, cast, key
):
    days = seed(providers)
    connection = connect(providers)
    # A worker as `make run` starts one, on its own Redis (broker and cache).
    worker = workers.start(quiet=False, REDIS_URL=own_redis.url, CREDENTIAL_KEYS=key)
    assert sync.request_sync(connection)
    send(connection, own_redis.url, workers.queue)
    wait_for(lambda: midway(connection), timeout=60, workers=workers, what="the sync to get going")

    own_redis.stop()
    outage = time.monotonic()
    time.sleep(8)
    own_redis.start()

    wait_for(lambda: succeeded(connection), timeout=120, workers=workers, what="the sync")
    print(f"sync finished {time.monotonic() - outage:.1f} s after Redis went away")
    assert runs(connection).count() == 1  # ran on through the outage: no second run, nothing redone
    assert_counted_once(providers, days, cast)

    # The worker survived losing its broker and takes the next "Sync now" once Redis is back.
    time.sleep(3)
    assert worker.poll() is None, workers.logs()
    assert sync.request_sync(connection)
    send(connection, own_redis.url, workers.queue)
    wait_for(lambda: runs(connection).filter(status=SyncRun.Status.SUCCEEDED).count() == 2, timeout=90,
             workers=workers, what="a sync after Redis came back")
    assert_counted_once(providers, days, cast)


def test_sync_now_pressed_while_redis_is_down_is_answered_and_the_sync_runs_once_redis_is_back(
    workers, own_redis, app_broker, providers, cast, client, settings, key  # noqa: F811 - the fixture
):
    settings.CACHES = {"default": {
        "BACKEND": "leaderboard.redis_cache.ForgivingRedisCache", "LOCATION": own_redis.url,
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
    }}
    days = seed(providers)
    providers.faults.clear()  # quick: this test is about the message, not the run
    connection = connect(providers)
    own_redis.stop()

    assert client.post("/login/", {"username": cast.ada.email, "password": PASSWORD}).status_code == 302
    pressed = time.monotonic()
    response = client.post(f"/connections/{connection.pk}/sync/")
    assert response.status_code == 302 and time.monotonic() - pressed < 15
    connection.refresh_from_db()
    assert connection.sync_requested_at is not None and not runs(connection).exists()

    own_redis.start()
    # Beat's look for due connections (every 5 minutes; here every 2 s) finds the request and sends it.
    workers.start(beat=True, REDIS_URL=own_redis.url, CREDENTIAL_KEYS=key, CONNECTION_SWEEP_SECONDS=2)
    wait_for(lambda: succeeded(connection), timeout=90, workers=workers, what="the requested sync")
    assert runs(connection).get().trigger == SyncRun.Trigger.MANUAL
    assert_counted_once(providers, days, cast)


# --- The same sync twice ------------------------------------------------------------------------


def test_the_same_sync_sent_twice_to_two_workers_at_once_is_done_once(workers, providers, cast, key):
    days = seed(providers)
    connection = connect(providers)
    workers.start(CREDENTIAL_KEYS=key)
    workers.start(CREDENTIAL_KEYS=key)
    assert sync.request_sync(connection)
    send(connection, workers.broker_url, workers.queue)
    send(connection, workers.broker_url, workers.queue)

    wait_for(lambda: succeeded(connection), timeout=120, workers=workers, what="the sync")
    time.sleep(2)  # the second delivery, refused by the lease
    assert runs(connection).count() == 1
    assert len(providers.calls("anthropic", "/users")) == 1  # the second worker asked the provider nothing
    assert_counted_once(providers, days, cast)


# --- A provider that hangs ----------------------------------------------------------------------


def test_a_provider_that_hangs_times_the_sync_out_the_worker_moves_on_and_the_next_run_catches_up(
    workers, providers, cast, key
):
    days = seed(providers)
    providers.faults.clear()
    providers.slow("usage_report/messages", 20, times=2)  # the first call and its retry: no answer at all
    connection = connect(providers)
    other = connect(providers, "cursor", "Cursor")
    workers.start(CREDENTIAL_KEYS=key, CONNECTION_READ_TIMEOUT=1, CONNECTION_RETRIES=1,
                  CONNECTION_BACKOFF_SECONDS="0.05")
    assert sync.request_sync(connection) and sync.request_sync(other)
    sent = time.monotonic()
    send(connection, workers.broker_url, workers.queue)
    send(other, workers.broker_url, workers.queue)  # behind it, on the one worker process

    wait_for(lambda: runs(connection).filter(status=SyncRun.Status.FAILED).exists(), timeout=60, workers=workers,
             what="the hung sync to time out")
    providers.faults.clear()  # the provider answers again
    took = time.monotonic() - sent
    failed = runs(connection).get()
    assert "no answer within 1 s" in failed.error and took < 30, (failed.error, took)
    connection.refresh_from_db()
    assert connection.status == Connection.Status.FAILING and not connection.is_running
    # The worker was free for the next message.
    wait_for(lambda: succeeded(other), timeout=60, workers=workers, what="the next sync on the same worker")

    assert sync.request_sync(connection)
    send(connection, workers.broker_url, workers.queue)
    wait_for(lambda: succeeded(connection), timeout=90, workers=workers, what="the next run")
    assert_counted_once(providers, days, cast)
    connection.refresh_from_db()
    assert connection.status == Connection.Status.OK and connection.complete_through == days[-1]


# --- A worker killed mid-sync -------------------------------------------------------------------


def test_a_killed_workers_sync_is_taken_over_once_its_lease_lapses_and_resumes_where_it_got_to(
    workers, providers, cast, key
):
    days = seed(providers)
    connection = connect(providers)
    lease = {"CONNECTION_LEASE_SECONDS": 5, "CREDENTIAL_KEYS": key}  # 15 minutes in production
    first = workers.start(**lease)
    assert sync.request_sync(connection)
    send(connection, workers.broker_url, workers.queue)
    wait_for(lambda: midway(connection), timeout=60, workers=workers, what="the sync to get going")

    workers.kill(first)
    died = time.monotonic()
    cut = runs(connection).get()
    assert cut.status == SyncRun.Status.RUNNING  # nobody left to say otherwise

    # Another machine's worker, with beat: its look for due connections finds the lapsed lease.
    workers.start(beat=True, CONNECTION_SWEEP_SECONDS=2, **lease)
    wait_for(lambda: succeeded(connection), timeout=90, workers=workers, what="the taken-over sync")
    print(f"sync finished {time.monotonic() - died:.1f} s after its worker was killed")
    cut.refresh_from_db()
    resumed = runs(connection).get(status=SyncRun.Status.SUCCEEDED)
    assert cut.status == SyncRun.Status.FAILED and "Cut short" in cut.error
    assert resumed.trigger == cut.trigger == SyncRun.Trigger.MANUAL
    assert resumed.window_start > cut.window_start  # it carried on from the chunks already done
    assert_counted_once(providers, days, cast)


def test_a_sync_whose_pool_process_was_killed_is_taken_up_again_at_once(workers, providers, cast, key):
    """Only the process running the sync dies (the OOM killer): Celery hands the message back at once,
    and the redelivery, the same task, takes back the lease its first attempt still holds."""
    days = seed(providers)
    connection = connect(providers)
    worker = workers.start(CREDENTIAL_KEYS=key)  # the lease is 15 minutes, as in production
    assert sync.request_sync(connection)
    send(connection, workers.broker_url, workers.queue)
    wait_for(lambda: midway(connection), timeout=60, workers=workers, what="the sync to get going")

    children = subprocess.run(["pgrep", "-P", str(worker.pid)], capture_output=True, text=True).stdout.split()
    assert len(children) == 1, children
    os.kill(int(children[0]), signal.SIGKILL)
    died = time.monotonic()

    wait_for(lambda: succeeded(connection), timeout=90, workers=workers, what="the sync taken up again")
    print(f"sync finished {time.monotonic() - died:.1f} s after its pool process was killed")
    assert worker.poll() is None
    assert list(runs(connection).values_list("status", flat=True)) == [SyncRun.Status.FAILED, SyncRun.Status.SUCCEEDED]
    assert_counted_once(providers, days, cast)


# --- PostgreSQL going away ----------------------------------------------------------------------

ROSTER = "email,name\nerin@example.com,Erin\nlee@example.com,Lee\nsam@example.com,Sam\n"
QUEUE_A_SYNC = """
from leaderboard import tasks
from leaderboard.connections import sync
from leaderboard.models import Connection
connection = Connection.objects.get()
assert sync.request_sync(connection)
tasks.queue_sync(connection.pk)
"""


def test_a_sync_cut_off_by_a_postgresql_restart_rolls_back_and_its_retry_counts_everything_once(
    workers, own_postgres, providers, tmp_path
):
    if db_connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL failover: run once, with the PostgreSQL suite")
    import psycopg

    days = seed(providers)
    with psycopg.connect(own_postgres.url(), autocommit=True) as admin:
        admin.execute("CREATE DATABASE leaderboard")
    url = own_postgres.url("leaderboard")
    key = Fernet.generate_key().decode()
    env = {"DATABASE_URL": url, "MEDIA_ROOT": str(workers.media_root), "REDIS_URL": workers.broker_url,
           "CELERY_QUEUE": workers.queue, "VAR_DIR": str(tmp_path / "var"), "CREDENTIAL_KEYS": key,
           "ANTHROPIC_KEY": KEYS["anthropic"]}
    manage("migrate", "--verbosity", "0", env=env)
    (tmp_path / "roster.csv").write_text(ROSTER)
    manage("import_people", str(tmp_path / "roster.csv"), env=env)
    manage("add_connection", "anthropic", "--name", "Anthropic", "--credential-env", "ANTHROPIC_KEY",
           "--base-url", providers.base_url("anthropic"), "--start", str(days[0]), env=env)
    workers.start(DATABASE_URL=url, CREDENTIAL_KEYS=key)
    manage("shell", "-c", QUEUE_A_SYNC, env=env)

    def days_done():
        return (query(url, "SELECT max(days_done) FROM leaderboard_syncrun WHERE status = 'running'") or (None,))[0]

    def finished():
        return query(url, "SELECT count(*) FROM leaderboard_syncrun WHERE status = 'succeeded'") == (1,)

    wait_for(lambda: (days_done() or 0) >= 7, timeout=60, workers=workers, what="the sync to get going")
    own_postgres.restart()
    restarted = time.monotonic()

    wait_for(finished, timeout=120, workers=workers, what="the sync after the restart")
    print(f"sync finished {time.monotonic() - restarted:.1f} s after PostgreSQL restarted")
    want = expected(providers, days)
    assert query(url, "SELECT count(*), sum(input_tokens + output_tokens + cache_read_tokens + cache_write_tokens) "
                      "FROM leaderboard_usagerecord "
                      "WHERE source = 'anthropic_usage_report'") == (want["records"], want["tokens"])
    assert query(url, "SELECT sum(d.total_tokens) FROM leaderboard_dailyusage d JOIN accounts_person p "
                      "ON p.id = d.person_id WHERE p.email = 'erin@example.com'") == (want["erin"],)
    # Nothing is left looking as if it were still running.
    assert query(url, "SELECT count(*) FROM leaderboard_syncrun WHERE status = 'running'") == (0,)
    assert query(url, "SELECT lease_owner FROM leaderboard_connection") == ("",)
