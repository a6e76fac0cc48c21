"""Credentials at rest (accounts/encryption.py), and nowhere else: not in logs, pages, exports, task
arguments, error messages, or the database's plain text."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.db import connection as db
from django.urls import reverse

from accounts import encryption
from leaderboard import tasks
from leaderboard.connections import setup, sync
from leaderboard.models import UsageExport
from tests.fake_providers import KEYS


def test_a_secret_round_trips_and_is_never_stored_as_itself(settings):
    settings.CREDENTIAL_KEYS = []
    token = encryption.encrypt("sk-ant-admin01-abcdefghijklmnop")
    assert "abcdefgh" not in token and encryption.decrypt(token) == "sk-ant-admin01-abcdefghijklmnop"
    assert encryption.encrypt("same") != encryption.encrypt("same")  # a fresh IV each time


def test_without_credential_keys_the_key_is_derived_from_secret_key(settings):
    settings.CREDENTIAL_KEYS = []
    token = encryption.encrypt("secret-value-1234567")
    settings.SECRET_KEY = "another secret key entirely"
    with pytest.raises(encryption.SecretUnreadable, match="cannot be decrypted") as refused:
        encryption.decrypt(token)
    assert "secret-value" not in str(refused.value)


def test_every_key_decrypts_and_the_first_encrypts(settings):
    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.CREDENTIAL_KEYS = [second]
    old = encryption.encrypt("the-credential-123456")
    settings.CREDENTIAL_KEYS = [first, second]
    assert encryption.decrypt(old) == "the-credential-123456"
    rotated = encryption.rotate(old)
    settings.CREDENTIAL_KEYS = [first]
    assert encryption.decrypt(rotated) == "the-credential-123456"
    with pytest.raises(encryption.SecretUnreadable):
        encryption.decrypt(old)


def test_a_malformed_key_is_named_by_position_never_shown(settings):
    settings.CREDENTIAL_KEYS = [Fernet.generate_key().decode(), "not-a-key-but-secret"]
    with pytest.raises(ImproperlyConfigured, match="key 2 is not a Fernet key") as refused:
        encryption.encrypt("x")
    assert "not-a-key-but-secret" not in str(refused.value)


def test_the_hint_is_the_last_four_characters_of_a_long_secret():
    assert encryption.hint("sk-ant-admin01-abcdefghWXYZ") == "WXYZ"
    assert encryption.hint("short") == ""


def test_credentials_are_absent_from_logs_pages_exports_tasks_and_plain_text(
    providers, cast, login, caplog, settings, tmp_path, sent_tasks, django_capture_on_commit_callbacks,
):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CONNECTION_BACKOFF_SECONDS = 0.01
    caplog.set_level("DEBUG")
    providers.seed([sync.today() - timedelta(days=n) for n in (2, 1)])
    connections = {}
    for vendor, key in KEYS.items():
        connections[vendor] = setup.create_connection(
            vendor=vendor, name=vendor, credential=key, base_url=providers.base_url(vendor),
            options=setup.clean_options(vendor, start=sync.today() - timedelta(days=2),
                                        organization="acme" if vendor == "github" else ""), by=cast.ada)
    wrong = setup.create_connection(vendor="openai", name="wrong", credential="sk-admin-WRONGsecretWRONGsecret1",
                                    base_url=providers.base_url("openai"))
    providers.fail("usage_report/messages", 500, times=1)
    for found in [*connections.values(), wrong]:
        sync.run(found.pk, force=True)
        sync.test_connection(found)
    client = login(cast.ada)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("connection_sync", args=[connections["anthropic"].pk]))
    pages = "".join(
        client.get(url).content.decode()
        for url in [reverse("connections"), reverse("imports"), reverse("reconciliation")]
        + [reverse(name, args=[c.pk]) for c in [*connections.values(), wrong]
           for name in ("connection_detail", "connection_edit")]
    )
    with db.cursor() as cursor:
        tables = db.introspection.table_names(cursor)
        dump = []
        for table in tables:
            cursor.execute(f"SELECT * FROM {db.ops.quote_name(table)}")
            dump.append(repr(cursor.fetchall()))
    exports = b"".join(export.file.read() for export in UsageExport.objects.all())
    secrets = [*KEYS.values(), "sk-admin-WRONGsecretWRONGsecret1"]

    assert UsageExport.objects.count() > 8 and "401" in wrong.runs.get().error
    assert sent_tasks == [("leaderboard.tasks.sync_connection", (connections["anthropic"].pk,), {})]
    for secret in secrets:
        for piece in (secret, secret[6:20], secret[-12:]):
            assert piece not in caplog.text, "in the logs"
            assert piece not in pages, "on a page"
            assert piece.encode() not in exports, "in a kept export"
            assert piece not in "".join(dump), "in the database's plain text"
            assert piece not in repr(sent_tasks)
    assert tasks.sync_connection.name == "leaderboard.tasks.sync_connection"
