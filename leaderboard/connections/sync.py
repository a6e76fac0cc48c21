"""One sync of one connection, the same whether beat, "Sync now" or ``manage.py sync`` asked for it.

1. ``claim`` takes the connection's lease with a conditional UPDATE (free, enabled, and due or asked
   for): a connection never syncs twice at once, and a second request while one runs starts nothing.
2. The window: from the last UTC day held complete, less the vendor's re-pull window (providers
   revise recent days), to today; a first sync backfills from the connection's start day.
3. Identity lists first, then usage in chunks of whole UTC days, then the provider's cost report.
   Every answer is kept as a raw export (``imports.store_export``: the same storage, sha256 and
   history as an upload) and imported here, in order, through the same parsers, natural keys and
   precedence as a file (``imports.process_export``). In order and in this process because identity
   lists must land before the usage they name, and because the connection may only say a day is
   complete once that day's rows are in; queued, the imports could run in any order on any worker.
   An answer identical to one kept before is recognised by its sha256 and not imported again.
4. After each chunk the last complete day moves on, so a backfill that fails resumes where it got to.

A 401/403 stops the connection until its credential is replaced; any other failure is recorded and
the next run (the schedule's, or "Sync now") tries again. Domain code: it returns the people whose
numbers moved and the caller queues what follows.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db.models import Q
from django.utils import timezone

from accounts import encryption

from .. import imports
from ..models import Connection, SyncRun, UsageExport
from . import get_vendor
from .http import Client, CredentialRefused, NotFound, ProviderError, Unreachable, scrub
from .vendor import Fetched

log = logging.getLogger(__name__)

# A first sync with no start day set backfills this far.
DEFAULT_BACKFILL_DAYS = 30
# How often a running sync writes its counts and renews its lease (at most).
PROGRESS_SECONDS = 1.0


class SyncFailed(Exception):
    """The run cannot go on: an answer was refused by its parser, or the lease was lost."""


class LeaseLost(SyncFailed):
    pass


@dataclass
class Outcome:
    """How a run ended and whose numbers moved (the caller queues the boards and flags for them)."""

    run: SyncRun
    people: set[int] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return self.run.status == SyncRun.Status.SUCCEEDED


def today() -> date:
    return timezone.now().date()


# --- Which connections, and taking one --------------------------------------------------------


def _free(now) -> Q:
    return Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)


def _interrupted(now) -> Q:
    """A run that never gave its lease back and stopped renewing it: its worker died (SIGKILL, the
    machine gone), or lost the database and could not even record its end."""
    return ~Q(lease_owner="") & Q(lease_expires_at__lt=now)


def due(now=None) -> list[int]:
    """Connections whose sync is due (or asked for, or was cut short) and that nobody is running."""
    now = now or timezone.now()
    wanted = (Q(next_sync_at__isnull=True) | Q(next_sync_at__lte=now) | Q(sync_requested_at__isnull=False)
              | _interrupted(now))
    candidates = Connection.objects.filter(_free(now), wanted, enabled=True)
    # A refused credential stays refused until an admin replaces it (or asks for a sync anyway).
    candidates = candidates.exclude(Q(status=Connection.Status.STOPPED) & Q(sync_requested_at__isnull=True))
    return list(candidates.order_by("next_sync_at", "pk").values_list("pk", flat=True))


def request_sync(connection: Connection) -> bool:
    """"Sync now": mark the connection as asked for. False when a run holds it already (the caller
    then queues nothing, and says so)."""
    now = timezone.now()
    return bool(Connection.objects.filter(_free(now), pk=connection.pk).update(sync_requested_at=now))


def claim(connection_id: int, *, force: bool = False, owner: str = "") -> tuple[Connection, str, str] | None:
    """Take the connection's lease when it is free and the sync is due, asked for, ``force``d (the
    command), or was cut short. Returns (connection, owner token, trigger), or None when it is not this
    caller's to run.

    ``owner`` is the task's id: a task retried after losing its database finds its own lease still
    held (it could not give it back) and carries on at once instead of waiting for it to expire."""
    now = timezone.now()
    # A task id is a UUID: without its dashes it fits the column as our own tokens do.
    owner = owner.replace("-", "")[:32] or uuid.uuid4().hex
    free = Connection.objects.filter(_free(now) | Q(lease_owner=owner), pk=connection_id, enabled=True)
    take = {"lease_owner": owner, "lease_expires_at": now + settings.CONNECTION_LEASE, "last_attempt_at": now,
            "sync_requested_at": None}
    for trigger, condition in (
        (SyncRun.Trigger.COMMAND, Q() if force else None),
        (SyncRun.Trigger.MANUAL, Q(sync_requested_at__isnull=False)),
        (SyncRun.Trigger.SCHEDULE, (Q(next_sync_at__isnull=True) | Q(next_sync_at__lte=now))
         & ~Q(status=Connection.Status.STOPPED)),
        (None, Q(lease_owner=owner) | _interrupted(now)),
    ):
        if condition is not None and free.filter(condition).update(**take):
            return Connection.objects.get(pk=connection_id), owner, _close_interrupted(connection_id, trigger)
    return None


def _close_interrupted(connection_id: int, trigger: str | None) -> str:
    """The lease is ours: a run still marked running was cut short. Say so on its row, and carry on
    for what it was started for (its trigger, unless someone asked for this run)."""
    stale = list(SyncRun.objects.filter(connection_id=connection_id, status=SyncRun.Status.RUNNING))
    for run in stale:
        run.status, run.finished_at = SyncRun.Status.FAILED, timezone.now()
        run.error = "Cut short (its worker stopped, or lost the database); the next run carried on from where it got to."
        run.save(update_fields=["status", "finished_at", "error"])
    if stale and trigger in (None, SyncRun.Trigger.SCHEDULE):
        return stale[0].trigger
    return trigger or SyncRun.Trigger.SCHEDULE


def _release(connection: Connection, owner: str, **fields) -> None:
    fields.setdefault("next_sync_at", timezone.now() + connection.sync_interval)
    Connection.objects.filter(pk=connection.pk, lease_owner=owner).update(lease_owner="", lease_expires_at=None, **fields)


# --- The window -------------------------------------------------------------------------------


def repull_days(connection: Connection) -> int:
    return connection.repull_days if connection.repull_days is not None else get_vendor(connection.vendor).repull_days


def start_day(connection: Connection, on: date) -> date:
    configured = connection.options.get("start")
    return date.fromisoformat(configured) if configured else on - timedelta(days=DEFAULT_BACKFILL_DAYS)


def window(connection: Connection, on: date) -> tuple[date, date, bool]:
    """(first day, last day, backfill?) of the next run: whole UTC days up to and including today."""
    first = start_day(connection, on)
    if connection.complete_through is None:
        return min(first, on), on, True
    return min(max(first, connection.complete_through + timedelta(days=1 - repull_days(connection))), on), on, False


def chunks(start: date, end: date, size: int):
    while start <= end:
        last = min(end, start + timedelta(days=size - 1))
        yield start, last
        start = last + timedelta(days=1)


# --- Calling the provider ---------------------------------------------------------------------


def client_for(connection: Connection, *, on_call=None, retries: int | None = None) -> Client:
    secret = encryption.decrypt(connection.credential)
    vendor = get_vendor(connection.vendor)
    return Client(base_url=connection.base_url, secret=secret, on_call=on_call, retries=retries, **vendor.auth(secret))


def test_connection(connection: Connection) -> tuple[bool, str]:
    """One cheap authenticated call: (worked?, what it found or exactly why it failed)."""
    vendor = get_vendor(connection.vendor)
    try:
        with client_for(connection, retries=1) as client:
            return True, vendor.check(client, connection.options)
    except encryption.SecretUnreadable as error:
        return False, str(error)
    except CredentialRefused as error:
        return False, f"Wrong key or missing scope. {error}"
    except NotFound as error:
        return False, f"Wrong organisation, or an API this account does not have. {error}"
    except Unreachable as error:
        return False, f"Unreachable. {error}"
    except ProviderError as error:
        return False, f"Unexpected answer. {error}"


# --- Running ----------------------------------------------------------------------------------


class _Run:
    """The run in progress: its counts, written (and the lease renewed) at most every second."""

    def __init__(self, connection: Connection, owner: str, record: SyncRun):
        self.connection, self.owner, self.record = connection, owner, record
        self.client: Client | None = None
        self.people: set[int] = set()
        self.flushed = 0.0

    def on_call(self) -> None:
        if time.monotonic() - self.flushed >= PROGRESS_SECONDS:
            self.flush()

    def flush(self) -> None:
        self.flushed = time.monotonic()
        renewed = Connection.objects.filter(pk=self.connection.pk, lease_owner=self.owner).update(
            lease_expires_at=timezone.now() + settings.CONNECTION_LEASE
        )
        if not renewed:
            raise LeaseLost("another run took this connection over (this one's lease had expired)")
        if self.client is not None:
            self.record.requests, self.record.pages = self.client.requests, self.client.pages
        self.record.save(update_fields=[
            "requests", "pages", "exports_new", "exports_unchanged", "rows_read", "records_written", "days_done",
        ])

    def keep(self, fetched: Fetched) -> None:
        """Store the answer as an export of this run and import it now; SyncFailed if it is refused."""
        export, created = imports.store_export(
            content=ContentFile(fetched.content, name=fetched.name), name=fetched.name,
            origin=UsageExport.Origin.CONNECTION, requested_format=fetched.format, sync_run=self.record,
        )
        if not created and export.status == UsageExport.Status.SUCCEEDED:
            if not _superseded(export):
                self.record.exports_unchanged += 1
                return
            imports.reimport_export(export)
        if not created and export.status == UsageExport.Status.FAILED:
            imports.retry_export(export)  # the parser may have been fixed since
        processed = imports.process_export(export.pk)
        export.refresh_from_db()
        if export.status == UsageExport.Status.FAILED:
            raise SyncFailed(f"{fetched.name} (export #{export.pk}) was refused: {export.failure}")
        if processed is not None:
            self.people |= processed.people
        self.record.exports_new += 1
        self.record.rows_read += export.rows_read
        self.record.records_written += export.records_written


def _superseded(export: UsageExport) -> bool:
    """Whether a newer answer of the same kind, for days this one covers, has been imported since:
    then these same bytes, coming back, must be applied again to win back their rows."""
    newer = UsageExport.objects.filter(format=export.format, status=UsageExport.Status.SUCCEEDED,
                                       created_at__gt=export.created_at).exclude(pk=export.pk)
    if export.sync_run_id is not None:
        # Another connection's answers hold other keys (another organisation's): they replaced nothing.
        connection_id = SyncRun.objects.filter(pk=export.sync_run_id).values_list("connection_id", flat=True)
        newer = newer.filter(Q(sync_run__isnull=True) | Q(sync_run__connection_id__in=connection_id))
    if export.first_day is not None:
        newer = newer.filter(first_day__lte=export.last_day, last_day__gte=export.first_day)
    return newer.exists()


def run(connection_id: int, *, force: bool = False, on: date | None = None, owner: str = "") -> Outcome | None:
    """Claim the connection and sync it (None: not due, or someone else is running it). ``owner``: as
    ``claim`` says."""
    claimed = claim(connection_id, force=force, owner=owner)
    if claimed is None:
        return None
    connection, owner, trigger = claimed
    on = on or today()
    start, end, backfill = window(connection, on)
    record = SyncRun.objects.create(connection=connection, trigger=trigger, backfill=backfill, window_start=start,
                                    window_end=end, days_total=(end - start).days + 1)
    state = _Run(connection, owner, record)
    try:
        _fetch_all(state, start, end, on)
    except CredentialRefused as error:
        _finish(state, error=f"Stopped: {error}. Replace the credential to start again.",
                status=Connection.Status.STOPPED)
    except encryption.SecretUnreadable as error:
        _finish(state, error=str(error), status=Connection.Status.STOPPED)
    except (ProviderError, SyncFailed) as error:
        _finish(state, error=str(error), status=Connection.Status.FAILING)
    except Exception as error:
        if imports.is_transient(error):
            # The task tries again at once (tasks.TRANSIENT): leave the connection due, not an hour away.
            try:
                _finish(state, error=f"the database was unavailable ({type(error).__name__}); trying again",
                        status=Connection.Status.FAILING, next_sync_at=None)
            except Exception:
                log.warning("Could not record the end of sync run %s", record.pk, exc_info=True)
            raise
        log.exception("Sync of connection %s failed unexpectedly", connection.pk)
        _finish(state, error=f"internal error ({type(error).__name__})", status=Connection.Status.FAILING)
    else:
        _finish(state, error="", status=Connection.Status.OK)
    record.refresh_from_db()
    return Outcome(record, state.people)


def _fetch_all(state: _Run, start: date, end: date, on: date) -> None:
    connection = state.connection
    vendor = get_vendor(connection.vendor)
    with client_for(connection, on_call=state.on_call) as client:
        state.client = client
        for fetched in vendor.identities(client, connection.options):
            state.keep(fetched)
        for first, last in chunks(start, end, vendor.chunk_days):
            for fetched in vendor.usage(client, connection.options, first, last):
                state.keep(fetched)
            # Today is never complete; any earlier day fetched is, and is not asked for again
            # except within the re-pull window.
            complete = min(last, on - timedelta(days=1))
            if complete >= first:
                Connection.objects.filter(pk=connection.pk).filter(
                    Q(complete_through__isnull=True) | Q(complete_through__lt=complete)
                ).update(complete_through=complete)
            state.record.days_done += (last - first).days + 1
            state.flush()
        if vendor.costs is not None:
            for fetched in vendor.costs(client, connection.options, start, end):
                state.keep(fetched)
        state.flush()


def _finish(state: _Run, *, error: str, status: str, **later) -> None:
    record, now = state.record, timezone.now()
    secret = ""
    if state.client is not None:
        record.requests, record.pages, secret = state.client.requests, state.client.pages, state.client.secret
    record.status = SyncRun.Status.FAILED if error else SyncRun.Status.SUCCEEDED
    record.error = scrub(error, secret) if error else ""
    record.finished_at = now
    record.save()
    fields = {"status": status, "last_error": record.error, **later}
    if not error:
        fields["last_success_at"] = now
    _release(state.connection, state.owner, **fields)
    log.info("Sync of connection %s (run %s): %s, %s pages, %s rows", state.connection.pk, record.pk, record.status,
             record.pages, record.rows_read)


def latest_runs(connection_ids) -> dict[int, SyncRun]:
    """Each connection's most recent run, for the list page (a handful of connections: one query each)."""
    found = (SyncRun.objects.filter(connection_id=pk).first() for pk in connection_ids)
    return {run.connection_id: run for run in found if run is not None}

