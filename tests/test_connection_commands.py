"""The connection commands, as an outside check drives them: add_connection, sync, connections,
rotate_credentials."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts import encryption
from leaderboard.connections import sync
from leaderboard.models import Connection, PersonDay
from tests.fake_providers import KEYS


@pytest.fixture(autouse=True)
def quick(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CONNECTION_BACKOFF_SECONDS = 0.01
    settings.CONNECTION_READ_TIMEOUT = 2.0


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def add_all(providers, monkeypatch):
    start = (sync.today() - timedelta(days=3)).isoformat()
    for vendor, key in KEYS.items():
        monkeypatch.setenv(f"{vendor.upper()}_KEY", key)
        extra = ["--organization", "acme"] if vendor == "github" else []
        run("add_connection", vendor, "--name", vendor, "--base-url", providers.base_url(vendor),
            "--credential-env", f"{vendor.upper()}_KEY", "--start", start, *extra)


def test_add_connection_reads_the_secret_from_the_environment(providers, cast, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", KEYS["anthropic"])
    out, _ = run("add_connection", "anthropic", "--name", "Main org", "--credential-env", "ANTHROPIC_ADMIN_KEY",
                 "--start", "2026-01-01")
    connection = Connection.objects.get()
    assert "Added connection 'Main org'" in out and KEYS["anthropic"] not in out and "0001" in out
    assert connection.base_url == "https://api.anthropic.com" and connection.options == {"start": "2026-01-01"}
    assert encryption.decrypt(connection.credential) == KEYS["anthropic"]


@pytest.mark.parametrize("args, message", [
    (["anthropic", "--name", "x", "--credential-env", "UNSET_VARIABLE"], "UNSET_VARIABLE is not set"),
    (["github", "--name", "x", "--credential-env", "SOME_KEY"], "--organization: GitHub Copilot needs"),
])
def test_add_connection_refuses_what_it_cannot_use(cast, monkeypatch, args, message):
    monkeypatch.setenv("SOME_KEY", "github_pat_0123456789abcdef")
    monkeypatch.delenv("UNSET_VARIABLE", raising=False)
    with pytest.raises(CommandError, match=message):
        run("add_connection", *args)
    assert not Connection.objects.exists()


def test_sync_all_syncs_every_vendor_and_says_what_it_fetched(providers, cast, monkeypatch):
    providers.seed([sync.today() - timedelta(days=n) for n in (3, 2, 1)])
    cast.erin.github_login = "erin-gh"
    cast.erin.save()
    add_all(providers, monkeypatch)

    out, err = run("sync", "--all")

    assert err == ""
    for vendor in KEYS:
        assert f"{vendor}: synced " in out
    assert "pages" in out and "rows" in out
    vendors = set(PersonDay.objects.filter(person=cast.erin).values_list("person", flat=True))
    assert vendors == {cast.erin.pk}
    listing, _ = run("connections")
    assert listing.count("\tok\t") == 4 and KEYS["anthropic"] not in listing


def test_sync_exits_non_zero_with_the_reason_when_one_failed(providers, cast, monkeypatch):
    providers.seed([sync.today() - timedelta(days=1)])
    monkeypatch.setenv("WRONG", "sk-admin-WRONGwrongWRONGwrong00")
    monkeypatch.setenv("RIGHT", KEYS["cursor"])
    run("add_connection", "openai", "--name", "bad", "--base-url", providers.base_url("openai"), "--credential-env", "WRONG")
    run("add_connection", "cursor", "--name", "good", "--base-url", providers.base_url("cursor"), "--credential-env", "RIGHT")

    with pytest.raises(CommandError, match="1 of 2 connection"):
        run("sync", "bad", "good")
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError):
        call_command("sync", "--all", stdout=out, stderr=err)
    assert "good: synced" in out.getvalue()
    assert "bad: failed: Stopped:" in err.getvalue() and "401" in err.getvalue()
    assert "WRONGwrong" not in err.getvalue()
    listing, _ = run("connections")
    assert "bad\topenai\tstopped" in listing


def test_sync_names_an_unknown_connection(cast):
    with pytest.raises(CommandError, match="no connection named nope"):
        run("sync", "nope")


def test_rotating_credentials_moves_them_to_the_first_key(providers, cast, monkeypatch, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.CREDENTIAL_KEYS = [old]
    add_all(providers, monkeypatch)
    before = dict(Connection.objects.values_list("name", "credential"))

    settings.CREDENTIAL_KEYS = [new, old]
    out, _ = run("rotate_credentials")
    assert "Re-encrypted 4 credential(s)" in out

    settings.CREDENTIAL_KEYS = [new]  # the old key dropped: everything still opens
    for connection in Connection.objects.all():
        assert connection.credential != before[connection.name]
        assert encryption.decrypt(connection.credential) == KEYS[connection.vendor]
    worked, _ = sync.test_connection(Connection.objects.get(name="anthropic"))
    assert worked


def test_rotating_says_which_credentials_no_key_opens(providers, cast, monkeypatch, settings):
    settings.CREDENTIAL_KEYS = [Fernet.generate_key().decode()]
    add_all(providers, monkeypatch)
    settings.CREDENTIAL_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CommandError, match="4 credential\\(s\\) open with none of CREDENTIAL_KEYS"):
        run("rotate_credentials")
