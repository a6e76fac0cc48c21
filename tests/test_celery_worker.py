"""Real Celery worker processes against the real Redis broker: imports run in the background,
and a worker killed mid-import loses nothing and half-applies nothing."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Sum

from leaderboard import imports
from leaderboard.models import PersonDay, UsageExport, UsageRecord
from tests.workers import wait_for

pytestmark = pytest.mark.celery

HEADER = "date,email,provider,model,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,requests,cost_usd\n"


def upload(content: bytes, name: str) -> UsageExport:
    """What the upload page does: keep the file and enqueue the import when the row commits."""
    with transaction.atomic():
        export, _ = imports.store_export(content=ContentFile(content), name=name, origin=UsageExport.Origin.UPLOAD)
    return export


def status_of(export: UsageExport) -> str:
    return UsageExport.objects.values_list("status", flat=True).get(pk=export.pk)


def test_it_imports_an_upload_in_a_worker_process(workers, cast):
    workers.start()
    export = upload((HEADER + "2026-10-01,erin@example.com,mistral,m,10,5,0,0,1,0.50\n").encode(), "usage.csv")

    wait_for(lambda: status_of(export) == "succeeded", timeout=60, workers=workers, what="the import")
    assert PersonDay.objects.get(person=cast.erin).total_tokens == 15


def test_it_finishes_an_import_whose_worker_was_killed_midway(workers, cast):
    people = ["erin@example.com", "sam@example.com", "lee@example.com", "maria@example.com"]
    rows = [f"2026-{month:02d}-{day:02d},{email},mistral,model-{n},1,2,0,0,1,0.01\n"
            for month in range(1, 13) for day in range(1, 29) for email in people for n in range(15)]
    content = (HEADER + "".join(rows)).encode()
    # Small batches make the import long enough to be caught in the middle.
    # A short lease stands in for the hour a real one lasts; it must be shorter than the visibility
    # timeout (as in production), so that the message comes back after the export is claimable.
    first = workers.start(IMPORT_BATCH_SIZE=20, IMPORT_LEASE_SECONDS=2)
    export = upload(content, "big.csv")

    wait_for(lambda: (cache.get(imports.progress_key(export.pk)) or {}).get("rows", 0) > 100,
             timeout=60, workers=workers, what="the import to get going")
    workers.kill(first)

    # Nothing of the interrupted attempt is visible: it was one transaction.
    assert status_of(export) == "running"
    assert not UsageRecord.objects.exists()

    # A new worker gets the message again once Redis's visibility timeout has passed (a worker
    # restores overdue messages when it starts, and then periodically), and takes the export over
    # because the dead worker's lease has expired by then.
    time.sleep(5)
    workers.start(IMPORT_BATCH_SIZE=5000, CELERY_VISIBILITY_TIMEOUT=4)
    wait_for(lambda: status_of(export) == "succeeded", timeout=120, workers=workers, what="the redelivered import")

    export.refresh_from_db()
    assert export.attempts == 2
    assert UsageRecord.objects.count() == len(rows)
    totals = PersonDay.objects.aggregate(tokens=Sum("total_tokens"), requests=Sum("requests"))
    assert totals == {"tokens": 3 * len(rows), "requests": len(rows)}
