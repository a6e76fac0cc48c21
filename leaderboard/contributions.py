"""What an export's usage rows hold: tokens, cost of the priced rows (``unpriced`` counts the rest),
people, days and records, kept on the UsageExport row (its ``added_*`` fields) so the import page
reads them instead of scanning UsageRecord by its unindexed ``export`` column.

An import records its own figures from its staged rows, in its transaction, as they are merged
(after the merge every staged key is the export's, so the staged rows are exactly what it holds).
Rows a later export replaces count for that one: the merge first asks which other exports own rows
of the staged keys (one probe of the unique index per staged key) and counts those exports again
afterwards, by scanning; that happens only for overlapping exports, once per import.
"""

from decimal import Decimal

from django.db.models import BigIntegerField, Count, F, Q, Sum
from django.db.models.functions import Coalesce

from accounts.models import ProviderIdentity

from .models import UsageExport, UsageRecord

_USAGE_TABLE = UsageRecord._meta.db_table
_IDENTITY_TABLE = ProviderIdentity._meta.db_table
_CENT_PARTS = Decimal("0.000001")


def owners_of_staged_keys(cursor, stage, export_id: int) -> set[int]:
    """The other exports that own rows the staged rows are about to replace."""
    on = " AND ".join(f"u.{column} = s.{column}" for column in stage.key)
    cursor.execute(
        f"SELECT DISTINCT u.export_id FROM {stage.name} s JOIN {_USAGE_TABLE} u ON {on} "
        "WHERE u.export_id IS NOT NULL AND u.export_id <> %s",
        [export_id],
    )
    return {row[0] for row in cursor.fetchall()}


def staged_contribution(cursor, stage, *, grouped: bool) -> dict:
    """What the staged rows hold once merged, one row per natural key as the merge makes them.

    Most files send each key once: then the rows are the merged rows and need no GROUP BY (a sort of
    the whole staging table, 0.4 s of a 200,000-row import on SQLite). ``grouped`` is for the files
    that repeat a key, whose rows the merge summed.
    """
    tokens = ["input_tokens", "cache_write_tokens", "cache_read_tokens", "output_tokens"]
    if grouped:
        key = ", ".join(stage.key)
        rows = (f"(SELECT {key}, {' + '.join(f'SUM({t})' for t in tokens)} AS tokens, "
                f"{stage.merged['cost_usd']} AS cost_usd FROM {stage.rows} GROUP BY {key}) AS g")
    else:
        rows = f"(SELECT identity_id, day, {' + '.join(tokens)} AS tokens, cost_usd FROM {stage.rows}) AS g"
    cursor.execute(
        "SELECT COUNT(*), COALESCE(SUM(g.tokens), 0), SUM(ROUND(g.cost_usd, 6)), COUNT(*) - COUNT(g.cost_usd), "
        "COUNT(DISTINCT g.day), "
        f"(SELECT COUNT(DISTINCT person_id) FROM {_IDENTITY_TABLE} WHERE id IN (SELECT identity_id FROM {stage.name})) "
        f"FROM {rows}"
    )
    records, tokens_sum, cost, unpriced, days, people = cursor.fetchone()
    if cost is not None:  # SQLite sums a float; the column holds six places
        cost = Decimal(str(cost)).quantize(_CENT_PARTS)
    return {"tokens": int(tokens_sum), "cost": cost, "unpriced": unpriced, "people": people, "days": days,
            "records": records}


def counted(export_ids) -> dict[int, dict]:
    """The figures counted from UsageRecord itself, by export (a scan: the column is not indexed)."""
    tokens = F("input_tokens") + F("cache_write_tokens") + F("cache_read_tokens") + F("output_tokens")
    found = {
        row.pop("export_id"): row
        for row in UsageRecord.objects.filter(export_id__in=export_ids).values("export_id").annotate(
            tokens=Coalesce(Sum(tokens), 0, output_field=BigIntegerField()),
            cost=Sum("cost_usd"),
            unpriced=Count("pk", filter=Q(cost_usd__isnull=True)),
            people=Count("identity__person", distinct=True),
            days=Count("day", distinct=True),
            records=Count("pk"),
        ).order_by()
    }
    empty = {"tokens": 0, "cost": None, "unpriced": 0, "people": 0, "days": 0, "records": 0}
    return {pk: found.get(pk, dict(empty)) for pk in export_ids}


def record(export_id: int, figures: dict) -> None:
    UsageExport.objects.filter(pk=export_id).update(**fields(figures))


def recount(export_ids) -> None:
    """Count the given exports again from their rows, for those whose rows a later export replaced."""
    for pk, figures in counted(sorted(export_ids)).items():
        record(pk, figures)


def fields(figures: dict) -> dict:
    return {"added_records": figures["records"], "added_tokens": figures["tokens"],
            "added_cost_usd": figures["cost"], "added_unpriced": figures["unpriced"],
            "added_people": figures["people"], "added_days": figures["days"]}


def of(export: UsageExport) -> dict:
    """The recorded figures, in the shape the import page reads."""
    return {"tokens": export.added_tokens, "cost": export.added_cost_usd, "unpriced": export.added_unpriced,
            "people": export.added_people, "days": export.added_days, "records": export.added_records}


