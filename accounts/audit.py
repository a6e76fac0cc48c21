"""The audit trail: every admin change that rewrites what people see (budgets backdated, people
deactivated, identities mapped; later rules, exemptions, roles, settings, connections, tokens), who
made it, from where, and the values before and after.

Events are append-only (``AuditEvent`` refuses updates and deletions, the Django admin shows them
read-only). ``record`` takes any model instance as the target and keeps its type, id and how it read
at the time, so this module needs to know nothing of the apps whose changes it records.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
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
    """Where a request came from, as the audit trail and the login lockouts (django-axes) know it:
    REMOTE_ADDR; behind ``PROXY_COUNT`` proxies of ours, the X-Forwarded-For entry the outermost of
    them appended. Never an entry further left, which any client can write."""
    address = request.META.get("REMOTE_ADDR") or None
    hops = settings.PROXY_COUNT
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if hops and len(forwarded) >= hops:
        try:
            return str(ipaddress.ip_address(forwarded[-hops]))
        except ValueError:
            return address
    return address


# --- The database's own guard -------------------------------------------------------------------
#
# The model refuses updates and deletions; these triggers make the database refuse them too, whatever
# the client (a shell, a raw query, another app on the same database). Installed by migration 0004;
# a migration that alters the audit table must end with RunPython(audit.install_guard) again, since
# SQLite rebuilds the table and drops its triggers (tests/test_audit.py fails otherwise).

_REFUSAL = "The audit trail is append-only: its events are never changed or deleted"
_SQLITE_GUARD = [
    f"CREATE TRIGGER IF NOT EXISTS accounts_auditevent_no_update BEFORE UPDATE ON accounts_auditevent "
    f"BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END",
    f"CREATE TRIGGER IF NOT EXISTS accounts_auditevent_no_delete BEFORE DELETE ON accounts_auditevent "
    f"BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END",
]
_POSTGRES_GUARD = [
    "CREATE OR REPLACE FUNCTION accounts_auditevent_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    f"$$ BEGIN RAISE EXCEPTION '{_REFUSAL}'; END $$",
    "DROP TRIGGER IF EXISTS accounts_auditevent_append_only ON accounts_auditevent",
    "CREATE TRIGGER accounts_auditevent_append_only BEFORE UPDATE OR DELETE ON accounts_auditevent "
    "FOR EACH ROW EXECUTE FUNCTION accounts_auditevent_append_only()",
    "DROP TRIGGER IF EXISTS accounts_auditevent_no_truncate ON accounts_auditevent",
    "CREATE TRIGGER accounts_auditevent_no_truncate BEFORE TRUNCATE ON accounts_auditevent "
    "FOR EACH STATEMENT EXECUTE FUNCTION accounts_auditevent_append_only()",
]
_REMOVE = {
    "sqlite": ["DROP TRIGGER IF EXISTS accounts_auditevent_no_update",
               "DROP TRIGGER IF EXISTS accounts_auditevent_no_delete"],
    "postgresql": ["DROP TRIGGER IF EXISTS accounts_auditevent_append_only ON accounts_auditevent",
                   "DROP TRIGGER IF EXISTS accounts_auditevent_no_truncate ON accounts_auditevent"],
}


def _run(connection, statements) -> None:
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def install_guard(apps=None, schema_editor=None, *, connection=None) -> None:
    """Create the triggers (a RunPython operation, or called with a connection)."""
    connection = connection or schema_editor.connection
    guard = {"sqlite": _SQLITE_GUARD, "postgresql": _POSTGRES_GUARD}.get(connection.vendor)
    if guard:
        _run(connection, guard)


def remove_guard(apps=None, schema_editor=None, *, connection=None) -> None:
    connection = connection or schema_editor.connection
    _run(connection, _REMOVE.get(connection.vendor, []))
