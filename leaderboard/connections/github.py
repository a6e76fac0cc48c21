"""GitHub Copilot (provider-formats.md section 6): the seats list and the usage metrics API's per-user
daily reports, for an organisation or an enterprise.

A token goes in ``Authorization: Bearer``. A report endpoint answers with signed download links to
NDJSON files on another host: they are fetched at once (they expire quickly) and without the token.
A day whose report does not exist (yet) is answered 404 (UNSURE: possibly 204 or no links): any of
those is "nothing for that day", and the re-pull window asks again on the next runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from .http import Client, NotFound
from .vendor import Fetched, Vendor, days, fetched, organization_count

API_VERSION = "2022-11-28"
PER_PAGE = 100
# The usage metrics API has data from this day on.
FIRST_REPORT_DAY = date(2025, 10, 10)


def auth(credential: str) -> dict:
    return {"headers": {"Authorization": f"Bearer {credential}", "Accept": "application/vnd.github+json",
                        "X-GitHub-Api-Version": API_VERSION}}


def scope(options: dict) -> str:
    """``orgs/NAME`` or ``enterprises/NAME``: every endpoint has both forms."""
    if options.get("enterprise"):
        return f"enterprises/{options['enterprise']}"
    organization = options.get("organization") or ""
    if organization.startswith("enterprises/"):
        return organization
    return f"orgs/{organization.removeprefix('orgs/')}"


def _seats(client: Client, options: dict, per_page: int, page: int):
    path = f"{scope(options)}/copilot/billing/seats"
    try:
        return client.get_json(path, params=[("per_page", str(per_page)), ("page", str(page))])
    except NotFound:
        raise NotFound(f"{scope(options)}: no such organisation or enterprise, or Copilot is not enabled for it "
                       "(404)") from None


def check(client: Client, options: dict) -> str:
    page = _seats(client, options, 1, 1).data
    seats = page.get("total_seats", 0) if isinstance(page, dict) else 0
    return f"Connected: {scope(options)} has {organization_count(seats, False, 'Copilot seat')}."


def identities(client: Client, options: dict) -> Iterator[Fetched]:
    pages = []
    for number in range(1, 1000):
        page = _seats(client, options, PER_PAGE, number)
        pages.append(page)
        seats = page.data.get("seats") if isinstance(page.data, dict) else None
        if not isinstance(seats, list) or len(seats) < PER_PAGE:
            break
    yield fetched("copilot_seats", "github-copilot-seats.json", pages)


def usage(client: Client, options: dict, start: date, end: date) -> Iterator[Fetched]:
    for day in days(max(start, FIRST_REPORT_DAY), end):
        response = client.request("GET", f"{scope(options)}/copilot/metrics/reports/users-1-day",
                                  params=[("day", day.isoformat())], allow=(204, 404))
        links = response.json().get("download_links") if response.status_code == 200 else None
        if not links:
            continue
        files = [client.download(link) for link in links]
        client.pages += len(files)
        # NDJSON files joined stay NDJSON, each file's bytes as they came.
        content = b"".join(body if body.endswith(b"\n") else body + b"\n" for body in files if body.strip())
        if content:
            yield Fetched(format="copilot_usage", name=f"github-copilot-users-{day:%Y-%m-%d}.ndjson",
                          content=content, pages=len(files), days=(day, day))


VENDOR = Vendor(
    name="github",
    label="GitHub Copilot",
    base_url="https://api.github.com",
    auth=auth,
    check=check,
    identities=identities,
    usage=usage,
    # Reports appear a day or two after the day they describe.
    repull_days=3,
    chunk_days=7,
    needs_organization=True,
    earliest_day=FIRST_REPORT_DAY,
    key_help="A fine-grained token with the organisation permission “View Organization Copilot Metrics” (or a "
             "classic token with read:org; manage_billing:copilot or read:enterprise for an enterprise), created "
             "at github.com → Settings → Developer settings. The Copilot usage metrics policy must be enabled.",
)
