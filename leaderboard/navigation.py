"""What the site header needs to know about the viewer (the context processor ``navigation``)."""

import functools

from django.utils.functional import SimpleLazyObject

from .boards.usage import live_flag_count


def navigation(request) -> dict:
    """``shows_review``: whether the header links to the review queue (admins, and anyone with a
    report); ``my_flags``: how many live flags are about the viewer (the badge on "My usage"). Each
    worked out once per request and only if a page asks."""
    return {"shows_review": SimpleLazyObject(lambda: _shows_review(request)),
            # A callable, which templates call (once: cached), so that the count stays a plain number.
            "my_flags": functools.cache(lambda: _my_flags(request))}


def _my_flags(request) -> int:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return 0
    # A board page has read the data versions: the count is cached under them (no query once warm).
    return live_flag_count(user, getattr(request, "data_versions", None))


def _shows_review(request) -> bool:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    if user.is_staff:
        return True
    # A board page has just read the roster, and says (no query); any other page asks the database.
    known = getattr(request, "has_reports", None)
    return known if known is not None else user.direct_reports.exists()
