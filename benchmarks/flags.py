"""Flag evaluation: all rules for N people over a year of rollups, on SQLite and PostgreSQL.

Reports the time and the number of queries of a first run (which opens flags) and of a re-run
(nothing changes), for a tenth of the people and for all of them, so that a query count that grows
with the company shows at once; and, as the reference measured in the same run, the time the
database takes just to read what the rules read (a year of PersonDay rows, summed per person).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from .harness import ROOT, bench_database

AS_OF = date(2026, 11, 1)


def run(args) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-flags-") as folder:
        print(f"\n== Flag evaluation: all rules, a year of rollups, as of {AS_OF}")
        print(f"  {'database':<9} {'people':>7} {'build':>7} {'reference':>10} {'first run':>10} {'queries':>8} "
              f"{'opened':>7} {'re-run':>8} {'queries':>8} {'vs reference':>13}")
        for database in args.databases.split(","):
            for people in (max(10, args.people // 10), args.people):
                with bench_database(database, Path(folder), name="leaderboard_bench_flags") as env:
                    result = subprocess.run([sys.executable, "-m", "benchmarks.flags", str(people)], cwd=ROOT,
                                            env=env, capture_output=True, text=True)
                    if result.returncode:
                        raise SystemExit(result.stderr)
                    r = json.loads(result.stdout.strip().splitlines()[-1])
                    print(f"  {database:<9} {people:>7,} {r['build']:>6.0f}s {r['reference']:>9.2f}s "
                          f"{r['first']:>9.2f}s {r['first_queries']:>8} {r['opened']:>7,} {r['again']:>7.2f}s "
                          f"{r['again_queries']:>8} {r['again'] / r['reference']:>12.1f}x")


def measure(people: int) -> dict:
    """In a child process on the prepared database: build the company, then time the evaluation."""
    import django

    django.setup()
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from accounts.models import Person, Team
    from leaderboard import flags
    from leaderboard.models import UsageExport

    started = time.monotonic()
    rng = random.Random(1)
    end = AS_OF - timedelta(days=1)
    first = end - timedelta(days=364)
    teams = Team.objects.bulk_create([Team(name=f"Team {n}") for n in range(max(1, people // 100))])
    managers = Person.objects.bulk_create(
        [Person(email=f"m{n}@bench.example", name=f"Manager {n}", team=team, start_date=date(2020, 1, 6))
         for n, team in enumerate(teams)])
    members = Person.objects.bulk_create(
        [Person(email=f"p{n}@bench.example", name=f"Person {n}", team=teams[n % len(teams)],
                manager=managers[n % len(teams)], start_date=date(2020, 1, 6))
         for n in range(people - len(managers))], batch_size=2000)
    person_day = ("INSERT INTO leaderboard_personday (person_id, day, total_tokens, output_tokens, requests, "
                  "cost_usd, unpriced_records, active) VALUES (%s, %s, %s, 0, 0, %s, 0, %s)")
    daily = ("INSERT INTO leaderboard_dailyusage (person_id, day, vendor, model, source, input_tokens, "
             "cache_write_tokens, cache_read_tokens, output_tokens, requests, total_tokens, cost_usd, "
             "unpriced_records) VALUES (%s, %s, 'anthropic', 'claude-sonnet-4-5', 'anthropic_usage_report', %s, "
             "0, 0, 0, 0, %s, %s, 0)")
    with transaction.atomic(), connection.cursor() as cursor:
        for person in managers + members:
            shape, base = rng.random(), rng.choice([3, 30, 45, 60, 120])
            days, usage = [], []
            for offset in range(365):
                day = first + timedelta(days=offset)
                if day.isoweekday() > 5 or (shape < 0.03 and day > end - timedelta(days=20)):
                    continue  # weekends; and a few people who stopped three weeks ago
                cost = base * rng.uniform(0.5, 1.5)
                if 0.03 <= shape < 0.05 and day > end - timedelta(days=14):
                    cost *= 0.1  # fading
                if 0.05 <= shape < 0.06 and day == end - timedelta(days=2):
                    cost *= 30  # a runaway day
                tokens, amount = int(cost * 20_000), Decimal(f"{cost:.2f}")
                days.append((person.pk, day, tokens, amount, True))
                usage.append((person.pk, day, tokens, tokens, amount))
            cursor.executemany(person_day, days)
            cursor.executemany(daily, usage)
    UsageExport.objects.create(file="bench", original_name="bench", size=1, sha256="0" * 64, status="succeeded",
                               vendors=["anthropic"], first_day=first, last_day=end)
    build = time.monotonic() - started

    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SELECT person_id, SUM(cost_usd), SUM(total_tokens), COUNT(*) FROM leaderboard_personday "
                       "WHERE day BETWEEN %s AND %s GROUP BY person_id", [first, end])
        cursor.fetchall()
    reference = time.monotonic() - started

    outcome = {"build": build, "reference": reference}
    for label in ("first", "again"):
        with CaptureQueriesContext(connection) as queries:
            started = time.monotonic()
            result = flags.evaluate(as_of=AS_OF, trigger="command")
            outcome[label] = time.monotonic() - started
        outcome[f"{label}_queries"] = len(queries.captured_queries)
        if label == "first":
            outcome["opened"] = len(result.opened)
    return outcome


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leaderboard.settings")
    print(json.dumps(measure(int(sys.argv[1]))))
