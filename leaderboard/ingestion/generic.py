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
COLUMNS = ("date", "email", "provider", "model", "input_tokens", "output_tokens", "cache_read_tokens",
           "cache_write_tokens", "requests", "cost_usd")


def sniff(header) -> bool:
    return isinstance(header, list) and {"date", "email", "provider"} <= set(header)


def parse(export: Export, context: ParseContext) -> Iterator[Item]:
    export.require_columns(*REQUIRED)
    # A file names the same few thousand people and models on every day: each is checked once.
    names: dict[tuple[str, str], tuple[str, IdentityKey]] = {}
    models: dict[str, str] = {}
    for line, (day, email, provider, model, input_tokens, output_tokens, cache_read, cache_write, requests,
               cost) in export.records(COLUMNS):
        try:
            vendor, identity = names.get((provider, email)) or names.setdefault((provider, email), _who(provider, email))
            amount = fields.money(cost, "cost_usd")
            yield UsageRow(
                vendor=vendor,
                source="generic",
                identity=identity,
                day=fields.iso_day(day, "date"),
                model=models.get(model) or models.setdefault(model, fields.text(model, "model")),
                input_tokens=fields.count(input_tokens, "input_tokens"),
                output_tokens=fields.count(output_tokens, "output_tokens"),
                cache_read_tokens=fields.count(cache_read, "cache_read_tokens"),
                cache_write_tokens=fields.count(cache_write, "cache_write_tokens"),
                requests=fields.count(requests, "requests"),
                cost_usd=amount,
                cost_reported=amount is not None,
            )
        except fields.FieldError as error:
            yield Problem(f"{context.file_name} line {line}", error.field, error.message)


def _who(provider: str, email: str) -> tuple[str, IdentityKey]:
    vendor = fields.provider(provider, "provider")
    return vendor, IdentityKey(vendor, ProviderIdentity.Kind.EMAIL, fields.email(email, "email"))


FORMATS = [Format(name="generic_csv", label="Generic usage CSV", kind="csv", sniff=sniff, parse=parse)]
