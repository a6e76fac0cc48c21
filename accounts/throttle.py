"""A fixed-window rate limit kept in the cache: password-reset requests per address and per account.

The cache is enough here: losing the counts (a Redis outage, which the cache treats as a miss) lets a
few more reset emails out, nothing worse; login failures, which matter more, live in the database
(django-axes).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.cache import cache


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_at: datetime  # when the current window ends


def hit(scope: str, key: str, *, limit: int, window: int, now: float | None = None) -> Verdict:
    """Count one attempt of ``key`` (an address, an email) in ``scope``; allowed while the window has
    seen at most ``limit`` of them."""
    now = time.time() if now is None else now
    start = int(now // window) * window
    # Hashed: an email or an address is not kept in a cache key, and any length fits.
    digest = hashlib.sha256(key.strip().lower().encode()).hexdigest()[:32]
    name = f"throttle:{scope}:{start}:{digest}"
    cache.add(name, 0, timeout=window + 60)
    try:
        count = cache.incr(name)
    except ValueError:  # evicted (or the cache is away) between add and incr: count from here
        cache.set(name, 1, timeout=window + 60)
        count = 1
    return Verdict(allowed=count <= limit, retry_at=datetime.fromtimestamp(start + window, tz=UTC))
