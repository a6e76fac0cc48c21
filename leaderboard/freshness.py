"""How fresh each vendor's data is: the last UTC day a successful import covered.

The boards print it ("Anthropic data until Oct 30"), so that a late export reads as a late export and
not as a lazy colleague; the flag rules wait for it, so nobody is judged on days not imported yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Max

from . import cache
from .cache import Versions
from .display import short_day, vendor_label
from .models import UsageExport


@dataclass(frozen=True)
class Freshness:
    vendor: str
    last_day: date

    @property
    def label(self) -> str:
        return f"{vendor_label(self.vendor)} data until {short_day(self.last_day)} (UTC)"


def latest_days() -> dict[str, date]:
    """Per vendor, the last day a successful import covered. One query: exports are grouped by their
    vendor list (few distinct values) and split here."""
    latest: dict[str, date] = {}
    rows = (
        UsageExport.objects.filter(status=UsageExport.Status.SUCCEEDED, last_day__isnull=False)
        .order_by()
        .values_list("vendors")
        .annotate(last=Max("last_day"))
    )
    for vendors, last in rows:
        for vendor in vendors or []:
            if vendor not in latest or latest[vendor] < last:
                latest[vendor] = last
    return latest


# An import that changes the rollups moves the data versions, and with them this; one that matched
# nobody does not, so what is cached also expires soon.
CACHE_SECONDS = 2 * 60


def by_vendor(versions: Versions | None = None) -> list[Freshness]:
    """Every page shows it: cached for a couple of minutes under the data versions."""

    def read() -> list[Freshness]:
        latest = latest_days()
        return [Freshness(vendor, latest[vendor]) for vendor in sorted(latest)]

    return cache.cached(versions, "freshness", (), read, seconds=CACHE_SECONDS)
