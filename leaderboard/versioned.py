"""Values cached under a data version, kept unpickled by the process that read them.

Boards and budgets cache what they compute under keys that name the version of the data they were
computed from (leaderboard/boards.py, "Cache"). Such a value never changes, so a process that has
read it once keeps it for a while and does not ask the shared cache (Redis, or files on a laptop)
again: for a ranking of 10,000 people, unpickling it cost more than the rest of the request.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from django.core.cache import cache

# How long a process serves a time-bound value (one cached for minutes, like a board's freshness
# line) without asking the shared cache again: well inside the shortest such expiry, two minutes.
RECENT_SECONDS = 60
# A value cached for this long or longer is not time-bound: under its key (a data version) it never
# changes, and the shared cache lets it go only to make room. A process keeps it as long, unless
# pushed out by newer values: reading a 10,000-person roster again every minute made one request a
# minute per process ten times slower than the rest.
LASTING_SECONDS = 60 * 60


class Recent:
    """The last values this process read from the shared cache, already unpickled, bounded by count
    and by age. They are shared by every request of the process: callers never mutate them."""

    def __init__(self, size: int = 64):
        self.size = size
        self._items: OrderedDict[str, tuple[Any, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if item[1] < time.monotonic():
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return item[0]

    def set(self, key: str, value: Any, seconds: int) -> None:
        with self._lock:
            self._items[key] = (value, time.monotonic() + seconds)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


# What everyone's pages share: rankings of the whole company, the roster, the budget policies. Few,
# and up to a few megabytes each.
recent = Recent()
# One person's values (their overview, charts, budget and own rows): 0.1 to 50 KB each (the charts of
# a year by model are the largest), and as many as people open their pages. Kept apart, so that a
# morning of people opening their own pages does not push the rankings everyone shares out of the
# process; 512 of them are a few megabytes to some 25 at worst.
personal = Recent(size=512)


def clear() -> None:
    recent.clear()
    personal.clear()


def remember(key: str, compute: Callable[[], Any], seconds: int, *, per_person: bool = False) -> Any:
    """The value under ``key`` (a key that names a data version): kept here, else in the shared
    cache, else ``compute()``, stored in the shared cache for ``seconds``. ``per_person``: the value
    is one person's (see ``personal``)."""
    kept = personal if per_person else recent
    found = kept.get(key)
    if found is None:
        found = cache.get(key)
        if found is None:
            found = compute()
            cache.set(key, found, seconds)
        # The shared cache does not say how long a time-bound entry has left: trust it for at most a
        # minute here, so no process serves it much past its expiry.
        kept.set(key, found, seconds if seconds >= LASTING_SECONDS else min(seconds, RECENT_SECONDS))
    return found
