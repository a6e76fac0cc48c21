"""Telemetry: the OTLP receiver under load on this machine, with the fold running beside it.

The goal (issue 18): 10,000 people's agents exporting every 60 s, which the issue puts at no less
than 1,000 batches a minute (a batch per person-minute of work), with a p99 response under 100 ms.
Measured against gunicorn (2 workers) on 127.0.0.1, SQLite and PostgreSQL, with a fold process
folding what arrives as the Celery task does:

1. paced at the goal (1,000 batches a minute) and at ten times it (every one of 10,000 people every
   minute): the rate achieved and the response times (p50, p95, p99);
2. as fast as 8 connections go: the batches a second the receiver sustains;
3. the fold: batches a second it folds into usage, and how long after the last batch the board has
   everything (the "within a minute" promise).

Printed as numbers and ratios to the goal; never asserted. Each batch is a real Claude Code export
(protobuf, ~2 KB, six measures) of one of N people for one minute, all distinct.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from .boards import free_port, gunicorn, percentile
from .harness import ROOT, bench_database, manage

GOAL_PER_MINUTE = 1_000
GOAL_P99_MS = 100.0
PACED_SECONDS = 20
OPEN_SECONDS = 15
CONNECTIONS = 8


def run(args) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-telemetry-") as folder:
        print(f"\n== Telemetry: OTLP/HTTP receiver (gunicorn, 2 workers) with the fold beside it, {args.people:,} people")
        print(f"  goal: {GOAL_PER_MINUTE:,} batches a minute ({GOAL_PER_MINUTE / 60:.1f}/s), p99 under {GOAL_P99_MS:.0f} ms")
        for database in args.databases.split(","):
            with bench_database(database, Path(folder), name="leaderboard_bench_telemetry") as env:
                env = {**env, "LOG_LEVEL": "WARNING", "MANIFEST_STATIC": "false"}
                _, _, output = manage(env, "create_ingest_token", "bench")
                token = output.split()[-1]
                subprocess.run([sys.executable, "-m", "benchmarks.telemetry", "people", str(args.people)], cwd=ROOT,
                               env=env, check=True)
                report(database, measure(env, token, args.people, Path(folder)))


def report(database: str, r: dict) -> None:
    for name, row in r["paced"].items():
        ratio = row["rate"] * 60 / GOAL_PER_MINUTE
        print(f"  {database:<9} paced {name:<22} {row['rate']:>7.1f}/s ({ratio:>5.1f}x goal)  p50 {row['p50']:>6.1f} ms  "
              f"p95 {row['p95']:>6.1f} ms  p99 {row['p99']:>6.1f} ms ({row['p99'] / GOAL_P99_MS:.2f} of the limit)"
              f"  errors {row['errors']}")
    row = r["open"]
    print(f"  {database:<9} {CONNECTIONS} connections flat out  {row['rate']:>7.1f}/s ({row['rate'] * 60 / GOAL_PER_MINUTE:>5.1f}x goal)"
          f"  p50 {row['p50']:>6.1f} ms  p95 {row['p95']:>6.1f} ms  p99 {row['p99']:>6.1f} ms  errors {row['errors']}")
    fold = r["fold"]
    print(f"  {database:<9} fold: {fold['batches']:,} batches in {fold['seconds']:.1f} s busy ({fold['rate']:.0f}/s, "
          f"{fold['rate'] * 60 / GOAL_PER_MINUTE:.1f}x goal); all counted {r['drain']:.1f} s after the last batch")


# --- Load ---------------------------------------------------------------------------------------


def bodies(people: int, count: int, *, offset: int) -> list[bytes]:
    """Distinct Claude Code exports: person n's minute m, for ``count`` (person, minute) pairs."""
    from tests import telemetry_bodies as made

    now = time.time_ns() - 2 * 60 * 60 * 10**9
    found = []
    for index in range(offset, offset + count):
        person, minute = index % people, index // people
        end = now + minute * made.MINUTE + person  # distinct intervals, all today and in the past
        found.append(made.as_protobuf(made.claude_code_metrics(
            email=f"p{person}@bench.example", start=end - made.MINUTE, end=end, account_id=None, user_id=f"i{person}",
            sessions=1 if minute == 0 else 0, lines=(index % 40, index % 7))))
    return found


def load(port: int, token: str, batches: list[bytes], *, seconds: float, rate: float | None) -> dict:
    """Send ``batches`` over CONNECTIONS keep-alive connections, paced at ``rate`` a second (None:
    as fast as they go), for ``seconds``. Returns the rate achieved and the latency percentiles."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    next_index = [0]
    started = time.perf_counter()
    stop = started + seconds
    interval = CONNECTIONS / rate if rate else 0.0

    def worker(number: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        due = started + number * interval / CONNECTIONS
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-protobuf"}
        while True:
            if rate:
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                due += interval
            if time.perf_counter() >= stop:
                break
            with lock:
                index = next_index[0]
                next_index[0] += 1
            if index >= len(batches):
                break
            sent = time.perf_counter()
            try:
                connection.request("POST", "/otlp/v1/metrics", body=batches[index], headers=headers)
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            took = (time.perf_counter() - sent) * 1000
            with lock:
                latencies.append(took)
                errors[0] += not ok
        connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {"rate": len(latencies) / elapsed, "sent": len(latencies), "errors": errors[0],
            "p50": percentile(latencies, 0.50), "p95": percentile(latencies, 0.95), "p99": percentile(latencies, 0.99)}


def measure(env: dict, token: str, people: int, folder: Path) -> dict:
    port = free_port()
    stats = folder / "fold.json"
    paced = {"at the goal": GOAL_PER_MINUTE / 60, "10x the goal": 10 * GOAL_PER_MINUTE / 60}
    needed = [int(rate * PACED_SECONDS * 1.1) + 50 for rate in paced.values()]
    batches = bodies(people, sum(needed) + 30_000, offset=0)
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    fold = subprocess.Popen([sys.executable, "-m", "benchmarks.telemetry", "fold", str(stats)], cwd=ROOT, env=env)
    try:
        with gunicorn(port):
            load(port, token, batches[:20], seconds=5, rate=None)  # warm-up: imports, connections
            results, used = {"paced": {}}, 20
            for (name, rate), count in zip(paced.items(), needed, strict=True):
                results["paced"][name] = load(port, token, batches[used:used + count], seconds=PACED_SECONDS, rate=rate)
                used += count
            results["open"] = load(port, token, batches[used:], seconds=OPEN_SECONDS, rate=None)
            last_batch = time.monotonic()
            results["drain"] = _wait_until_folded(env, since=last_batch)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        fold.terminate()
        fold.wait(timeout=60)
    results["fold"] = json.loads(stats.read_text())
    return results


def _wait_until_folded(env: dict, *, since: float) -> float:
    while time.monotonic() - since < 600:
        waiting = subprocess.run([sys.executable, "-m", "benchmarks.telemetry", "waiting"], cwd=ROOT, env=env,
                                 capture_output=True, text=True).stdout.strip()
        if waiting == "0":
            break
        time.sleep(0.5)
    return time.monotonic() - since


# --- Child processes ------------------------------------------------------------------------------


def _setup():
    import django

    django.setup()


def make_people(people: int) -> None:
    _setup()
    from datetime import date

    from accounts.models import Person

    Person.objects.bulk_create([Person(email=f"p{n}@bench.example", name=f"Person {n}", start_date=date(2020, 1, 6))
                                for n in range(people)], batch_size=2000)


def fold_forever(stats: Path) -> None:
    """What the Celery worker does as batches arrive; on SIGTERM, writes how much it folded."""
    import signal

    _setup()
    from leaderboard.telemetry import folding

    total = {"batches": 0, "seconds": 0.0}

    def stop(*_):
        rate = total["batches"] / total["seconds"] if total["seconds"] else 0.0
        stats.write_text(json.dumps({**total, "rate": rate}))
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    while True:
        started = time.monotonic()
        folded = folding.fold()
        if folded is None:
            time.sleep(0.5)
            continue
        total["seconds"] += time.monotonic() - started
        total["batches"] += folded.batches


def waiting() -> None:
    _setup()
    from leaderboard.models import UsageExport

    print(UsageExport.objects.filter(origin="telemetry").exclude(status__in=["succeeded", "failed"]).count())


if __name__ == "__main__":
    command, *rest = sys.argv[1:]
    if command == "people":
        make_people(int(rest[0]))
    elif command == "fold":
        fold_forever(Path(rest[0]))
    elif command == "waiting":
        waiting()
