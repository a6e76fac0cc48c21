"""Importing a usage export, all or nothing, exactly once.

1. ``store_export`` keeps the raw bytes (forever) and makes the UsageExport row; the same bytes
   again are recognised and not imported twice.
2. ``process_export`` is what the Celery task (and ``import_usage``) runs: it claims the row with a
   lease, streams the file through its parser, writes usage in batches with replace-upserts on the
   natural keys, rebuilds the rollups of the people and days it touched, and records the outcome,
   all in one transaction. A refused file changes nothing but its own row.

Rows sharing a natural key within one file are summed (several rows per actor per day are normal);
a row from another export replaces the stored one. That is what makes re-imports and overlapping
exports count once: the SQL tells the two apart by the (export, attempt) that last wrote the row.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.cache import cache
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from accounts.models import Person

from . import identities, rollups
from .ingestion import detect_format, get_format
from .ingestion.reading import Export
from .ingestion.rows import ActivityRow, IdentityRow, ImportRefused, ParseContext, Problem, UsageRow
from .models import SOURCE_RANK, ActivityRecord, UsageExport, UsageRecord
from .pricing import unit_prices

MAX_PROBLEMS = 50
# An import that merges fewer rows than this leaves PostgreSQL's statistics alone (_Stage.merge).
ANALYZE_AFTER_ROWS = 10_000
# Errors worth trying again: the database went away, a lock or deadlock, a serialization failure.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)
# ... except these, which the same exception classes carry but which no retry can cure: the
# file's numbers do not fit (its rows are refused with line and field before they get this far).
PERMANENT_MESSAGES = ("integer overflow", "out of range")

Status = UsageExport.Status
log = logging.getLogger(__name__)


def is_transient(error: Exception) -> bool:
    """Whether trying the import again later may succeed."""
    return isinstance(error, TRANSIENT_ERRORS) and not any(m in str(error).lower() for m in PERMANENT_MESSAGES)


def progress_key(export_id: int) -> str:
    return f"import-progress:{export_id}"


# --- Keeping the file -------------------------------------------------------------------------


class UploadRefused(Exception):
    """A self-service upload over its limits: refused before anything is kept."""


def check_self_upload(person: Person, size: int) -> None:
    """The limits on what a person may upload for themself (ccusage output is kilobytes): a file's
    size, uploads a day, and what their uploads may take on disk in all. Admins' uploads have none
    of these: they are the company's exports, kept whatever their size."""
    if size > settings.SELF_UPLOAD_MAX_BYTES:
        raise UploadRefused(
            f"The file is {size:,} bytes; your own uploads can be up to {settings.SELF_UPLOAD_MAX_BYTES:,} bytes. "
            "ccusage's daily JSON is a few kilobytes: check that this is the right file."
        )
    mine = UsageExport.objects.filter(origin=UsageExport.Origin.SELF_SERVICE, uploaded_by=person)
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    if mine.filter(created_at__gte=today).count() >= settings.SELF_UPLOAD_DAILY_COUNT:
        raise UploadRefused(
            f"You have uploaded {settings.SELF_UPLOAD_DAILY_COUNT} files today, the most a day; try again tomorrow."
        )
    kept = mine.aggregate(total=Sum("size"))["total"] or 0
    if kept + size > settings.SELF_UPLOAD_QUOTA_BYTES:
        raise UploadRefused(
            f"Your uploads already take {kept:,} bytes of the {settings.SELF_UPLOAD_QUOTA_BYTES:,} each person may "
            "keep here; ask an admin to import larger files."
        )


def store_export(
    *,
    content: File,
    name: str,
    origin: str,
    uploaded_by: Person | None = None,
    attributed_to: Person | None = None,
    requested_format: str = "",
    queue: bool = True,
) -> tuple[UsageExport, bool]:
    """Keep the bytes and (unless ``queue`` is false: the caller runs it) queue the import.

    Returns (export, created); created is False when these exact bytes (for this person, if any)
    were stored before, and the existing export is returned instead. A self-service upload over its
    limits raises UploadRefused, and nothing of it is kept."""
    digest, size = hashlib.sha256(), 0
    content.seek(0)
    for chunk in content.chunks():
        digest.update(chunk)
        size += len(chunk)
    sha256 = digest.hexdigest()
    existing = UsageExport.objects.filter(sha256=sha256, attributed_to=attributed_to).first()
    if existing:
        return existing, False
    if origin == UsageExport.Origin.SELF_SERVICE:
        check_self_upload(uploaded_by, size)
    content.seek(0)
    stored_name = default_storage.save(f"exports/{timezone.now():%Y/%m}/{Path(name).name}", content)
    export = UsageExport(
        file=stored_name, original_name=Path(name).name, size=size, sha256=sha256, origin=origin,
        uploaded_by=uploaded_by, attributed_to=attributed_to, requested_format=requested_format,
    )
    if size > settings.IMPORT_MAX_BYTES:
        # Still kept: it is what the provider sent, and the limit can be raised to import it.
        export.status = Status.FAILED
        export.failure = f"The file is {size:,} bytes, over the import size limit of {settings.IMPORT_MAX_BYTES:,}."
        export.problems = [Problem(export.original_name, "", export.failure).as_dict()]
        export.finished_at = timezone.now()
    try:
        with transaction.atomic():
            export.save()
    except IntegrityError:
        # The same bytes arrived twice at once; the other upload won.
        default_storage.delete(stored_name)
        return UsageExport.objects.get(sha256=sha256, attributed_to=attributed_to), False
    if queue and export.status == Status.QUEUED:
        enqueue(export)
    return export, True


def enqueue(export: UsageExport) -> None:
    """Send the import to a worker once the row is committed (so the worker can see it)."""
    from .tasks import import_export

    def send():
        try:
            import_export.delay(export.pk)
        except Exception:
            # The broker is down; the row says "queued" and the periodic sweep will send it again.
            log.exception("Could not enqueue export %s; the sweep will retry", export.pk)

    transaction.on_commit(send)


def retry_export(export: UsageExport, *, attributed_to: Person | None = None, queue: bool = True) -> bool:
    """Queue an import again: a failed one (after a fix, or saying whose a file that names nobody
    is), or a running one whose worker has stopped answering (a stuck import can always be retried)."""
    changes = {"attributed_to": attributed_to} if attributed_to else {}
    retriable = Q(status=Status.FAILED)
    owner = abandoned_owner(export.pk)
    if owner is not None:
        retriable |= Q(status=Status.RUNNING, lease_owner=owner)
    updated = UsageExport.objects.filter(retriable, pk=export.pk).update(
        status=Status.QUEUED, attempts=0, problems=[], failure="", lease_owner="", lease_expires_at=None,
        finished_at=None, **changes,
    )
    if updated and queue:
        enqueue(export)
    return bool(updated)


# --- Leases ------------------------------------------------------------------------------------
#
# One attempt holds an export at a time: ``claim`` moves it to running under a new owner token with
# a conditional UPDATE, so two workers handed the same message can't both run it. While it runs, the
# attempt's worker refreshes a heartbeat in the shared cache every few seconds (``Heartbeat``). An
# attempt whose heartbeat has gone silent is dead (its worker was killed, its machine lost): another
# worker takes the export over at once (the sweep sends it the message), not when the lease expires.
# The lease's expiry stays the bound for when nothing can be told. Should a live attempt be taken
# over all the same (a cache that lost its keys), it cannot commit: its final UPDATE names its own
# attempt, finds it gone, and rolls everything back (``LostLease``).


def heartbeat_key(export_id: int, owner: str) -> str:
    return f"import-heartbeat:{export_id}:{owner}"


def _beat(export_id: int, owner: str) -> None:
    # Best effort, like progress: a beat that can't be written must not stop the import (at worst
    # another worker takes it over, and this attempt's commit is refused).
    try:
        cache.set(heartbeat_key(export_id, owner), True, timeout=settings.IMPORT_HEARTBEAT_TIMEOUT)
    except Exception:
        log.warning("Could not renew the heartbeat of export %s", export_id, exc_info=True)


class Heartbeat:
    """Keeps an attempt's heartbeat fresh from a thread of its own while the import runs: parsing and
    writing never stop for it. Best effort: a cache that can't be reached skips beats."""

    def __init__(self, export_id: int, owner: str):
        self.export_id, self.owner = export_id, owner
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{export_id}", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(settings.IMPORT_HEARTBEAT_SECONDS):
            _beat(self.export_id, self.owner)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()


def _silent(export_id: int, owner: str) -> bool:
    return not cache.get(heartbeat_key(export_id, owner))


def abandoned_owner(export_id: int, *, confirm: bool = False) -> str | None:
    """The owner of a running export whose worker has stopped beating, or None.

    ``confirm`` listens again for two beats before saying so: a cache that was flushed (a Redis
    restart) forgets every heartbeat at once, and the live attempts' next beats bring theirs back."""
    now = timezone.now()
    row = (
        UsageExport.objects.filter(
            pk=export_id, status=Status.RUNNING, started_at__lt=now - timedelta(seconds=settings.IMPORT_HEARTBEAT_TIMEOUT)
        )
        .values_list("lease_owner", flat=True)
        .first()
    )
    if not row or not _silent(export_id, row):
        return None
    if confirm:
        time.sleep(2 * settings.IMPORT_HEARTBEAT_SECONDS)
        if not _silent(export_id, row):
            return None
    return row


# --- Claiming and running ---------------------------------------------------------------------


class LostLease(Exception):
    """Another worker took the export over while this one was running; this one's work is dropped."""


def claim(export_id: int) -> UsageExport | None:
    """Take the export for a new attempt: queued, or running under an attempt that is dead (its
    heartbeat silent) or out of time (its lease expired).

    Returns the claimed row, or None when it is someone else's, already done, or out of attempts.
    """
    now = timezone.now()
    owner = uuid.uuid4().hex
    claim_it = {
        "status": Status.RUNNING, "attempts": F("attempts") + 1, "lease_owner": owner,
        "lease_expires_at": now + settings.IMPORT_LEASE, "started_at": now,
    }
    claimable = Q(status=Status.QUEUED) | Q(status=Status.RUNNING, lease_expires_at__lt=now)
    candidates = UsageExport.objects.filter(pk=export_id, attempts__lt=settings.IMPORT_MAX_ATTEMPTS)
    claimed = candidates.filter(claimable).update(**claim_it)
    if not claimed:
        dead = abandoned_owner(export_id, confirm=True)
        if dead is not None:
            claimable = Q(status=Status.RUNNING, lease_owner=dead)
            claimed = candidates.filter(claimable).update(**claim_it)
    if claimed:
        _beat(export_id, owner)
        return UsageExport.objects.select_related("attributed_to").get(pk=export_id)
    exhausted = UsageExport.objects.filter(claimable, pk=export_id, attempts__gte=settings.IMPORT_MAX_ATTEMPTS)
    exhausted.update(
        status=Status.FAILED, lease_owner="", lease_expires_at=None, finished_at=now,
        failure=f"Gave up after {settings.IMPORT_MAX_ATTEMPTS} attempts (workers kept dying or timing out).",
    )
    return None


def process_export(export_id: int) -> UsageExport | None:
    """Claim the export and import it. Transient database errors propagate (the task retries them)."""
    export = claim(export_id)
    if export is None:
        return None
    started = time.monotonic()
    mine = UsageExport.objects.filter(pk=export.pk, status=Status.RUNNING, lease_owner=export.lease_owner)
    try:
        with Heartbeat(export.pk, export.lease_owner), transaction.atomic():
            outcome = apply_export(export)
            finished = mine.update(
                status=Status.SUCCEEDED, format=outcome.format, lease_owner="", lease_expires_at=None,
                finished_at=timezone.now(), duration=time.monotonic() - started, rows_read=outcome.rows_read,
                records_written=outcome.records_written, people_matched=outcome.people_matched,
                identities_unmatched=outcome.identities_unmatched, first_day=outcome.first_day,
                last_day=outcome.last_day, vendors=sorted(outcome.vendors), problems=[], failure="",
            )
            if not finished:
                raise LostLease()
            if outcome.people:
                # Boards and the flags of the people this import touched follow the new numbers.
                from .tasks import after_usage_changed

                transaction.on_commit(lambda: after_usage_changed(outcome.people))
    except ImportRefused as refused:
        _fail(mine, export, refused.problems, started)
    except LostLease:
        log.warning("Export %s was taken over by another worker; dropping this attempt", export.pk)
    except TRANSIENT_ERRORS as error:
        if not is_transient(error):
            log.exception("Import of export %s failed", export.pk)
            _fail(mine, export, [Problem(export.original_name, "", f"the database refused it ({error})")], started)
        else:
            # Give the row back so the retry (or the sweep) can claim it at once.
            mine.update(status=Status.QUEUED, lease_owner="", lease_expires_at=None)
            raise
    except SoftTimeLimitExceeded:
        _fail(mine, export, [Problem(export.original_name, "", "the import took longer than the time limit")], started)
    except Exception as exc:
        log.exception("Import of export %s failed unexpectedly", export.pk)
        _fail(mine, export, [Problem(export.original_name, "", f"internal error ({type(exc).__name__}: {exc})")],
              started)
    finally:
        cache.delete(progress_key(export.pk))
    export.refresh_from_db()
    return export


def _fail(mine, export: UsageExport, problems: list[Problem], started: float) -> None:
    """Record a refusal: final, never retried (the file, not the worker, is what needs changing)."""
    problems = problems[:MAX_PROBLEMS]
    first = problems[0] if problems else None
    failure = str(first) if first else "refused"
    if len(problems) > 1:
        failure += f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})"
    mine.update(
        status=Status.FAILED, lease_owner="", lease_expires_at=None, finished_at=timezone.now(),
        duration=time.monotonic() - started, problems=[p.as_dict() for p in problems], failure=failure,
        format=getattr(export, "_detected_format", export.format),
    )


def sweep() -> list[int]:
    """Exports that should be running but nobody is: queued for a while (their message lost with a
    Redis flush), running under a dead attempt, or out of time. Returns their ids for re-enqueueing."""
    now = timezone.now()
    stale = Q(status=Status.QUEUED, created_at__lt=now - settings.IMPORT_REQUEUE_AFTER) | Q(
        status=Status.RUNNING, lease_expires_at__lt=now
    )
    found = set(UsageExport.objects.filter(stale).values_list("pk", flat=True))
    running = UsageExport.objects.filter(
        status=Status.RUNNING, started_at__lt=now - timedelta(seconds=settings.IMPORT_HEARTBEAT_TIMEOUT)
    ).values_list("pk", "lease_owner")
    found.update(pk for pk, owner in running if _silent(pk, owner))
    return sorted(found)


# --- Applying ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    format: str
    rows_read: int = 0
    records_written: int = 0
    people_matched: int = 0
    identities_unmatched: int = 0
    first_day: date | None = None
    last_day: date | None = None
    vendors: set[str] = field(default_factory=set)
    people: set[int] = field(default_factory=set)


def apply_export(export: UsageExport) -> Outcome:
    """Parse and write one export inside the caller's transaction; ImportRefused on any problem."""
    source = Export(Path(export.file.path), name=export.original_name, limit=settings.IMPORT_MAX_BYTES)
    fmt = get_format(export.requested_format) if export.requested_format else detect_format(source)
    export._detected_format = fmt.name
    person_email = export.attributed_to.email if export.attributed_to_id else None
    if fmt.needs_person and not person_email:
        raise ImportRefused(Problem(export.original_name, "", f"a {fmt.label} file names nobody: say whose it is"))
    writer = _Writer(export, on_progress=lambda rows: _report_progress(export, source, rows))
    problems: list[Problem] = []
    for item in fmt.parse(source, ParseContext(file_name=export.original_name, person_email=person_email)):
        if isinstance(item, Problem):
            problems.append(item)
            if len(problems) >= MAX_PROBLEMS:
                break
        elif not problems:
            writer.add(item)
    if problems:
        raise ImportRefused(problems)
    return writer.finish(fmt.name)


def _report_progress(export: UsageExport, source: Export, rows: int) -> None:
    # Best effort: the page's progress bar is worth less than the import (the cache backend already
    # forgives Redis being away; this forgives any other cache too).
    try:
        cache.set(progress_key(export.pk), {"rows": rows, "fraction": source.fraction_read()}, timeout=3600)
    except Exception:
        log.warning("Could not report the progress of export %s", export.pk, exc_info=True)


_USAGE_TABLE = UsageRecord._meta.db_table
_ACTIVITY_TABLE = ActivityRecord._meta.db_table


class _Stage:
    """A temporary table one import's rows pass through: bulk-loaded as they are parsed (COPY on
    PostgreSQL, executemany on SQLite, no index to maintain), then merged into the real table with
    one INSERT ... SELECT ... GROUP BY ... ON CONFLICT at the end.

    The GROUP BY sums the rows that share a natural key within this file; ON CONFLICT replaces
    what other exports wrote for the same key. That is the whole exactly-once rule, in one statement.
    ``key`` lists the natural key in its unique index's column order, and the rows are inserted in
    that order, so the index fills page after page (a fifth faster on PostgreSQL than hash order).
    """

    def __init__(self, *, name: str, target: str, key: list[str], columns: dict[str, str],
                 summed: list[str], merged: dict[str, str], rows: str | None = None):
        self.name, self.target, self.key, self.columns = name, target, key, columns
        self.summed, self.merged = summed, merged
        # What the merge reads: the staging table, or a query over it that completes its rows.
        self.rows = rows or name

    @property
    def create_sql(self) -> str:
        columns = ", ".join(f"{name} {kind}" for name, kind in self.columns.items())
        return f"CREATE TEMPORARY TABLE IF NOT EXISTS {self.name} ({columns})"

    @property
    def merge_sql(self) -> str:
        aggregates = {**{c: f"SUM({c})" for c in self.summed}, **self.merged}
        inserted = [*self.key, *aggregates, "export_id", "export_attempt"]
        updates = ", ".join(f"{c} = excluded.{c}" for c in [*aggregates, "export_id", "export_attempt"])
        # "WHERE true" tells SQLite's parser that ON CONFLICT belongs to the INSERT, not a join.
        return (
            f"INSERT INTO {self.target} ({', '.join(inserted)}) "
            f"SELECT {', '.join(self.key)}, {', '.join(aggregates.values())}, %s, %s FROM {self.rows} WHERE true "
            f"GROUP BY {', '.join(self.key)} ORDER BY {', '.join(self.key)} "
            f"ON CONFLICT ({', '.join(self.key)}) DO UPDATE SET {updates}"
        )

    def reset(self, cursor) -> None:
        cursor.execute(self.create_sql)
        cursor.execute(f"DELETE FROM {self.name}")

    def load(self, cursor, rows: list[tuple]) -> None:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {self.name} ({', '.join(self.columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(self.columns))
            cursor.executemany(f"INSERT INTO {self.name} ({', '.join(self.columns)}) VALUES ({marks})", rows)

    def merge(self, cursor, export_id: int, attempt: int) -> int:
        cursor.execute(self.merge_sql, [export_id, attempt])
        merged = cursor.rowcount
        cursor.execute(f"DELETE FROM {self.name}")
        if connection.vendor == "postgresql" and merged >= ANALYZE_AFTER_ROWS:
            self._refresh_statistics(cursor, merged)
        return merged

    def _refresh_statistics(self, cursor, merged: int) -> None:
        """Sample the table again when this import wrote a tenth as many rows as it held.

        The rollups that follow join these rows to identities, and PostgreSQL plans those joins
        from statistics that know nothing of rows not yet committed: after a first million rows,
        or a million rows of a vendor the statistics had never seen, it expected one row and probed
        an index once per row instead of hashing (7 s of a million-row import). Autovacuum samples
        a table again once a tenth of it has changed, but only after commit; ANALYZE in this
        transaction sees its own rows. A smaller import leaves statistics that still describe it.
        """
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [self.target])
        (known,) = cursor.fetchone()
        if merged * 10 >= known:  # known is -1 until the table is first analysed
            cursor.execute(f"ANALYZE {self.target}")


# Days go to the staging table as ISO text: given date objects, SQLite's driver calls Django's date
# adapter (a Python function) for every row, a second of a million-row import. An export has a few
# hundred distinct days, so the text of each is made once.
_day_text = lru_cache(maxsize=8192)(date.isoformat)
_KEY_TYPES = {"vendor": "varchar(40)", "source": "varchar(30)", "identity_id": "bigint", "day": "date"}
# The unit prices of the models an import saw without a cost: the merge estimates those costs in SQL
# (one multiplication per token kind) rather than in Python for each of a million rows.
PRICES_TABLE = "staged_prices"
_PRICE_KINDS = ["input", "cache_write", "cache_read", "output"]
_USAGE_COLUMNS = {**_KEY_TYPES, "model": "varchar(200)", "dims": "varchar(255)", "source_rank": "smallint",
                  "input_tokens": "bigint", "cache_write_tokens": "bigint", "cache_read_tokens": "bigint",
                  "output_tokens": "bigint", "requests": "bigint", "cost_usd": "numeric(18, 6)",
                  "cost_reported": "smallint"}
_ESTIMATE = " + ".join(f"s.{kind}_tokens * p.{kind}" for kind in _PRICE_KINDS)
USAGE_STAGE = _Stage(
    name="staged_usage",
    # A model no price list knows finds no price row: its cost stays unknown (NULL), never zero.
    rows="(SELECT " + ", ".join(
        f"COALESCE(s.cost_usd, {_ESTIMATE}) AS cost_usd" if column == "cost_usd" else f"s.{column}"
        for column in _USAGE_COLUMNS
    ) + f" FROM staged_usage s LEFT JOIN {PRICES_TABLE} p ON p.vendor = s.vendor AND p.model = s.model) AS staged",
    target=_USAGE_TABLE,
    key=["identity_id", "day", "vendor", "source", "model", "dims"],
    columns=_USAGE_COLUMNS,
    summed=["input_tokens", "cache_write_tokens", "cache_read_tokens", "output_tokens", "requests"],
    merged={
        "source_rank": "MIN(source_rank)",
        # One row of unknown cost makes the key's cost unknown: never a silent partial sum.
        "cost_usd": "CASE WHEN COUNT(cost_usd) = COUNT(*) THEN SUM(cost_usd) END",
        "cost_reported": "MIN(cost_reported) = 1",
    },
)
ACTIVITY_COUNTS = [
    "sessions", "requests", "lines_added", "lines_removed", "commits", "pull_requests", "edits_accepted",
    "edits_rejected",
]
ACTIVITY_STAGE = _Stage(
    name="staged_activity",
    target=_ACTIVITY_TABLE,
    key=["identity_id", "day", "vendor", "source"],
    columns={**_KEY_TYPES, **{c: "bigint" for c in ACTIVITY_COUNTS}, "active": "smallint"},
    summed=ACTIVITY_COUNTS,
    merged={"active": "MAX(active) = 1"},
)


class _Writer:
    """Buffers typed rows and stages them in batches (no ORM per row); merges them at the end."""

    def __init__(self, export: UsageExport, *, on_progress):
        self.export_id, self.attempt = export.pk, export.attempts
        self.batch_size = settings.IMPORT_BATCH_SIZE
        self.on_progress = on_progress
        self.identities = identities.IdentityCache()
        self.usage: list[UsageRow] = []
        self.activity: list[ActivityRow] = []
        self.identity_rows: list[IdentityRow] = []
        self.unpriced: set[tuple[str, str]] = set()  # (vendor, model) of rows that came without a cost
        self.touched: set[int] = set()
        self.rows_read = self.records_written = 0
        self.first_day: date | None = None
        self.last_day: date | None = None
        self.vendors: set[str] = set()
        self.started = time.monotonic()
        with connection.cursor() as cursor:
            USAGE_STAGE.reset(cursor)
            ACTIVITY_STAGE.reset(cursor)
            cursor.execute(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {PRICES_TABLE} (vendor varchar(40), model varchar(200), "
                + ", ".join(f"{kind} numeric" for kind in _PRICE_KINDS) + ")"
            )
            cursor.execute(f"DELETE FROM {PRICES_TABLE}")

    def add(self, item) -> None:
        self.rows_read += 1
        if isinstance(item, UsageRow):
            self.usage.append(item)
            if len(self.usage) >= self.batch_size:
                self._write_usage()
        elif isinstance(item, ActivityRow):
            self.activity.append(item)
            if len(self.activity) >= self.batch_size:
                self._write_activity()
        else:
            self.identity_rows.append(item)

    def _see(self, rows) -> None:
        days = {row.day for row in rows}
        low, high = min(days), max(days)
        self.first_day = low if self.first_day is None else min(self.first_day, low)
        self.last_day = high if self.last_day is None else max(self.last_day, high)
        self.vendors.update(row.vendor for row in rows)

    def _identity_ids(self, rows) -> list[int]:
        ids = self.identities.ids(row.identity for row in rows)
        found = [ids.get(row.identity) or self.identities.get(row.identity) for row in rows]
        self.touched.update(found)
        return found

    def _write_usage(self) -> None:
        rows, self.usage = self.usage, []
        if not rows:
            return
        params = []
        unpriced = self.unpriced
        for row, identity_id in zip(rows, self._identity_ids(rows), strict=True):
            cost = row.cost_usd
            if cost is None:
                unpriced.add((row.vendor, row.model))  # estimated when merged
            params.append((
                row.vendor, row.source, identity_id, _day_text(row.day), row.model, row.dims,
                SOURCE_RANK.get(row.source, 9),
                row.input_tokens, row.cache_write_tokens, row.cache_read_tokens, row.output_tokens, row.requests,
                cost, int(row.cost_reported and cost is not None),
            ))
        self._stage(USAGE_STAGE, rows, params)

    def _stage_prices(self, cursor) -> None:
        prices = [
            (vendor, model, found.input, found.cache_write, found.cache_read, found.output)
            for vendor, model in sorted(self.unpriced)
            if (found := unit_prices(vendor, model)) is not None
        ]
        if prices:
            cursor.executemany(f"INSERT INTO {PRICES_TABLE} VALUES (%s, %s, %s, %s, %s, %s)", prices)

    def _write_activity(self) -> None:
        rows, self.activity = self.activity, []
        if not rows:
            return
        params = [
            (row.vendor, row.source, identity_id, _day_text(row.day), row.sessions, row.requests, row.lines_added,
             row.lines_removed, row.commits, row.pull_requests, row.edits_accepted, row.edits_rejected,
             int(row.active))
            for row, identity_id in zip(rows, self._identity_ids(rows), strict=True)
        ]
        self._stage(ACTIVITY_STAGE, rows, params)

    def _stage(self, stage: _Stage, rows: list, params: list[tuple]) -> None:
        with connection.cursor() as cursor:
            stage.load(cursor, params)
        self._see(rows)
        self.on_progress(self.rows_read)

    def finish(self, format_name: str) -> Outcome:
        self._write_usage()
        self._write_activity()
        staged = time.monotonic()
        with connection.cursor() as cursor:
            rollups.plan_for_bulk(cursor)
            self._stage_prices(cursor)
            for stage in (USAGE_STAGE, ACTIVITY_STAGE):
                self.records_written += stage.merge(cursor, self.export_id, self.attempt)
        merged = time.monotonic()
        moved, moved_people = identities.apply_identity_rows(self.identity_rows) if self.identity_rows else (0, set())
        handed = time.monotonic()
        owners = {self.identities.person_of(pk) for pk in self.touched} - {None}
        if self.first_day is not None:
            rollups.recompute(owners, self.first_day, self.last_day, vendors=self.vendors)
        # Where an import's time goes, for whoever tunes a large one.
        log.info(
            "Export %s: read and staged %s rows in %.1fs, merged %s records in %.1fs, handed over %s identities "
            "in %.1fs, rolled up %s people in %.1fs",
            self.export_id, self.rows_read, staged - self.started, self.records_written, merged - staged, moved,
            handed - merged, len(owners), time.monotonic() - handed,
        )
        unmatched = sum(
            1 for pk in self.touched if self.identities.person_of(pk) is None and not self.identities.is_service(pk)
        )
        return Outcome(
            format=format_name, rows_read=self.rows_read, records_written=self.records_written + moved,
            people_matched=len(owners), identities_unmatched=unmatched, first_day=self.first_day,
            last_day=self.last_day, vendors=self.vendors, people=owners | moved_people,
        )
