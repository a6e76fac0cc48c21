"""Anthropic's Admin API (provider-formats.md sections 1 and 2): users and API keys, the messages usage
report, Claude Code analytics and the cost report.

An Admin key (``sk-ant-admin01-...``) goes in ``x-api-key`` with ``anthropic-version``. Reports take
RFC 3339 times snapped to UTC days; pages follow ``next_page`` while ``has_more``; lists follow
``last_id`` as ``after_id``. Claude Code analytics answers one UTC day per call.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from .http import Client, Params
from .vendor import Fetched, Vendor, day_name, days, fetched, organization_count, rfc3339

API_VERSION = "2023-06-01"
# Every identity dimension, so each result names someone (an account, else a key, else a service
# account, else a workspace); and the model, which prices it. Results of one key are summed.
GROUP_BY = ("account_id", "api_key_id", "service_account_id", "workspace_id", "model")
MAX_BUCKETS = 31  # a page of 1d buckets holds at most 31
MAX_LIST = 1000


def auth(credential: str) -> dict:
    return {"headers": {"x-api-key": credential, "anthropic-version": API_VERSION}}


def _cursor(page) -> dict | None:
    if isinstance(page, dict) and page.get("has_more") and page.get("next_page"):
        return {"page": page["next_page"]}
    return None


def _after(page) -> dict | None:
    if isinstance(page, dict) and page.get("has_more") and page.get("last_id"):
        return {"after_id": page["last_id"]}
    return None


def check(client: Client, options: dict) -> str:
    page = client.get_json("v1/organizations/users", params=[("limit", str(MAX_LIST))]).data
    users = page.get("data", []) if isinstance(page, dict) else []
    return f"Connected: the organisation has {organization_count(len(users), bool(page.get('has_more')), 'user')}."


def identities(client: Client, options: dict) -> Iterator[Fetched]:
    limit = [("limit", str(MAX_LIST))]
    users = list(client.paginate("v1/organizations/users", params=limit, next_page=_after))
    yield fetched("anthropic_users", "anthropic-users.json", users)
    keys = list(client.paginate("v1/organizations/api_keys", params=limit, next_page=_after))
    yield fetched("anthropic_api_keys", "anthropic-api-keys.json", keys)


def _report_params(start: date, end: date, group_by) -> Params:
    return [
        ("starting_at", rfc3339(start)), ("ending_at", rfc3339(end + timedelta(days=1))), ("bucket_width", "1d"),
        ("limit", str(MAX_BUCKETS)), *(("group_by[]", dimension) for dimension in group_by),
    ]


def usage(client: Client, options: dict, start: date, end: date) -> Iterator[Fetched]:
    group_by = options.get("group_by") or GROUP_BY
    pages = list(client.paginate("v1/organizations/usage_report/messages",
                                 params=_report_params(start, end, group_by), next_page=_cursor))
    yield fetched("anthropic_usage_report", f"anthropic-usage-{day_name(start, end)}.json", pages, (start, end))
    analytics = []
    for day in days(start, end):
        analytics += client.paginate("v1/organizations/usage_report/claude_code",
                                     params=[("starting_at", day.isoformat()), ("limit", str(MAX_LIST))],
                                     next_page=_cursor)
    yield fetched("claude_code_analytics", f"claude-code-{day_name(start, end)}.json", analytics, (start, end))


def costs(client: Client, options: dict, start: date, end: date) -> Iterator[Fetched]:
    pages = list(client.paginate("v1/organizations/cost_report",
                                 params=_report_params(start, end, ("workspace_id", "description")),
                                 next_page=_cursor))
    yield fetched("anthropic_cost_report", f"anthropic-costs-{day_name(start, end)}.json", pages, (start, end))


VENDOR = Vendor(
    name="anthropic",
    label="Anthropic",
    base_url="https://api.anthropic.com",
    auth=auth,
    check=check,
    identities=identities,
    usage=usage,
    costs=costs,
    repull_days=3,
    chunk_days=7,
    key_help="An Admin API key (sk-ant-admin01-...), created by an organisation admin in the Claude Console under "
             "Settings → Admin keys. Workspace API keys cannot read usage.",
)
