"""OpenAI's Administration API (provider-formats.md section 4): users, projects and their API keys,
usage of the token-bearing endpoints, and costs.

An Admin key goes in ``Authorization: Bearer``. Usage and costs take Unix seconds; we always send UTC
midnights, because a first bucket asked for off a boundary starts exactly where it was asked and ends
at the next midnight (the parser puts it on its start's day either way). Lists follow ``last_id`` as
``after``; reports follow ``next_page`` as ``page``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from .http import Client, Params
from .vendor import Fetched, Vendor, day_name, epoch_seconds, fetched, organization_count

# The endpoints that count tokens; the others (images, audio, vector stores, searches) count other
# things that the board has no column for.
TOKEN_ENDPOINTS = ("completions", "embeddings", "moderations")
# user_id names the key's owner; api_key_id the key when no user owns it; project_id what is left.
GROUP_BY = ("user_id", "api_key_id", "project_id", "model")
MAX_BUCKETS = 31
MAX_COST_BUCKETS = 180
MAX_LIST = 100


def auth(credential: str) -> dict:
    return {"headers": {"Authorization": f"Bearer {credential}"}}


def _after(page) -> dict | None:
    if isinstance(page, dict) and page.get("has_more") and page.get("last_id"):
        return {"after": page["last_id"]}
    return None


def _cursor(page) -> dict | None:
    if isinstance(page, dict) and page.get("has_more") and page.get("next_page"):
        return {"page": page["next_page"]}
    return None


def check(client: Client, options: dict) -> str:
    page = client.get_json("organization/users", params=[("limit", str(MAX_LIST))]).data
    users = page.get("data", []) if isinstance(page, dict) else []
    return f"Connected: the organisation has {organization_count(len(users), bool(page.get('has_more')), 'user')}."


def identities(client: Client, options: dict) -> Iterator[Fetched]:
    limit = [("limit", str(MAX_LIST))]
    users = list(client.paginate("organization/users", params=limit, next_page=_after))
    yield fetched("openai_users", "openai-users.json", users)
    # The project list only says where the keys are: it is followed, not kept (no identity in it).
    project_ids = [
        project["id"]
        for page in client.paginate("organization/projects", params=limit, next_page=_after)
        for project in (page.data.get("data") or [] if isinstance(page.data, dict) else [])
        if isinstance(project, dict) and project.get("id")
    ]
    keys = []
    for project_id in project_ids:
        keys += client.paginate(f"organization/projects/{project_id}/api_keys", params=limit, next_page=_after)
    if keys:
        yield fetched("openai_project_api_keys", "openai-project-api-keys.json", keys)


def _window(start: date, end: date, limit: int) -> Params:
    return [("start_time", str(epoch_seconds(start))), ("end_time", str(epoch_seconds(end + timedelta(days=1)))),
            ("bucket_width", "1d"), ("limit", str(limit))]


def usage(client: Client, options: dict, start: date, end: date) -> Iterator[Fetched]:
    group_by = [("group_by", dimension) for dimension in options.get("group_by") or GROUP_BY]
    pages = []
    for endpoint in TOKEN_ENDPOINTS:
        pages += client.paginate(f"organization/usage/{endpoint}", params=[*_window(start, end, MAX_BUCKETS), *group_by],
                                 next_page=_cursor)
    # One export for all three: they are one source, and a key they share sums within a file.
    yield fetched("openai_usage", f"openai-usage-{day_name(start, end)}.json", pages, (start, end))


def costs(client: Client, options: dict, start: date, end: date) -> Iterator[Fetched]:
    params = [*_window(start, end, MAX_COST_BUCKETS), ("group_by", "project_id"), ("group_by", "line_item")]
    pages = list(client.paginate("organization/costs", params=params, next_page=_cursor))
    yield fetched("openai_costs", f"openai-costs-{day_name(start, end)}.json", pages, (start, end))


VENDOR = Vendor(
    name="openai",
    label="OpenAI",
    base_url="https://api.openai.com/v1",
    auth=auth,
    check=check,
    identities=identities,
    usage=usage,
    costs=costs,
    repull_days=3,
    chunk_days=7,
    key_help="An Admin key, created by an organisation owner at platform.openai.com → Settings → Organization → "
             "Admin keys. Project API keys are refused (401/403).",
)
