"""Importing a usage export, all or nothing, exactly once.

1. ``store_export`` keeps the raw bytes (forever) and makes the UsageExport row; the same bytes
   again are recognised and not imported twice. The caller then queues the import (tasks.py).
2. ``process_export`` is what the Celery task (and ``import_usage``) runs: it claims the row with a
   lease, streams the file through its parser and hands the typed rows to leaderboard/staging.py,
   which writes them and rebuilds the rollups, and records the outcome, all in one transaction. A
   refused file changes nothing but its own row, and is never tried again by itself.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from accounts.models import Person

from . import cache, self_reports
from .ingestion import detect_format, get_format
from .ingestion.reading import Export
from .ingestion.rows import ImportRefused, ParseContext, Problem, UsageRow
from .models import UsageExport
from .staging import Outcome, Writer

MAX_PROBLEMS = 50
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


_REPLACES_FAILED = {UsageExport.Origin.UPLOAD, UsageExport.Origin.COMMAND, UsageExport.Origin.SELF_SERVICE}


def store_export(
    *,
    content: File,
    name: str,
    origin: str,
    uploaded_by: Person | None = None,
    attributed_to: Person | None = None,
    requested_format: str = "",
    sync_run=None,
    folder: str = "",
) -> tuple[UsageExport, bool]:
    """Keep the bytes and make the export's row (queued for import, unless refused outright).

    Returns (export, created); created is False when these exact bytes (for this person, if any)
    were stored before, and the existing export is returned instead. A self-service upload over its
    limits raises UploadRefused, and nothing of it is kept. ``folder``: where under the storage to keep
    it (telemetry spreads its many small batches over a folder per day)."""
    digest, size = hashlib.sha256(), 0
    content.seek(0)
    for chunk in content.chunks():
        digest.update(chunk)
        size += len(chunk)
    sha256 = digest.hexdigest()
    existing = UsageExport.objects.filter(sha256=sha256, attributed_to=attributed_to).first()
    if existing and existing.status == Status.FAILED and origin in _REPLACES_FAILED:
        # The same bytes again after they failed: the uploader means to try them once more (often
        # with the format chosen this time), not to be told they were seen. (A connection's run
        # retries its own answers; telemetry batches are folded elsewhere.)
        _requeue_failed(existing, name=Path(name).name, uploaded_by=uploaded_by, requested_format=requested_format)
        return existing, True
    if existing:
        return existing, False
    if origin == UsageExport.Origin.SELF_SERVICE:
        check_self_upload(uploaded_by, size)
    content.seek(0)
    folder = folder or f"exports/{timezone.now():%Y/%m}"
    stored_name = default_storage.save(f"{folder}/{Path(name).name}", content)
    export = UsageExport(
        file=stored_name, original_name=Path(name).name, size=size, sha256=sha256, origin=origin,
        uploaded_by=uploaded_by, attributed_to=attributed_to, requested_format=requested_format, sync_run=sync_run,
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
    return export, True


def _requeue_failed(export: UsageExport, *, name: str, uploaded_by: Person | None, requested_format: str) -> None:
    changes = {"original_name": name, "requested_format": requested_format, "format": ""}
    if uploaded_by is not None:
        changes["uploaded_by"] = uploaded_by
    if retry_export(export, **changes):
        export.refresh_from_db()


def retry_export(export: UsageExport, *, attributed_to: Person | None = None, requested_format: str | None = None,
                 **changes) -> bool:
    """Queue an import again: a failed one (after a fix, saying whose a file that names nobody is, or
    choosing its format: ``requested_format`` "" detects it again, None keeps what was chosen), or a
    running one whose worker has stopped answering (a stuck import can always be retried)."""
    if attributed_to:
        changes["attributed_to"] = attributed_to
    if requested_format is not None:
        changes.update(requested_format=requested_format, format="")
    retriable = Q(status=Status.FAILED)
    owner = abandoned_owner(export.pk)
    if owner is not None:
        retriable |= Q(status=Status.RUNNING, lease_owner=owner)
    updated = UsageExport.objects.filter(retriable, pk=export.pk).update(
        status=Status.QUEUED, attempts=0, problems=[], failure="", lease_owner="", lease_expires_at=None,
        finished_at=None, **changes,
    )
    return bool(updated)


def reimport_export(export: UsageExport) -> bool:
    """Queue an imported export again: a provider answered with these exact bytes after a newer answer
    had replaced its rows (a day revised, then revised back), so they must replace those rows again."""
    return bool(UsageExport.objects.filter(pk=export.pk, status=Status.SUCCEEDED).update(
        status=Status.QUEUED, attempts=0, problems=[], failure="", lease_owner="", lease_expires_at=None,
        finished_at=None,
    ))


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


def _beat(export_id: int, owner: str) -> None:
    # Best effort, like progress: a beat that can't be written must not stop the import (at worst
    # another worker takes it over, and this attempt's commit is refused).
    try:
        cache.beat(export_id, owner, timeout=settings.IMPORT_HEARTBEAT_TIMEOUT)
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
        # The attempt is over, whatever became of it: one that gave up on a database gone away, and
        # could not even give its row back, is then taken over as soon as it is retried.
        try:
            cache.stop_beating(self.export_id, self.owner)
        except Exception:
            log.warning("Could not end the heartbeat of export %s", self.export_id, exc_info=True)


# A claim beats at once; an attempt younger than this is never judged by its heartbeat.
_CLAIM_SETTLES = timedelta(seconds=5)


def _silent(export_id: int, owner: str) -> bool:
    return not cache.is_beating(export_id, owner)


def abandoned_owner(export_id: int, *, confirm: bool = False) -> str | None:
    """The owner of a running export whose worker has stopped beating, or None.

    ``confirm`` listens again for two beats before saying so: a cache that was flushed (a Redis
    restart) forgets every heartbeat at once, and the live attempts' next beats bring theirs back."""
    now = timezone.now()
    row = (
        UsageExport.objects.filter(
            pk=export_id, status=Status.RUNNING, started_at__lt=now - _CLAIM_SETTLES
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


@dataclass
class Processed:
    """What an attempt did: the export as it stands now, and whose numbers moved (the boards and the
    flags of those people follow, once the caller has queued it)."""

    export: UsageExport
    people: set[int] = field(default_factory=set)


def process_export(export_id: int) -> Processed | None:
    """Claim the export and import it (None: it was not this attempt's to run). Transient database
    errors propagate, the row given back: the task retries them."""
    export = claim(export_id)
    if export is None:
        return None
    people: set[int] = set()
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
            people = outcome.people
    except ImportRefused as refused:
        _fail(mine, export, refused.problems, started)
    except self_reports.Held as held:
        _hold(mine, export, held.problems, started)
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
        cache.forget_import_progress(export.pk)
    export.refresh_from_db()
    return Processed(export, people)


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


def _hold(mine, export: UsageExport, problems: list[Problem], started: float) -> None:
    """Self-reported numbers that failed a check: kept, nothing counted, until an admin decides."""
    problems = problems[:MAX_PROBLEMS]
    reasons = [p.as_dict() for p in problems]
    failure = f"Held for an admin's review: {problems[0]}"
    if len(problems) > 1:
        failure += f" (and {len(problems) - 1} more reason{'s' if len(problems) > 2 else ''})"
    mine.update(
        status=Status.HELD, lease_owner="", lease_expires_at=None, finished_at=timezone.now(),
        duration=time.monotonic() - started, problems=reasons, failure=failure,
        format=getattr(export, "_detected_format", export.format),
        review_history=[*export.review_history, self_reports.history_entry("held", problems=reasons)],
    )


def sweep() -> list[int]:
    """Exports that should be running but nobody is: queued for a while (their message lost with a
    Redis flush), running under a dead attempt, or out of time. Returns their ids for re-enqueueing."""
    now = timezone.now()
    stale = Q(status=Status.QUEUED, created_at__lt=now - settings.IMPORT_REQUEUE_AFTER) | Q(
        status=Status.RUNNING, lease_expires_at__lt=now
    )
    # Telemetry batches are folded in bulk, by their own task (leaderboard/telemetry/folding.py).
    stale &= ~Q(origin=UsageExport.Origin.TELEMETRY)
    found = set(UsageExport.objects.filter(stale).values_list("pk", flat=True))
    running = UsageExport.objects.filter(
        status=Status.RUNNING, started_at__lt=now - _CLAIM_SETTLES
    ).exclude(origin=UsageExport.Origin.TELEMETRY).values_list("pk", "lease_owner")
    found.update(pk for pk, owner in running if _silent(pk, owner))
    return sorted(found)


# --- Applying ---------------------------------------------------------------------------------


def apply_export(export: UsageExport) -> Outcome:
    """Parse and write one export inside the caller's transaction; ImportRefused on any problem."""
    source = Export(Path(export.file.path), name=export.original_name, limit=settings.IMPORT_MAX_BYTES)
    fmt = get_format(export.requested_format) if export.requested_format else detect_format(source)
    export._detected_format = fmt.name
    person_email = export.attributed_to.email if export.attributed_to_id else None
    if fmt.needs_person and not person_email:
        raise ImportRefused(Problem(export.original_name, "", f"a {fmt.label} file names nobody: say whose it is"))
    writer = Writer(export, on_progress=lambda rows: _report_progress(export, source, rows))
    problems: list[Problem] = []
    # Self-reported rows are checked before any is written (they are few: one person's days).
    checked = [] if self_reports.applies(fmt.name, export) else None
    for item in fmt.parse(source, ParseContext(file_name=export.original_name, person_email=person_email)):
        if isinstance(item, Problem):
            problems.append(item)
            if len(problems) >= MAX_PROBLEMS:
                break
        elif problems:
            continue
        elif checked is not None:
            checked.append(item)
        else:
            writer.add(item)
    if problems:
        raise ImportRefused(problems)
    if checked is not None:
        reasons = self_reports.check(export=export, rows=[row for row in checked if isinstance(row, UsageRow)])
        if reasons:
            raise self_reports.Held(reasons)
        for item in checked:
            writer.add(item)
    return writer.finish(fmt.name)


def _report_progress(export: UsageExport, source: Export, rows: int) -> None:
    # Best effort: the page's progress bar is worth less than the import (the cache backend already
    # forgives Redis being away; this forgives any other cache too).
    try:
        cache.report_import_progress(export.pk, rows=rows, fraction=source.fraction_read())
    except Exception:
        log.warning("Could not report the progress of export %s", export.pk, exc_info=True)
