"""The load test (`make loadtest`, never part of `make test`): the whole office opening the boards while
a million-row import and the agents' telemetry run through a real Celery worker.

`python -m loadtest [--people N] [--rows N] [--users N] [--seconds S] [--web-workers N]`:

1. a fresh PostgreSQL database (``LOADTEST_DATABASE``, default ``leaderboard_load``) holding the boards
   benchmark's company (benchmarks/boards.py: 10,000 people, a year of rollups), its flags evaluated;
2. a Celery worker (2 processes, with beat) on Redis, and a 1,000,000-row generic CSV
   (benchmarks/ingestion.py) imported through it with nothing else running: the import's time alone;
3. gunicorn (4 workers) on 127.0.0.1, and locust (headless) driving employees (boards with various
   filters, my usage, the CSV download) and managers (the review queue, a flag, notes and actions)
   at 50 concurrent users for 60 s, plus two coding agents sending OTLP/JSON telemetry, while another
   1,000,000-row import runs through the worker: requests per second, errors, p50/p95/p99 per page,
   and the import's time under load against its time alone.

The users are in loadtest/locustfile.py; the numbers go to README ("Load") and docs/performance.md.
"""
