"""Writes on people that are not the roster import: deactivation, never deletion.

A person who leaves is deactivated (status terminated, no login) and keeps their history: usage,
flags, budgets. ``Person.delete()`` refuses (``PersonNotDeletable``); this is the way out instead.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from . import audit
from .models import Person


def deactivate(*, people: Iterable[Person], by: Person | None, address: str | None = None) -> list[Person]:
    """Terminate and lock out these people, each deactivation in the audit trail; returns those it
    changed (someone already terminated and locked out is left as they are)."""
    changed = []
    with transaction.atomic():
        for person in Person.objects.select_for_update().filter(pk__in=[p.pk for p in people]).order_by("pk"):
            if person.status == Person.Status.TERMINATED and not person.is_active:
                continue
            before = {"status": person.status, "is_active": person.is_active}
            person.status, person.is_active = Person.Status.TERMINATED, False
            person.save(update_fields=["status", "is_active"])
            audit.record(actor=by, action="person.deactivate", target=person, before=before,
                         after={"status": person.status, "is_active": False}, address=address)
            changed.append(person)
    return changed
