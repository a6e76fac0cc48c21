"""`make run` with nothing configured: SQLite and the file broker under var/. An upload made by the
web process is picked up by a separate worker process, as on a newcomer's laptop."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.celery

UPLOAD = """
from django.core.files.base import ContentFile
from django.db import transaction
from leaderboard import imports, tasks
from leaderboard.models import UsageExport
csv = b"date,email,provider,model,input_tokens,output_tokens\\n2026-10-01,erin@example.com,mistral,m,10,5\\n"
with transaction.atomic():
    export, _ = imports.store_export(content=ContentFile(csv), name="usage.csv", origin=UsageExport.Origin.UPLOAD)
    tasks.queue_import(export)
"""


def test_it_runs_imports_in_a_worker_with_no_configuration(tmp_path):
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "REDIS_URL", "MEDIA_ROOT", "CELERY_QUEUE")}
    env.update(VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="leaderboard.settings")

    def manage(*args, **kwargs):
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True,
                              capture_output=True, text=True, **kwargs)

    roster = tmp_path / "roster.csv"
    roster.write_text("email,name\nerin@example.com,Erin Employee\n")
    manage("migrate", "--verbosity", "0")
    manage("import_people", str(roster))
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "leaderboard", "worker", "--concurrency", "1", "--loglevel", "INFO",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        manage("shell", "--command", UPLOAD)
        status, deadline = None, time.monotonic() + 60
        while status != "succeeded" and time.monotonic() < deadline:
            time.sleep(0.5)
            with sqlite3.connect(tmp_path / "db.sqlite3") as db:
                status = db.execute("SELECT status FROM leaderboard_usageexport").fetchone()[0]
        assert status == "succeeded"
        with sqlite3.connect(tmp_path / "db.sqlite3") as db:
            assert db.execute("SELECT SUM(total_tokens) FROM leaderboard_personday").fetchone()[0] == 15
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
