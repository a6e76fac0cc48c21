"""manage.py backup and restore: everything the app holds, back in an empty database, the same board."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from leaderboard.models import UsageExport
from tests.test_imports import import_sample_org

ROOT = Path(__file__).resolve().parent.parent
BOARD = ["leaderboard", "--start", "2026-09-01", "--end", "2026-11-30", "--metric", "cost", "--format", "json"]


@pytest.fixture
def empty_database(transactional_db, tmp_path):
    """A database URL nobody has migrated yet, for the restore to fill."""
    if connection.vendor == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    import psycopg

    db = connection.settings_dict
    name = f"{db['NAME']}_restored"
    admin_url = f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    with psycopg.connect(f"{admin_url}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    yield f"{admin_url}/{name}"
    with psycopg.connect(f"{admin_url}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "leaderboard.settings", **env}
    environment.pop("REDIS_URL", None)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True,
                          text=True, timeout=300)


def test_a_backup_restored_into_an_empty_database_gives_the_same_board_and_files(
    transactional_db, samples, settings, tmp_path, empty_database
):
    settings.MEDIA_ROOT = tmp_path / "media"
    import_sample_org(samples)
    board = io.StringIO()
    call_command(*BOARD, stdout=board)
    archive = tmp_path / "backup.tar"

    out = io.StringIO()
    call_command("backup", archive, stdout=out)
    assert f"{UsageExport.objects.count()} raw files" in out.getvalue()

    restored_media = tmp_path / "restored-media"
    env = {"DATABASE_URL": empty_database, "MEDIA_ROOT": str(restored_media), "VAR_DIR": str(tmp_path / "var")}
    restored = manage("restore", str(archive), **env)
    assert restored.returncode == 0, restored.stderr
    again = manage(*BOARD, **env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == json.loads(board.getvalue())
    assert json.loads(again.stdout)  # the board is not trivially empty
    for export in UsageExport.objects.all():
        assert (restored_media / export.file.name).read_bytes() == Path(export.file.path).read_bytes()


def test_a_restore_refuses_a_database_that_is_not_empty(transactional_db, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    archive = tmp_path / "backup.tar"
    call_command("backup", archive, stdout=io.StringIO())
    with pytest.raises(CommandError, match="not empty"):
        call_command("restore", archive)


def test_a_backup_never_overwrites_a_file(db, tmp_path):
    archive = tmp_path / "backup.tar"
    archive.write_text("an older backup")
    with pytest.raises(CommandError, match="exists already"):
        call_command("backup", archive)
    assert archive.read_text() == "an older backup"
