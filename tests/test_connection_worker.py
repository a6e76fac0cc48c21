"""A connection's sync on a real Celery worker against Redis: the task path "Sync now" and beat use."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.fernet import Fernet

from leaderboard import tasks
from leaderboard.connections import setup, sync
from leaderboard.models import Connection, PersonDay, SyncRun
from tests.fake_providers import KEYS
from tests.workers import wait_for

pytestmark = pytest.mark.celery


def test_a_worker_runs_one_sync_however_many_messages_ask(workers, providers, cast, settings):
    key = Fernet.generate_key().decode()
    settings.CREDENTIAL_KEYS = [key]  # the worker is given the same key, as production's would be
    providers.seed([sync.today() - timedelta(days=n) for n in (3, 2, 1)])
    connection = setup.create_connection(
        vendor="openai", name="OpenAI", credential=KEYS["openai"], base_url=providers.base_url("openai"),
        options=setup.clean_options("openai", start=sync.today() - timedelta(days=3)),
    )
    # Another connection's sync, queued last: once it has run, the messages before it have been handled
    # (one worker process takes one message at a time, in order).
    marker = setup.create_connection(vendor="cursor", name="Cursor", credential=KEYS["cursor"],
                                     base_url=providers.base_url("cursor"))
    workers.start(CREDENTIAL_KEYS=key, CONNECTION_BACKOFF_SECONDS="0.05")

    assert sync.request_sync(connection)
    tasks.sync_connection.delay(connection.pk)
    tasks.sync_connection.delay(connection.pk)  # "Sync now" pressed twice, or beat at the same moment
    tasks.sync_connection.delay(marker.pk)

    wait_for(lambda: SyncRun.objects.filter(connection=marker, status=SyncRun.Status.SUCCEEDED).exists(), timeout=120,
             workers=workers, what="both syncs")
    run = SyncRun.objects.get(connection=connection)
    assert run.trigger == SyncRun.Trigger.MANUAL and run.exports_new >= 3
    assert PersonDay.objects.filter(person=cast.erin).count() == 3
    connection.refresh_from_db()
    assert connection.status == Connection.Status.OK and not connection.is_running
    assert KEYS["openai"] not in workers.logs()
