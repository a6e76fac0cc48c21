"""Secrets kept at rest (provider credentials, and any other secret the app must be able to read back):
Fernet tokens under keys that come from the environment.

``CREDENTIAL_KEYS`` lists Fernet keys, comma separated: the first encrypts, every one decrypts, so a
key is rotated by putting a new one first, running ``manage.py rotate_credentials`` (which encrypts
every stored secret again under the first key), and then dropping the old one. Unset, one key is
derived from ``SECRET_KEY`` (HKDF), so a laptop needs no configuration; production sets its own keys,
so that a leaked ``SECRET_KEY`` alone does not open the credentials.

Nothing here logs, and no error it raises carries a secret or a key.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

HINT_LENGTH = 4
# Fixed inputs of the derivation: a new salt or info would make every stored secret unreadable.
_SALT = b"tokenboard credentials at rest"
_INFO = b"fernet key v1"


class SecretUnreadable(Exception):
    """A stored secret that none of the configured keys opens (a key dropped too early, or a
    ``SECRET_KEY`` changed while no ``CREDENTIAL_KEYS`` were set)."""

    def __init__(self):
        super().__init__(
            "The stored secret cannot be decrypted with the configured CREDENTIAL_KEYS; put back the key it "
            "was encrypted with, or enter the secret again."
        )


def derived_key(secret_key: str) -> bytes:
    """The development key: 32 bytes derived from ``SECRET_KEY``, in Fernet's encoding."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(secret_key.encode())
    return base64.urlsafe_b64encode(raw)


def configured_keys() -> list[bytes]:
    keys = [key.strip() for key in settings.CREDENTIAL_KEYS if key.strip()]
    return [key.encode() for key in keys] if keys else [derived_key(settings.SECRET_KEY)]


@lru_cache(maxsize=4)
def _box(keys: tuple[bytes, ...]) -> MultiFernet:
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except ValueError:
            # Which key, never the key itself.
            raise ImproperlyConfigured(
                f"CREDENTIAL_KEYS: key {position} is not a Fernet key (32 url-safe base64-encoded bytes; make one "
                "with: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
            ) from None
    return MultiFernet(fernets)


def _current() -> MultiFernet:
    return _box(tuple(configured_keys()))


def encrypt(plain: str) -> str:
    return _current().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable() from None


def rotate(token: str) -> str:
    """The same secret encrypted under the first key (a token already under it is made anew too)."""
    try:
        return _current().rotate(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable() from None


def hint(plain: str) -> str:
    """What a page may show of a secret: its last four characters, and only when it is long enough
    that those say little about the rest."""
    return plain[-HINT_LENGTH:] if len(plain) >= 4 * HINT_LENGTH else ""
