"""What every benchmark needs: a fresh database per run, and commands run as measured child processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")


@contextmanager
def bench_database(kind: str, folder: Path, *, name: str):
    """A fresh, migrated database for one benchmark: a SQLite file in ``folder``, or a PostgreSQL
    database ``name`` created now and dropped afterwards. Yields the environment for child processes."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "leaderboard.settings", "MEDIA_ROOT": str(folder / f"media-{kind}"),
           "VAR_DIR": str(folder / f"var-{kind}"), "DEBUG": "false"}
    env.pop("REDIS_URL", None)
    if kind == "sqlite":
        path = folder / f"{name}.sqlite3"
        for leftover in (path, path.with_suffix(".sqlite3-wal"), path.with_suffix(".sqlite3-shm")):
            leftover.unlink(missing_ok=True)
        env["DATABASE_URL"] = f"sqlite:///{path}"
        manage(env, "migrate", "--verbosity", "0")
        yield env
    elif kind == "postgres":
        import psycopg

        with psycopg.connect(f"{PG_ADMIN_URL}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name}")
            admin.execute(f"CREATE DATABASE {name}")
        env["DATABASE_URL"] = f"{PG_ADMIN_URL}/{name}"
        manage(env, "migrate", "--verbosity", "0")
        try:
            yield env
        finally:
            with psycopg.connect(f"{PG_ADMIN_URL}/postgres", autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    else:
        raise SystemExit(f"unknown database {kind}")


# The log lines of the last command manage() ran.
last_log: list[str] = []


def manage(env, *args) -> tuple[float, int, str]:
    """Run a manage.py command in a child process: (seconds, peak RSS in MB of that child, output).
    Its log (stderr) is kept in ``last_log``."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "benchmarks.child", "manage.py", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    last_log[:] = result.stderr.splitlines()
    *lines, peak = result.stdout.strip().splitlines()
    return seconds, int(peak.split()[-1]), "\n".join(lines)


