"""Run the load test (see loadtest/__init__.py): `python -m loadtest`, or `make loadtest`."""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

from benchmarks import boards as board_bench
from benchmarks import ingestion as ingestion_bench

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("LOADTEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
DATABASE = os.environ.get("LOADTEST_DATABASE", "leaderboard_load")
REDIS_URL = os.environ.get("LOADTEST_REDIS_URL", "redis://127.0.0.1:6379/8")
GOAL_P99_MS = 300
# Every wait has an end: a load test that hangs says so and stops.
IMPORT_TIMEOUT = 30 * 60


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest")
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--telemetry-per-second", type=float, default=1000 / 60, help="the telemetry goal: 1,000 a minute")
    parser.add_argument("--skip-alone", action="store_true", help="don't time the import alone first")
    parser.add_argument("--no-import", action="store_true", help="the people and the agents only: what the import costs them")
    parser.add_argument("--keep", action="store_true", help="leave the database behind, to look into it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="loadtest-") as folder:
        run(args, Path(folder))
    return 0


def environment(folder: Path) -> dict:
    import redis

    redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "benchmarks.settings",  # the app's, with static files served from source
        "DATABASE_URL": f"{PG_ADMIN_URL}/{DATABASE}",
        "REDIS_URL": REDIS_URL,
        "BENCH_CACHE_PREFIX": f"loadtest-{os.getpid()}-{time.time_ns()}",
        "CELERY_QUEUE": f"loadtest-{os.getpid()}",
        "VAR_DIR": str(folder / "var"),
        "MEDIA_ROOT": str(folder / "media"),
        "DEBUG": "false",
        "CONN_MAX_AGE": "600",
        "BENCH_REQUEST_LOG": "INFO",
    }


def run(args, folder: Path) -> None:
    import psycopg

    env = environment(folder)
    with psycopg.connect(f"{PG_ADMIN_URL}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DATABASE}")
    os.environ.update(env)
    processes: list[subprocess.Popen] = []
    try:
        plan, files = prepare(args, folder)
        processes.append(start_worker(env, folder))
        alone = None if args.skip_alone else import_file(files[0], timeout=IMPORT_TIMEOUT)
        if alone:
            print(f"  the import alone: {alone['seconds']:.1f} s in the worker ({alone['end_to_end']:.1f} s from "
                  f"queued to done), {alone['rows']:,} rows", flush=True)
            wait_for_quiet(env)
        alone_pages = time_pages(plan)
        port = board_bench.free_port()
        processes.append(start_gunicorn(env, port, args.web_workers, folder))
        warm_up(port, plan)
        plan_file = folder / "plan.json"
        plan_file.write_text(json.dumps(plan))
        before = os.getloadavg()[0]
        cpu_before = cpu_by_role()
        started_at = time.time()
        export = None if args.no_import else queue_file(files[1])
        watcher = VersionWatcher()
        watcher.start()
        stats = run_locust(env, port, plan_file, folder, users=args.users, seconds=args.seconds)
        plan["versions_moved"] = watcher.finish()
        plan["cpu"] = {role: spent - cpu_before.get(role, 0) for role, spent in cpu_by_role().items()}
        plan["in_app"] = time_in_app(folder / "gunicorn.log", since=started_at)
        # The machine's load average before and at the end of the run: a shared machine's other work shows here.
        plan["load_average"] = (before, os.getloadavg()[0])
        under_load = wait_for_import(export, timeout=IMPORT_TIMEOUT) if export else None
        report(args, stats, alone, under_load, plan)
        report_alone(alone_pages)
    finally:
        for process in reversed(processes):
            stop(process)
        from django.db import connections

        connections.close_all()
        if args.keep:
            print(f"  kept: DATABASE_URL={env['DATABASE_URL']}; plan {folder / 'plan.json'} (gone with its folder)")
        else:
            with psycopg.connect(f"{PG_ADMIN_URL}/postgres", autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


# --- The company, its people's sessions, the files ------------------------------------------------


def prepare(args, folder: Path) -> tuple[dict, list[Path]]:
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from accounts.models import Person
    from leaderboard import flags, review
    from leaderboard.boards.filters import utc_today
    from leaderboard.models import Flag
    from leaderboard.telemetry import tokens

    started = time.monotonic()
    call_command("migrate", verbosity=0)
    company = board_bench.load_company(args.people)
    # Evaluated a week ago: the flags managers review are past their employee-first days.
    evaluated = flags.evaluate(as_of=utc_today() - timedelta(days=7))
    print(f"\n== Load: {args.people:,} people, a year of rollups ({company['person_day']:,} PersonDay, "
          f"{company['daily']:,} DailyUsage rows), {Flag.objects.count():,} flags open; ready in "
          f"{time.monotonic() - started:.0f} s", flush=True)
    del evaluated

    def session(person) -> str:
        client = Client()
        client.force_login(person)
        return client.cookies["sessionid"].value

    leads = set(Person.objects.exclude(manager=None).values_list("manager_id", flat=True))
    employees = [p for p in Person.objects.filter(status=Person.Status.ACTIVE).exclude(pk__in=leads).order_by("?")[:40]]
    managers = []
    for lead in Person.objects.filter(pk__in=leads).order_by("pk"):
        open_flags = list(review.reviewable_flags(lead).filter(person__manager=lead).values_list("pk", flat=True)[:50])
        if open_flags:
            managers.append({"session": session(lead), "team": lead.team_id, "flags": open_flags, "pk": lead.pk})
        if len(managers) == 12:
            break
    if not managers:
        raise SystemExit("no manager has flags in their line: the review pages would not be exercised")
    _, token = tokens.create_token(name="load test", by=None)
    plan = {
        "employees": [{"session": session(p), "team": p.team_id, "pk": p.pk} for p in employees],
        "managers": managers,
        "token": token,
        "agent_emails": [p.email for p in employees[:20]],
        "telemetry_per_second": args.telemetry_per_second,
    }
    days = max(1, args.rows // args.people)
    first = date(2026, 1, 1)
    files = [ingestion_bench.write_generic(folder / name, args.people, days, start=start)
             for name, start in (("alone.csv", first), ("under-load.csv", first + timedelta(days=days)))]
    return plan, files


# --- The import -------------------------------------------------------------------------------------


def queue_file(path: Path):
    from django.core.files import File
    from django.db import transaction

    from leaderboard import imports, tasks
    from leaderboard.models import UsageExport

    with path.open("rb") as handle, transaction.atomic():
        export, _ = imports.store_export(content=File(handle, name=path.name), name=path.name,
                                         origin=UsageExport.Origin.UPLOAD)
        tasks.queue_import(export)
    return export


def wait_for_import(export, *, timeout: float) -> dict:
    from leaderboard.models import UsageExport

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = UsageExport.objects.get(pk=export.pk)
        if found.status in (UsageExport.Status.SUCCEEDED, UsageExport.Status.FAILED):
            if found.status == UsageExport.Status.FAILED:
                raise SystemExit(f"the import failed: {found.failure}")
            return {"seconds": found.duration, "rows": found.rows_read,
                    "end_to_end": (found.finished_at - found.created_at).total_seconds()}
        time.sleep(1)
    raise SystemExit(f"the import of {export.original_name} did not finish within {timeout:.0f} s")


def import_file(path: Path, *, timeout: float) -> dict:
    return wait_for_import(queue_file(path), timeout=timeout)


def wait_for_quiet(env: dict, timeout: float = 300) -> None:
    """What follows an import (warming the boards, evaluating the flags) done, so it is not measured."""
    import redis

    queue = redis.Redis.from_url(env["REDIS_URL"])
    deadline = time.monotonic() + timeout
    quiet_since = None
    while time.monotonic() < deadline:
        from leaderboard.models import TaskRun

        busy = queue.llen(env["CELERY_QUEUE"]) or TaskRun.objects.filter(finished_at=None).exists()
        quiet_since = None if busy else (quiet_since or time.monotonic())
        if quiet_since and time.monotonic() - quiet_since > 3:
            return
        time.sleep(0.5)


# --- Each page alone ---------------------------------------------------------------------------------

# One URL per line of the locust report (loadtest/locustfile.py varies the filters).
PAGES = {
    "board: 30 days, tokens": ("employee", "/?period=30d&metric=tokens"),
    "board: other period and metric": ("employee", "/?period=quarter&metric=cost"),
    "board: one vendor": ("employee", "/?period=30d&metric=cost&vendor=openai"),
    "board: my team": ("employee", "/?period=30d&metric=tokens&team={team}"),
    "board: year, a later page": ("employee", "/?period=year&metric=tokens&page=7"),
    "teams": ("employee", "/teams/"),
    "my usage": ("employee", "/me/"),
    "board CSV": ("employee", "/board.csv?period=30d&metric=tokens"),
    "review queue": ("manager", "/review/"),
    "review queue, filtered": ("manager", "/review/?status=all&sort=severity"),
    "a flag": ("manager", "/review/{flag}/"),
}


def time_pages(plan: dict) -> dict:
    """Each page asked by one person at a time, in this process (the test client): the first time
    (what the post-import warm-up left cold: this filter, this person) and again (warm)."""
    from django.test import Client

    from accounts.models import Person

    clients = {}
    for role, who in (("employee", plan["employees"][0]), ("manager", plan["managers"][0])):
        clients[role] = Client()
        clients[role].force_login(Person.objects.get(pk=who["pk"]))
    values = {"team": plan["employees"][0]["team"], "flag": plan["managers"][0]["flags"][0]}
    found = {}
    for name, (role, path) in PAGES.items():
        times = []
        for _ in range(3):
            started = time.perf_counter()
            response = clients[role].get(path.format(**values))
            times.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{name}: {path} answered {response.status_code}")
        found[name] = {"first": times[0], "warm": min(times[1:])}
    return found


def report_alone(pages: dict) -> None:
    print("\n  each page alone, before the load (ms, one request at a time; first = cold for this filter "
          "and person, warm = asked again)")
    for name, found in pages.items():
        print(f"  {name:<32} first {found['first']:>7.0f}  warm {found['warm']:>7.0f}")


def time_in_app(log: Path, *, since: float) -> dict[str, tuple[int, float, float, float]]:
    """Per path, from the app's request lines (leaderboard/logs.py) written since ``since``: how many,
    and the p50, p99 and longest time the app itself spent on them, in milliseconds."""
    from datetime import datetime

    found: dict[str, list[float]] = {}
    for line in log.read_text(errors="replace").splitlines():
        if "leaderboard.requests" not in line or "duration_ms=" not in line:
            continue
        try:
            stamp = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
        except ValueError:
            continue
        if stamp < since:
            continue
        values = dict(part.split("=", 1) for part in line.split() if "=" in part)
        path = values.get("path", "?")
        # One line per kind of page: a flag's id and a flag action's are not pages of their own.
        parts = ["<id>" if part.isdigit() else part for part in path.split("/")]
        found.setdefault("/".join(parts), []).append(float(values["duration_ms"]))
    return {path: (len(times), board_bench.percentile(times, 0.5), board_bench.percentile(times, 0.99), max(times))
            for path, times in sorted(found.items())}


def cpu_by_role() -> dict[str, float]:
    """CPU seconds used so far by the processes of each role on this machine (from /proc): where the
    cores went while locust ran (a process that ended meanwhile is missed)."""
    roles = {"gunicorn": "web (gunicorn)", "celery": "worker (Celery)", "locust": "locust", "postgres": "PostgreSQL",
             "redis-server": "Redis"}
    ticks = os.sysconf("SC_CLK_TCK")
    spent: dict[str, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        role = next((name for key, name in roles.items() if key in command), None)
        if role:
            # utime and stime: the 12th and 13th fields after the command's closing parenthesis.
            spent[role] = spent.get(role, 0) + (int(fields[11]) + int(fields[12])) / ticks
    return spent


class VersionWatcher(threading.Thread):
    """How often each data version (leaderboard/cache.py) moved while locust ran, looked at twice a
    second: each move sends the pages that depend on it back to computing from the rollups."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stopping = threading.Event()
        self.moved: dict[str, int] = {}

    def run(self):
        from django.db import connection

        from leaderboard import cache

        seen = None
        try:
            while not self.stopping.wait(0.5):
                now = cache.current()
                if seen is not None:
                    for name in cache.VERSIONS:
                        self.moved[name] = self.moved.get(name, 0) + (getattr(now, name) != getattr(seen, name))
                seen = now
        finally:
            connection.close()

    def finish(self) -> dict[str, int]:
        self.stopping.set()
        self.join(timeout=10)
        return self.moved


# --- Processes --------------------------------------------------------------------------------------


def start_worker(env: dict, folder: Path) -> subprocess.Popen:
    log = (folder / "worker.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "leaderboard", "worker", "--concurrency", "2", "--loglevel", "WARNING",
         "--queues", env["CELERY_QUEUE"], "--beat", "--schedule", str(folder / "beat")],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )


def start_gunicorn(env: dict, port: int, workers: int, folder: Path) -> subprocess.Popen:
    log = (folder / "gunicorn.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "leaderboard.wsgi"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
            return process
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"gunicorn did not answer on port {port}:\n{(folder / 'gunicorn.log').read_text()}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait(timeout=10)


def warm_up(port: int, plan: dict) -> None:
    """Each web worker imports its modules and fills its caches before the clock starts."""
    base = f"http://127.0.0.1:{port}"
    for person in plan["employees"][:8]:
        for path in ("/?period=30d&metric=tokens", "/teams/", "/me/"):
            request = urllib.request.Request(base + path, headers={"Cookie": f"sessionid={person['session']}"})
            with urllib.request.urlopen(request, timeout=60) as response:
                response.read()


def run_locust(env: dict, port: int, plan_file: Path, folder: Path, *, users: int, seconds: int) -> list[dict]:
    prefix = folder / "locust"
    agents = 2  # loadtest/locustfile.py's Agent.fixed_count: on top of the people
    command = [sys.executable, "-m", "locust", "-f", str(ROOT / "loadtest" / "locustfile.py"), "--headless",
               # The office arriving over five seconds, not in the same millisecond.
               "--users", str(users + agents), "--spawn-rate", str(max(1, users // 5)), "--run-time", f"{seconds}s",
               "--host", f"http://127.0.0.1:{port}", "--csv", str(prefix), "--only-summary", "--stop-timeout", "10",
               "--loglevel", "WARNING"]
    result = subprocess.run(command, cwd=ROOT, env={**env, "LOADTEST_PLAN": str(plan_file)}, capture_output=True,
                            text=True, timeout=seconds + 300)
    failures = Path(f"{prefix}_failures.csv")
    if failures.exists() and len(failures.read_text().splitlines()) > 1:
        print("  failures:\n" + failures.read_text(), flush=True)
    stats_file = Path(f"{prefix}_stats.csv")
    if not stats_file.exists():
        raise SystemExit(f"locust wrote no statistics:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    with stats_file.open() as handle:
        return list(csv.DictReader(handle))


# --- The report -------------------------------------------------------------------------------------


def report(args, stats: list[dict], alone: dict | None, under_load: dict, plan: dict) -> None:
    print(f"\n  {args.users} people ({len(plan['employees'])} employees' and {len(plan['managers'])} managers' sessions) "
          f"+ 2 agents sending {args.telemetry_per_second * 60:.0f} telemetry batches a minute, {args.seconds} s, "
          f"gunicorn {args.web_workers} workers, a Celery worker of 2 processes, PostgreSQL and Redis, "
          f"{os.cpu_count()} cores")
    print(f"  {'page':<32} {'requests':>8} {'errors':>6} {'req/s':>6} {'p50':>6} {'p95':>6} {'p99':>6} {'max':>6}")
    for row in stats:
        name = row["Name"]
        if name == "Aggregated":
            print("  " + "-" * 84)
        p99 = float(row["99%"]) if row["99%"] not in ("N/A", "") else 0
        flag = "  > goal" if p99 > GOAL_P99_MS and name != "Aggregated" else ""
        print(f"  {name:<32} {int(row['Request Count']):>8} {int(row['Failure Count']):>6} "
              f"{float(row['Requests/s']):>6.1f} {row['50%']:>6} {row['95%']:>6} {row['99%']:>6} "
              f"{float(row['Max Response Time']):>6.0f}{flag}")
    print(f"  (milliseconds; goals: 0 errors, p99 under {GOAL_P99_MS} ms per page; the machine's load average "
          f"{plan['load_average'][0]:.1f} before, {plan['load_average'][1]:.1f} at the end)")
    if under_load is None:
        print("  no import ran during the run (--no-import)")
    else:
        line = f"  the import under load: {under_load['seconds']:.1f} s in the worker ({under_load['end_to_end']:.1f} s " \
               f"from queued to done), {under_load['rows']:,} rows"
        if alone:
            line += f"; alone: {alone['seconds']:.1f} s, so {under_load['seconds'] / alone['seconds']:.2f}x under load"
        print(line, flush=True)
    moved = ", ".join(f"{name} {count}" for name, count in plan["versions_moved"].items())
    cpu = ", ".join(f"{role} {seconds:.0f} s" for role, seconds in sorted(plan["cpu"].items(), key=lambda i: -i[1]))
    print(f"  CPU time spent during the run, by whom ({os.cpu_count()} cores x {args.seconds} s): {cpu}")
    print("  the same requests' time inside the app (from its request log: what is not waiting for a free worker)")
    for path, (count, p50, p99, worst) in plan["in_app"].items():
        print(f"  {path:<32} {count:>8} {'':>6} {'':>6} {p50:>6.0f} {'':>6} {p99:>6.0f} {worst:>6.0f}")
    print(f"  data versions moved during the run (each move leaves the values cached under it cold): {moved}")


if __name__ == "__main__":
    sys.exit(main())
