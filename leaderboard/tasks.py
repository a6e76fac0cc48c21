"""Celery tasks: each takes ids, calls one domain function, and retries only transient errors."""

from celery import shared_task

from . import boards, imports

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
