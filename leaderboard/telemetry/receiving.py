"""Taking one OTLP/HTTP request from an authenticated exporter: check the body, keep it, answer.

The receiver never writes usage: it reads the batch (to refuse a malformed one with 400 and report
refused points as a partial success), keeps the bytes as a telemetry export (``imports.store_export``:
the same storage, checksum and history as any export; the same bytes again are the same export) and
answers. A fold (leaderboard/telemetry/folding.py) writes the usage, in bulk, moments later.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import DatabaseError, transaction
from django.utils import timezone

from .. import imports
from ..models import IngestToken, UsageExport
from . import folding, otlp, reading

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Received:
    answer: otlp.Answer
    export: UsageExport | None = None
    created: bool = False
    retry_after: int | None = None


# Whether the fold is behind, as this process last checked: asked at most every few seconds, so a
# busy receiver costs the database one small query per process, not one per batch.
_backlog = {"checked": 0.0, "behind": False}
BACKLOG_CHECK_SECONDS = 5


def _behind() -> bool:
    now = time.monotonic()
    if now - _backlog["checked"] >= BACKLOG_CHECK_SECONDS:
        _backlog["behind"] = folding.backlog_exceeds(settings.TELEMETRY_MAX_BACKLOG)
        _backlog["checked"] = now
    return _backlog["behind"]


def receive(*, signal: str, token: IngestToken, body: bytes, content_type: str,
            content_encoding: str) -> Received:
    """Check, keep and answer one request's body (already read, within the size limit)."""
    encoding = otlp.encoding_of(content_type)
    if encoding is None:
        return Received(otlp.refused(415, otlp.INVALID_ARGUMENT, f"Content-Type {content_type!r} is not OTLP/HTTP: "
                                     f"send {otlp.PROTOBUF} or {otlp.JSON}", None))
    try:
        payload = otlp.inflate(body, content_encoding, limit=settings.TELEMETRY_MAX_BYTES)
        message = otlp.decode(payload, encoding, signal)
    except otlp.TooLarge as error:
        return Received(otlp.refused(413, otlp.INVALID_ARGUMENT, str(error), encoding))
    except otlp.Malformed as error:
        return Received(otlp.refused(400, otlp.INVALID_ARGUMENT, str(error), encoding))
    result = reading.read(message, signal, now_ns=time.time_ns())
    if not result.counted:
        # Nothing in it that counts (an exporter's other metrics, or only refused points): no batch
        # to keep, and an answer that says what was refused.
        return Received(otlp.accepted(signal, encoding, rejected=result.rejected, message=result.message))
    try:
        if _behind():
            return Received(
                otlp.refused(429, otlp.RESOURCE_EXHAUSTED, "the server is behind; send this batch again later", encoding),
                retry_after=settings.TELEMETRY_RETRY_AFTER,
            )
        now = timezone.now()
        extension = "json" if encoding == otlp.JSON else "pb"
        with transaction.atomic():
            export, created = imports.store_export(
                content=ContentFile(payload), origin=UsageExport.Origin.TELEMETRY,
                name=f"otlp-{signal}-{now:%Y%m%dT%H%M%S}-{token.prefix}.{extension}",
                requested_format=f"otlp_{signal}", folder=f"telemetry/{now:%Y/%m/%d}",
            )
    except (DatabaseError, OSError):
        # The batch is not kept: the exporter must send it again, and will when told to wait.
        log.warning("Could not keep a telemetry batch; asking the exporter to send it again", exc_info=True)
        return Received(otlp.refused(503, otlp.UNAVAILABLE, "the server cannot keep this batch now; send it again",
                                     encoding), retry_after=settings.TELEMETRY_RETRY_AFTER)
    return Received(otlp.accepted(signal, encoding, rejected=result.rejected, message=result.message), export, created)
