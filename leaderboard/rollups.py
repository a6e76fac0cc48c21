"""Daily rollups: what the boards and the flags read, recomputed from the stored usage rows.

A recompute replaces the rollups of a set of people over a range of days with what UsageRecord and
ActivityRecord say now. It never adds to a total, so running it twice, or replaying an import,
gives the same numbers. Precedence (design.md §2): per person, day and vendor only the rows of the
best-ranked source present are counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date

from django.db import connection, transaction
from django.db.models import Max, Min

from accounts.models import ProviderIdentity

from . import cache
from .models import (
    OUTPUT_SOURCES,
    SOURCE_RANK,
    ActivityRecord,
    DailyOutput,
    DailyUsage,
    PersonDay,
    UsageRecord,
)

# On SQLite, up to this many people are named in the statements (well under its parameter limit);
# more go through a temporary table.
PEOPLE_PER_STATEMENT = 500

_USAGE = UsageRecord._meta.db_table
_ACTIVITY = ActivityRecord._meta.db_table
_IDENTITY = ProviderIdentity._meta.db_table
_DAILY = DailyUsage._meta.db_table
_PERSON_DAY = PersonDay._meta.db_table
_OUTPUT = DailyOutput._meta.db_table

# The usage rows a recompute reads: these people's, over these days (and vendors).
_USAGE_ROWS = f"""
    FROM {_USAGE} r JOIN {_IDENTITY} i ON i.id = r.identity_id
    WHERE i.person_id {{people}} AND r.day BETWEEN %s AND %s {{vendors}}
"""
# Which source ranks each vendor has among those rows: precedence only decides something for a
# vendor with more than one.
_RANKS = f"SELECT DISTINCT r.vendor, r.source_rank {_USAGE_ROWS}"

_DAILY_INSERT = f"""
INSERT INTO {_DAILY} (person_id, day, vendor, model, source, input_tokens, cache_write_tokens,
                      cache_read_tokens, output_tokens, total_tokens, requests, cost_usd, unpriced_records)
"""
_DAILY_SUMS = """
       MIN({r}source), SUM({r}input_tokens), SUM({r}cache_write_tokens), SUM({r}cache_read_tokens),
       SUM({r}output_tokens),
       SUM({r}input_tokens + {r}cache_write_tokens + {r}cache_read_tokens + {r}output_tokens),
       SUM({r}requests), COALESCE(SUM({r}cost_usd), 0),
       SUM(CASE WHEN {r}cost_usd IS NULL THEN 1 ELSE 0 END)
"""
# Both inserts hand their rows over in key order: the unique indexes then fill page after page
# instead of at random places (a fifth faster on PostgreSQL for a large import).
_RECOMPUTE_DAILY = f"""{_DAILY_INSERT}
SELECT i.person_id, r.day, r.vendor, r.model, {_DAILY_SUMS.format(r="r.")}
{_USAGE_ROWS}
GROUP BY i.person_id, r.day, r.vendor, r.model
ORDER BY i.person_id, r.day, r.vendor, r.model
"""
# The same for vendors whose rows come from several sources: per person, day and vendor only the
# rows of the best-ranked source count. The window sorts every row once more, which is why the
# vendors with one source go without it (on SQLite it was half of this statement's time).
_RECOMPUTE_DAILY_RANKED = f"""{_DAILY_INSERT}
SELECT person_id, day, vendor, model, {_DAILY_SUMS.format(r="")}
FROM (
    SELECT i.person_id, r.day, r.vendor, r.model, r.source, r.input_tokens, r.cache_write_tokens,
           r.cache_read_tokens, r.output_tokens, r.requests, r.cost_usd, r.source_rank,
           MIN(r.source_rank) OVER (PARTITION BY i.person_id, r.day, r.vendor) AS best
    {_USAGE_ROWS}
) AS ranked
WHERE source_rank = best
GROUP BY person_id, day, vendor, model
ORDER BY person_id, day, vendor, model
"""

_RECOMPUTE_PERSON_DAY = f"""
INSERT INTO {_PERSON_DAY} (person_id, day, total_tokens, output_tokens, requests, cost_usd,
                           unpriced_records, active)
SELECT person_id, day, SUM(total_tokens), SUM(output_tokens), SUM(requests), SUM(cost_usd),
       SUM(unpriced_records), MAX(active) = 1
FROM (
    SELECT person_id, day, total_tokens, output_tokens, requests, cost_usd, unpriced_records,
           CASE WHEN total_tokens > 0 OR requests > 0 THEN 1 ELSE 0 END AS active
    FROM {_DAILY}
    WHERE person_id {{people}} AND day BETWEEN %s AND %s
    UNION ALL
    SELECT i.person_id, a.day, 0, 0, 0, 0, 0,
           CASE WHEN a.active OR a.sessions > 0 OR a.requests > 0 THEN 1 ELSE 0 END
    FROM {_ACTIVITY} a JOIN {_IDENTITY} i ON i.id = a.identity_id
    WHERE i.person_id {{people}} AND a.day BETWEEN %s AND %s
) AS days
GROUP BY person_id, day
ORDER BY person_id, day
"""


# What usage produced, per person, day and vendor: only the best-ranked output source present counts
# (the same commit is in Claude Code's analytics and its telemetry). Activity rows carry no rank, so
# the statement spells out SOURCE_RANK (code's own constants, never input).
_OUTPUT_RANK = "CASE a.source " + " ".join(
    f"WHEN '{source}' THEN {rank}" for source, rank in sorted(SOURCE_RANK.items())
) + " ELSE 9 END"
_OUTPUT_SOURCE_LIST = ", ".join(f"'{source}'" for source in sorted(OUTPUT_SOURCES))
OUTPUT_VENDORS = frozenset(OUTPUT_SOURCES.values())
_RECOMPUTE_OUTPUT = f"""
INSERT INTO {_OUTPUT} (person_id, day, vendor, source, commits, pull_requests, accepted_lines)
SELECT person_id, day, vendor, MIN(source), SUM(commits), SUM(pull_requests), SUM(lines_added)
FROM (
    SELECT i.person_id, a.day, a.vendor, a.source, a.commits, a.pull_requests, a.lines_added,
           {_OUTPUT_RANK} AS source_rank,
           MIN({_OUTPUT_RANK}) OVER (PARTITION BY i.person_id, a.day, a.vendor) AS best
    FROM {_ACTIVITY} a JOIN {_IDENTITY} i ON i.id = a.identity_id
    WHERE i.person_id {{people}} AND a.day BETWEEN %s AND %s AND a.source IN ({_OUTPUT_SOURCE_LIST}) {{vendors}}
) AS ranked
WHERE source_rank = best
GROUP BY person_id, day, vendor
ORDER BY person_id, day, vendor
"""


def plan_for_bulk(cursor) -> None:
    """Tell PostgreSQL, for the rest of the transaction, that its statements group a whole import.

    Each of them (the import's merge, the two rollups) groups up to millions of rows and hands them
    over in the same order it groups them by, so sorting once and grouping in order is always the
    plan to have. Left to itself the planner has no statistics for rows this very transaction
    wrote, guesses a few thousand groups, and hashes them: a million person-days then spilled a
    266 MB hash table to disk only to be sorted again afterwards. The sorts get the memory they
    need rather than the default 4 MB, which spills them to disk too.
    """
    if connection.vendor == "postgresql":
        cursor.execute("SET LOCAL work_mem = '128MB'")
        cursor.execute("SET LOCAL enable_hashagg = off")


def recompute(person_ids: Iterable[int], start: date, end: date, *, vendors: Iterable[str] | None = None) -> None:
    """Rebuild DailyUsage, PersonDay and DailyOutput for these people over [start, end] from the stored rows.

    ``vendors`` limits the per-vendor rebuild to what an import touched (precedence is decided
    within a vendor, so the others' rollups cannot have changed); PersonDay is always rebuilt whole.

    A few set-based statements whatever the number of people (see ``_people`` for how they are
    named), so each table is read once instead of once per chunk of people.
    """
    people = sorted({pk for pk in person_ids if pk is not None})
    if not people:
        return
    vendors = sorted(set(vendors)) if vendors is not None else []
    only_vendors = f"AND vendor IN ({', '.join(['%s'] * len(vendors))})" if vendors else ""
    with transaction.atomic(), connection.cursor() as cursor:
        # The boards' cache follows once the new rows are visible (leaderboard/cache.py).
        transaction.on_commit(lambda: cache.rollups_changed(start))
        plan_for_bulk(cursor)
        members, named = _people(cursor, people)
        window = [*named, start, end]
        cursor.execute(
            f"DELETE FROM {_DAILY} WHERE person_id {members} AND day BETWEEN %s AND %s {only_vendors}",
            [*window, *vendors],
        )
        cursor.execute(_RANKS.format(people=members, vendors=only_vendors.replace("vendor", "r.vendor")),
                       [*window, *vendors])
        sources = Counter(vendor for vendor, _rank in cursor.fetchall())
        for statement, chosen in (
            (_RECOMPUTE_DAILY, sorted(vendor for vendor, count in sources.items() if count == 1)),
            (_RECOMPUTE_DAILY_RANKED, sorted(vendor for vendor, count in sources.items() if count > 1)),
        ):
            if chosen:
                chosen_vendors = f"AND r.vendor IN ({', '.join(['%s'] * len(chosen))})"
                cursor.execute(statement.format(people=members, vendors=chosen_vendors), [*window, *chosen])
        cursor.execute(f"DELETE FROM {_PERSON_DAY} WHERE person_id {members} AND day BETWEEN %s AND %s", window)
        cursor.execute(_RECOMPUTE_PERSON_DAY.format(people=members), window * 2)
        if not vendors:
            recompute_output(cursor, members, window)
        elif OUTPUT_VENDORS.intersection(vendors):
            recompute_output(cursor, members, window, vendors=sorted(OUTPUT_VENDORS.intersection(vendors)))


def build_output_for_everyone(apps, schema_editor) -> None:
    """DailyOutput from every stored activity row (the migration that creates the table runs it)."""
    with schema_editor.connection.cursor() as cursor:
        recompute_output(cursor, "IS NOT NULL", ["0001-01-01", "9999-12-31"])


def recompute_output(cursor, members: str, window: list, *, vendors: list[str] | None = None) -> None:
    """DailyOutput of the people ``members`` names over the window's days, for ``vendors`` (all when
    None); an import of a vendor with no output source has nothing to rebuild here."""
    only = f"AND vendor IN ({', '.join(['%s'] * len(vendors))})" if vendors else ""
    cursor.execute(f"DELETE FROM {_OUTPUT} WHERE person_id {members} AND day BETWEEN %s AND %s {only}",
                   [*window, *(vendors or [])])
    cursor.execute(_RECOMPUTE_OUTPUT.format(people=members, vendors=only.replace("vendor", "a.vendor")),
                   [*window, *(vendors or [])])


_PEOPLE_TABLE = "rollup_people"


def _people(cursor, people: list[int]) -> tuple[str, list]:
    """How the statements name the people: the condition on a person column, and its parameters.

    PostgreSQL takes them as one array however many there are: a filter on the column, not a
    relation joined in. Joined in as a table, the people were sized against statistics that know
    nothing of the rows this transaction has just written: the planner believed the usage side held
    one row and compared each of a million with each of 10,000 people (a second million-row import
    ran for minutes before it was stopped). With the filter, a wrong estimate costs an index probe
    per row at worst. SQLite limits a statement's parameters: a few people are named, more go
    through a temporary table, read once.
    """
    if connection.vendor == "postgresql":
        return "= ANY(%s::bigint[])", [people]
    if len(people) <= PEOPLE_PER_STATEMENT:
        return f"IN ({', '.join(['%s'] * len(people))})", people
    cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {_PEOPLE_TABLE} (person_id bigint PRIMARY KEY)")
    cursor.execute(f"DELETE FROM {_PEOPLE_TABLE}")
    cursor.executemany(f"INSERT INTO {_PEOPLE_TABLE} (person_id) VALUES (%s)", [(pk,) for pk in people])
    return f"IN (SELECT person_id FROM {_PEOPLE_TABLE})", []


def recompute_for_identities(identity_ids: Iterable[int], *, also_people: Iterable[int] = ()) -> None:
    """Rebuild the rollups that rows of these identities feed: after an identity changes hands.

    ``also_people`` are the people the identities used to belong to, whose totals lose those rows.
    """
    identity_ids = list(identity_ids)
    people, vendors = set(also_people), set()
    for person_id, vendor in ProviderIdentity.objects.filter(pk__in=identity_ids).values_list("person_id", "vendor"):
        vendors.add(vendor)
        if person_id is not None:
            people.add(person_id)
    spans = [
        model.objects.filter(identity_id__in=identity_ids).aggregate(first=Min("day"), last=Max("day"))
        for model in (UsageRecord, ActivityRecord)
    ]
    firsts = [span["first"] for span in spans if span["first"]]
    lasts = [span["last"] for span in spans if span["last"]]
    if firsts:
        # Only these identities' vendors changed hands (precedence is decided within a vendor).
        recompute(people, min(firsts), max(lasts), vendors=vendors)
