"""Real Celery worker processes for tests: started against the real Redis broker and the test
database, each in its own process group so that a test can kill one like a machine dying."""

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
from django.db import connection

from leaderboard import celery_app

ROOT = Path(__file__).resolve().parent.parent


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
    _route_to(queue)
    yield url, queue
    _route_to(previous)
    redis.Redis.from_url(url).delete(queue)


def _route_to(queue: str) -> None:
    """Send this process's tasks to ``queue`` from now on. Celery reads the setting under the name the
    app was configured with (the CELERY_ namespace), and keeps the routing it worked out from the
    first message it sent."""
    celery_app.conf.CELERY_TASK_DEFAULT_QUEUE = queue
    for worked_out in ("queues", "default_queue", "router"):
        celery_app.amqp.__dict__.pop(worked_out, None)


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

    def start(self, *, beat: bool = False, quiet: bool = True, **env) -> subprocess.Popen:
        """A worker; with ``beat`` it runs the periodic tasks too (as ``make run``'s beat does).
        ``quiet`` leaves out the workers' chatter over the broker (gossip, mingle, heartbeats) that
        tests don't need; without it the worker runs as ``make run`` starts one."""
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
             *(["--without-gossip", "--without-mingle", "--without-heartbeat"] if quiet else []),
             *(["--beat", "--schedule", str(self.log_dir / f"beat-{len(self.running)}")] if beat else [])],
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
