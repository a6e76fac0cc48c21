"""Faults with real processes: a Redis that goes away mid-import, a worker killed mid-import.

Every wait is bounded. Tests that stop a server start their own (tests/servers.py) and leave the
machine's alone. The times printed are what the README's reliability section quotes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from leaderboard import cache as lb_cache
from leaderboard import celery_app, imports, tasks
from leaderboard.models import PersonDay, UsageExport, UsageRecord
from tests.conftest import PASSWORD
from tests.workers import wait_for

pytestmark = pytest.mark.celery
ROOT = Path(__file__).resolve().parent.parent

HEADER = "date,email,provider,model,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,requests,cost_usd\n"
PEOPLE = ["erin@example.com", "sam@example.com", "lee@example.com", "maria@example.com"]


def big_export(models: int = 40) -> tuple[UsageExport, int]:
    """A year of four people's usage, stored but not queued: long enough to be caught midway when
    written in small batches."""
    rows = [f"2026-{month:02d}-{day:02d},{email},mistral,model-{n},1,2,0,0,1,0.01\n"
            for month in range(1, 12) for day in range(1, 29) for email in PEOPLE for n in range(models)]
    export, _ = imports.store_export(
        content=ContentFile((HEADER + "".join(rows)).encode()), name="big.csv", origin=UsageExport.Origin.UPLOAD,
    )
    return export, len(rows)


def send(export: UsageExport, broker_url: str, queue: str) -> None:
    with celery_app.connection_for_write(broker_url) as connection:
        tasks.import_export.apply_async((export.pk,), connection=connection, queue=queue)


def row(export: UsageExport) -> UsageExport:
    return UsageExport.objects.get(pk=export.pk)


def assert_counted_once(rows: int) -> None:
    assert UsageRecord.objects.count() == rows
    totals = PersonDay.objects.aggregate(tokens=Sum("total_tokens"), requests=Sum("requests"))
    assert totals == {"tokens": 3 * rows, "requests": rows}


def test_an_import_finishes_by_itself_through_a_redis_restart_and_the_worker_lives_on(workers, own_redis, cast):
    export, rows = big_export()
    # A worker as `make run` starts one, on its own Redis (broker and cache).
    worker = workers.start(quiet=False, REDIS_URL=own_redis.url, IMPORT_BATCH_SIZE=5)
    send(export, own_redis.url, workers.queue)
    wait_for(lambda: row(export).status == "running", timeout=60, workers=workers, what="the import to start")

    own_redis.stop()
    outage, stopped_at = time.monotonic(), timezone.now()
    time.sleep(10)
    own_redis.start()

    wait_for(lambda: row(export).status == "succeeded", timeout=90, workers=workers, what="the import")
    print(f"import finished {time.monotonic() - outage:.1f} s after Redis went away")
    # It ran on through the outage (no second attempt) and committed while Redis was away.
    assert row(export).attempts == 1 and row(export).finished_at > stopped_at
    assert_counted_once(rows)
    # The worker survived losing its broker and took up work again once Redis was back.
    time.sleep(3)
    assert worker.poll() is None, workers.logs()
    second, _ = imports.store_export(
        content=ContentFile((HEADER + "2026-10-01,erin@example.com,mistral,m,10,5,0,0,1,0.5\n").encode()),
        name="after.csv", origin=UsageExport.Origin.UPLOAD,
    )
    send(second, own_redis.url, workers.queue)
    wait_for(lambda: row(second).status == "succeeded", timeout=60, workers=workers, what="an import after Redis came back")


def test_a_killed_workers_import_is_finished_by_another_within_a_minute(workers, cast):
    export, rows = big_export()
    first = workers.start(IMPORT_BATCH_SIZE=5)
    send(export, workers.broker_url, workers.queue)
    wait_for(lambda: (lb_cache.import_progress(export.pk) or {}).get("rows", 0) > 1000,
             timeout=60, workers=workers, what="the import to get going")

    workers.kill(first)
    died = time.monotonic()
    assert row(export).status == "running" and not UsageRecord.objects.exists()

    # Another machine's worker, with beat: its sweep finds the silent import and sends it again, long
    # before Redis would hand the unacknowledged message back (an hour and a quarter).
    workers.start(beat=True)
    wait_for(lambda: row(export).status == "succeeded", timeout=120, workers=workers, what="the taken-over import")
    print(f"import finished {time.monotonic() - died:.1f} s after its worker was killed")
    assert row(export).attempts == 2
    assert_counted_once(rows)


def test_an_import_whose_pool_process_was_killed_is_finished_within_a_minute(workers, cast):
    """The worker lives on, only the process running the import dies (the kernel's OOM killer, say):
    Celery hands the message back at once, but the export still has a fresh heartbeat then, so that
    delivery leaves it alone; once the heartbeat is silent, the sweep sends it again."""
    export, rows = big_export()
    worker = workers.start(IMPORT_BATCH_SIZE=5)
    workers.start(beat=True)
    send(export, workers.broker_url, workers.queue)
    wait_for(lambda: (lb_cache.import_progress(export.pk) or {}).get("rows", 0) > 1000,
             timeout=60, workers=workers, what="the import to get going")

    children = subprocess.run(["pgrep", "-P", str(worker.pid)], capture_output=True, text=True).stdout.split()
    assert len(children) == 1, children
    os.kill(int(children[0]), signal.SIGKILL)
    died = time.monotonic()

    wait_for(lambda: row(export).status == "succeeded", timeout=120, workers=workers, what="the taken-over import")
    print(f"import finished {time.monotonic() - died:.1f} s after its pool process was killed")
    assert worker.poll() is None
    assert_counted_once(rows)


@pytest.fixture
def app_broker(own_redis):
    """The web side's Celery app publishing to the fault test's own Redis."""
    previous = celery_app.conf.broker_url
    celery_app.conf.broker_url = own_redis.url
    celery_app.close()  # its connection pools were made for the previous broker
    yield
    celery_app.conf.broker_url = previous
    celery_app.close()


def test_with_redis_down_people_log_in_read_the_boards_and_upload_and_the_upload_is_imported_once_it_is_back(
    workers, own_redis, app_broker, cast, client, settings
):
    settings.CACHES = {"default": {
        "BACKEND": "leaderboard.redis_cache.ForgivingRedisCache", "LOCATION": own_redis.url,
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
    }}
    own_redis.stop()

    assert client.post("/login/", {"username": cast.ada.email, "password": PASSWORD}).status_code == 302
    for page in ["/", "/teams/", "/me/", "/imports/", "/review/", f"/people/{cast.erin.pk}/"]:
        assert client.get(page).status_code == 200, page
    upload = SimpleUploadedFile("outage.csv", (HEADER + "2026-10-01,erin@example.com,mistral,m,10,5,0,0,1,0.5\n").encode())
    assert client.post("/imports/", {"files": upload}).status_code == 302
    export = UsageExport.objects.get()
    assert export.status == "queued" and Path(export.file.path).exists()

    own_redis.start()
    workers.start(beat=True, REDIS_URL=own_redis.url, IMPORT_REQUEUE_AFTER_SECONDS=1)
    wait_for(lambda: row(export).status == "succeeded", timeout=90, workers=workers, what="the upload's import")
    assert PersonDay.objects.get(person=cast.erin).total_tokens == 15


# --- PostgreSQL going away ----------------------------------------------------------------------

ROSTER = "email,name\n" + "".join(f"{email},{email.split('@')[0].title()}\n" for email in PEOPLE)
QUEUE_AN_UPLOAD = """
from django.core.files import File
from django.db import transaction
from leaderboard import imports, tasks
with open("{path}", "rb") as handle, transaction.atomic():
    export, _ = imports.store_export(content=File(handle, name="big.csv"), name="big.csv", origin="upload")
    tasks.queue_import(export)
"""


def manage(*args: str, env: dict) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "DJANGO_SETTINGS_MODULE": "leaderboard.settings", **env}, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def query(url: str, sql: str):
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=2) as db:
            return db.execute(sql).fetchone()
    except psycopg.OperationalError:
        return None  # restarting


def test_an_import_survives_postgresql_restarting_under_it_and_counts_everything_once(workers, own_postgres, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL failover: run once, with the PostgreSQL suite")
    import psycopg

    with psycopg.connect(own_postgres.url(), autocommit=True) as admin:
        admin.execute("CREATE DATABASE leaderboard")
    url = own_postgres.url("leaderboard")
    env = {"DATABASE_URL": url, "MEDIA_ROOT": str(workers.media_root), "REDIS_URL": workers.broker_url,
           "CELERY_QUEUE": workers.queue, "VAR_DIR": str(tmp_path / "var")}
    manage("migrate", "--verbosity", "0", env=env)
    (tmp_path / "roster.csv").write_text(ROSTER)
    manage("import_people", str(tmp_path / "roster.csv"), env=env)
    rows = [f"2026-{month:02d}-{day:02d},{email},mistral,model-{n},1,2,0,0,1,0.01\n"
            for month in range(1, 12) for day in range(1, 29) for email in PEOPLE for n in range(40)]
    (tmp_path / "big.csv").write_text(HEADER + "".join(rows))
    workers.start(beat=True, DATABASE_URL=url, IMPORT_BATCH_SIZE=5)
    manage("shell", "-c", QUEUE_AN_UPLOAD.format(path=tmp_path / "big.csv"), env=env)

    def status():
        return query(url, "SELECT status, attempts FROM leaderboard_usageexport") or ("restarting", None)

    wait_for(lambda: status()[0] == "running", timeout=60, workers=workers, what="the import to start")
    own_postgres.restart()
    restarted = time.monotonic()

    wait_for(lambda: status()[0] == "succeeded", timeout=120, workers=workers, what="the import after the restart")
    print(f"import finished {time.monotonic() - restarted:.1f} s after PostgreSQL restarted, "
          f"attempts: {status()[1]}")
    assert query(url, "SELECT count(*) FROM leaderboard_usagerecord") == (len(rows),)
    assert query(url, "SELECT sum(total_tokens), sum(requests) FROM leaderboard_personday") == (3 * len(rows), len(rows))


# --- The same work twice ------------------------------------------------------------------------


def test_the_same_import_sent_twice_to_two_workers_at_once_is_done_once(workers, cast):
    export, rows = big_export(models=10)
    workers.start(IMPORT_BATCH_SIZE=50)
    workers.start(IMPORT_BATCH_SIZE=50)
    send(export, workers.broker_url, workers.queue)
    send(export, workers.broker_url, workers.queue)

    wait_for(lambda: row(export).status == "succeeded", timeout=90, workers=workers, what="the import")
    time.sleep(2)  # the second delivery, refused by the claim
    assert row(export).attempts == 1
    assert_counted_once(rows)


# --- A flag evaluation cut short ----------------------------------------------------------------


def company_with_a_month_of_days(people: int = 5000) -> None:
    """Enough people that an evaluation takes a second or two: long enough to be killed midway."""
    from datetime import timedelta

    from accounts.models import Person
    from leaderboard.models import PersonDay

    today = timezone.now().date()
    Person.objects.bulk_create(Person(email=f"p{n}@bench.example", name=f"P {n}", start_date=today.replace(year=2024))
                               for n in range(people))
    ids = list(Person.objects.values_list("pk", flat=True))
    PersonDay.objects.bulk_create(
        (PersonDay(person_id=pk, day=today - timedelta(days=day), total_tokens=10, cost_usd=1 if pk % 3 else 0,
                   active=bool(pk % 3)) for pk in ids for day in range(1, 41)),
        batch_size=5000,
    )
    UsageExport.objects.create(file="x", original_name="x", size=1, sha256="x", status="succeeded",
                               vendors=["anthropic"], first_day=today - timedelta(days=40),
                               last_day=today - timedelta(days=1))


def test_a_flag_evaluation_killed_midway_writes_nothing_and_the_next_delivery_does_it_once(workers):
    from leaderboard.models import Flag, FlagEvaluation, TaskRun

    company_with_a_month_of_days()
    first = workers.start()
    with celery_app.connection_for_write(workers.broker_url) as broker:
        tasks.evaluate_flags.apply_async(connection=broker, queue=workers.queue)
    wait_for(lambda: TaskRun.objects.filter(name="leaderboard.tasks.evaluate_flags").exists(),
             timeout=60, workers=workers, what="the evaluation to start")
    workers.kill(first)
    assert not FlagEvaluation.objects.exists() and not Flag.objects.exists()  # one transaction, rolled back

    # Redis hands the unacknowledged message to the next worker that starts after its visibility timeout.
    time.sleep(5)
    workers.start(CELERY_VISIBILITY_TIMEOUT=4)
    wait_for(lambda: FlagEvaluation.objects.exists(), timeout=90, workers=workers, what="the redelivered evaluation")
    time.sleep(1)
    assert FlagEvaluation.objects.count() == 1
    flagged = Flag.objects.values_list("person_id", "rule__kind")
    assert flagged and len(flagged) == len(set(flagged))
