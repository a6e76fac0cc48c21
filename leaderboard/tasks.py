"""Celery tasks: each takes ids, calls one domain function, and retries only transient errors."""

import logging

from celery import shared_task

from . import boards, imports

log = logging.getLogger(__name__)

# Database outages, lock timeouts, deadlocks and serialization failures pass; bugs and bad files
# do not (those end as a failed export with the reason on its row).
TRANSIENT = {
    "autoretry_for": imports.TRANSIENT_ERRORS,
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(**TRANSIENT)
def import_export(export_id: int) -> None:
    imports.process_export(export_id)


@shared_task
def sweep_imports() -> None:
    """Re-send imports whose message was lost or whose worker died (see imports.sweep)."""
    for export_id in imports.sweep():
        import_export.delay(export_id)


@shared_task
def warm_boards() -> None:
    """Compute the common boards after an import, so that the first visitor doesn't wait for them."""
    boards.warm_cache()


def after_usage_changed(people: set[int]) -> None:
    """What follows an import or an identity changing hands, once committed: warm the boards and
    re-evaluate the flags of the people whose numbers moved."""
    from .review_tasks import evaluate_flags

    try:
        warm_boards.delay()
        evaluate_flags.delay(person_ids=sorted(people))
    except Exception:
        # The broker is down: boards compute on first view and the daily evaluation catches up.
        log.exception("Could not enqueue the work that follows a change of usage")
