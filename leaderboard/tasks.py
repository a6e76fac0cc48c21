"""Celery tasks: each takes ids, calls one domain function, and retries only transient errors, with a
bound. This is also where work is queued: views, commands and tasks call ``queue_import`` and
``after_usage_changed`` once a domain function has said what changed; domain code never enqueues.
"""

import functools
import logging
from collections.abc import Iterable
from datetime import date

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import cache, flags, health, imports, notifications
from .boards import warming
from .connections import sync as connection_sync
from .models import UsageExport
from .telemetry import folding

log = logging.getLogger(__name__)

# One retry policy: database outages, lock timeouts, deadlocks and serialization failures pass;
# bugs and bad files do not (those end as a failed export with the reason on its row).
TRANSIENT = {
    "autoretry_for": imports.TRANSIENT_ERRORS,
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 8,
}


def send(task, *args, **kwargs) -> None:
    """Queue ``task``. A broker outage is logged, never raised into the page or the import that
    asked: the rows still say what is to be done, and the sweeps send it again."""
    try:
        task.delay(*args, **kwargs)
    except Exception:
        log.exception("Could not queue %s%s; it is left to the next sweep", task.name, args)


def send_after_commit(task, *args, **kwargs) -> None:
    """Queue ``task`` once the caller's transaction has committed (at once outside one), so that the
    worker finds the rows it is given."""
    transaction.on_commit(functools.partial(send, task, *args, **kwargs))


def queue_import(export: UsageExport) -> None:
    if export.status == UsageExport.Status.QUEUED:
        if export.origin == UsageExport.Origin.TELEMETRY:
            send_after_commit(fold_telemetry)  # batches are folded in bulk, never one by one
        else:
            send_after_commit(import_export, export.pk)


def queue_telemetry_fold() -> None:
    """A telemetry batch was kept: fold it (and whatever else arrived) soon. Once per
    ``TELEMETRY_FOLD_EVERY`` seconds, however many batches arrive: each fold takes every batch waiting."""
    if cache.first_in("telemetry-fold", settings.TELEMETRY_FOLD_EVERY):
        send_after_commit(fold_telemetry)


def after_usage_changed(people: Iterable[int]) -> None:
    """What follows an import or an identity changing hands, once committed: warm the boards and
    re-evaluate the flags of the people whose numbers moved."""
    people = set(people)
    if people:
        send_after_commit(warm_boards)
        send_after_commit(evaluate_flags, person_ids=sorted(people))


def queue_sync(connection_id: int) -> None:
    """Run a connection's sync on a worker ("Sync now", once ``connection_sync.request_sync`` said yes)."""
    send_after_commit(sync_connection, connection_id)


def send_notifications(notification_ids: Iterable[int]) -> None:
    """Send notification rows already committed. Should the broker be down, a row stays pending and
    the next ``send_digests`` sends it."""
    for pk in notification_ids:
        send(send_notification, pk)


# --- Imports ------------------------------------------------------------------------------------


@shared_task(**TRANSIENT)
def import_export(export_id: int) -> None:
    processed = imports.process_export(export_id)
    if processed is not None:
        after_usage_changed(processed.people)


@shared_task
def sweep_imports() -> None:
    """Re-send imports whose message was lost or whose worker died (see imports.sweep)."""
    for export_id in imports.sweep():
        import_export.delay(export_id)


@shared_task(**TRANSIENT)
def fold_telemetry() -> None:
    """Fold the telemetry batches waiting into usage (command twin: ``fold_telemetry``); also every
    few seconds from beat, for batches whose message was lost."""
    folded = folding.fold_all(seconds=settings.TELEMETRY_FOLD_SECONDS)
    if folded.people:
        # Flags follow every fold (a runaway day shows while it happens); the boards are warmed at
        # most once a minute, not after every fold of a busy day.
        send_after_commit(evaluate_flags, person_ids=sorted(folded.people))
        if cache.first_in("warm-after-telemetry", 60):
            send_after_commit(warm_boards)


@shared_task
def warm_boards() -> None:
    """Compute the common boards after an import, so that the first visitor doesn't wait for them."""
    warming.warm_cache()


# --- Provider connections (their command twin: ``sync``) -----------------------------------------


@shared_task(bind=True, **TRANSIENT)
def sync_connection(self, connection_id: int) -> None:
    """Claims the connection (nothing happens if it is running elsewhere, or not due and not asked
    for), syncs it, and queues what follows for the people whose numbers moved. A provider's errors
    end the run with the reason on its row; only database outages are retried here, and the retry
    (the same task id) takes back the lease its first attempt could not give back."""
    outcome = connection_sync.run(connection_id, owner=self.request.id or "")
    if outcome is not None:
        after_usage_changed(outcome.people)


@shared_task
def sync_due_connections() -> None:
    """Every few minutes from beat: queue the connections whose interval has passed or that were asked for."""
    for connection_id in connection_sync.due():
        send(sync_connection, connection_id)


# --- Flags and notifications (their command twins: ``evaluate_flags`` and ``flags``) --------------


@shared_task(**TRANSIENT)
def evaluate_flags(as_of: str | None = None, person_ids: list[int] | None = None) -> None:
    """Daily from beat (everyone), and after an import (the people it touched), as of today."""
    day = date.fromisoformat(as_of) if as_of else timezone.now().date()
    result = flags.evaluate(as_of=day, people=person_ids, trigger="beat" if person_ids is None else "import")
    send_notifications(result.notifications)


@shared_task(
    autoretry_for=(*imports.TRANSIENT_ERRORS, notifications.TransientSendError),
    retry_backoff=30, retry_backoff_max=1800, retry_jitter=True, max_retries=notifications.MAX_ATTEMPTS,
)
def send_notification(notification_id: int) -> None:
    notifications.send(notification_id)


@shared_task(**TRANSIENT)
def send_digests() -> None:
    """Daily: queue the digests due today and send them (and anything a broker outage left pending)."""
    send_notifications(notifications.queue_digests(today=timezone.now().date()))


@shared_task
def forget_old_task_runs() -> None:
    """Daily: the Health page keeps a week of task runs."""
    health.forget_old_task_runs()
