import os
import time

from celery import Celery
from celery.signals import task_failure, task_postrun, task_prerun, task_retry, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leaderboard.settings")

app = Celery("leaderboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _set_up_worker_process(**kwargs):
    # Each worker process, once forked and set up, before its first task (leaderboard/processes.py).
    from .processes import freeze_lifelong_objects

    freeze_lifelong_objects()


# --- What each task run did: a log line, and a row for the Health page (leaderboard/health.py) ------
# The app's modules are imported here on first use: this module is loaded with Django's settings,
# before the apps (and their models) are ready.

_running: dict[str, tuple[float, object]] = {}


def _record(what: str, task_id: str, **values) -> None:
    """Best effort: a database outage must not turn into a failed task of its own."""
    from . import health, logs

    try:
        getattr(health, what)(task_id=task_id, **values)
    except Exception:
        logs.tasks_log.warning("Could not record task %s (%s)", task_id, what, exc_info=True)


@task_prerun.connect
def _task_started(task_id=None, task=None, **kwargs):
    from . import logs

    _running[task_id] = (time.monotonic(), logs.bind(task_id=task_id, task=task.name))
    _record("task_started", task_id, name=task.name, worker=task.request.hostname or "")


@task_failure.connect
def _task_failed(task_id=None, exception=None, **kwargs):
    _record("task_finished", task_id, state="failed", error=f"{type(exception).__name__}: {exception}")


@task_retry.connect
def _task_retried(request=None, reason=None, **kwargs):
    _record("task_finished", request.id, state="retrying", error=str(reason))


@task_postrun.connect
def _task_finished(task_id=None, task=None, state=None, **kwargs):
    from . import logs

    started, token = _running.pop(task_id, (None, None))
    if state == "SUCCESS":
        _record("task_finished", task_id, state="succeeded")
    took = f"{(time.monotonic() - started) * 1000:.1f}" if started is not None else "-"
    logs.tasks_log.info(logs.pairs(state=(state or "").lower(), duration_ms=took))
    if token is not None:
        logs.unbind(token)
