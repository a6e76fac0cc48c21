"""The shared cache on Redis, for a service that must keep answering while Redis restarts.

Nothing the app keeps in the cache is the only copy of anything: boards are recomputed from the
rollups, import progress and heartbeats are best effort, sessions live in the database. So when
Redis cannot be reached a read is a miss and a write is skipped, and the page, the upload or the
import goes on. Django's own backend raises instead, which turned a Redis restart into a 500 on
every page and a failed import.
"""

from __future__ import annotations

import functools
import logging
import time

import redis
from django.core.cache.backends.redis import RedisCache

log = logging.getLogger(__name__)

# One warning a minute per process is enough to see an outage in the logs without drowning them.
WARN_EVERY_SECONDS = 60


def _forgiving(method, fallback):
    """``method`` of Django's Redis backend, answering ``fallback(*args)`` when Redis is out of reach."""

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except redis.RedisError as error:
            _warn(method.__name__, error)
            return fallback(*args, **kwargs)

    return call


_warned_at = 0.0


def _warn(operation: str, error: Exception) -> None:
    global _warned_at
    now = time.monotonic()
    if now - _warned_at >= WARN_EVERY_SECONDS:
        _warned_at = now
        log.warning("Cache unavailable (%s: %s); going on without it", operation, error)


def _nothing(*args, **kwargs):
    return None


def _no(*args, **kwargs):
    return False


def _missing(key, *args, **kwargs):
    raise ValueError(f"Key {key!r} not found (the cache is out of reach)")


class ForgivingRedisCache(RedisCache):
    get = _forgiving(RedisCache.get, lambda key, default=None, version=None: default)
    get_many = _forgiving(RedisCache.get_many, lambda *args, **kwargs: {})
    has_key = _forgiving(RedisCache.has_key, _no)
    add = _forgiving(RedisCache.add, _no)
    touch = _forgiving(RedisCache.touch, _no)
    delete = _forgiving(RedisCache.delete, _no)
    set = _forgiving(RedisCache.set, _nothing)
    delete_many = _forgiving(RedisCache.delete_many, _nothing)
    # What could not be stored: all of it.
    set_many = _forgiving(RedisCache.set_many, lambda data, *args, **kwargs: list(data))
    # As if the key were missing (Django's ValueError): a counter (accounts/throttle.py) starts again.
    incr = _forgiving(RedisCache.incr, _missing)
