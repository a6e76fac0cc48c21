"""OpenAI: usage from the Administration API or the usage dashboard, and whose ids those are.

- ``openai_usage``: pages of ``GET /v1/organization/usage/completions`` (and of the embeddings and
  moderations endpoints, which count tokens the same way): ``{"object": "page", "data": [bucket]}``,
  each bucket ``{"start_time": unix seconds, "end_time", "results": [result]}``. Pages of the other
  usage endpoints (images, audio, vector stores, code interpreter, searches) are read too; their
  results count no tokens and are skipped.
- ``openai_usage_csv``: the usage dashboard's export, ``completions_usage_YYYY-MM-DD_YYYY-MM-DD.csv``:
  one row per result, its columns named like the API's fields.
- ``openai_users``: pages of ``GET /v1/organization/users``: a user id's name and email.
- ``openai_project_api_keys``: pages of ``GET /v1/organization/projects/{id}/api_keys``: which user
  (or service account) owns an API key.
- ``openai_costs``: pages of ``GET /v1/organization/costs``: what the organisation was charged per day
  (by project and line item), in dollars; for reconciliation only.

Every JSON format takes one page, a JSON array of pages, or JSON Lines with a page per line.

The API and the CSV are one source and must give the same natural key for the same usage, so a row is
(identity, UTC day, model) and nothing more: results the export splits further (project, batch,
service tier, several buckets in a day) land on the same key and the pipeline sums them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import date
from decimal import Decimal

from accounts.models import ProviderIdentity

from . import fields
from .formats import Format
from .reading import Export
from .rows import CostRow, IdentityKey, IdentityRow, ImportRefused, Item, ParseContext, Problem, UsageRow

VENDOR = "openai"
SOURCE = "openai_usage"  # the API and the dashboard CSV are one source (design section 2)
Kind = ProviderIdentity.Kind

USAGE_COLUMNS = ("input_tokens", "output_tokens", "num_model_requests")
TIME_COLUMNS = frozenset({"start_time", "end_time", "start_time_iso", "end_time_iso"})


# --- one usage result, from either the API or the CSV ---------------------------------------------
#
# An API result and a CSV row name their values alike; the CSV's empty cell is the API's null, and
# the fields helpers read both the same way, so one function makes both kinds of row.


def _usage_row(cells: Mapping, day: date) -> UsageRow:
    uncached, cache_write, cache_read = _input_split(cells)
    return UsageRow(
        vendor=VENDOR,
        source=SOURCE,
        identity=_identity(cells),
        day=day,
        model=fields.text(cells.get("model"), "model"),
        input_tokens=uncached,
        cache_write_tokens=cache_write,
        cache_read_tokens=cache_read,
        output_tokens=fields.count(cells.get("output_tokens"), "output_tokens"),
        requests=fields.count(cells.get("num_model_requests"), "num_model_requests"),
    )


def _input_split(cells: Mapping) -> tuple[int, int, int]:
    """(uncached, cache write, cache read): OpenAI's input_tokens includes both cache counts; ours are disjoint."""
    total = fields.count(cells.get("input_tokens"), "input_tokens")
    cache_read = fields.count(cells.get("input_cached_tokens"), "input_cached_tokens")
    cache_write = fields.count(cells.get("input_cache_write_tokens"), "input_cache_write_tokens")
    uncached = total - cache_read - cache_write
    if uncached < 0:
        field = "input_cached_tokens" if cache_read > total else "input_cache_write_tokens"
        raise fields.FieldError(
            field,
            f"cache reads ({cache_read:,}) and cache writes ({cache_write:,}) exceed input_tokens ({total:,}), "
            "which includes them",
        )
    # Newer responses also state the uncached count; when they do, it must say what the subtraction says.
    stated = cells.get("input_uncached_tokens")
    if stated not in (None, "") and fields.count(stated, "input_uncached_tokens") != uncached:
        raise fields.FieldError(
            "input_uncached_tokens",
            f"is {stated} but input_tokens less cache reads and cache writes is {uncached:,}",
        )
    return uncached, cache_write, cache_read


def _identity(cells: Mapping) -> IdentityKey:
    """The user when grouped by user, else the API key; else usage nobody can be named for, kept apart."""
    user_id = fields.text(cells.get("user_id"), "user_id")
    if user_id:
        return IdentityKey(VENDOR, Kind.USER_ID, user_id)
    api_key_id = fields.text(cells.get("api_key_id"), "api_key_id")
    if api_key_id:
        return IdentityKey(VENDOR, Kind.API_KEY, api_key_id)
    project_id = fields.text(cells.get("project_id"), "project_id")
    return IdentityKey(VENDOR, Kind.UNATTRIBUTED, f"project {project_id}" if project_id else "organization")


# --- openai_usage: API pages ----------------------------------------------------------------------


def _results(bucket) -> list | None:
    """A bucket's results. The live API says ``results``; the OpenAPI spec and SDK types say ``result``."""
    if not isinstance(bucket, dict):
        return None
    results = bucket.get("results", bucket.get("result"))
    return results if isinstance(results, list) else None


def _is_bucket(bucket) -> bool:
    start = bucket.get("start_time") if isinstance(bucket, dict) else None
    return isinstance(start, int) and not isinstance(start, bool) and _results(bucket) is not None


def _is_cost(result) -> bool:
    return isinstance(result, dict) and "amount" in result


def sniff_usage(doc) -> bool:
    """OpenAI buckets (integer start_time, a results list) and not a costs page, whose results have amounts."""
    buckets = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(buckets, list) or not all(_is_bucket(bucket) for bucket in buckets):
        return False
    if not buckets and doc.get("object") != "page":
        return False
    return not any(_is_cost(result) for bucket in buckets for result in _results(bucket))


def parse_usage(export: Export, context: ParseContext) -> Iterator[Item]:
    for where, page in export.documents():
        place = f"{context.file_name} {where}"
        buckets = page.get("data") if isinstance(page, dict) else None
        if not isinstance(buckets, list):
            yield Problem(place, "data", "must be a list of usage buckets")
            continue
        for i, bucket in enumerate(buckets):
            yield from _bucket_rows(bucket, f"{place} data[{i}]")


def _bucket_rows(bucket, place: str) -> Iterator[Item]:
    results = _results(bucket)
    if results is None:
        yield Problem(place, "results", "must be a bucket with a list of results")
        return
    if not results:  # buckets of days without usage come back empty
        return
    try:
        # The first bucket starts at the requested start_time even off a day boundary; it is that day's.
        day = fields.epoch_day(bucket.get("start_time"), "start_time")
    except fields.FieldError as error:
        yield Problem(place, error.field, error.message)
        return
    for j, result in enumerate(results):
        try:
            if _carries_tokens(result):
                yield _usage_row(result, day)
        except fields.FieldError as error:
            yield Problem(f"{place}.results[{j}]", error.field, error.message)


def _carries_tokens(result) -> bool:
    """Completions, embeddings and moderations results count tokens; the other endpoints count other things."""
    if not isinstance(result, dict):
        raise fields.FieldError("results", "each result must be an object")
    if _is_cost(result):
        raise fields.FieldError("amount", "is a cost, not usage: costs pages are not a usage export")
    return "input_tokens" in result or "output_tokens" in result


# --- openai_usage_csv: the dashboard export -------------------------------------------------------


def sniff_usage_csv(header) -> bool:
    if not isinstance(header, list):
        return False
    columns = set(header)
    if columns & {"email", "provider"}:  # the generic CSV
        return False
    # A period without usage exports the time columns alone; no other format's header looks like that.
    return {"start_time", *USAGE_COLUMNS} <= columns or columns == TIME_COLUMNS


def parse_usage_csv(export: Export, context: ParseContext) -> Iterator[Item]:
    if set(export.header()) <= TIME_COLUMNS:  # a period without usage: nothing to import
        return
    header = export.require_columns(*USAGE_COLUMNS)
    if "start_time" not in header and "start_time_iso" not in header:
        raise ImportRefused(Problem(f"{export.name} line 1", "start_time", "required column missing"))
    for where, row in export.rows():
        # A bucket without usage may still get a row of times; it is an empty bucket, not a zero result.
        if not any((row.get(column) or "").strip() for column in USAGE_COLUMNS):
            continue
        try:
            yield _usage_row(row, _csv_day(row))
        except fields.FieldError as error:
            yield Problem(f"{context.file_name} {where}", error.field, error.message)


def _csv_day(row: Mapping) -> date:
    if (row.get("start_time") or "").strip():
        return fields.epoch_day(row["start_time"], "start_time")
    return fields.iso_day(row.get("start_time_iso"), "start_time_iso")


# --- identity lists: users and project API keys ---------------------------------------------------


def _is_list_of(doc, object_name: str) -> bool:
    items = doc.get("data") if isinstance(doc, dict) else None
    return (
        isinstance(items, list)
        and bool(items)
        and all(isinstance(item, dict) and item.get("object") == object_name for item in items)
    )


def _parse_list(
    export: Export, context: ParseContext, object_name: str, read: Callable[[dict], IdentityRow]
) -> Iterator[Item]:
    for where, page in export.documents():
        place = f"{context.file_name} {where}"
        items = page.get("data") if isinstance(page, dict) else None
        if not isinstance(items, list):
            yield Problem(place, "data", f"must be a list of {object_name} objects")
            continue
        for i, item in enumerate(items):
            try:
                yield read(_expect(item, object_name))
            except fields.FieldError as error:
                yield Problem(f"{place} data[{i}]", error.field, error.message)


def _expect(item, object_name: str) -> dict:
    """The item, if it is what the list should hold: a key in a users list would be a wrong identity."""
    found = item.get("object", object_name) if isinstance(item, dict) else type(item).__name__
    if found != object_name:
        raise fields.FieldError("object", f"must be '{object_name}', got {found!r}")
    return item


def _optional_email(value, field: str) -> str | None:
    return None if value in (None, "") else fields.email(value, field)


def _user_row(item: dict) -> IdentityRow:
    email = _optional_email(item.get("email"), "email")
    return IdentityRow(
        identity=IdentityKey(VENDOR, Kind.USER_ID, fields.text(item.get("id"), "id", required=True)),
        label=fields.text(item.get("name"), "name") or email or "",
        email=email,
        is_service_account=fields.flag(item.get("is_service_account"), "is_service_account"),
    )


def _api_key_row(item: dict) -> IdentityRow:
    owner = item.get("owner") or {}
    if not isinstance(owner, dict):
        raise fields.FieldError("owner", "must be an object")
    owner_type = fields.text(owner.get("type"), "owner.type")
    email, linked_to = None, None
    if owner_type == "user":
        # A user's key is theirs: it follows the user id, even when that user is mapped later.
        user = owner.get("user")
        if not isinstance(user, dict):
            raise fields.FieldError("owner.user", "must be an object for a key a user owns")
        linked_to = IdentityKey(
            VENDOR, Kind.USER_ID, fields.text(user.get("id"), "owner.user.id", required=True)
        )
        email = _optional_email(user.get("email"), "owner.user.email")
    return IdentityRow(
        identity=IdentityKey(VENDOR, Kind.API_KEY, fields.text(item.get("id"), "id", required=True)),
        label=fields.text(item.get("name"), "name")
        or fields.text(item.get("redacted_value"), "redacted_value"),
        email=email,
        linked_to=linked_to,
        is_service_account=owner_type == "service_account",
    )


def sniff_users(doc) -> bool:
    return _is_list_of(doc, "organization.user")


def parse_users(export: Export, context: ParseContext) -> Iterator[Item]:
    return _parse_list(export, context, "organization.user", _user_row)


def sniff_api_keys(doc) -> bool:
    return _is_list_of(doc, "organization.project.api_key")


def parse_api_keys(export: Export, context: ParseContext) -> Iterator[Item]:
    return _parse_list(export, context, "organization.project.api_key", _api_key_row)


# --- openai_costs: what the organisation was charged ----------------------------------------------


def sniff_costs(doc) -> bool:
    buckets = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(buckets, list) or not buckets or not all(_is_bucket(bucket) for bucket in buckets):
        return False
    results = [result for bucket in buckets for result in _results(bucket)]
    return bool(results) and all(_is_cost(result) for result in results)


def parse_costs(export: Export, context: ParseContext) -> Iterator[Item]:
    for where, page in export.documents():
        place = f"{context.file_name} {where}"
        buckets = page.get("data") if isinstance(page, dict) else None
        if not isinstance(buckets, list):
            yield Problem(place, "data", "must be a list of cost buckets")
            continue
        for i, bucket in enumerate(buckets):
            results = _results(bucket)
            if results is None:
                yield Problem(f"{place} data[{i}]", "results", "must be a bucket with a list of results")
                continue
            try:
                day = fields.epoch_day(bucket.get("start_time"), "start_time") if results else None
            except fields.FieldError as error:
                yield Problem(f"{place} data[{i}]", error.field, error.message)
                continue
            for j, result in enumerate(results):
                try:
                    yield _cost_row(result, day)
                except fields.FieldError as error:
                    yield Problem(f"{place} data[{i}].results[{j}]", error.field, error.message)


def _cost_row(result, day: date) -> CostRow:
    if not _is_cost(result):
        raise fields.FieldError("amount", "each result must be an object with an amount")
    amount = result["amount"]
    if not isinstance(amount, dict):
        raise fields.FieldError("amount", "must be an object with value and currency")
    currency = fields.text(amount.get("currency"), "amount.currency") or "usd"
    if currency.lower() != "usd":
        raise fields.FieldError("amount.currency", f"must be usd, got {fields.show(currency)}")
    # Dollars; seen as a number and as a string ("12.50") in live answers: money() reads both.
    value = fields.money(amount.get("value"), "amount.value")
    project = fields.text(result.get("project_id"), "project_id") or "-"
    line_item = fields.text(result.get("line_item"), "line_item")
    api_key = fields.text(result.get("api_key_id"), "api_key_id")
    dims = f"project {project}" + (f" | key {api_key}" if api_key else "") + (f" | {line_item}" if line_item else "")
    return CostRow(
        vendor=VENDOR, source="openai_costs", day=day, amount_usd=value or Decimal(0), dims=dims[:255],
        # "gpt-5.2-2025-12-11, input": the model is what comes before the comma, when there is one.
        model=line_item.split(",", 1)[0].strip() if "," in line_item else "",
    )


FORMATS = [
    Format(
        name="openai_usage", label="OpenAI usage API pages", kind="json", sniff=sniff_usage, parse=parse_usage
    ),
    Format(
        name="openai_usage_csv",
        label="OpenAI usage dashboard CSV",
        kind="csv",
        sniff=sniff_usage_csv,
        parse=parse_usage_csv,
    ),
    Format(
        name="openai_users",
        label="OpenAI organization users",
        kind="json",
        sniff=sniff_users,
        parse=parse_users,
    ),
    Format(
        name="openai_project_api_keys",
        label="OpenAI project API keys",
        kind="json",
        sniff=sniff_api_keys,
        parse=parse_api_keys,
    ),
    Format(name="openai_costs", label="OpenAI costs (Administration API)", kind="json", sniff=sniff_costs,
           parse=parse_costs),
]
