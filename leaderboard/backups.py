"""Backing up and restoring everything the app holds: the database and the raw exports.

A backup is one tar file: ``database.dump`` (PostgreSQL's custom format, from ``pg_dump``) or
``database.sqlite3`` (SQLite's online backup), the raw files under ``media/``, and ``manifest.json``.
It is consistent: the database is copied first, as one snapshot, and the raw files after it; a raw
file is never changed once written, so every file the copied database names is in the archive (one
uploaded meanwhile may be there too, named by no row: harmless).

A restore goes into an empty database only (it never merges into live data) and then puts the raw
files back, refusing to overwrite a different file of the same name.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

from .models import UsageExport

FORMAT_VERSION = 1


class BackupError(Exception):
    """A backup or restore that cannot be done as asked; the message says why."""


@dataclass
class Manifest:
    created_at: str
    vendor: str
    exports: int
    files: int

    def as_dict(self) -> dict:
        return {"format": FORMAT_VERSION, "created_at": self.created_at, "database": self.vendor,
                "exports": self.exports, "files": self.files}


def _pg_env() -> tuple[dict, list[str]]:
    db = connection.settings_dict
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    args = ["-h", db.get("HOST") or "127.0.0.1", "-p", str(db.get("PORT") or 5432), "-U", db.get("USER") or "postgres"]
    return env, args


def _run(command: list[str], env: dict) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip() or result.stdout.strip()}")


def backup(destination: Path) -> Manifest:
    """Write the backup archive to ``destination`` (a new file)."""
    destination = Path(destination)
    if destination.exists():
        raise BackupError(f"{destination} exists already; choose a new file")
    media = Path(settings.MEDIA_ROOT)
    with tempfile.TemporaryDirectory(prefix="leaderboard-backup-") as folder:
        folder = Path(folder)
        if connection.vendor == "postgresql":
            env, args = _pg_env()
            database = folder / "database.dump"
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", *args,
                  "-f", str(database), connection.settings_dict["NAME"]], env)
        elif connection.vendor == "sqlite":
            database = folder / "database.sqlite3"
            connection.ensure_connection()
            with sqlite3.connect(database) as copy:
                connection.connection.backup(copy)
        else:
            raise BackupError(f"No backup for {connection.vendor} databases")
        names = sorted(set(UsageExport.objects.values_list("file", flat=True)))
        kept = [name for name in names if (media / name).is_file()]
        manifest = Manifest(timezone.now().isoformat(), connection.vendor, len(names), len(kept))
        (folder / "manifest.json").write_text(json.dumps(manifest.as_dict(), indent=2))
        with tarfile.open(destination, "w") as archive:
            archive.add(folder / "manifest.json", arcname="manifest.json")
            archive.add(database, arcname=database.name)
            for name in kept:
                archive.add(media / name, arcname=f"media/{name}")
    return manifest


def _database_is_empty() -> bool:
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
    return not [table for table in tables if not table.startswith("sqlite_")]


def restore(source: Path) -> Manifest:
    """Put a backup back into an empty database and its raw files under MEDIA_ROOT."""
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"{source}: no such file")
    if not _database_is_empty():
        raise BackupError("the database is not empty: restore into a new, empty database")
    media = Path(settings.MEDIA_ROOT)
    with tempfile.TemporaryDirectory(prefix="leaderboard-restore-") as folder, tarfile.open(source) as archive:
        folder = Path(folder)
        archive.extractall(folder, filter="data")  # no absolute paths, no links out of the folder
        data = json.loads((folder / "manifest.json").read_text())
        if data.get("format") != FORMAT_VERSION:
            raise BackupError(f"{source} is not a backup this version can restore")
        if data["database"] != connection.vendor:
            raise BackupError(f"{source} holds a {data['database']} database; this one is {connection.vendor}")
        if connection.vendor == "postgresql":
            env, args = _pg_env()
            _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", *args,
                  "-d", connection.settings_dict["NAME"], str(folder / "database.dump")], env)
        else:
            connection.ensure_connection()
            with sqlite3.connect(folder / "database.sqlite3") as copy:
                copy.backup(connection.connection)
        connections.close_all()
        for path in sorted((folder / "media").rglob("*")) if (folder / "media").exists() else ():
            if not path.is_file():
                continue
            target = media / path.relative_to(folder / "media")
            if target.exists() and target.read_bytes() != path.read_bytes():
                raise BackupError(f"{target} exists with other content; restore into an empty MEDIA_ROOT")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    return Manifest(data["created_at"], data["database"], data["exports"], data["files"])
