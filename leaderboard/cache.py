"""Everything the app keeps in the cache, and what makes sure it is never stale.

The pages cache what they compute (rankings, team boards, my usage, budgets) under *data versions*:
five numbers in one table (``CacheVersion``), each a new random value whenever the data it names
changes. A request reads them (one small query), finds its values under keys that name them, and
an entry of an older version is simply never asked for again (it expires). So an import, a privacy
change, a new budget policy or a manager's note shows on the next request, and nothing here ever
deletes or updates an entry.

Which writes move which version is declared once, in ``VERSIONS`` below. Tables are watched by
database triggers, built from that declaration by ``install_triggers`` (a migration runs it whenever
the declaration or a watched table changes; ``tests/test_cache.py`` fails when one was forgotten):
a queryset ``update()``, a roster import, the Django admin and a SQL console all move them alike.
The rollups are the exception: a rebuild writes up to millions of rows, and on SQLite a trigger fires
per row, so ``rollups.recompute`` moves their version itself, once, after it commits
(``rollups_changed``). They have two: the agents' telemetry folds into today's rows every half
minute, and a version for all days would send every board, a year's ranking of everyone included,
back to its scan each time. So a rebuild of today's rows alone moves "today"; one reaching further
back moves "rollups"; and a board reads the days before today under the second only (HISTORY),
today's under both, and adds them up.

On PostgreSQL the triggers are deferred to the writer's commit and move each version once per
transaction: a long import never holds a version row, and a reader sees a new number only together
with the rows it describes (a value is never cached under a number newer than itself).

Besides the shared cache (Redis, or files on a laptop), each process keeps the values it has read
(``remember``): under a version key a value never changes, and unpickling a 10,000-person ranking
again cost more than the rest of its request. Import progress and import heartbeats live in the
shared cache too (best effort: the row in the database is what says how an import stands).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.apps import apps as global_apps
from django.core.cache import cache
from django.db import connection

from .models import CacheVersion

DAY = 24 * 60 * 60
VERSION_TABLE = CacheVersion._meta.db_table

# --- What moves which version -------------------------------------------------------------------


@dataclass(frozen=True)
class Watch:
    """Writes to ``model``'s table that move a version: every column but ``ignore``, or only
    ``columns``; ``when`` narrows it to rows matching an SQL condition (``{row}`` is NEW or OLD)."""

    model: str
    columns: frozenset[str] | None = None
    ignore: frozenset[str] = frozenset()
    when: str = ""


VERSIONS: dict[str, tuple[Watch, ...]] = {
    # The daily rollups every board reads (moved by rollups.recompute, see above): "rollups" by a
    # rebuild that reached back before today, "today" by one of today's rows alone (``rollups_changed``).
    "rollups": (),
    "today": (),
    # Who is on the boards, named how, in which team, under which manager, shown how.
    "people": (
        Watch("accounts.Person", ignore=frozenset({"password", "last_login"})),
        Watch("accounts.Team"),
        # Whether colleagues see each other by band (read with the teams: boards/catalog.py).
        Watch("leaderboard.OrgSettings", columns=frozenset({"peer_bands"})),
    ),
    # What a budget is computed from.
    "budgets": (
        Watch("leaderboard.BudgetPolicy"),
        Watch("leaderboard.OrgSettings"),
        Watch("accounts.Person", columns=frozenset({"annual_base_salary", "work_percent", "start_date", "team_id"})),
    ),
    # A person's own rows on their page: identities, their own uploads, their flags and the answers.
    "personal": (
        Watch("accounts.ProviderIdentity"),
        Watch("leaderboard.Flag"),
        Watch("leaderboard.FlagNote"),
        Watch("leaderboard.FlagRule"),
        Watch("leaderboard.UsageExport", when="{row}.origin = 'self'"),
    ),
}
# Tables whose writes only code moves a version for (see the module's docstring).
MOVED_BY_CODE = {
    "rollups": ("leaderboard.DailyUsage", "leaderboard.PersonDay", "leaderboard.DailyOutput"),
    "today": ("leaderboard.DailyUsage", "leaderboard.PersonDay", "leaderboard.DailyOutput"),
}
ROLLUPS, TODAY, PEOPLE, BUDGETS, PERSONAL = VERSIONS
# What a cached value depends ``on``: ROLLUPS means every day's rollups (the "rollups" and "today"
# versions both); HISTORY the days before today only ("rollups"), for the part of a period that
# telemetry folding into today's rows never changes (boards/ranking.py splits its scans so).
HISTORY = "history"
_READ_AS = {ROLLUPS: (ROLLUPS, TODAY), HISTORY: (ROLLUPS,)}


def declared_models() -> set[str]:
    """Every model a version says something about: what the pages may cache data of."""
    return {watch.model for watches in VERSIONS.values() for watch in watches} | {
        model for models in MOVED_BY_CODE.values() for model in models
    }


# --- The triggers that move them ----------------------------------------------------------------
#
# Named ``lbv_<version>_<table>_<event>``: everything with that prefix is this section's, dropped and
# built again from VERSIONS by ``install_triggers``.

TRIGGER_PREFIX = "lbv_"
EVENTS = {"insert": ("NEW",), "delete": ("OLD",), "update": ("NEW", "OLD")}


def _bump_sql(vendor: str, version: str) -> str:
    # An upsert: a version whose row went missing (a console, a restore) comes back at its next change.
    value = "abs(random())" if vendor == "sqlite" else "floor(random() * 9e18)::bigint"
    return (f"INSERT INTO {VERSION_TABLE} (name, value) VALUES ('{version}', {value}) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value;")


def _function(version: str) -> str:
    """PostgreSQL: the version moves once per transaction, in the commit that its deferred triggers
    run in (the first event marks the commit's statement time; the others find the mark)."""
    setting = f"leaderboard.bumped_{version}"
    return (
        f"CREATE OR REPLACE FUNCTION {TRIGGER_PREFIX}bump_{version}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN IF current_setting('{setting}', true) IS DISTINCT FROM statement_timestamp()::text THEN "
        f"PERFORM set_config('{setting}', statement_timestamp()::text, true); {_bump_sql('postgresql', version)} "
        "END IF; RETURN NULL; END $$"
    )


def _has_columns(model, columns: frozenset[str]) -> bool:
    return columns <= {field.column for field in model._meta.concrete_fields}


def _watched_columns(watch: Watch, model) -> list[str]:
    """In name order: a model's fields come in another order from its migrations than from its class."""
    columns = {field.column for field in model._meta.concrete_fields}
    if watch.columns is not None:
        missing = watch.columns - columns
        if missing:
            raise ValueError(f"cache.VERSIONS watches {watch.model} columns it does not have: {sorted(missing)}")
        return sorted(watch.columns)
    return sorted(columns - watch.ignore)


def triggers(apps, vendor: str, quote: Callable[[str], str]) -> dict[str, str]:
    """The statements that create every version trigger, by name, for the models as ``apps`` has
    them (a migration's historical models; models that do not exist yet are left for the migration
    that creates them)."""
    found: dict[str, str] = {}
    for version, watches in VERSIONS.items():
        for watch in watches:
            try:
                model = apps.get_model(watch.model)
            except LookupError:
                continue
            table = model._meta.db_table
            if watch.columns is not None and not _has_columns(model, watch.columns) and apps is not global_apps:
                continue  # columns a later migration adds: that migration installs the triggers again
            columns = _watched_columns(watch, model)
            for event, rows in EVENTS.items():
                name = f"{TRIGGER_PREFIX}{version}_{table}_{event}"
                conditions = []
                if event == "update":
                    changed = " OR ".join(
                        f"OLD.{quote(c)} {'IS NOT' if vendor == 'sqlite' else 'IS DISTINCT FROM'} NEW.{quote(c)}"
                        for c in columns
                    )
                    conditions.append(f"({changed})")
                if watch.when:
                    conditions.append("(" + " OR ".join(watch.when.format(row=row) for row in rows) + ")")
                when = " AND ".join(conditions)
                of = f" OF {', '.join(quote(c) for c in columns)}" if event == "update" else ""
                if vendor == "sqlite":
                    found[name] = (
                        f"CREATE TRIGGER {name} AFTER {event.upper()}{of} ON {quote(table)} "
                        f"{f'WHEN {when} ' if when else ''}BEGIN {_bump_sql(vendor, version)} END"
                    )
                else:
                    found[name] = (
                        f"CREATE CONSTRAINT TRIGGER {name} AFTER {event.upper()}{of} ON {quote(table)} "
                        f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW {f'WHEN ({when}) ' if when else ''}"
                        f"EXECUTE FUNCTION {TRIGGER_PREFIX}bump_{version}()"
                    )
            if vendor == "postgresql":
                # A constraint trigger cannot watch TRUNCATE (a flush, a console): a plain one does, at once.
                found[f"{TRIGGER_PREFIX}{version}_{table}_truncate"] = (
                    f"CREATE TRIGGER {TRIGGER_PREFIX}{version}_{table}_truncate AFTER TRUNCATE ON {quote(table)} "
                    f"FOR EACH STATEMENT EXECUTE FUNCTION {TRIGGER_PREFIX}bump_{version}()"
                )
    return found


def installed_triggers(connection) -> dict[str, tuple[str, str]]:
    """The version triggers the database has: name -> (table, definition)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s",
                           [f"{TRIGGER_PREFIX}%"])
        else:
            cursor.execute(
                "SELECT t.tgname, c.relname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
                "JOIN pg_class c ON c.oid = t.tgrelid WHERE t.tgname LIKE %s AND NOT t.tgisinternal",
                [f"{TRIGGER_PREFIX}%"],
            )
        return {name: (table, definition) for name, table, definition in cursor.fetchall()}


def install_triggers(apps, schema_editor) -> None:
    """Make the database's version triggers what VERSIONS declares (a migration's RunPython): every
    migration that changes a watched table, or VERSIONS, ends with it."""
    connection = schema_editor.connection
    if connection.vendor not in ("sqlite", "postgresql"):
        raise RuntimeError(f"No data version triggers for {connection.vendor}")
    quote = connection.ops.quote_name
    for name, (table, _definition) in installed_triggers(connection).items():
        on = f" ON {quote(table)}" if connection.vendor == "postgresql" else ""
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}{on}")
    random = "abs(random())" if connection.vendor == "sqlite" else "floor(random() * 9e18)::bigint"
    for version in VERSIONS:
        schema_editor.execute(
            f"INSERT INTO {VERSION_TABLE} (name, value) VALUES ('{version}', {random}) ON CONFLICT (name) DO NOTHING"
        )
        if connection.vendor == "postgresql":
            schema_editor.execute(_function(version))
    for statement in triggers(apps, connection.vendor, quote).values():
        schema_editor.execute(statement)


def deferred_triggers(connection) -> list[str]:
    """The names of the triggers that wait for a commit (PostgreSQL): a test running inside one
    transaction makes them fire after each statement instead (SET CONSTRAINTS ... IMMEDIATE)."""
    if connection.vendor != "postgresql":
        return []
    return sorted(name for name in installed_triggers(connection) if not name.endswith("_truncate"))


# --- Reading and moving versions ----------------------------------------------------------------


@dataclass(frozen=True)
class Versions:
    rollups: int = 0
    today: int = 0
    people: int = 0
    budgets: int = 0
    personal: int = 0


def current() -> Versions:
    """The data versions now: one query on every page, so plain SQL rather than an ORM query that
    costs more to build than the database takes to answer."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT name, value FROM {VERSION_TABLE}")
        values = dict(cursor.fetchall())
    return Versions(**{name: values.get(name, 0) for name in VERSIONS})


def rollups_changed(first: date) -> None:
    """The rollups were rebuilt from ``first`` on, and committed: move "today" if that is today's rows
    alone, else "rollups" (the history; a value that reads today as well is kept under both).

    Asked after the commit, of the clock then: a rebuild of what was "today" that commits after
    midnight moves the history, so a board cached just after midnight for a period ending yesterday
    never keeps yesterday's last minutes out."""
    bump(TODAY if first >= _utc_today() else ROLLUPS)


def rollups_through(last: date) -> str:
    """What a value over the rollups of days up to ``last`` depends on: HISTORY, or ROLLUPS when it
    reaches today (or later: a clock a little ahead of the one that moved the version)."""
    return ROLLUPS if last >= _utc_today() else HISTORY


def _utc_today() -> date:
    # boards.filters.utc_today's clock, read here without importing the boards.
    return datetime.now(UTC).date()


def bump(name: str) -> None:
    """A new value for a version that code moves (the rollups): run it after the writes commit, so
    that a page reading the new number also reads the new rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {VERSION_TABLE} (name, value) VALUES (%s, %s) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            [name, secrets.randbits(62)],
        )


# --- Cached values ------------------------------------------------------------------------------


def _version_names(on: Iterable[str]) -> list[str]:
    return [version for name in on for version in _READ_AS.get(name, (name,))]


def key(versions: Versions, kind: str, parts: tuple, on: Iterable[str]) -> str:
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
    return f"v:{kind}:{':'.join(str(getattr(versions, name)) for name in _version_names(on))}:{digest}"


def cached(versions: Versions | None, kind: str, parts: tuple, compute: Callable[[], Any], *,
           on: Iterable[str] = (ROLLUPS, PEOPLE), seconds: int = DAY, per_person: bool = False) -> Any:
    """``compute()``, or what it gave before for the same ``parts`` under the same values of the
    versions it depends ``on``. Without versions (a command, a test) it is always computed.
    ``seconds`` under a day make a time-bound value (it may change within its versions: freshness).
    ``per_person``: one person's value, kept apart from the ones everybody's pages share."""
    if versions is None:
        return compute()
    return remember(key(versions, kind, parts, on), compute, seconds, per_person=per_person)


def cached_many(versions: Versions | None, kind: str, parts: tuple, groups: Iterable[tuple],
                compute: Callable[[list], dict], *, on: Iterable[str] = (ROLLUPS, PEOPLE)) -> dict:
    """Per-item values (item -> value) for several groups of items (a page's rows, and a pinned row):
    each group is cached under its own key, and ``compute(items)`` is asked only for the items of the
    groups missing."""
    groups = [group for group in groups if group]
    if versions is None:
        return compute([item for group in groups for item in group])
    on = tuple(on)
    keys = {group: key(versions, kind, (*parts, group), on) for group in groups}
    found: dict = {}
    for value in cache.get_many(list(keys.values())).values() if keys else ():
        found.update(value)
    missing = [item for group in groups for item in group if item not in found]
    if missing:
        found.update(compute(missing))
        fresh = {k: {item: found[item] for item in group} for group, k in keys.items() if set(group) & set(missing)}
        cache.set_many(fresh, DAY)
    return found


# --- The per-process layer ----------------------------------------------------------------------

# How long a process serves a time-bound value without asking the shared cache again: well inside
# the shortest such expiry (two minutes).
RECENT_SECONDS = 60
# A value cached this long or longer is not time-bound: under its version key it never changes, and
# the shared cache lets it go only to make room, so a process keeps it as long (unless pushed out).
LASTING_SECONDS = 60 * 60


class Recent:
    """The last values this process read from the shared cache, already unpickled, bounded by count
    and by age. They are shared by every request of the process: callers never mutate them."""

    def __init__(self, size: int = 64):
        self.size = size
        self._items: OrderedDict[str, tuple[Any, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if item[1] < time.monotonic():
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return item[0]

    def set(self, key: str, value: Any, seconds: int) -> None:
        with self._lock:
            self._items[key] = (value, time.monotonic() + seconds)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


# What everyone's pages share (rankings, the roster, the policies): few, up to a few megabytes each.
shared = Recent()
# One person's values (their overview, charts, budget, own rows): small, and as many as people open
# their pages; kept apart so that a morning of those does not push the rankings out of the process.
personal = Recent(size=512)


def forget_in_process() -> None:
    """Drop what this process kept (a test that starts a fresh database starts at the same versions)."""
    shared.clear()
    personal.clear()


def remember(key: str, compute: Callable[[], Any], seconds: int, *, per_person: bool = False) -> Any:
    """The value under ``key``: kept in this process, else in the shared cache, else ``compute()``."""
    kept = personal if per_person else shared
    found = kept.get(key)
    if found is None:
        found = cache.get(key)
        if found is None:
            found = _computed_once(key, compute, seconds)
        # The shared cache does not say how long a time-bound entry has left: trust it for at most a
        # minute here, so no process serves it much past its expiry.
        kept.set(key, found, seconds if seconds >= LASTING_SECONDS else min(seconds, RECENT_SECONDS))
    return found


# A value missing under its versions is computed by one process at a time; the others asking for it
# meanwhile wait for it to land in the shared cache, up to this long, then compute it themselves.
# After an import, the office opening the board at once would otherwise compute the same
# 10,000-person ranking once per request, all together (docs/performance.md, "Load").
COMPUTE_WAIT_SECONDS = 10
COMPUTE_POLL_SECONDS = 0.05


def _computed_once(key: str, compute: Callable[[], Any], seconds: int) -> Any:
    computing = f"computing:{key}"
    mine = cache.add(computing, 1, COMPUTE_WAIT_SECONDS)
    if not mine:
        deadline = time.monotonic() + COMPUTE_WAIT_SECONDS
        # No marker to be found (the computing process failed or finished; Redis out of reach): compute.
        while cache.get(computing) is not None and time.monotonic() < deadline:
            time.sleep(COMPUTE_POLL_SECONDS)
            found = cache.get(key)
            if found is not None:
                return found
        found = cache.get(key)
        if found is not None:
            return found
    try:
        found = compute()
        cache.set(key, found, seconds)
    finally:
        if mine:
            cache.delete(computing)
    return found


def remember_for(key_name: str, compute: Callable[[], Any], seconds: int) -> Any:
    """A time-bound value with no version (what models were used lately): the shared cache only."""
    found = cache.get(key_name)
    if found is None:
        found = compute()
        cache.set(key_name, found, seconds)
    return found


# --- Imports in progress ------------------------------------------------------------------------


def _progress_key(export_id: int) -> str:
    return f"import-progress:{export_id}"


def import_progress(export_id: int) -> dict | None:
    """{"rows": n, "fraction": f} as the worker last reported, or None."""
    return cache.get(_progress_key(export_id))


def report_import_progress(export_id: int, *, rows: int, fraction: float) -> None:
    cache.set(_progress_key(export_id), {"rows": rows, "fraction": fraction}, timeout=3600)


def forget_import_progress(export_id: int) -> None:
    cache.delete(_progress_key(export_id))


def _heartbeat_key(export_id: int, owner: str) -> str:
    return f"import-heartbeat:{export_id}:{owner}"


def beat(export_id: int, owner: str, *, timeout: int) -> None:
    """The attempt ``owner`` of the import is alive, for the next ``timeout`` seconds."""
    cache.set(_heartbeat_key(export_id, owner), True, timeout=timeout)


def is_beating(export_id: int, owner: str) -> bool:
    return bool(cache.get(_heartbeat_key(export_id, owner)))


def stop_beating(export_id: int, owner: str) -> None:
    cache.delete(_heartbeat_key(export_id, owner))


# --- Rate of queued work --------------------------------------------------------------------------


def first_in(name: str, seconds: int) -> bool:
    """True for the first caller in each ``seconds`` window under ``name``: work asked for by every
    request (a telemetry fold) is queued once per window. A cache out of reach says False; periodic
    tasks cover for it."""
    return bool(cache.add(f"once:{name}", True, timeout=seconds))
