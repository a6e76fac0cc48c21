"""Celery tasks of the flag workflow: each takes ids (or a date), calls one domain function, and
retries only transient errors, with a bound. Their command twins: ``evaluate_flags`` and ``flags``."""

from datetime import date

from celery import shared_task
from django.utils import timezone

from . import flags, notifications
from .imports import TRANSIENT_ERRORS

TRANSIENT = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task(**TRANSIENT)
def evaluate_flags(as_of: str | None = None, person_ids: list[int] | None = None) -> None:
    """Daily from beat (everyone), and after an import (the people it touched), as of today."""
    day = date.fromisoformat(as_of) if as_of else timezone.now().date()
    flags.evaluate(as_of=day, people=person_ids, trigger="beat" if person_ids is None else "import")


@shared_task(
    autoretry_for=(*TRANSIENT_ERRORS, notifications.TransientSendError),
    retry_backoff=30, retry_backoff_max=1800, retry_jitter=True, max_retries=notifications.MAX_ATTEMPTS,
)
def send_notification(notification_id: int) -> None:
    notifications.send(notification_id)


@shared_task(**TRANSIENT)
def send_digests() -> None:
    """Daily: queue the digests due today and send them (and anything a broker outage left pending)."""
    for notification_id in notifications.queue_digests(today=timezone.now().date()):
        send_notification.delay(notification_id)
