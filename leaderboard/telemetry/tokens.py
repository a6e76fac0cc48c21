"""Ingest tokens: made and revoked by admins (audited), checked on every OTLP request.

A token is ``tbi_`` and 32 random bytes (URL-safe base64). Only its SHA-256 is stored: a token that
random cannot be found from its hash, so no slow or keyed hash is needed, and checking one is a
single indexed lookup. The token itself is returned once, by ``create_token``, and never again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import Person

from ..models import IngestToken

PREFIX = "tbi_"
SHOWN_PREFIX = 10  # characters kept to tell tokens apart: "tbi_" and 6 of the random ones
# How stale "last used" may be: refreshing it on every batch would be a write per request.
LAST_USED_EVERY = timedelta(minutes=1)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _summary(token: IngestToken) -> dict:
    # What the audit trail keeps of a token: never the token, nor its hash.
    return {"name": token.name, "prefix": token.prefix, "revoked": token.revoked_at is not None}


def create_token(*, name: str, by: Person | None, address: str | None = None) -> tuple[IngestToken, str]:
    """A new token named ``name``: (its row, the token itself, to show once)."""
    secret = PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = IngestToken.objects.create(
            name=name.strip(), secret_sha256=_digest(secret), prefix=secret[:SHOWN_PREFIX], created_by=by
        )
        audit.record(actor=by, action="ingest_token.create", target=token, after=_summary(token), address=address)
    return token, secret


def revoke_token(*, token: IngestToken, by: Person | None, address: str | None = None) -> bool:
    """Revoke it from now on (the next batch it signs is refused); False when it already was."""
    with transaction.atomic():
        revoked = IngestToken.objects.live().filter(pk=token.pk).update(revoked_at=timezone.now(), revoked_by=by)
        if revoked:
            before = _summary(token)
            token.refresh_from_db()
            audit.record(actor=by, action="ingest_token.revoke", target=token, before=before, after=_summary(token),
                         address=address)
    return bool(revoked)


def authenticate(authorization: str) -> IngestToken | None:
    """The live token an ``Authorization: Bearer ...`` header carries, or None."""
    scheme, _, secret = authorization.strip().partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret.startswith(PREFIX) or len(secret) > 100:
        return None
    digest = _digest(secret)
    token = IngestToken.objects.live().filter(secret_sha256=digest).first()
    # The lookup found it by its hash; comparing again in constant time costs nothing and leaves no
    # doubt about what a database collation might have matched.
    if token is None or not hmac.compare_digest(token.secret_sha256, digest):
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
        IngestToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
