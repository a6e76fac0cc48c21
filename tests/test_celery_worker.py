"""Real Celery worker processes against the real Redis broker: imports run in the background,
and a worker killed mid-import loses nothing and half-applies nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import Sum

from leaderboard import celery_app, imports
from leaderboard.models import PersonDay, UsageExport, UsageRecord

pytestmark = pytest.mark.celery

ROOT = Path(__file__).resolve().parent.parent
HEADER = "date,email,provider,model,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,requests,cost_usd\n"


@pytest.fixture
def broker():
    """The Redis broker the Makefile points the suite at; missing Redis fails in CI, skips elsewhere."""
    url = settings.REDIS_URL
    try:
        if not url:
            raise ConnectionError("REDIS_URL is not set (make test sets it)")
        redis.Redis.from_url(url).ping()
    except (ConnectionError, redis.exceptions.ConnectionError) as error:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is needed for the worker tests: {error}")
        pytest.skip(f"Redis is needed for the worker tests: {error}")
    queue = f"test-{uuid.uuid4().hex[:8]}"
    previous = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    yield url, queue
    celery_app.conf.task_default_queue = previous
    redis.Redis.from_url(url).delete(queue)


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Workers:
    """Starts worker processes (each in its own process group, so it can be killed whole)."""

    def __init__(self, broker_url, queue, media_root, log_dir):
        self.broker_url, self.queue, self.media_root, self.log_dir = broker_url, queue, media_root, log_dir
        self.running: list[subprocess.Popen] = []

    def start(self, **env) -> subprocess.Popen:
        environment = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "REDIS_URL": self.broker_url,
            "CELERY_QUEUE": self.queue,
            "MEDIA_ROOT": str(self.media_root),
            "DJANGO_SETTINGS_MODULE": "leaderboard.settings",
            **{key: str(value) for key, value in env.items()},
        }
        log = open(self.log_dir / f"worker-{len(self.running)}.log", "wb")  # noqa: SIM115 - lives as long as the worker
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "leaderboard", "worker", "--loglevel", "INFO",
             "--concurrency", "1", "--queues", self.queue, "--hostname", f"{uuid.uuid4().hex[:6]}@test",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.running.append(process)
        return process

    def kill(self, process: subprocess.Popen) -> None:
        """SIGKILL the worker and its pool children: no cleanup, no ack, like a machine dying."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)

    def logs(self) -> str:
        return "\n".join(path.read_text(errors="replace")[-3000:] for path in sorted(self.log_dir.glob("*.log")))


@pytest.fixture
def workers(broker, transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    (tmp_path / "logs").mkdir()
    pool = Workers(*broker, settings.MEDIA_ROOT, tmp_path / "logs")
    yield pool
    pool.stop_all()


def wait_for(condition, *, timeout: float, workers: Workers, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}\n--- worker logs ---\n{workers.logs()}")


def upload(content: bytes, name: str) -> UsageExport:
    """What the upload page does: keep the file and enqueue the import when the row commits."""
    with transaction.atomic():
        export, _ = imports.store_export(content=ContentFile(content), name=name, origin=UsageExport.Origin.UPLOAD)
    return export


def status_of(export: UsageExport) -> str:
    return UsageExport.objects.values_list("status", flat=True).get(pk=export.pk)


def test_it_imports_an_upload_in_a_worker_process(workers, cast):
    workers.start()
    export = upload((HEADER + "2026-10-01,erin@example.com,mistral,m,10,5,0,0,1,0.50\n").encode(), "usage.csv")

    wait_for(lambda: status_of(export) == "succeeded", timeout=60, workers=workers, what="the import")
    assert PersonDay.objects.get(person=cast.erin).total_tokens == 15


def test_it_finishes_an_import_whose_worker_was_killed_midway(workers, cast):
    people = ["erin@example.com", "sam@example.com", "lee@example.com", "maria@example.com"]
    rows = [f"2026-{month:02d}-{day:02d},{email},mistral,model-{n},1,2,0,0,1,0.01\n"
            for month in range(1, 13) for day in range(1, 29) for email in people for n in range(15)]
    content = (HEADER + "".join(rows)).encode()
    # Small batches make the import long enough to be caught in the middle.
    # A short lease stands in for the hour a real one lasts; it must be shorter than the visibility
    # timeout (as in production), so that the message comes back after the export is claimable.
    first = workers.start(IMPORT_BATCH_SIZE=20, IMPORT_LEASE_SECONDS=2)
    export = upload(content, "big.csv")

    wait_for(lambda: (cache.get(imports.progress_key(export.pk)) or {}).get("rows", 0) > 100,
             timeout=60, workers=workers, what="the import to get going")
    workers.kill(first)

    # Nothing of the interrupted attempt is visible: it was one transaction.
    assert status_of(export) == "running"
    assert not UsageRecord.objects.exists()

    # A new worker gets the message again once Redis's visibility timeout passes, and takes the
    # export over because the dead worker's lease has expired by then.
    workers.start(IMPORT_BATCH_SIZE=5000, CELERY_VISIBILITY_TIMEOUT=4)
    wait_for(lambda: status_of(export) == "succeeded", timeout=120, workers=workers, what="the redelivered import")

    export.refresh_from_db()
    assert export.attempts == 2
    assert UsageRecord.objects.count() == len(rows)
    totals = PersonDay.objects.aggregate(tokens=Sum("total_tokens"), requests=Sum("requests"))
    assert totals == {"tokens": 3 * len(rows), "requests": len(rows)}
