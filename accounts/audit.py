"""The audit trail: every admin change that rewrites what people see (budgets backdated, people
deactivated, identities mapped; later rules, exemptions, roles, settings, connections, tokens), who
made it, from where, and the values before and after.

Events are append-only (``AuditEvent`` refuses updates and deletions, the Django admin shows them
read-only). ``record`` takes any model instance as the target and keeps its type, id and how it read
at the time, so this module needs to know nothing of the apps whose changes it records.
"""

from __future__ import annotations

from typing import Any

from django.db import models, transaction

from .models import AuditEvent, Person


def record(*, actor: Person | None, action: str, target: models.Model, before: Any = None, after: Any = None,
           address: str | None = None) -> AuditEvent:
    """Write one event. ``action`` reads "target.verb" ("person.deactivate"); ``before`` and ``after``
    are JSON-able values (dates and decimals too); ``address`` is the request's client address.
    Called inside the writer's own transaction: the event exists exactly when the change does."""
    meta = target._meta
    with transaction.atomic():
        return AuditEvent.objects.create(
            actor=actor if actor is not None and actor.pk else None,
            action=action,
            target_type=f"{meta.app_label}.{meta.model_name}",
            target_id="" if target.pk is None else str(target.pk),
            target_label=str(target)[:255],
            before=before,
            after=after,
            address=address or None,
        )


def client_address(request) -> str | None:
    """Where a request came from, as the audit trail keeps it: REMOTE_ADDR, never X-Forwarded-For,
    which any client can write."""
    return request.META.get("REMOTE_ADDR") or None
