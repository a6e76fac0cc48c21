"""Ingestion speed: `manage.py import_usage` end to end (command start to rollups committed) on a
generic CSV and an OpenAI usage JSON of N rows for P people, against the database's own bulk load
of the same rows in the same run (`sqlite3 .import` / `COPY`), with peak memory and the time of
re-importing the identical file."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from . import harness
from .harness import bench_database, manage

START = date(2026, 1, 1)
HEADER = ["date", "email", "provider", "model", "input_tokens", "output_tokens", "cache_read_tokens",
          "cache_write_tokens", "requests", "cost_usd"]


def run(args) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-ingestion-") as folder:
        folder = Path(folder)
        people = args.people
        rows = args.rows
        days = max(1, rows // people)
        print(f"\n== Ingestion: {rows:,} rows per file, {people:,} people, {days} days")
        files = {
            "roster": write_roster(folder / "roster.csv", people),
            "generic": write_generic(folder / "generic.csv", people, days),
            "openai_users": write_openai_users(folder / "openai_users.json", people),
            "openai": write_openai(folder / "openai_usage.jsonl", people, days),
        }
        for database in args.databases.split(","):
            with bench_database(database, folder, name="leaderboard_bench_ingestion") as env:
                measure(database, env, files, rows, folder)


# --- Files --------------------------------------------------------------------------------------


def email(n: int) -> str:
    return f"person{n:05d}@bench.example"


def write_roster(path: Path, people: int) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "name", "team"])
        for n in range(people):
            writer.writerow([email(n), f"Person {n}", f"Team {n % 50}"])
    return path


def write_generic(path: Path, people: int, days: int, *, start: date = START) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for d in range(days):
            day = (start + timedelta(days=d)).isoformat()
            for n in range(people):
                writer.writerow([day, email(n), "mistral", "mistral-large-2", 1000 + n, 200 + d, 50_000, 3000, 12,
                                 "1.25"])
    return path


def write_openai_users(path: Path, people: int) -> Path:
    path.write_text(json.dumps({"object": "list", "has_more": False, "data": [
        {"object": "organization.user", "id": f"user-{n:08d}", "email": email(n), "name": f"Person {n}"}
        for n in range(people)]}))
    return path


def write_openai(path: Path, people: int, days: int) -> Path:
    """A page per day, one page per line, each result one person's day on one model."""
    with path.open("w") as handle:
        for d in range(days):
            start = int(datetime.combine(START + timedelta(days=d), datetime.min.time(), UTC).timestamp())
            results = [
                {"object": "organization.usage.completions.result", "input_tokens": 60_000 + n, "output_tokens": 900,
                 "num_model_requests": 14, "input_cached_tokens": 50_000, "input_cache_write_tokens": 0,
                 "project_id": None, "user_id": f"user-{n:08d}", "api_key_id": None, "model": "gpt-5.2-2025-12-11",
                 "batch": None, "service_tier": None}
                for n in range(people)
            ]
            page = {"object": "page", "has_more": False, "next_page": None,
                    "data": [{"object": "bucket", "start_time": start, "end_time": start + 86400, "results": results}]}
            handle.write(json.dumps(page) + "\n")
    return path


# --- Measuring ----------------------------------------------------------------------------------


def measure(database: str, env, files, rows: int, folder: Path) -> None:
    manage(env, "import_people", str(files["roster"]))
    manage(env, "import_usage", str(files["openai_users"]))
    reference = bulk_load(database, env, files["generic"], folder)
    print(f"\n  {database}: reference bulk load of the same rows: {reference['plain']:.2f}s "
          f"({rows / reference['plain']:,.0f} rows/s)"
          + (f"; into the indexed usage table: {reference['indexed']:.2f}s "
             f"({rows / reference['indexed']:,.0f} rows/s)" if "indexed" in reference else ""))
    base = reference.get("indexed", reference["plain"])
    floors = floor(database, env, rows=rows, people=len(files_people(files)))
    print(f"  the floor, the three inserts an import makes of the same rows, prepared: {floors['total']:.2f}s "
          f"({floors['total'] / base:.1f}x; usage {floors['usage']:.2f}s, DailyUsage {floors['daily']:.2f}s, "
          f"PersonDay {floors['person_day']:.2f}s)")
    print(f"  {'file':<10} {'seconds':>8} {'rows/s':>10} {'vs bulk load':>13} {'floor':>6} {'vs floor':>9} "
          f"{'peak MB':>8} {'re-import':>10}")
    for name in ("generic", "openai"):
        seconds, peak, _ = manage(env, "import_usage", str(files[name]))
        phases = next((phase_summary(line) for line in harness.last_log if "read and staged" in line), "")
        again, _, output = manage(env, "import_usage", str(files[name]))
        assert "already imported" in output, output
        print(f"  {name:<10} {seconds:>8.2f} {rows / seconds:>10,.0f} {seconds / base:>12.1f}x "
              f"{floors['total'] / base:>5.1f}x {seconds / floors['total']:>8.1f}x {peak:>8} {again:>9.2f}s")
        if phases:
            print(f"  {'':<10} {phases}")


def files_people(files) -> list[str]:
    return files["roster"].read_text().splitlines()[1:]


def phase_summary(line: str) -> str:
    """The import log's line, shortened to its phases' seconds."""
    found = re.search(r"read and staged \d+ rows in ([\d.]+)s, merged \d+ records in ([\d.]+)s, handed over \d+ "
                      r"identities in ([\d.]+)s, rolled up \d+ people in ([\d.]+)s", line)
    if not found:
        return ""
    read, merge, hand, roll = found.groups()
    return f"(reading and staging {read}s, merging {merge}s, identities {hand}s, rollups {roll}s)"


def floor(database: str, env, *, rows: int, people: int) -> dict[str, float]:
    """What no import can go under: the three indexed inserts it makes for every row (the usage row,
    its DailyUsage row and its PersonDay row, every row a new person-day), of rows prepared and sorted
    beforehand, into the app's own tables, in one transaction that is then rolled back. The rows
    name the people's OpenAI identities (imported before), so the identity's foreign key is checked
    as an import's are."""
    days = max(1, rows // people)
    usage = ("INSERT INTO leaderboard_usagerecord (vendor, source, source_rank, identity_id, day, model, dims, "
             "input_tokens, cache_write_tokens, cache_read_tokens, output_tokens, requests, cost_usd, cost_reported, "
             "export_id, export_attempt) SELECT 'mistral', 'generic', 9, identity_id, day, 'mistral-large-2', '', "
             "1000 + n, 3000, 50000, 200, 12, 1.25, {true}, 1, 1 FROM prepared ORDER BY identity_id, day")
    daily = ("INSERT INTO leaderboard_dailyusage (person_id, day, vendor, model, source, input_tokens, "
             "cache_write_tokens, cache_read_tokens, output_tokens, total_tokens, requests, cost_usd, unpriced_records) "
             "SELECT person_id, day, 'mistral', 'mistral-large-2', 'generic', 1000 + n, 3000, 50000, 200, 54200 + n, "
             "12, 1.25, 0 FROM prepared ORDER BY person_id, day")
    person_day = ("INSERT INTO leaderboard_personday (person_id, day, total_tokens, output_tokens, requests, cost_usd, "
                  "unpriced_records, active) SELECT person_id, day, 54200 + n, 200, 12, 1.25, 0, {true} FROM prepared "
                  "ORDER BY person_id, day")
    identities = ("SELECT id, person_id FROM accounts_provideridentity WHERE vendor = 'openai' AND person_id IS NOT NULL "
                  "ORDER BY id")
    timings = {}
    if database == "sqlite":
        import sqlite3

        db = sqlite3.connect(env["DATABASE_URL"].removeprefix("sqlite:///"), isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "cache_size=-65536"):
            db.execute(f"PRAGMA {pragma}")
        db.execute("BEGIN IMMEDIATE")
        db.execute("CREATE TEMPORARY TABLE prepared (identity_id bigint, person_id bigint, day date, n bigint)")
        pairs = db.execute(identities).fetchall()
        db.executemany("INSERT INTO prepared VALUES (?, ?, ?, ?)", (
            (pk, person, (START + timedelta(days=d)).isoformat(), n)
            for d in range(days) for n, (pk, person) in enumerate(pairs)))
        for name, statement in (("usage", usage), ("daily", daily), ("person_day", person_day)):
            started = time.perf_counter()
            db.execute(statement.format(true=1))
            timings[name] = time.perf_counter() - started
        db.execute("ROLLBACK")
        db.close()
    else:
        import psycopg

        with psycopg.connect(env["DATABASE_URL"]) as db:
            db.execute("SET work_mem = '128MB'")
            db.execute("CREATE TEMPORARY TABLE prepared (identity_id bigint, person_id bigint, day date, n bigint)")
            pairs = db.execute(identities).fetchall()
            with db.cursor().copy("COPY prepared FROM STDIN") as copy:
                for d in range(days):
                    day = START + timedelta(days=d)
                    for n, (pk, person) in enumerate(pairs):
                        copy.write_row((pk, person, day, n))
            db.execute("ANALYZE prepared")
            for name, statement in (("usage", usage), ("daily", daily), ("person_day", person_day)):
                started = time.perf_counter()
                db.execute(statement.format(true="true"))
                timings[name] = time.perf_counter() - started
            db.rollback()
    timings["total"] = timings["usage"] + timings["daily"] + timings["person_day"]
    return timings


def bulk_load(database: str, env, generic: Path, folder: Path) -> dict[str, float]:
    """The database loading the same rows with its own bulk path, no application in between."""
    if database == "sqlite":
        target = folder / "plain.sqlite3"
        target.unlink(missing_ok=True)
        schema = "CREATE TABLE plain (day TEXT, email TEXT, provider TEXT, model TEXT, input INTEGER, output INTEGER, " \
                 "cache_read INTEGER, cache_write INTEGER, requests INTEGER, cost TEXT);"
        if shutil.which("sqlite3"):
            started = time.perf_counter()
            subprocess.run(["sqlite3", str(target)], input=f"{schema}\n.import --csv --skip 1 {generic} plain\n",
                           text=True, check=True)
            return {"plain": time.perf_counter() - started}
        import sqlite3  # no CLI: the same load through the driver's executemany

        started = time.perf_counter()
        with sqlite3.connect(target) as db, generic.open() as handle:
            db.execute(schema)
            reader = csv.reader(handle)
            next(reader)
            db.executemany("INSERT INTO plain VALUES (?,?,?,?,?,?,?,?,?,?)", reader)
        return {"plain": time.perf_counter() - started}

    import psycopg

    timings = {}
    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as db:
        db.execute("CREATE TABLE plain (day date, email text, provider text, model text, input bigint, output bigint, "
                   "cache_read bigint, cache_write bigint, requests bigint, cost numeric)")
        started = time.perf_counter()
        with db.cursor() as cursor, cursor.copy("COPY plain FROM STDIN (FORMAT csv, HEADER true)") as copy, \
                generic.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                copy.write(chunk)
        timings["plain"] = time.perf_counter() - started
        # The same rows COPYed into a table shaped and indexed like the usage table (the file is
        # prepared first, so only the database's work is timed).
        db.execute("CREATE TABLE indexed (LIKE leaderboard_usagerecord INCLUDING ALL)")
        shaped = folder / "indexed.csv"
        with generic.open() as source, shaped.open("w", newline="") as target:
            reader, writer = csv.reader(source), csv.writer(target)
            next(reader)
            for n, row in enumerate(reader):
                writer.writerow((n, row[2], "generic", 9, n % 100_000 + 1, row[0], row[3], "", row[4], row[7], row[6],
                                 row[5], row[8], row[9], "t", 1, 1))
        started = time.perf_counter()
        with db.cursor() as cursor, cursor.copy(
            "COPY indexed (id, vendor, source, source_rank, identity_id, day, model, dims, input_tokens, "
            "cache_write_tokens, cache_read_tokens, output_tokens, requests, cost_usd, cost_reported, export_id, "
            "export_attempt) FROM STDIN (FORMAT csv, FORCE_NOT_NULL (dims))"
        ) as copy, shaped.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                copy.write(chunk)
        timings["indexed"] = time.perf_counter() - started
    return timings
