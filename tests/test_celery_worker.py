"""Real Celery worker processes against the real Redis broker: imports run in the background.
(Workers killed mid-import: tests/test_faults.py.)"""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.db import transaction

from leaderboard import imports, tasks
from leaderboard.models import PersonDay, TaskRun, UsageExport
from tests.workers import wait_for

pytestmark = pytest.mark.celery

HEADER = "date,email,provider,model,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,requests,cost_usd\n"


def upload(content: bytes, name: str) -> UsageExport:
    """What the upload page does: keep the file and enqueue the import when the row commits."""
    with transaction.atomic():
        export, _ = imports.store_export(content=ContentFile(content), name=name, origin=UsageExport.Origin.UPLOAD)
        tasks.queue_import(export)
    return export


def status_of(export: UsageExport) -> str:
    return UsageExport.objects.values_list("status", flat=True).get(pk=export.pk)


def test_it_imports_an_upload_in_a_worker_process(workers, cast):
    workers.start()
    export = upload((HEADER + "2026-10-01,erin@example.com,mistral,m,10,5,0,0,1,0.50\n").encode(), "usage.csv")

    wait_for(lambda: status_of(export) == "succeeded", timeout=60, workers=workers, what="the import")
    assert PersonDay.objects.get(person=cast.erin).total_tokens == 15
    # The worker recorded the run for the Health page, and logged one line for it with the task's id.
    run = wait_for(lambda: TaskRun.objects.filter(name="leaderboard.tasks.import_export", state="succeeded").first(),
                   timeout=30, workers=workers, what="the task's run to be recorded")
    assert run.duration is not None and run.duration > 0
    wait_for(lambda: f"task_id={run.task_id} task=leaderboard.tasks.import_export state=success" in workers.logs(),
             timeout=10, workers=workers, what="the task's log line")
