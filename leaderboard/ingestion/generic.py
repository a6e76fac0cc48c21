"""The generic CSV, for any provider without an importer of its own (documented in README).

    date,email,provider,model,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,requests,cost_usd

One row per person, UTC day, provider and model. ``input_tokens`` is uncached input (the four token
columns are disjoint); ``cost_usd`` is dollars and may be empty, in which case the cost is estimated
from the price list.
"""

from __future__ import annotations

from collections.abc import Iterator

from accounts.models import ProviderIdentity

from . import fields
from .formats import Format
from .reading import Export
from .rows import IdentityKey, Item, ParseContext, Problem, UsageRow

REQUIRED = ("date", "email", "provider", "model", "input_tokens", "output_tokens")


def sniff(header) -> bool:
    return isinstance(header, list) and {"date", "email", "provider"} <= set(header)


def parse(export: Export, context: ParseContext) -> Iterator[Item]:
    export.require_columns(*REQUIRED)
    for where, row in export.rows():
        try:
            vendor = fields.text(row.get("provider"), "provider", required=True).lower()
            yield UsageRow(
                vendor=vendor,
                source="generic",
                identity=IdentityKey(vendor, ProviderIdentity.Kind.EMAIL, fields.email(row.get("email"), "email")),
                day=fields.iso_day(row.get("date"), "date"),
                model=fields.text(row.get("model")),
                input_tokens=fields.count(row.get("input_tokens"), "input_tokens"),
                output_tokens=fields.count(row.get("output_tokens"), "output_tokens"),
                cache_read_tokens=fields.count(row.get("cache_read_tokens"), "cache_read_tokens"),
                cache_write_tokens=fields.count(row.get("cache_write_tokens"), "cache_write_tokens"),
                requests=fields.count(row.get("requests"), "requests"),
                **_cost(row.get("cost_usd")),
            )
        except fields.FieldError as error:
            yield Problem(f"{context.file_name} {where}", error.field, error.message)


def _cost(cell) -> dict:
    amount = fields.money(cell, "cost_usd")
    return {"cost_usd": amount, "cost_reported": amount is not None}


FORMATS = [Format(name="generic_csv", label="Generic usage CSV", kind="csv", sniff=sniff, parse=parse)]
