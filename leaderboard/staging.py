"""Writing one export's typed rows, all in the import's transaction: staged in bulk as they are
parsed, merged into the usage tables on their natural keys, identities handed over, rollups rebuilt.

Rows sharing a natural key within one file are summed (several rows per actor per day are normal);
a row from another export replaces the stored one. That is what makes re-imports and overlapping
exports count once: the SQL tells the two apart by the (export, attempt) that last wrote the row.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from itertools import chain

from django.conf import settings
from django.db import connection

from . import contributions, identities, rollups
from .ingestion.rows import ActivityRow, CostRow, IdentityRow, UsageRow
from .models import SOURCE_RANK, ActivityRecord, ProviderCost, UsageExport, UsageRecord
from .pricing import unit_prices

log = logging.getLogger(__name__)

# An import that merges fewer rows than this leaves PostgreSQL's statistics alone (_Stage.merge).
ANALYZE_AFTER_ROWS = 10_000
# Parameters in one SQLite statement at most: SQLite's default limit since 3.32 (the connection's
# own limit is used when lower).
_SQLITE_PARAMETERS = 32_766


@dataclass
class Outcome:
    format: str
    rows_read: int = 0
    records_written: int = 0
    people_matched: int = 0
    identities_unmatched: int = 0
    first_day: date | None = None
    last_day: date | None = None
    vendors: set[str] = field(default_factory=set)
    people: set[int] = field(default_factory=set)


_USAGE_TABLE = UsageRecord._meta.db_table
_ACTIVITY_TABLE = ActivityRecord._meta.db_table


class _Stage:
    """A temporary table one import's rows pass through: bulk-loaded as they are parsed (COPY on
    PostgreSQL, executemany on SQLite, no index to maintain), then merged into the real table with
    one INSERT ... SELECT ... GROUP BY ... ON CONFLICT at the end.

    The GROUP BY sums the rows that share a natural key within this file; ON CONFLICT replaces
    what other exports wrote for the same key. That is the whole exactly-once rule, in one statement.
    ``key`` lists the natural key in its unique index's column order, and the rows are inserted in
    that order, so the index fills page after page (a fifth faster on PostgreSQL than hash order).
    """

    def __init__(self, *, name: str, target: str, key: list[str], columns: dict[str, str],
                 summed: list[str], merged: dict[str, str], rows: str | None = None):
        self.name, self.target, self.key, self.columns = name, target, key, columns
        self.summed, self.merged = summed, merged
        # What the merge reads: the staging table, or a query over it that completes its rows.
        self.rows = rows or name

    @property
    def create_sql(self) -> str:
        columns = ", ".join(f"{name} {kind}" for name, kind in self.columns.items())
        return f"CREATE TEMPORARY TABLE IF NOT EXISTS {self.name} ({columns})"

    @property
    def merge_sql(self) -> str:
        aggregates = {**{c: f"SUM({c})" for c in self.summed}, **self.merged}
        inserted = [*self.key, *aggregates, "export_id", "export_attempt"]
        updates = ", ".join(f"{c} = excluded.{c}" for c in [*aggregates, "export_id", "export_attempt"])
        # "WHERE true" tells SQLite's parser that ON CONFLICT belongs to the INSERT, not a join.
        return (
            f"INSERT INTO {self.target} ({', '.join(inserted)}) "
            f"SELECT {', '.join(self.key)}, {', '.join(aggregates.values())}, %s, %s FROM {self.rows} WHERE true "
            f"GROUP BY {', '.join(self.key)} ORDER BY {', '.join(self.key)} "
            f"ON CONFLICT ({', '.join(self.key)}) DO UPDATE SET {updates}"
        )

    def reset(self, cursor) -> None:
        cursor.execute(self.create_sql)
        cursor.execute(f"DELETE FROM {self.name}")

    def load(self, cursor, rows: list[tuple]) -> None:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {self.name} ({', '.join(self.columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            # Python's sqlite3 has no COPY: executemany steps one statement per row. A statement of
            # many rows' VALUES, its parameters one flat list (chained at C speed), is a fifth faster
            # (docs/performance.md, issue 20). It goes to the driver itself: Django's rewriting of
            # %s to ? would scan the 30,000 placeholders again at every statement.
            raw = connection.connection
            limit = min(_SQLITE_PARAMETERS, raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
            per_statement = limit // len(self.columns)
            for start in range(0, len(rows), per_statement):
                chunk = rows[start:start + per_statement]
                raw.execute(self._values_sql(len(chunk)), list(chain.from_iterable(chunk)))

    @lru_cache(maxsize=16)  # noqa: B019 (two stages for the process's life; a batch's tail is one size)
    def _values_sql(self, count: int) -> str:
        row = "(" + ", ".join(["?"] * len(self.columns)) + ")"
        return f"INSERT INTO {self.name} ({', '.join(self.columns)}) VALUES " + ", ".join([row] * count)

    def merge(self, cursor, export_id: int, attempt: int, *, clear: bool = True) -> int:
        cursor.execute(self.merge_sql, [export_id, attempt])
        merged = cursor.rowcount
        if clear:
            self.clear(cursor)
        if connection.vendor == "postgresql" and merged >= ANALYZE_AFTER_ROWS:
            self._refresh_statistics(cursor, merged)
        return merged

    def clear(self, cursor) -> None:
        cursor.execute(f"DELETE FROM {self.name}")

    def _refresh_statistics(self, cursor, merged: int) -> None:
        """Sample the table again when this import wrote a tenth as many rows as it held.

        The rollups that follow join these rows to identities, and PostgreSQL plans those joins
        from statistics that know nothing of rows not yet committed: after a first million rows,
        or a million rows of a vendor the statistics had never seen, it expected one row and probed
        an index once per row instead of hashing (7 s of a million-row import). Autovacuum samples
        a table again once a tenth of it has changed, but only after commit; ANALYZE in this
        transaction sees its own rows. A smaller import leaves statistics that still describe it.
        """
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [self.target])
        (known,) = cursor.fetchone()
        if merged * 10 >= known:  # known is -1 until the table is first analysed
            cursor.execute(f"ANALYZE {self.target}")


# Days go to the staging table as ISO text: given date objects, SQLite's driver calls Django's date
# adapter (a Python function) for every row, a second of a million-row import. An export has a few
# hundred distinct days, so the text of each is made once.
_day_text = lru_cache(maxsize=8192)(date.isoformat)
_KEY_TYPES = {"vendor": "varchar(40)", "source": "varchar(30)", "identity_id": "bigint", "day": "date"}
# The unit prices of the models an import saw without a cost: the merge estimates those costs in SQL
# (one multiplication per token kind) rather than in Python for each of a million rows.
PRICES_TABLE = "staged_prices"
_PRICE_KINDS = ["input", "cache_write", "cache_read", "output"]
_USAGE_COLUMNS = {**_KEY_TYPES, "model": "varchar(200)", "dims": "varchar(255)", "source_rank": "smallint",
                  "input_tokens": "bigint", "cache_write_tokens": "bigint", "cache_read_tokens": "bigint",
                  "output_tokens": "bigint", "requests": "bigint", "cost_usd": "numeric(18, 6)",
                  "cost_reported": "smallint"}
_ESTIMATE = " + ".join(f"s.{kind}_tokens * p.{kind}" for kind in _PRICE_KINDS)
USAGE_STAGE = _Stage(
    name="staged_usage",
    # A model no price list knows finds no price row: its cost stays unknown (NULL), never zero.
    rows="(SELECT " + ", ".join(
        f"COALESCE(s.cost_usd, {_ESTIMATE}) AS cost_usd" if column == "cost_usd" else f"s.{column}"
        for column in _USAGE_COLUMNS
    ) + f" FROM staged_usage s LEFT JOIN {PRICES_TABLE} p ON p.vendor = s.vendor AND p.model = s.model) AS staged",
    target=_USAGE_TABLE,
    key=["identity_id", "day", "vendor", "source", "model", "dims"],
    columns=_USAGE_COLUMNS,
    summed=["input_tokens", "cache_write_tokens", "cache_read_tokens", "output_tokens", "requests"],
    merged={
        "source_rank": "MIN(source_rank)",
        # One row of unknown cost makes the key's cost unknown: never a silent partial sum.
        "cost_usd": "CASE WHEN COUNT(cost_usd) = COUNT(*) THEN SUM(cost_usd) END",
        "cost_reported": "MIN(cost_reported) = 1",
    },
)
ACTIVITY_COUNTS = [
    "sessions", "requests", "lines_added", "lines_removed", "commits", "pull_requests", "edits_accepted",
    "edits_rejected", "applies", "tabs_accepted", "chat_days", "agent_days",
]
ACTIVITY_STAGE = _Stage(
    name="staged_activity",
    target=_ACTIVITY_TABLE,
    key=["identity_id", "day", "vendor", "source"],
    columns={**_KEY_TYPES, **{c: "bigint" for c in ACTIVITY_COUNTS}, "active": "smallint"},
    summed=ACTIVITY_COUNTS,
    merged={"active": "MAX(active) = 1"},
)


class Writer:
    """Buffers typed rows and stages them in batches (no ORM per row); merges them at the end."""

    def __init__(self, export: UsageExport, *, on_progress):
        self.export_id, self.attempt = export.pk, export.attempts
        self.batch_size = settings.IMPORT_BATCH_SIZE
        self.on_progress = on_progress
        self.identities = identities.IdentityCache()
        self.usage: list[UsageRow] = []
        self.activity: list[ActivityRow] = []
        self.identity_rows: list[IdentityRow] = []
        # A provider's cost report is small (a few hundred amounts a month): summed here per key.
        self.costs: dict[tuple[str, str, date, str], ProviderCost] = {}
        self.unpriced: set[tuple[str, str]] = set()  # (vendor, model) of rows that came without a cost
        self.touched: set[int] = set()
        self.rows_read = self.records_written = 0
        self.first_day: date | None = None
        self.last_day: date | None = None
        self.vendors: set[str] = set()
        self.started = time.monotonic()
        with connection.cursor() as cursor:
            USAGE_STAGE.reset(cursor)
            ACTIVITY_STAGE.reset(cursor)
            cursor.execute(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {PRICES_TABLE} (vendor varchar(40), model varchar(200), "
                + ", ".join(f"{kind} numeric" for kind in _PRICE_KINDS) + ")"
            )
            cursor.execute(f"DELETE FROM {PRICES_TABLE}")

    def add(self, item) -> None:
        self.rows_read += 1
        if isinstance(item, UsageRow):
            self.usage.append(item)
            if len(self.usage) >= self.batch_size:
                self._write_usage()
        elif isinstance(item, ActivityRow):
            self.activity.append(item)
            if len(self.activity) >= self.batch_size:
                self._write_activity()
        elif isinstance(item, CostRow):
            self._add_cost(item)
        else:
            self.identity_rows.append(item)

    def _add_cost(self, row: CostRow) -> None:
        dims = row.dims[:255]
        key = (row.vendor, row.source, row.day, dims)
        found = self.costs.get(key)
        if found is None:
            self.costs[key] = ProviderCost(vendor=row.vendor, source=row.source, day=row.day, dims=dims,
                                           model=row.model[:200], amount_usd=row.amount_usd, export_id=self.export_id)
            self._see([row])
        else:
            found.amount_usd += row.amount_usd

    def _write_costs(self) -> int:
        """A later report replaces an earlier one's amount of the same key (a revised day)."""
        if not self.costs:
            return 0
        ProviderCost.objects.bulk_create(
            self.costs.values(), update_conflicts=True, unique_fields=["vendor", "source", "day", "dims"],
            update_fields=["amount_usd", "model", "export"], batch_size=500,
        )
        return len(self.costs)

    def _see(self, rows) -> None:
        days = {row.day for row in rows}
        low, high = min(days), max(days)
        self.first_day = low if self.first_day is None else min(self.first_day, low)
        self.last_day = high if self.last_day is None else max(self.last_day, high)
        self.vendors.update(row.vendor for row in rows)

    def _identity_ids(self, rows) -> list[int]:
        ids = self.identities.ids(row.identity for row in rows)
        found = [ids.get(row.identity) or self.identities.get(row.identity) for row in rows]
        self.touched.update(found)
        return found

    def _write_usage(self) -> None:
        rows, self.usage = self.usage, []
        if not rows:
            return
        params = []
        unpriced = self.unpriced
        for row, identity_id in zip(rows, self._identity_ids(rows), strict=True):
            cost = row.cost_usd
            if cost is None:
                unpriced.add((row.vendor, row.model))  # estimated when merged
            params.append((
                row.vendor, row.source, identity_id, _day_text(row.day), row.model, row.dims,
                SOURCE_RANK.get(row.source, 9),
                row.input_tokens, row.cache_write_tokens, row.cache_read_tokens, row.output_tokens, row.requests,
                cost, int(row.cost_reported and cost is not None),
            ))
        self._stage(USAGE_STAGE, rows, params)

    def _stage_prices(self, cursor) -> None:
        prices = [
            (vendor, model, found.input, found.cache_write, found.cache_read, found.output)
            for vendor, model in sorted(self.unpriced)
            if (found := unit_prices(vendor, model)) is not None
        ]
        if prices:
            cursor.executemany(f"INSERT INTO {PRICES_TABLE} VALUES (%s, %s, %s, %s, %s, %s)", prices)

    def _write_activity(self) -> None:
        rows, self.activity = self.activity, []
        if not rows:
            return
        params = [
            (row.vendor, row.source, identity_id, _day_text(row.day), *(getattr(row, c) for c in ACTIVITY_COUNTS),
             int(row.active))
            for row, identity_id in zip(rows, self._identity_ids(rows), strict=True)
        ]
        self._stage(ACTIVITY_STAGE, rows, params)

    def _stage(self, stage: _Stage, rows: list, params: list[tuple]) -> None:
        with connection.cursor() as cursor:
            stage.load(cursor, params)
        self._see(rows)
        self.on_progress(self.rows_read)

    def finish(self, format_name: str) -> Outcome:
        self._write_usage()
        self._write_activity()
        staged = time.monotonic()
        with connection.cursor() as cursor:
            rollups.plan_for_bulk(cursor)
            self._stage_prices(cursor)
            replaced = contributions.owners_of_staged_keys(cursor, USAGE_STAGE, self.export_id)
            added = contributions.staged_contribution(cursor, USAGE_STAGE, grouped=False)
            usage = USAGE_STAGE.merge(cursor, self.export_id, self.attempt, clear=False)
            if usage != added["records"]:  # the file repeated keys, which the merge summed
                added = contributions.staged_contribution(cursor, USAGE_STAGE, grouped=True)
            USAGE_STAGE.clear(cursor)
            self.records_written += usage + ACTIVITY_STAGE.merge(cursor, self.export_id, self.attempt)
        contributions.record(self.export_id, added)
        if replaced:
            contributions.recount(replaced)
        self.records_written += self._write_costs()
        merged = time.monotonic()
        moved, moved_people = identities.apply_identity_rows(self.identity_rows) if self.identity_rows else (0, set())
        handed = time.monotonic()
        owners = {self.identities.person_of(pk) for pk in self.touched} - {None}
        if self.first_day is not None:
            rollups.recompute(owners, self.first_day, self.last_day, vendors=self.vendors)
        # Where an import's time goes, for whoever tunes a large one.
        log.info(
            "Export %s: read and staged %s rows in %.1fs, merged %s records in %.1fs, handed over %s identities "
            "in %.1fs, rolled up %s people in %.1fs",
            self.export_id, self.rows_read, staged - self.started, self.records_written, merged - staged, moved,
            handed - merged, len(owners), time.monotonic() - handed,
        )
        unmatched = sum(
            1 for pk in self.touched if self.identities.person_of(pk) is None and not self.identities.is_service(pk)
        )
        return Outcome(
            format=format_name, rows_read=self.rows_read, records_written=self.records_written + moved,
            people_matched=len(owners), identities_unmatched=unmatched, first_day=self.first_day,
            last_day=self.last_day, vendors=self.vendors, people=owners | moved_people,
        )
