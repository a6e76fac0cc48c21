"""Anthropic Admin API pages: the messages usage report, the users and API key lists, Claude Code analytics.

- ``anthropic_usage_report``: ``GET /v1/organizations/usage_report/messages``, buckets of token usage
  grouped by any of account, API key, service account, workspace and model.
- ``anthropic_users``: ``GET /v1/organizations/users``, which maps an ``account_id`` to an email.
- ``anthropic_api_keys``: ``GET /v1/organizations/api_keys``, which ties a key (by id and by name) to the
  account that created it.
- ``claude_code_analytics``: ``GET /v1/organizations/usage_report/claude_code``, per-actor daily Claude
  Code activity with tokens and cost per model.
- ``anthropic_cost_report``: ``GET /v1/organizations/cost_report``, what the organisation was charged
  per day (by workspace and description), in cents as decimal strings; for reconciliation only.

Each accepts one page, a JSON array of pages, or JSON Lines with a page per line. Field meanings are in
``provider-formats.md`` sections 1 and 2.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

from accounts.models import ProviderIdentity

from . import fields
from .formats import Format
from .reading import Export
from .rows import ActivityRow, CostRow, IdentityKey, IdentityRow, Item, ParseContext, Problem, UsageRow

VENDOR = "anthropic"
Kind = ProviderIdentity.Kind


# --- Shared: walking pages --------------------------------------------------------------------


def _items(export: Export, context: ParseContext) -> Iterator[tuple[str, dict] | Problem]:
    """(path, item) for every item of every page, or a Problem for a page or item that is not one."""
    for where, doc in export.documents():
        place = f"{context.file_name} {where}"
        if not isinstance(doc, dict):
            yield Problem(place, "", "must be a JSON object (an API page with a data list)")
            continue
        data = doc.get("data")
        if not isinstance(data, list):
            yield Problem(place, "data", "must be a list")
            continue
        for index, item in enumerate(data):
            if isinstance(item, dict):
                yield f"{place} data[{index}]", item
            else:
                yield Problem(f"{place} data[{index}]", "", "must be an object")


def _first_items(doc) -> list:
    """The first page's data items, for sniffing; empty when the document is no such page."""
    data = doc.get("data") if isinstance(doc, dict) else None
    return data if isinstance(data, list) else []


def _principal(principal_id: str) -> IdentityKey:
    # Keys can belong to service accounts (svac_...), which are not user accounts.
    kind = Kind.USER_ID if principal_id.startswith("svac_") else Kind.ACCOUNT_ID
    return IdentityKey(VENDOR, kind, principal_id)


# --- Usage report (messages) --------------------------------------------------------------------

USAGE_KEYS = frozenset({"uncached_input_tokens", "output_tokens", "cache_read_input_tokens"})


def sniff_usage_report(doc) -> bool:
    # OpenAI's usage pages also hold buckets of results, but say "object": "page" and use Unix times.
    buckets = _first_items(doc)
    if not buckets or doc.get("object") == "page":
        return False
    if not all(
        isinstance(b, dict) and isinstance(b.get("starting_at"), str) and "results" in b for b in buckets
    ):
        return False
    results = [
        r for b in buckets if isinstance(b.get("results"), list) for r in b["results"] if isinstance(r, dict)
    ]
    if any("amount" in r for r in results):  # the cost report has the same envelope
        return False
    return not results or any(USAGE_KEYS & r.keys() for r in results)


def parse_usage_report(export: Export, context: ParseContext) -> Iterator[Item]:
    for entry in _items(export, context):
        if isinstance(entry, Problem):
            yield entry
            continue
        where, bucket = entry
        try:
            day, results = _bucket(bucket)
        except fields.FieldError as error:
            yield Problem(where, error.field, error.message)
            continue
        for index, result in enumerate(results):
            try:
                yield _usage_row(result, day)
            except fields.FieldError as error:
                yield Problem(f"{where}.results[{index}]", error.field, error.message)


def _bucket(bucket: dict) -> tuple[date, list]:
    # Hourly and minute buckets fall on one UTC day each, so their rows sum into that day.
    day = fields.iso_day(bucket.get("starting_at"), "starting_at")
    return day, fields.sequence(bucket.get("results"), "results")


def _usage_row(result, day: date) -> UsageRow:
    if not isinstance(result, dict):
        raise fields.FieldError("", "must be an object")
    return UsageRow(
        vendor=VENDOR,
        source="anthropic_usage_report",
        identity=_usage_identity(result),
        day=day,
        model=fields.text(result.get("model"), "model"),
        input_tokens=fields.count(result.get("uncached_input_tokens"), "uncached_input_tokens"),
        cache_write_tokens=_cache_write(result),
        cache_read_tokens=fields.count(result.get("cache_read_input_tokens"), "cache_read_input_tokens"),
        output_tokens=fields.count(result.get("output_tokens"), "output_tokens"),
    )


def _usage_identity(result: dict) -> IdentityKey:
    account = fields.text(result.get("account_id"), "account_id")
    if account:
        return IdentityKey(VENDOR, Kind.ACCOUNT_ID, account)
    api_key = fields.text(result.get("api_key_id"), "api_key_id")
    if api_key:
        return IdentityKey(VENDOR, Kind.API_KEY, api_key)
    service_account = fields.text(result.get("service_account_id"), "service_account_id")
    if service_account:
        return IdentityKey(VENDOR, Kind.USER_ID, service_account)
    # Console Playground/Workbench usage has no key, and a report not grouped by identity has none at all:
    # kept per workspace for an admin to see, never given to anyone. A null workspace is the default one.
    workspace = fields.text(result.get("workspace_id"), "workspace_id")
    return IdentityKey(
        VENDOR, Kind.UNATTRIBUTED, f"workspace {workspace}" if workspace else "default workspace"
    )


def _cache_write(result: dict) -> int:
    # The documented shape nests the 5-minute and 1-hour writes; older schemas flatten them.
    nested = fields.mapping(result.get("cache_creation"), "cache_creation")
    if nested:
        return _sum(nested, "cache_creation.", "ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens")
    return _sum(result, "", "cache_creation_5m_input_tokens", "cache_creation_1h_input_tokens")


def _sum(counts: dict, path: str, *names: str) -> int:
    return sum(fields.count(counts.get(name), path + name) for name in names)


# --- Users ------------------------------------------------------------------------------------


def sniff_users(doc) -> bool:
    users = _first_items(doc)
    return bool(users) and all(
        isinstance(u, dict)
        and u.get("type") == "user"
        and str(u.get("id", "")).startswith("user_")
        and "email" in u
        for u in users
    )


def parse_users(export: Export, context: ParseContext) -> Iterator[Item]:
    for entry in _items(export, context):
        if isinstance(entry, Problem):
            yield entry
            continue
        where, user = entry
        try:
            yield _user_row(user)
        except fields.FieldError as error:
            yield Problem(where, error.field, error.message)


def _user_row(user: dict) -> IdentityRow:
    email = fields.email(user.get("email"), "email")
    return IdentityRow(
        identity=IdentityKey(VENDOR, Kind.ACCOUNT_ID, fields.text(user.get("id"), "id", required=True)),
        label=fields.text(user.get("name"), "name") or email,
        email=email,
    )


# --- API keys ---------------------------------------------------------------------------------


def sniff_api_keys(doc) -> bool:
    keys = _first_items(doc)
    return bool(keys) and all(isinstance(k, dict) and k.get("type") == "api_key" for k in keys)


def parse_api_keys(export: Export, context: ParseContext) -> Iterator[Item]:
    for entry in _items(export, context):
        if isinstance(entry, Problem):
            yield entry
            continue
        where, key = entry
        try:
            rows = _api_key_rows(key)
        except fields.FieldError as error:
            yield Problem(where, error.field, error.message)
            continue
        yield from rows


def _api_key_rows(key: dict) -> list[IdentityRow]:
    """The key by id and, since Claude Code analytics names keys rather than numbering them, by name."""
    key_id = fields.text(key.get("id"), "id", required=True)
    name = fields.text(key.get("name"), "name")
    owner = _key_owner(key)
    rows = [IdentityRow(identity=IdentityKey(VENDOR, Kind.API_KEY, key_id), label=name, linked_to=owner)]
    if name:
        rows.append(
            IdentityRow(identity=IdentityKey(VENDOR, Kind.API_KEY_NAME, name), label=name, linked_to=owner)
        )
    return rows


def _key_owner(key: dict) -> IdentityKey | None:
    for field in ("created_by", "principal"):
        owner_id = fields.text(fields.mapping(key.get(field), field).get("id"), f"{field}.id")
        if owner_id:
            return _principal(owner_id)
    return None


# --- Claude Code analytics --------------------------------------------------------------------


def sniff_claude_code(doc) -> bool:
    records = _first_items(doc)
    return bool(records) and all(
        isinstance(r, dict)
        and "date" in r
        and isinstance(r.get("actor"), dict)
        and ("model_breakdown" in r or "core_metrics" in r)
        for r in records
    )


def parse_claude_code(export: Export, context: ParseContext) -> Iterator[Item]:
    for entry in _items(export, context):
        if isinstance(entry, Problem):
            yield entry
            continue
        where, record = entry
        try:
            rows = _claude_code_rows(record)
        except fields.FieldError as error:
            yield Problem(where, error.field, error.message)
            continue
        # Several records per actor and day (one per terminal, local or remote) are normal; the
        # pipeline sums rows that share a natural key within a file.
        yield from rows


def _claude_code_rows(record: dict) -> list[UsageRow | ActivityRow]:
    identity = _actor(fields.mapping(record.get("actor"), "actor"))
    day = fields.iso_day(record.get("date"), "date")
    usage = [
        _model_usage(entry, f"model_breakdown[{index}]", identity, day)
        for index, entry in enumerate(fields.sequence(record.get("model_breakdown"), "model_breakdown"))
    ]
    return [*usage, _activity(record, identity, day)]


def _actor(actor: dict) -> IdentityKey:
    kind = actor.get("type")
    if kind == "user_actor":
        return IdentityKey(
            VENDOR, Kind.EMAIL, fields.email(actor.get("email_address"), "actor.email_address")
        )
    if kind == "api_actor":
        name = fields.text(actor.get("api_key_name"), "actor.api_key_name", required=True)
        return IdentityKey(VENDOR, Kind.API_KEY_NAME, name)
    raise fields.FieldError("actor.type", f"must be user_actor or api_actor, got {kind!r}")


def _model_usage(entry, path: str, identity: IdentityKey, day: date) -> UsageRow:
    if not isinstance(entry, dict):
        raise fields.FieldError(path, "must be an object")
    tokens = fields.mapping(entry.get("tokens"), f"{path}.tokens")
    cost = fields.mapping(entry.get("estimated_cost"), f"{path}.estimated_cost")
    amount = fields.money(cost.get("amount"), f"{path}.estimated_cost.amount", cents=True)
    return UsageRow(
        vendor=VENDOR,
        source="claude_code_analytics",
        identity=identity,
        day=day,
        model=fields.text(entry.get("model"), f"{path}.model"),
        input_tokens=fields.count(tokens.get("input"), f"{path}.tokens.input"),
        cache_write_tokens=fields.count(tokens.get("cache_creation"), f"{path}.tokens.cache_creation"),
        cache_read_tokens=fields.count(tokens.get("cache_read"), f"{path}.tokens.cache_read"),
        output_tokens=fields.count(tokens.get("output"), f"{path}.tokens.output"),
        cost_usd=amount,
        cost_reported=amount is not None,
    )


def _activity(record: dict, identity: IdentityKey, day: date) -> ActivityRow:
    metrics = fields.mapping(record.get("core_metrics"), "core_metrics")
    lines = fields.mapping(metrics.get("lines_of_code"), "core_metrics.lines_of_code")
    accepted = rejected = 0
    # tool_actions is an open map: new tools appear without notice.
    for tool, actions in fields.mapping(record.get("tool_actions"), "tool_actions").items():
        actions = fields.mapping(actions, f"tool_actions.{tool}")
        accepted += fields.count(actions.get("accepted"), f"tool_actions.{tool}.accepted")
        rejected += fields.count(actions.get("rejected"), f"tool_actions.{tool}.rejected")
    # An open map can hold any number of tools: their sums must fit a row as each count does.
    fields.count(accepted, "tool_actions (accepted, all tools)")
    fields.count(rejected, "tool_actions (rejected, all tools)")
    return ActivityRow(
        vendor=VENDOR,
        source="claude_code_analytics",
        identity=identity,
        day=day,
        active=True,
        sessions=fields.count(metrics.get("num_sessions"), "core_metrics.num_sessions"),
        lines_added=fields.count(lines.get("added"), "core_metrics.lines_of_code.added"),
        lines_removed=fields.count(lines.get("removed"), "core_metrics.lines_of_code.removed"),
        commits=fields.count(metrics.get("commits_by_claude_code"), "core_metrics.commits_by_claude_code"),
        pull_requests=fields.count(
            metrics.get("pull_requests_by_claude_code"), "core_metrics.pull_requests_by_claude_code"
        ),
        edits_accepted=accepted,
        edits_rejected=rejected,
    )


# --- Cost report ------------------------------------------------------------------------------


def sniff_cost_report(doc) -> bool:
    buckets = _first_items(doc)
    if not buckets or not all(isinstance(b, dict) and isinstance(b.get("starting_at"), str) for b in buckets):
        return False
    results = [r for b in buckets if isinstance(b.get("results"), list) for r in b["results"] if isinstance(r, dict)]
    return bool(results) and all("amount" in r and "currency" in r for r in results)


def parse_cost_report(export: Export, context: ParseContext) -> Iterator[Item]:
    for entry in _items(export, context):
        if isinstance(entry, Problem):
            yield entry
            continue
        where, bucket = entry
        try:
            day, results = _bucket(bucket)
        except fields.FieldError as error:
            yield Problem(where, error.field, error.message)
            continue
        for index, result in enumerate(results):
            try:
                yield _cost_row(result, day)
            except fields.FieldError as error:
                yield Problem(f"{where}.results[{index}]", error.field, error.message)


def _cost_row(result, day: date) -> CostRow:
    if not isinstance(result, dict):
        raise fields.FieldError("", "must be an object")
    currency = fields.text(result.get("currency"), "currency") or "USD"
    if currency.upper() != "USD":
        raise fields.FieldError("currency", f"must be USD, got {fields.show(currency)}")
    # Decimal strings in cents, fractional cents included ("2764.5690" is $27.65).
    amount = fields.money(result.get("amount"), "amount", cents=True)
    workspace = fields.text(result.get("workspace_id"), "workspace_id") or "default"
    what = fields.text(result.get("description"), "description") or fields.text(result.get("cost_type"), "cost_type")
    return CostRow(
        vendor=VENDOR, source="anthropic_cost_report", day=day, amount_usd=amount or Decimal(0),
        dims=(f"workspace {workspace}" + (f" | {what}" if what else ""))[:255], model=fields.text(result.get("model"), "model"),
    )


FORMATS = [
    Format(
        name="anthropic_usage_report",
        label="Anthropic usage report (Admin API, messages)",
        kind="json",
        sniff=sniff_usage_report,
        parse=parse_usage_report,
    ),
    Format(
        name="anthropic_users",
        label="Anthropic users (Admin API)",
        kind="json",
        sniff=sniff_users,
        parse=parse_users,
    ),
    Format(
        name="anthropic_api_keys",
        label="Anthropic API keys (Admin API)",
        kind="json",
        sniff=sniff_api_keys,
        parse=parse_api_keys,
    ),
    Format(
        name="claude_code_analytics",
        label="Claude Code analytics (Admin API)",
        kind="json",
        sniff=sniff_claude_code,
        parse=parse_claude_code,
    ),
    Format(
        name="anthropic_cost_report",
        label="Anthropic cost report (Admin API)",
        kind="json",
        sniff=sniff_cost_report,
        parse=parse_cost_report,
    ),
]
