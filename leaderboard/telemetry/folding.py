"""Folding received batches into usage, in bulk: what the Celery task (and ``manage.py
fold_telemetry``) runs every few seconds.

1. Claim up to a few hundred queued batches at once (a conditional UPDATE under a lease, as imports
   claim theirs), so two workers never fold the same batch.
2. In one transaction, and one fold at a time (the increments of a cumulative series depend on the
   reading before): read each batch again (leaderboard/telemetry/reading.py), store its increments
   under their natural keys (``TelemetryPoint``: a batch sent twice, or a retried one, lands on the
   same rows), work out the increments of cumulative series from their stored readings (a reading
   below the one before it is a counter reset), then sum the increments of every (identity, UTC
   day, source, model) the batches touched into UsageRecord and ActivityRecord rows, through the
   same staging, merge and rollups as any import (leaderboard/staging.py).
3. Mark the batches imported, with what they held. A batch that cannot be read (it was checked when
   it arrived, so this means a bug or a hand-made row) fails on its own; database trouble gives
   every batch back for the next fold.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Max, Q, Sum
from django.utils import timezone

from .. import imports
from ..ingestion.rows import ActivityRow, Problem, UsageRow
from ..models import TelemetryPoint, UsageExport
from ..staging import Writer
from . import agents, otlp, reading

log = logging.getLogger(__name__)
Status = UsageExport.Status
SIGNALS = {"otlp_metrics": otlp.METRICS, "otlp_logs": otlp.LOGS}
TELEMETRY = Q(origin=UsageExport.Origin.TELEMETRY)
# Any constant: the key of the PostgreSQL advisory lock that lets one fold run at a time. SQLite
# needs none: its transactions begin IMMEDIATE (settings.py), one writer at a time.
FOLD_LOCK = 0x7E1E_F01D
CHUNK = 500


@dataclass
class Folded:
    batches: int = 0
    failed: int = 0
    readings: int = 0
    people: set[int] = field(default_factory=set)


def backlog_exceeds(limit: int) -> bool:
    """Whether more than ``limit`` batches wait to be folded (the receiver then asks for patience)."""
    # Unordered: whether there is a row past the limit needs no sort of the backlog.
    waiting = UsageExport.objects.filter(TELEMETRY, status=Status.QUEUED).order_by().values("pk")
    return waiting[limit:limit + 1].exists()


def claim(limit: int) -> tuple[str, list[UsageExport]]:
    """Take up to ``limit`` batches: queued ones, and running ones whose fold died past its lease."""
    now = timezone.now()
    owner = uuid.uuid4().hex
    claimable = TELEMETRY & (Q(status=Status.QUEUED) | Q(status=Status.RUNNING, lease_expires_at__lt=now))
    exhausted = UsageExport.objects.filter(claimable, attempts__gte=settings.IMPORT_MAX_ATTEMPTS)
    exhausted.update(status=Status.FAILED, lease_owner="", lease_expires_at=None, finished_at=now,
                     failure=f"Gave up after {settings.IMPORT_MAX_ATTEMPTS} attempts to fold it.")
    candidates = UsageExport.objects.filter(claimable, attempts__lt=settings.IMPORT_MAX_ATTEMPTS)
    ids = list(candidates.order_by("pk").values_list("pk", flat=True)[:limit])
    if ids:
        candidates.filter(pk__in=ids).update(
            status=Status.RUNNING, attempts=F("attempts") + 1, lease_owner=owner,
            lease_expires_at=now + settings.TELEMETRY_FOLD_LEASE, started_at=now,
        )
    return owner, list(UsageExport.objects.filter(TELEMETRY, status=Status.RUNNING, lease_owner=owner).order_by("pk"))


def fold(*, limit: int | None = None) -> Folded | None:
    """Fold one claim's worth of batches; None when nothing waits. Transient database errors
    propagate once the batches are given back (the task retries; the next fold takes them)."""
    owner, batches = claim(limit or settings.TELEMETRY_FOLD_BATCHES)
    if not batches:
        return None
    mine = UsageExport.objects.filter(TELEMETRY, status=Status.RUNNING, lease_owner=owner)
    started = time.monotonic()
    try:
        # Read before writing: SQLite's write lock (taken when the transaction begins) is then held
        # only while writing, and the receivers' inserts wait less.
        results, failures = _read(batches)
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [FOLD_LOCK])
            folded = _fold(batches, mine, started, results, failures)
    except imports.LostLease:
        log.warning("Telemetry batches were taken over by another fold; dropping this one")
        return Folded()
    except Exception:
        mine.update(status=Status.QUEUED, lease_owner="", lease_expires_at=None)
        raise
    return folded


def fold_all(*, seconds: float) -> Folded:
    """Fold until nothing waits, or for about ``seconds`` (the next fold takes the rest)."""
    total = Folded()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        folded = fold()
        if folded is None:
            break
        total.batches += folded.batches
        total.failed += folded.failed
        total.readings += folded.readings
        total.people |= folded.people
    return total


def _read(batches: list[UsageExport]) -> tuple[dict[int, reading.Read], dict[int, str]]:
    """Each batch's readings, or why it cannot be read (by batch id)."""
    now_ns = time.time_ns()
    results: dict[int, reading.Read] = {}
    failures: dict[int, str] = {}
    for batch in batches:
        try:
            with batch.file.open("rb") as handle:
                payload = handle.read()
            message = otlp.decode(payload, otlp.sniff_encoding(payload), SIGNALS[batch.requested_format])
        except (otlp.Malformed, OSError, KeyError) as error:
            failures[batch.pk] = f"cannot be read again ({error})"
            continue
        results[batch.pk] = reading.read(message, SIGNALS[batch.requested_format], now_ns=now_ns)
    return results, failures


def _fold(batches: list[UsageExport], mine, started: float, results: dict[int, reading.Read],
          failures: dict[int, str]) -> Folded:
    readings = [r for result in results.values() for r in result.readings]
    # The last batch is the provenance of the rows this fold writes (as an export is of its rows).
    writer = Writer(batches[-1], on_progress=lambda rows: None)
    if readings:
        moved_days = _write_points(readings, writer, export_id=batches[-1].pk)
        _rebuild(readings, writer, also_days=moved_days)
    outcome = writer.finish("otlp")
    _finish(batches, mine, results, failures, started)
    return Folded(batches=len(results), failed=len(failures), readings=len(readings), people=outcome.people)


# --- Points ---------------------------------------------------------------------------------------


def _write_points(readings: list[reading.Reading], writer: Writer, *, export_id: int) -> set:
    """Store the readings' increments; returns the days of stored increments a late reading changed."""
    ids = writer.identities.ids({r.identity for r in readings})
    identity_of = {key: ids.get(key) or writer.identities.get(key) for key in {r.identity for r in readings}}
    # A point already stored (the same batch again, a retried export) keeps its row: counted once.
    _insert([_row(r, identity_of[r.identity], r.value, None, export_id) for r in readings if not r.cumulative])
    cumulative = [r for r in readings if r.cumulative]
    return _write_cumulative(cumulative, identity_of, export_id) if cumulative else set()


def _write_cumulative(readings: list[reading.Reading], identity_of: dict, export_id: int) -> set:
    """Each new reading's increment over the reading before it in its series; a late reading also
    changes the increment of the one after it. A reading below its predecessor is a counter reset:
    it counts whole. An unchanged reading adds nothing and is not kept."""
    series: dict[str, dict[int, reading.Reading]] = defaultdict(dict)
    for r in readings:
        series[r.series][r.end_ns] = r
    cut = min(r.end_ns for r in readings)
    names = sorted(series)
    stored: dict[str, list[tuple]] = defaultdict(list)  # series -> (end, reading, value, pk, day)
    before: dict[str, int] = {}
    for offset in range(0, len(names), CHUNK):
        chunk = names[offset:offset + CHUNK]
        rows = TelemetryPoint.objects.filter(series__in=chunk, end_ns__gte=cut, reading__isnull=False)
        for name, *row in rows.values_list("series", "end_ns", "reading", "value", "pk", "day"):
            stored[name].append(row)
        latest = dict(TelemetryPoint.objects.filter(series__in=chunk, end_ns__lt=cut, reading__isnull=False)
                      .values("series").annotate(end=Max("end_ns")).values_list("series", "end"))
        if latest:
            previous = TelemetryPoint.objects.filter(series__in=list(latest), end_ns__in=sorted(set(latest.values())))
            for name, end, value_read in previous.values_list("series", "end_ns", "reading"):
                if latest.get(name) == end:
                    before[name] = value_read
    new_rows, changed, days = [], [], set()
    for name, arriving in series.items():
        known = {end: (value_read, value, pk, day) for end, value_read, value, pk, day in stored[name]}
        previous = before.get(name)
        for end in sorted(set(known) | set(arriving)):
            current = known[end][0] if end in known else arriving[end].value
            increment = current if previous is None or current < previous else current - previous
            if end in known:
                if known[end][1] != increment:
                    changed.append((increment, known[end][2]))
                    days.add(known[end][3])
            elif increment or (previous is not None and current < previous):
                r = arriving[end]
                new_rows.append(_row(r, identity_of[r.identity], increment, current, export_id))
            else:
                continue  # unchanged: the next reading's increment is the same without it
            previous = current
    _insert(new_rows)
    if changed:
        with connection.cursor() as cursor:
            cursor.executemany(f"UPDATE {_POINTS} SET value = %s WHERE id = %s", changed)
    return days


_POINTS = TelemetryPoint._meta.db_table
_COLUMNS = ["series", "start_ns", "end_ns", "identity_id", "vendor", "source", "model", "kind", "day", "value",
            "reading", "export_id"]


def _row(r: reading.Reading, identity_id: int, value: int, value_read: int | None, export_id: int) -> tuple:
    return (r.series, r.start_ns, r.end_ns, identity_id, r.vendor, r.source, r.model, r.kind, r.day.isoformat(),
            value, value_read, export_id)


def _insert(rows: list[tuple]) -> None:
    """Insert points, keeping the stored one where the natural key is taken. The driver's
    executemany, not bulk_create: building thousands of model instances and their SQL cost Django
    more than the database spent storing them (two thirds of a fold of 500 batches)."""
    if rows:
        marks = ", ".join(["%s"] * len(_COLUMNS))
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {_POINTS} ({', '.join(_COLUMNS)}) VALUES ({marks}) "
                "ON CONFLICT (series, start_ns, end_ns) DO NOTHING", rows,
            )


# --- Usage ----------------------------------------------------------------------------------------


def _rebuild(readings: list[reading.Reading], writer: Writer, *, also_days: set) -> None:
    """UsageRecord and ActivityRecord rows of every (identity, day) the readings touched (and the
    days whose increments a late reading changed), summed again from all the increments stored for
    them (the merge replaces what was there)."""
    key_of = {writer.identities.get(r.identity): r.identity for r in readings}
    identity_ids = sorted(key_of)
    days = sorted({r.day for r in readings} | also_days)
    usage: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    activity: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for offset in range(0, len(identity_ids), CHUNK):
        sums = (TelemetryPoint.objects.filter(identity_id__in=identity_ids[offset:offset + CHUNK], day__in=days)
                .values_list("identity_id", "day", "vendor", "source", "model", "kind").annotate(total=Sum("value"))
                .order_by())
        for identity_id, day, vendor, source, model, kind, total in sums:
            # Every touched (identity, day, source) was active, whatever it measured.
            place = (identity_id, day, vendor, source)
            done = activity[place]
            if kind in agents.ACTIVITY_KINDS:
                done[kind] += total
            else:
                usage[(*place, model)][kind] += total
    for (identity_id, day, vendor, source, model), sums in usage.items():
        gross_uncached = sums[agents.INPUT_GROSS] - sums[agents.CACHE_READ] - sums[agents.CACHE_WRITE]
        cost = sums.get(agents.COST)
        writer.add(UsageRow(
            vendor=vendor, source=source, identity=key_of[identity_id], day=day, model=model,
            input_tokens=sums[agents.INPUT] + max(0, gross_uncached), cache_write_tokens=sums[agents.CACHE_WRITE],
            cache_read_tokens=sums[agents.CACHE_READ], output_tokens=sums[agents.OUTPUT],
            requests=sums[agents.REQUESTS],
            cost_usd=None if cost is None else Decimal(cost) / agents.MICRO, cost_reported=cost is not None,
        ))
    for (identity_id, day, vendor, source), sums in activity.items():
        writer.add(ActivityRow(
            vendor=vendor, source=source, identity=key_of[identity_id], day=day, active=True,
            sessions=sums[agents.SESSIONS], lines_added=sums[agents.LINES_ADDED],
            lines_removed=sums[agents.LINES_REMOVED], commits=sums[agents.COMMITS],
            pull_requests=sums[agents.PULL_REQUESTS], edits_accepted=sums[agents.EDITS_ACCEPTED],
            edits_rejected=sums[agents.EDITS_REJECTED],
        ))


def _finish(batches, mine, results: dict[int, reading.Read], failures: dict[int, str], started: float) -> None:
    now = timezone.now()
    done = [batch.pk for batch in batches if batch.pk in results]
    finished = mine.filter(pk__in=done).update(
        status=Status.SUCCEEDED, format=F("requested_format"), lease_owner="", lease_expires_at=None,
        finished_at=now, duration=time.monotonic() - started,
    )
    if finished != len(done):
        raise imports.LostLease()
    # What each batch held, one UPDATE each run by the driver: bulk_update's CASE expressions cost
    # Django a second for 500 batches.
    fields = {name: UsageExport._meta.get_field(name) for name in ("vendors", "problems")}
    params = []
    for batch in batches:
        result = results.get(batch.pk)
        if result is None:
            continue
        days = [r.day for r in result.readings]
        problems = [Problem(batch.original_name, "", problem).as_dict() for problem in result.problems]
        params.append((
            result.counted + result.rejected + result.ignored, len(result.readings),
            min(days) if days else None, max(days) if days else None,
            fields["vendors"].get_db_prep_value(sorted({r.vendor for r in result.readings}), connection),
            fields["problems"].get_db_prep_value(problems, connection), batch.pk,
        ))
    if params:
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {UsageExport._meta.db_table} SET rows_read = %s, records_written = %s, first_day = %s, "
                "last_day = %s, vendors = %s, problems = %s WHERE id = %s", params,
            )
    for pk, failure in failures.items():
        problem = Problem(f"batch #{pk}", "", failure)
        mine.filter(pk=pk).update(status=Status.FAILED, lease_owner="", lease_expires_at=None, finished_at=now,
                                  failure=str(problem), problems=[problem.as_dict()])
