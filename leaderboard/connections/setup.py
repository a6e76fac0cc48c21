"""What an admin changes about connections: adding one, editing it, replacing its credential, and
rotating the key every credential is encrypted under. Each change is in the audit trail, without
the credential (its last four characters at most, as the pages show them)."""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction

from accounts import audit, encryption
from accounts.models import Person

from ..models import Connection
from . import get_vendor

EDITABLE = ("name", "base_url", "enabled", "sync_interval", "repull_days", "options")


class ConnectionInvalid(ValueError):
    """What is wrong with a connection's settings, said for the field it is about."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


def public(connection: Connection) -> dict:
    """The connection as the audit trail and the pages may show it: everything but the credential."""
    return {
        "vendor": connection.vendor, "name": connection.name, "base_url": connection.base_url,
        "options": connection.options, "enabled": connection.enabled,
        "sync_interval_minutes": connection.sync_interval_minutes,
        "repull_days": connection.repull_days, "credential_hint": connection.credential_hint,
    }


def clean_options(vendor_name: str, *, start: date | None = None, organization: str = "", enterprise: str = "",
                  group_by: list[str] | None = None) -> dict:
    vendor = get_vendor(vendor_name)
    options: dict = {}
    if start is not None:
        if start < vendor.earliest_day:
            raise ConnectionInvalid("start", f"{vendor.label} has no data before {vendor.earliest_day:%Y-%m-%d}")
        options["start"] = start.isoformat()
    organization, enterprise = organization.strip(), enterprise.strip()
    if organization:
        options["organization"] = organization
    if enterprise:
        options["enterprise"] = enterprise
    if vendor.needs_organization and not (organization or enterprise):
        raise ConnectionInvalid("organization", f"{vendor.label} needs the organisation (or enterprise) to read")
    if group_by:
        options["group_by"] = list(group_by)
    return options


def _check_credential(credential: str) -> str:
    credential = credential.strip()
    if not credential:
        raise ConnectionInvalid("credential", "the credential is empty")
    if any(c.isspace() for c in credential):
        raise ConnectionInvalid("credential", "the credential has spaces or line breaks in it; paste the key alone")
    return credential


def create_connection(*, vendor: str, name: str, credential: str, base_url: str = "", options: dict | None = None,
                      sync_interval: timedelta | None = None, repull_days: int | None = None,
                      by: Person | None = None, address: str | None = None) -> Connection:
    known = get_vendor(vendor)
    name = name.strip()
    if not name:
        raise ConnectionInvalid("name", "the name is empty")
    if Connection.objects.filter(name__iexact=name).exists():
        raise ConnectionInvalid("name", f"a connection named '{name}' exists already")
    credential = _check_credential(credential)
    with transaction.atomic():
        connection = Connection.objects.create(
            vendor=known.name, name=name, base_url=(base_url or known.base_url).rstrip("/"),
            credential=encryption.encrypt(credential), credential_hint=encryption.hint(credential),
            options=options or {}, sync_interval=sync_interval or timedelta(hours=1), repull_days=repull_days,
            created_by=by if by is not None and by.pk else None,
        )
        audit.record(actor=by, action="connection.create", target=connection, after=public(connection), address=address)
    return connection


def update_connection(*, connection: Connection, changes: dict, credential: str = "", by: Person | None = None,
                      address: str | None = None) -> Connection:
    """Apply ``changes`` (fields of EDITABLE) and, when given, a new credential. A connection stopped
    because its credential was refused starts again once the credential changes."""
    before = public(connection)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ConnectionInvalid(sorted(unknown)[0], "cannot be changed")
    if "name" in changes and Connection.objects.filter(name__iexact=changes["name"]).exclude(pk=connection.pk).exists():
        raise ConnectionInvalid("name", f"a connection named '{changes['name']}' exists already")
    with transaction.atomic():
        for field, value in changes.items():
            setattr(connection, field, value)
        if credential:
            credential = _check_credential(credential)
            connection.credential = encryption.encrypt(credential)
            connection.credential_hint = encryption.hint(credential)
            if connection.status == Connection.Status.STOPPED:
                connection.status = Connection.Status.NEW
                connection.next_sync_at = None
            audit.record(actor=by, action="connection.credential_replace", target=connection,
                         before={"credential_hint": before["credential_hint"]},
                         after={"credential_hint": connection.credential_hint}, address=address)
        connection.save()
        after = public(connection)
        if {k: v for k, v in before.items() if k != "credential_hint"} != {
            k: v for k, v in after.items() if k != "credential_hint"
        }:
            audit.record(actor=by, action="connection.edit", target=connection, before=before, after=after,
                         address=address)
    return connection


def rotate_credentials() -> tuple[int, list[str]]:
    """Encrypt every stored credential again under the first of CREDENTIAL_KEYS. Returns how many were
    re-encrypted and the names of connections none of the keys opens (left as they are)."""
    rotated, unreadable = 0, []
    for connection in Connection.objects.only("pk", "name", "credential"):
        try:
            token = encryption.rotate(connection.credential)
        except encryption.SecretUnreadable:
            unreadable.append(connection.name)
            continue
        Connection.objects.filter(pk=connection.pk, credential=connection.credential).update(credential=token)
        rotated += 1
    return rotated, unreadable
