# The two commands a newcomer needs: `make run` and `make test`. Everything else is a helper.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/leaderboard
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test test-sqlite test-postgres bench loadtest lint format services demo screenshots clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

## make run: build the virtualenv, migrate, load the demo on an empty database, start web + worker + beat.
run: $(STAMP)
	@bin/run $(HOST) $(PORT)

## make test: everything the tests need, then the whole suite on SQLite and on PostgreSQL.
test: $(STAMP) services
	$(MAKE) --no-print-directory test-sqlite test-postgres

test-sqlite: $(STAMP)
	@echo "== the suite on SQLite"
	REDIS_URL=$(TEST_REDIS_URL) $(BIN)/pytest $(PYTEST_ARGS)

test-postgres: $(STAMP)
	@echo "== the suite on PostgreSQL"
	DATABASE_URL=$(POSTGRES_URL) REDIS_URL=$(TEST_REDIS_URL) $(BIN)/pytest $(PYTEST_ARGS)

## make services: start PostgreSQL and Redis when they are installed but down (installs them as root).
services:
	@bin/services

## make bench: the speed benchmarks, reported as ratios against a reference measured in the same run.
bench: $(STAMP) services
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

## make loadtest: 50 people on gunicorn while a million-row import and telemetry run (not part of `make test`).
loadtest: $(STAMP) services
	$(BIN)/python -m pip install --quiet -e ".[load]"
	$(BIN)/python -m loadtest $(LOAD_ARGS)

demo: $(STAMP)
	$(BIN)/python manage.py migrate --verbosity 0
	$(BIN)/python manage.py demo

## make screenshots: the README's screenshots (board, my usage, review queue at 1366 and 390 px) from the demo.
screenshots: $(STAMP)
	$(BIN)/python docs/screenshots.py

lint: $(STAMP)
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var/ .pytest_cache .ruff_cache
