"""How the service is doing: whether its database and broker answer (``/healthz``, for load
balancers), and what an operator reads on the Health page: the last successful import per source,
whether beat is ticking, the queue, what failed and why, how long tasks take.

Task runs are recorded by the worker (leaderboard/celery.py's signal handlers call ``task_started``
and ``task_finished``), one row per run, kept for ``KEEP_TASK_RUNS``.
"""

from __future__ import annotations

import logging
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import kombu
from django.conf import settings
from django.db import connection
from django.db.models import Max
from django.utils import timezone

from .ingestion import FORMATS
from .models import Connection, IngestToken, Notification, TaskRun, UsageExport

log = logging.getLogger(__name__)

# How long a check may wait for the broker before calling it down: a load balancer asks often.
BROKER_TIMEOUT_SECONDS = 2
KEEP_TASK_RUNS = timedelta(days=7)
# The beat-scheduled task that runs most often: when it has not run for this long, beat (or every
# worker) is down.
BEAT_PULSE_TASK = "leaderboard.tasks.sweep_imports"
BEAT_SILENT_AFTER = timedelta(minutes=2)
RECENT = timedelta(hours=24)


# --- Liveness -----------------------------------------------------------------------------------


def database_answers() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:
        return False, f"{type(error).__name__}: {error}"
    return True, "ok"


def broker_answers() -> tuple[bool, str]:
    """A round trip to the broker (the default queue's length), within a couple of seconds."""
    try:
        queue_lengths()
    except Exception as error:
        return False, f"{type(error).__name__}: {error}"
    return True, "ok"


def queue_lengths() -> dict[str, int]:
    """Messages waiting in each queue the workers read."""
    routes = getattr(settings, "CELERY_TASK_ROUTES", None) or {}
    names = sorted({settings.CELERY_TASK_DEFAULT_QUEUE, *(route["queue"] for route in routes.values())})
    options = {**getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}),
               "socket_connect_timeout": BROKER_TIMEOUT_SECONDS, "socket_timeout": BROKER_TIMEOUT_SECONDS}
    with kombu.Connection(settings.CELERY_BROKER_URL, transport_options=options) as broker:
        broker.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)
        channel = broker.default_channel
        found = {}
        for name in names:
            try:
                found[name] = channel.queue_declare(queue=name, passive=True).message_count
            except channel.connection.channel_errors:
                found[name] = 0  # never declared: nothing was ever sent to it
        return found


# --- Task runs ----------------------------------------------------------------------------------


def task_started(*, task_id: str, name: str, worker: str) -> None:
    TaskRun.objects.update_or_create(
        task_id=task_id,
        defaults={"name": name, "worker": worker, "state": TaskRun.State.RUNNING, "started_at": timezone.now(),
                  "finished_at": None, "duration": None, "error": ""},
    )


def task_finished(*, task_id: str, state: str, error: str = "") -> None:
    now = timezone.now()
    run = TaskRun.objects.filter(task_id=task_id).first()
    if run is None:
        return
    run.state, run.finished_at, run.error = state, now, error[:2000]
    run.duration = (now - run.started_at).total_seconds()
    run.save(update_fields=["state", "finished_at", "duration", "error"])


def forget_old_task_runs(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    deleted, _ = TaskRun.objects.filter(started_at__lt=now - KEEP_TASK_RUNS).delete()
    return deleted


# --- The Health page ----------------------------------------------------------------------------


@dataclass
class TaskStats:
    name: str
    runs: int
    failed: int
    median: float | None
    slowest: float | None

    @property
    def short_name(self) -> str:
        return self.name.rsplit(".", 1)[-1].replace("_", " ")


@dataclass
class Overview:
    database: tuple[bool, str]
    broker: tuple[bool, str]
    queues: dict[str, int]
    beat_last: datetime | None
    beat_ticking: bool
    last_imports: list[tuple[str, datetime]]
    last_syncs: list[tuple[str, datetime | None, str]]
    last_telemetry: list[tuple[str, datetime | None]]
    tasks: list[TaskStats]
    failures: list[tuple[datetime, str, str]] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return self.database[0] and self.broker[0] and self.beat_ticking


def overview(*, now: datetime | None = None) -> Overview:
    now = now or timezone.now()
    broker = broker_answers()
    try:
        queues = queue_lengths() if broker[0] else {}
    except Exception:
        queues = {}
    beat_last = TaskRun.objects.filter(name=BEAT_PULSE_TASK).aggregate(last=Max("started_at"))["last"]
    by_format = (
        UsageExport.objects.filter(status=UsageExport.Status.SUCCEEDED)
        .exclude(origin=UsageExport.Origin.TELEMETRY).order_by()
        .values_list("format").annotate(last=Max("finished_at"))
    )
    last_imports = sorted(
        ((FORMATS[name].label if name in FORMATS else name or "unknown", last) for name, last in by_format if last),
        key=lambda item: item[1], reverse=True,
    )
    last_syncs = list(Connection.objects.order_by("name").values_list("name", "last_success_at", "last_error"))
    # Agents send telemetry under a token each: a token that went quiet is a fleet that stopped sending.
    last_telemetry = list(IngestToken.objects.live().order_by("name").values_list("name", "last_used_at"))
    runs: dict[str, list[TaskRun]] = defaultdict(list)
    for run in TaskRun.objects.filter(started_at__gte=now - RECENT).only("name", "state", "duration"):
        runs[run.name].append(run)
    tasks = []
    for name, items in sorted(runs.items()):
        durations = [run.duration for run in items if run.duration is not None]
        tasks.append(TaskStats(name, len(items), sum(run.state == TaskRun.State.FAILED for run in items),
                               statistics.median(durations) if durations else None, max(durations, default=None)))
    failures = [(run.finished_at or run.started_at, run.name, run.error)
                for run in TaskRun.objects.filter(state=TaskRun.State.FAILED, started_at__gte=now - RECENT)[:20]]
    failures += [(export.finished_at, f"import #{export.pk} {export.original_name}", export.failure)
                 for export in UsageExport.objects.filter(status=UsageExport.Status.FAILED,
                                                          finished_at__gte=now - RECENT)[:20]]
    failures += [(note.created_at, f"{note.get_channel_display()} notification {note.key}", note.error)
                 for note in Notification.objects.filter(status=Notification.Status.FAILED,
                                                         created_at__gte=now - RECENT)[:20]]
    failures.sort(key=lambda item: item[0], reverse=True)
    return Overview(
        database=database_answers(), broker=broker, queues=queues, beat_last=beat_last,
        beat_ticking=beat_last is not None and now - beat_last <= BEAT_SILENT_AFTER,
        last_imports=last_imports, last_syncs=last_syncs,
        last_telemetry=last_telemetry, tasks=tasks, failures=failures[:30],
    )
