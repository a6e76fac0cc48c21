"""Structured logs: one line per request and one per task, as ``key=value`` pairs, and every line
logged while serving a request or running a task carries its id (``request_id``, ``task_id``).

An operator follows one upload from the web process's line to the worker's: the request's id comes
from the load balancer's ``X-Request-ID`` when it sends a sane one, and goes back in the response.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from contextvars import ContextVar

_context: ContextVar[dict[str, str] | None] = ContextVar("log_context", default=None)
SANE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

requests_log = logging.getLogger("leaderboard.requests")
tasks_log = logging.getLogger("leaderboard.tasks.runs")


def pairs(**values) -> str:
    """``key=value`` text; values with spaces or quotes are quoted, so a line splits unambiguously."""
    parts = []
    for key, value in values.items():
        text = "" if value is None else str(value)
        if not text or re.search(r'[\s"=]', text):
            text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
        parts.append(f"{key}={text}")
    return " ".join(parts)


class ContextFilter(logging.Filter):
    """Gives every record the ids of the request or task it was logged in (``%(context)s``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get()
        record.context = pairs(**context) if context else "-"
        return True


def bind(**values: str):
    """Set the ids the next lines carry; returns a token for ``unbind``."""
    return _context.set({**(_context.get() or {}), **values})


def unbind(token) -> None:
    _context.reset(token)


class RequestLog:
    """Middleware: the request's id, then one line when the response is ready."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-ID", "")
        request_id = given if SANE_ID.match(given) else uuid.uuid4().hex[:16]
        token = bind(request_id=request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            user = getattr(request, "user", None)
            requests_log.info(pairs(
                method=request.method, path=request.path, status=response.status_code,
                duration_ms=f"{(time.perf_counter() - started) * 1000:.1f}",
                user=user.pk if user is not None and user.is_authenticated else "-",
            ))
            response["X-Request-ID"] = request_id
            return response
        finally:
            unbind(token)
