"""Cursor's Admin API (provider-formats.md section 5): members, usage events, daily usage and spend.

The key is the Basic-auth user name with an empty password. Usage is aggregated hourly and each
endpoint allows 20 calls a minute per team, so 429s are expected during a backfill (and waited out).
Cursor keeps only a rolling window of history: this app is the long-term record.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import httpx
from django.utils import timezone

from .http import Client
from .vendor import Fetched, Vendor, day_name, epoch_millis, fetched, organization_count

# The docs' default page is 10 events; a larger page means fewer calls against the rate limit.
# UNSURE: the largest page Cursor accepts is not documented; 100 has been seen to work.
PAGE_SIZE = 100


def auth(credential: str) -> dict:
    return {"auth": httpx.BasicAuth(credential, "")}


def _next_page(page) -> dict | None:
    pagination = page.get("pagination") if isinstance(page, dict) else None
    if isinstance(pagination, dict) and pagination.get("hasNextPage"):
        return {"page": int(pagination.get("currentPage") or 1) + 1}
    return None


def check(client: Client, options: dict) -> str:
    members = client.get_json("teams/members").data
    found = members.get("teamMembers", []) if isinstance(members, dict) else []
    return f"Connected: the team has {organization_count(len(found), False, 'member')}."


def identities(client: Client, options: dict) -> Iterator[Fetched]:
    yield fetched("cursor_members", "cursor-members.json", [client.get_json("teams/members")])


def _range(start: date, end: date) -> dict:
    # UNSURE whether endDate is inclusive. Either reading is safe: events are keyed by their own
    # millisecond time, and a day row from the next midnight is replaced when that day is fetched.
    return {"startDate": epoch_millis(start), "endDate": epoch_millis(end + timedelta(days=1))}


def usage(client: Client, options: dict, start: date, end: date) -> Iterator[Fetched]:
    events = list(client.paginate("teams/filtered-usage-events", method="POST",
                                  json_body={**_range(start, end), "page": 1, "pageSize": PAGE_SIZE},
                                  next_page=_next_page))
    yield fetched("cursor_events", f"cursor-events-{day_name(start, end)}.json", events, (start, end))
    # At most 30 days per call: a sync's chunks are shorter.
    daily = client.get_json("teams/daily-usage-data", method="POST", json_body=_range(start, end))
    yield fetched("cursor_daily_usage", f"cursor-daily-{day_name(start, end)}.json", [daily], (start, end))


def costs(client: Client, options: dict, start: date, end: date) -> Iterator[Fetched]:
    """Spend covers the current billing cycle only, whatever the window: each answer replaces the last."""
    pages, page_number = [], 1
    while True:
        page = client.get_json("teams/spend", method="POST", json_body={"page": page_number, "pageSize": PAGE_SIZE})
        pages.append(page)
        total = page.data.get("totalPages") if isinstance(page.data, dict) else None
        if not isinstance(total, int) or page_number >= total or page_number >= 1000:
            break
        page_number += 1
    today = timezone.now().date()
    yield fetched("cursor_spend", f"cursor-spend-{today:%Y-%m-%d}.json", pages)


VENDOR = Vendor(
    name="cursor",
    label="Cursor",
    base_url="https://api.cursor.com",
    auth=auth,
    check=check,
    identities=identities,
    usage=usage,
    costs=costs,
    # Cursor aggregates hourly and settles a day within hours.
    repull_days=2,
    chunk_days=7,
    key_help="An Admin API key, created by a team admin in the Cursor dashboard → Settings → Advanced → Admin API "
             "keys (crsr_... or key_...). A read-only key is enough.",
)
