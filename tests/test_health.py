"""How the service says how it is: /healthz for load balancers, the Health page for admins, and the
structured log lines that follow one request or task."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains

from leaderboard import health
from leaderboard.connections import setup
from leaderboard.models import Connection, IngestToken, TaskRun, UsageExport
from leaderboard.telemetry import tokens


def test_healthz_answers_without_a_login_when_the_database_and_broker_answer(client, db, settings):
    settings.CELERY_BROKER_URL = settings.REDIS_URL or "memory://"
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.celery
def test_healthz_says_503_at_once_when_the_broker_is_stopped(client, db, settings, own_redis):
    settings.CELERY_BROKER_URL = own_redis.url
    assert client.get("/healthz").status_code == 200
    own_redis.stop()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "ok" and "Connection" in response.json()["broker"]


def run(name: str, *, state: str = "succeeded", ago: timedelta = timedelta(minutes=1), duration: float = 0.5,
        error: str = "") -> TaskRun:
    started = timezone.now() - ago
    return TaskRun.objects.create(task_id=f"{name}-{started.timestamp()}-{state}", name=name, state=state,
                                  started_at=started, finished_at=started + timedelta(seconds=duration),
                                  duration=duration, error=error)


def test_the_health_page_is_for_admins_only(cast, login):
    assert login(cast.erin).get(reverse("health")).status_code == 404
    assert login(cast.maria).get(reverse("health")).status_code == 404


def test_the_health_page_says_what_ran_how_long_it_took_and_what_failed(cast, login, settings):
    settings.CELERY_BROKER_URL = settings.REDIS_URL or "memory://"
    run(health.BEAT_PULSE_TASK, ago=timedelta(seconds=20), duration=0.05)
    run("leaderboard.tasks.import_export", duration=12.5)
    run("leaderboard.tasks.import_export", state="failed", error="OperationalError: the database went away")
    UsageExport.objects.create(file="x", original_name="broken.json", size=1, sha256="a", origin="upload",
                               status="failed", failure="broken.json line 3: malformed JSON",
                               finished_at=timezone.now())

    connection = setup.create_connection(vendor="cursor", name="Cursor admin", credential="key_abc123", by=cast.ada)
    Connection.objects.filter(pk=connection.pk).update(last_error="the key was refused (401)")

    page = login(cast.ada).get(reverse("health"))

    assertContains(page, "Ticking")
    assertContains(page, "Cursor admin")
    assertContains(page, "the key was refused (401)")
    assertContains(page, "import export")
    assertContains(page, "OperationalError: the database went away")
    assertContains(page, "broken.json line 3: malformed JSON")
    overview = page.context["health"]
    imports = next(task for task in overview.tasks if task.name == "leaderboard.tasks.import_export")
    assert (imports.runs, imports.failed, imports.slowest) == (2, 1, 12.5)


def test_the_health_page_tells_file_imports_from_telemetry_and_says_when_each_token_last_sent(cast, login):
    UsageExport.objects.create(file="x", original_name="otlp", size=1, sha256="t", origin="telemetry",
                               format="otlp_metrics", status="succeeded", finished_at=timezone.now())
    laptops, _ = tokens.create_token(name="Laptops", by=cast.ada)
    IngestToken.objects.filter(pk=laptops.pk).update(last_used_at=timezone.now() - timedelta(minutes=3))
    tokens.create_token(name="CI runners", by=cast.ada)

    overview = login(cast.ada).get(reverse("health")).context["health"]

    assert overview.last_imports == []
    assert [name for name, _ in overview.last_telemetry] == ["CI runners", "Laptops"]
    assert overview.last_telemetry[0][1] is None and overview.last_telemetry[1][1] is not None


def test_beat_shows_as_silent_when_no_periodic_task_ran_for_a_while(db):
    run(health.BEAT_PULSE_TASK, ago=timedelta(minutes=10))
    assert not health.overview().beat_ticking


def test_a_week_of_task_runs_is_kept(db):
    old, recent = run("x", ago=timedelta(days=8)), run("x", ago=timedelta(days=6))
    assert health.forget_old_task_runs() == 1
    assert list(TaskRun.objects.all()) == [recent] and old.pk is not None


def test_each_request_logs_one_line_with_its_id_and_sends_the_id_back(client, cast, caplog):
    client.force_login(cast.erin)
    with caplog.at_level(logging.INFO, logger="leaderboard.requests"):
        response = client.get("/me/", HTTP_X_REQUEST_ID="lb-1234")
        generated = client.get("/me/", HTTP_X_REQUEST_ID="not a sane id <script>")
    lines = [record for record in caplog.records if record.name == "leaderboard.requests"]
    assert len(lines) == 2
    assert response["X-Request-ID"] == "lb-1234" and lines[0].context == "request_id=lb-1234"
    assert f"user={cast.erin.pk}" in lines[0].getMessage() and "status=200" in lines[0].getMessage()
    assert generated["X-Request-ID"] != "not a sane id <script>" and len(generated["X-Request-ID"]) == 16
