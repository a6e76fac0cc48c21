"""Board speed: the pages employees open every morning, on a synthetic company loaded into the rollups.

`python -m benchmarks boards [--people N] [--databases sqlite,postgres]` (issue 4, "Speed"). For each
database, in a child process of its own (Django is set up once per process):

1. a company of N people (default 10,000) in teams and sub-teams, with a year of rollups written
   straight into PersonDay and DailyUsage (executemany on SQLite, COPY on PostgreSQL), then ANALYZE;
2. the board (last 30 days by tokens, 50 rows, my row pinned under them), the yearly board, the team
   board and "my usage", each timed with the Django test client (median, p95, requests per second,
   SQL queries), first right after an import (the rollup version bumped: caches cold), then warm;
3. the same pages under wrk against gunicorn on 127.0.0.1 (2 workers): median and p95 latency,
   requests per second; skipped with a message when wrk is missing and cannot be installed.

The reference for each page is the same template rendered from constant data (the page's context
computed once, then only rendered, with no database access): `reference` below, mounted by
benchmarks/urls.py. The ratios to it are measured in the same run, so they mean something on any
machine. Nothing here asserts; the goals (p95 under 50 ms, at least half the reference's
throughput, at most 8 queries) are printed beside the numbers.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from unittest import mock

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpResponse
from django.shortcuts import render

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
PG_DATABASE = os.environ.get("BENCH_POSTGRES_DATABASE", "leaderboard_bench_boards")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
DAYS = 365
# (path, what a correct answer contains): the pages issue 4 names.
PAGES = {
    "board": ("/?period=30d&metric=tokens", 'class="pinned-rows"'),
    "year": ("/?period=year&metric=tokens", 'class="board-table'),
    "teams": ("/teams/", 'class="board-table teams-table"'),
    "me": ("/me/", "Rank by tokens"),
}
VENDORS = {
    "anthropic": {"claude-opus-4-5": 15.0, "claude-sonnet-4-5": 3.0, "claude-haiku-4-5": 1.0},
    "openai": {"gpt-5": 1.25, "gpt-5-mini": 0.25, "o3": 2.0},
    "cursor": {"composer-2.5": 1.25, "cursor-small": 0.2, "auto": 1.0},
}
SOURCES = {"anthropic": "anthropic_usage_report", "openai": "openai_usage", "cursor": "cursor_events"}
TITLES = ["Engineer", "Senior Engineer", "Staff Engineer", "Designer", "Product Manager", "Data Scientist",
          "Account Executive", "Support Specialist"]
GOAL_P95_MS = 50
MAX_QUERIES = 8


def run(args) -> None:
    people = args.people
    print(f"\n== Boards: {people:,} people, {DAYS} days of rollups, "
          f"{len(VENDORS)} vendors x {len(next(iter(VENDORS.values())))} models")
    for database in args.databases.split(","):
        with tempfile.TemporaryDirectory(prefix="bench-boards-") as folder, bench_database(database, Path(folder)) as env:
            subprocess.run([sys.executable, "-m", "benchmarks.boards", database, "--people", str(people),
                            "--folder", folder], cwd=ROOT, env=env, check=False)


@contextmanager
def bench_database(kind: str, folder: Path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "benchmarks.settings", "VAR_DIR": str(folder / "var"),
           "MEDIA_ROOT": str(folder / "media"), "DEBUG": "false", "CONN_MAX_AGE": "600"}
    env.pop("REDIS_URL", None)
    if kind == "sqlite":
        # A laptop's set-up: SQLite and the file-based cache under var/.
        env["DATABASE_URL"] = f"sqlite:///{folder / 'bench.sqlite3'}"
        yield env
        return
    if kind != "postgres":
        raise SystemExit(f"unknown database {kind}")
    import psycopg

    # Production's set-up: PostgreSQL and Redis (when one answers), under a key prefix of this run.
    if _redis_answers(REDIS_URL):
        env["REDIS_URL"] = REDIS_URL
        env["BENCH_CACHE_PREFIX"] = f"bench-boards-{os.getpid()}-{time.time_ns()}"
    with psycopg.connect(f"{PG_ADMIN_URL}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {PG_DATABASE}")
    env["DATABASE_URL"] = f"{PG_ADMIN_URL}/{PG_DATABASE}"
    try:
        yield env
    finally:
        with psycopg.connect(f"{PG_ADMIN_URL}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")


def _redis_answers(url: str) -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except Exception:
        return False


# --- The reference: the same templates, constant data -------------------------------------------

_constant: dict[str, tuple] = {}


@login_not_required
def reference(request, page: str):
    """A page's template rendered from constant data, without touching the database: the context is
    computed once, by the real view for the benchmark's viewer (BENCH_VIEWER, a person id), then each
    request only renders it. Asked without a session cookie, so not even the session is read."""
    if page not in PAGES:
        raise Http404
    if page not in _constant:
        _constant[page] = _capture(page, request)
    template, context, user, has_reports = _constant[page]
    request.user = user
    request.has_reports = has_reports
    return render(request, template, context)


def _capture(page: str, request) -> tuple:
    from django.test import RequestFactory

    from accounts.models import Person
    from leaderboard.views import boards as views

    path, _ = PAGES[page]
    real = RequestFactory().get(path)
    real.user, real.htmx = Person.objects.get(pk=int(os.environ["BENCH_VIEWER"])), request.htmx
    seen = {}

    def capture(request, template, context):
        seen.update(template=template, context=context)
        return HttpResponse()

    view = {"board": views.board, "year": views.board, "teams": views.teams, "me": views.me}[page]
    with mock.patch.object(views, "render", capture):
        view(real)
    return seen["template"], seen["context"], real.user, getattr(real, "has_reports", None)


# --- The synthetic company ----------------------------------------------------------------------


def load_company(people: int, seed: int = 4) -> dict:
    """Teams, people and a year of rollups, written the way a restore would: in bulk, no app code.

    Every person has a PersonDay row for every day (zeros on inactive days); DailyUsage holds a row per
    vendor and model a person used on an active day. Activity, vendors, models and volumes vary by
    person (a log-normal intensity: a few heavy users, many light ones)."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection

    from accounts.models import Person, Team
    from leaderboard.boards.filters import utc_today
    from leaderboard.models import UsageExport

    rng = random.Random(seed)
    today = utc_today()
    first = today - timedelta(days=DAYS - 1)
    departments = max(2, people // 500)
    teams = []
    for d in range(departments):
        parent = Team.objects.create(name=f"Department {d + 1:02}")
        teams.append(parent)
        teams += Team.objects.bulk_create(
            [Team(name=f"Department {d + 1:02} · Team {t + 1}", parent=parent) for t in range(4)]
        )
    password = make_password("benchmark")
    privacy = [Person.Privacy.NAMED] * 16 + [Person.Privacy.ANONYMOUS] * 3 + [Person.Privacy.HIDDEN]
    rows = Person.objects.bulk_create(
        [Person(email=f"person{n:05d}@bench.example", name=f"Person {n:05d}", password=password,
                team=teams[n % len(teams)], title=TITLES[n % len(TITLES)], privacy=privacy[n % len(privacy)],
                status=Person.Status.LEAVE if n % 97 == 0 else Person.Status.ACTIVE)
         for n in range(people)],
        batch_size=2000,
    )
    # The first person of each team manages the rest of it.
    leads = {}
    for person in rows:
        leads.setdefault(person.team_id, person.pk)
    Person.objects.bulk_update(
        [Person(pk=p.pk, manager_id=leads[p.team_id]) for p in rows if leads[p.team_id] != p.pk],
        ["manager"], batch_size=2000,
    )
    Person.objects.filter(pk=rows[0].pk).update(is_staff=True)
    for vendor in VENDORS:
        UsageExport.objects.create(
            file=f"bench/{vendor}.json", original_name=f"{vendor}.json", size=0, sha256=vendor * 4,
            status=UsageExport.Status.SUCCEEDED, first_day=first, last_day=today, vendors=[vendor],
        )

    day_names = [(first + timedelta(days=n)).isoformat() for n in range(DAYS)]
    weekend = [(first + timedelta(days=n)).weekday() >= 5 for n in range(DAYS)]
    pairs = [(v, m, price) for v, models in VENDORS.items() for m, price in models.items()]
    counts = {"person_day": 0, "active": 0, "daily": 0}
    intensity = {}
    person_day, daily = [], []
    writer = _Writer(connection)
    for person in rows:
        scale = rng.lognormvariate(0, 1.2) * 400_000
        intensity[person.pk] = scale
        weekday_odds = rng.uniform(0.2, 0.9)
        used = [p for p in pairs if p[0] in rng.sample(list(VENDORS), rng.choice((1, 2, 2, 3)))]
        used = [p for p in used if rng.random() < 0.6] or used[:1]
        for n in range(DAYS):
            odds = weekday_odds * (0.3 if weekend[n] else 1)
            if rng.random() >= odds:
                person_day.append((person.pk, day_names[n], 0, 0, 0, 0.0, 0, False))
                continue
            total = output = requests = 0
            cost = 0.0
            for vendor, model, price in used:
                tokens = int(scale * rng.uniform(0.2, 1.8))
                out, read, write = tokens // 25, tokens * 13 // 20, tokens * 3 // 50
                calls = 1 + tokens // 40_000
                dollars = round(tokens * price / 1e6, 6)
                daily.append((person.pk, day_names[n], vendor, model, SOURCES[vendor], tokens - out - read - write,
                              write, read, out, tokens, calls, dollars, 0))
                total, output, requests, cost = total + tokens, output + out, requests + calls, cost + dollars
            person_day.append((person.pk, day_names[n], total, output, requests, round(cost, 6), 0, True))
            counts["active"] += 1
        if len(person_day) > 200_000:
            counts["person_day"] += writer.person_days(person_day)
            counts["daily"] += writer.daily(daily)
            person_day, daily = [], []
    counts["person_day"] += writer.person_days(person_day)
    counts["daily"] += writer.daily(daily)
    writer.finish()
    # "Me": a named employee (not a lead) at the 70th percentile of usage, so my row is pinned.
    employees = sorted((p for p in rows if p.privacy == Person.Privacy.NAMED and p.pk not in leads.values()
                        and p.status == Person.Status.ACTIVE), key=lambda p: intensity[p.pk])
    me = employees[int(len(employees) * 0.7)]
    return {**counts, "people": people, "teams": len(teams), "first": first, "last": today, "me": me.pk,
            "manager": leads[me.team_id]}


class _Writer:
    """Bulk writes into the two rollup tables: executemany on SQLite, COPY on PostgreSQL."""

    PERSON_DAY = ("person_id", "day", "total_tokens", "output_tokens", "requests", "cost_usd", "unpriced_records",
                  "active")
    DAILY = ("person_id", "day", "vendor", "model", "source", "input_tokens", "cache_write_tokens",
             "cache_read_tokens", "output_tokens", "total_tokens", "requests", "cost_usd", "unpriced_records")

    def __init__(self, connection):
        from leaderboard.models import DailyUsage, PersonDay

        connection.ensure_connection()
        self.connection = connection
        self.raw = connection.connection
        self.tables = {"person_day": PersonDay._meta.db_table, "daily": DailyUsage._meta.db_table}
        if connection.vendor == "sqlite":
            # A big page cache while loading: the (day, person) indexes are written out of order.
            self.raw.execute("PRAGMA cache_size=-2000000")

    def person_days(self, rows) -> int:
        return self._write("person_day", self.PERSON_DAY, rows)

    def daily(self, rows) -> int:
        return self._write("daily", self.DAILY, rows)

    def _write(self, table: str, columns: tuple, rows: list) -> int:
        name = self.tables[table]
        if self.connection.vendor == "sqlite":
            marks = ", ".join("?" * len(columns))
            # Django keeps the driver in autocommit: without a transaction, every row would be one.
            self.raw.execute("BEGIN")
            self.raw.executemany(f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({marks})", rows)
            self.raw.execute("COMMIT")
        else:
            with self.raw.transaction(), self.raw.cursor() as cursor, \
                    cursor.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return len(rows)

    def finish(self) -> None:
        if self.connection.vendor == "sqlite":
            self.raw.execute("PRAGMA cache_size=-65536")
            self.raw.execute("ANALYZE")
        else:
            # Django keeps PostgreSQL connections in autocommit, which VACUUM needs.
            for name in self.tables.values():
                # What autovacuum would do soon after a big import: statistics and the visibility map
                # (without which PostgreSQL cannot answer from an index alone).
                self.raw.execute(f"VACUUM ANALYZE {name}")
            self.raw.execute("ANALYZE")


# --- Measuring ----------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def time_client(client, path: str, *, seconds: float = 4.0, at_least: int = 15, at_most: int = 300) -> dict:
    times = []
    started = time.perf_counter()
    while len(times) < at_most and (len(times) < at_least or time.perf_counter() - started < seconds):
        before = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - before)
        if response.status_code != 200:
            raise SystemExit(f"{path}: HTTP {response.status_code}")
    return {"p50": statistics.median(times) * 1000, "p95": percentile(times, 0.95) * 1000,
            "rps": len(times) / sum(times), "n": len(times)}


def count_queries(client, path: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        client.get(path)
    return len(queries)


def measure_client(company: dict) -> dict:
    from django.test import Client

    from accounts.models import Person
    from leaderboard import cache
    from leaderboard.boards import warming

    client = Client()
    client.force_login(Person.objects.get(pk=company["me"]))
    stranger = Client()  # The reference is asked without a session.
    results = {}
    # Right after an import: the rollup version bumped, every cached aggregate out of date.
    cache.bump(cache.ROLLUPS)
    for page, (path, marker) in PAGES.items():
        before = time.perf_counter()
        response = client.get(path)
        cold = (time.perf_counter() - before) * 1000
        body = response.content.decode()
        if response.status_code != 200 or marker not in body:
            raise SystemExit(f"{page}: HTTP {response.status_code}, {marker!r} not in the page")
        results[page] = {"cold": cold}
    # With the cache warmed after the import (what the import task does when it finishes).
    cache.bump(cache.ROLLUPS)
    before = time.perf_counter()
    warmed = warming.warm_cache()
    warm_seconds = time.perf_counter() - before
    for page, (path, _) in PAGES.items():
        before = time.perf_counter()
        client.get(path)
        results[page]["after_warming"] = (time.perf_counter() - before) * 1000
    # What the agents' telemetry does every half minute: today's rollups rebuilt, "today" moved.
    from leaderboard.boards.filters import utc_today
    for page, (path, _) in PAGES.items():
        cache.rollups_changed(utc_today())
        before = time.perf_counter()
        client.get(path)
        results[page]["after_fold"] = (time.perf_counter() - before) * 1000
    for page, (path, _) in PAGES.items():
        results[page].update(time_client(client, path))
        results[page]["queries"] = count_queries(client, path)
        reference = f"/bench/reference/{page}/"
        stranger.get(reference)
        results[page]["reference"] = time_client(stranger, reference)
    return {"pages": results, "session": client.cookies["sessionid"].value, "warm_seconds": warm_seconds,
            "warmed": warmed}


# --- wrk against gunicorn -----------------------------------------------------------------------

WRK_SCRIPT = """
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
                 + summary.errors.status + summary.errors.timeout
  io.write(string.format('{"p50": %f, "p95": %f, "rps": %f, "requests": %d, "errors": %d}\\n',
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    summary.requests / (summary.duration / 1000000), summary.requests, errors))
end
"""


def find_wrk() -> str | None:
    """wrk, installed with apt-get when missing and running as root; else None (wrk is skipped)."""
    if shutil.which("wrk"):
        return shutil.which("wrk")
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        print("  wrk is not installed and this is not root: skipping the wrk measurements (apt-get install wrk)")
        return None
    print("  installing wrk (apt-get install wrk)...", flush=True)
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], env=env, **quiet).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, **quiet)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], env=env, **quiet)
    if not shutil.which("wrk"):
        print("  wrk could not be installed: skipping the wrk measurements")
    return shutil.which("wrk")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(port: int):
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
         "leaderboard.wsgi"], cwd=ROOT, env=os.environ.copy(),
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)


def fetch(url: str, cookie: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Cookie": f"sessionid={cookie}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read().decode()


def measure_wrk(wrk: str, session: str, folder: Path, *, seconds: int) -> dict:
    script = folder / "report.lua"
    script.write_text(WRK_SCRIPT)
    port = free_port()
    results = {}
    with gunicorn(port):
        base = f"http://127.0.0.1:{port}"
        for page, (path, marker) in PAGES.items():
            results[page] = {}
            for kind, url in (("page", base + path), ("reference", f"{base}/bench/reference/{page}/")):
                cookie = session if kind == "page" else ""
                status, body = fetch(url, cookie)
                if status != 200 or marker not in body:
                    raise SystemExit(f"{url}: HTTP {status}, {marker!r} not in the page")
                command = [wrk, "-t1", "-c2", "-H", f"Cookie: sessionid={cookie}", "-s", str(script)]
                # A warm-up run first: both workers import, compile templates and fill their caches.
                subprocess.run([*command, "-d2s", url], capture_output=True, text=True)
                output = subprocess.run([*command, f"-d{seconds}s", url], capture_output=True, text=True).stdout
                results[page][kind] = json.loads(output.strip().splitlines()[-1])
    return results


# --- The child process: one database ------------------------------------------------------------


def child(database: str, people: int, folder: Path) -> None:
    import django

    django.setup()
    from django.core.cache import caches
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    company = load_company(people)
    loaded = time.perf_counter() - started
    cache_name = type(caches["default"]).__name__
    print(f"\n  {database} ({connection.vendor}, cache: {cache_name}): loaded in {loaded:.0f}s "
          f"{company['people']:,} people in {company['teams']} teams; "
          f"{company['person_day']:,} PersonDay rows (every person, every day {company['first']} to {company['last']}; "
          f"{company['active']:,} active); {company['daily']:,} DailyUsage rows (the vendors and models each person "
          f"used on active days, of {len(VENDORS)} vendors x 3 models)", flush=True)
    os.environ["BENCH_VIEWER"] = str(company["me"])  # Whose pages the reference renders (gunicorn too).
    client = measure_client(company)
    wrk = find_wrk()
    served = measure_wrk(wrk, client["session"], folder, seconds=8) if wrk else {}
    print(f"  cache warming after an import ({', '.join(client['warmed'])}): {client['warm_seconds'] * 1000:.0f} ms")
    print_table(database, client["pages"], served)


def print_table(database: str, pages: dict, served: dict) -> None:
    out = io.StringIO()
    out.write(f"  {'page':<7} {'cold':>7} {'warmed':>7} {'fold':>7} | {'client p50':>10} {'p95':>7} {'req/s':>7} {'ref req/s':>9} "
              f"{'vs ref':>6} {'SQL':>4}")
    if served:
        out.write(f" | {'wrk p50':>8} {'p95':>7} {'req/s':>7} {'ref req/s':>9} {'vs ref':>6}")
    out.write("\n")
    for page, found in pages.items():
        ref = found["reference"]
        out.write(f"  {page:<7} {found['cold']:>5.0f}ms {found['after_warming']:>5.0f}ms "
                  f"{found['after_fold']:>5.0f}ms | {found['p50']:>8.1f}ms "
                  f"{found['p95']:>5.1f}ms {found['rps']:>7.0f} {ref['rps']:>9.0f} {found['rps'] / ref['rps']:>6.2f} "
                  f"{found['queries']:>4}")
        if page in served:
            page_run, ref_run = served[page]["page"], served[page]["reference"]
            errors = f" ({page_run['errors']} errors)" if page_run["errors"] else ""
            out.write(f" | {page_run['p50']:>6.1f}ms {page_run['p95']:>5.1f}ms {page_run['rps']:>7.0f} "
                      f"{ref_run['rps']:>9.0f} {page_run['rps'] / ref_run['rps']:>6.2f}{errors}")
        out.write("\n")
    out.write(f"  goals: p95 < {GOAL_P95_MS} ms, at least 0.5 of the reference's req/s, at most {MAX_QUERIES} SQL "
              f"queries. cold = first request after an import (no warming); warmed = first request after an "
              f"import once the cache was warmed; fold = first request after a "
              f"rebuild of today's rollups alone (a telemetry fold); wrk: 1 thread, 2 connections, 8 s, gunicorn 2 workers.\n")
    print(out.getvalue(), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.boards")
    parser.add_argument("database")
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--folder", type=Path, required=True)
    options = parser.parse_args()
    child(options.database, options.people, options.folder)
