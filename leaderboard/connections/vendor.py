"""The one shape every vendor's module has, so a sync treats them all alike, and what they share."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from .http import Client, Page


@dataclass(frozen=True)
class Fetched:
    """One raw export a sync keeps: the pages of one listing as the provider sent them, read as
    ``format``. ``days`` are the UTC days asked for (usage and costs), None for identity lists."""

    format: str
    name: str
    content: bytes
    pages: int
    days: tuple[date, date] | None = None


@dataclass(frozen=True)
class Vendor:
    """A provider's admin API as a sync sees it.

    ``auth`` turns the credential into the client's headers or httpx auth; ``check`` makes one cheap
    authenticated call and says what it found; ``identities``, ``usage`` and ``costs`` fetch, in that
    order on every run, the raw exports to keep (``usage`` for one window of whole UTC days, at most
    ``chunk_days`` long; ``costs``, the provider's own cost report, once for the run's whole window).
    ``repull_days`` is how many days before the last complete one every run fetches again, because
    the provider revises them.
    """

    name: str
    label: str
    base_url: str
    auth: Callable[[str], dict]
    check: Callable[[Client, dict], str]
    identities: Callable[[Client, dict], Iterator[Fetched]]
    usage: Callable[[Client, dict, date, date], Iterator[Fetched]]
    costs: Callable[[Client, dict, date, date], Iterator[Fetched]] | None = None
    repull_days: int = 3
    chunk_days: int = 7
    needs_organization: bool = False
    # The first day the provider can have data for.
    earliest_day: date = date(2020, 1, 1)
    key_help: str = ""


def joined(pages: list[Page]) -> bytes:
    """Pages kept as one export, byte for byte: one page as it came, several as a JSON array of the
    pages (a form every API format reads), so the rows a key has on several pages are summed."""
    if len(pages) == 1:
        return pages[0].content
    return b"[" + b",\n".join(page.content for page in pages) + b"]"


def fetched(fmt: str, name: str, pages: list[Page], days: tuple[date, date] | None = None) -> Fetched:
    return Fetched(format=fmt, name=name, content=joined(pages), pages=len(pages), days=days)


def day_name(start: date, end: date) -> str:
    return f"{start:%Y-%m-%d}" if start == end else f"{start:%Y-%m-%d}_{end:%Y-%m-%d}"


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def rfc3339(day: date) -> str:
    return midnight(day).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch_seconds(day: date) -> int:
    return int(midnight(day).timestamp())


def epoch_millis(day: date) -> int:
    return epoch_seconds(day) * 1000


def days(start: date, end: date) -> Iterator[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def organization_count(count: int, more: bool, noun: str) -> str:
    return f"{count}{'+' if more else ''} {noun}{'' if count == 1 and not more else 's'}"
