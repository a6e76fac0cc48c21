"""How long a session lives: ``SESSION_MAX_AGE_SECONDS`` from the login whatever happens, and
``SESSION_IDLE_SECONDS`` without a request.

Django's own expiry slides forward with every save, so the login time and the last request are kept
in the session and checked here. The last request is written at most once a minute: a board page
costs two queries, and a session write on every one would be a third.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout

STARTED = "_session_started"
SEEN = "_session_seen"
SEEN_EVERY = 60


def on_login(sender, request, user, **kwargs):
    """``user_logged_in``: the absolute limit counts from here (Django has just rotated the key)."""
    if request is not None and hasattr(request, "session"):
        now = int(time.time())
        request.session[STARTED] = now
        request.session[SEEN] = now


def expired(session, now: int) -> str | None:
    """Why this session is over ("idle" or "age"), or None while it may go on."""
    started = session.get(STARTED)
    if started is None:
        return None
    if now - started > settings.SESSION_MAX_AGE_SECONDS:
        return "age"
    if now - session.get(SEEN, started) > settings.SESSION_IDLE_SECONDS:
        return "idle"
    return None


class SessionLimitsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = int(time.time())
            session = request.session
            why = expired(session, now)
            if why is not None:
                logout(request)
                minutes = (settings.SESSION_IDLE_SECONDS if why == "idle" else settings.SESSION_MAX_AGE_SECONDS) // 60
                messages.info(request, f"You were logged out after {minutes} minutes without activity."
                              if why == "idle" else f"Sessions last {minutes // 60 or minutes} "
                              f"{'hours' if minutes >= 60 else 'minutes'}: please log in again.")
            elif STARTED not in session:
                session[STARTED] = session[SEEN] = now  # a session from before these limits existed
            elif now - session.get(SEEN, 0) >= SEEN_EVERY:
                session[SEEN] = now
        return self.get_response(request)
