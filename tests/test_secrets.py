"""Secrets: a deployment cannot start without its SECRET_KEY, and no secret reaches an error page, the
logs, an export or a Celery message."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import sys as _sys

import pytest
from django.test import Client, RequestFactory, override_settings
from django.views.debug import technical_500_response

from leaderboard import tasks
from tests import security_world
from tests.conftest import PASSWORD
from tests.test_settings import PRODUCTION, ROOT


def start(env: dict, tmp_path) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION and k not in ("VAR_DIR", "SECRET_KEY")}
    return subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, capture_output=True, text=True,
                          env={**clean, **env, "VAR_DIR": str(tmp_path)})


def test_production_settings_refuse_to_start_without_a_secret_key(tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = start(env, tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr and "secrets.token_urlsafe(50)" in result.stderr
    assert not (tmp_path / "secret_key").exists()  # no key was made up for it


def test_production_settings_refuse_to_start_without_a_key_for_provider_credentials(tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k != "CREDENTIAL_KEYS"}
    result = start(env, tmp_path)
    assert result.returncode != 0 and "CREDENTIAL_KEYS is not set" in result.stderr


@pytest.mark.parametrize("env", [{"ALLOWED_HOSTS": "tokens.example.com"}, {"HTTPS": "true"}],
                         ids=["a public host name", "HTTPS"])
def test_any_deployment_sign_needs_the_key(tmp_path, env):
    assert start({"DEBUG": "false", **env}, tmp_path).returncode != 0


def test_a_laptop_and_make_run_still_need_nothing(tmp_path):
    assert start({}, tmp_path).returncode == 0
    assert start({"DEBUG": "true", "ALLOWED_HOSTS": "tokens.example.com"}, tmp_path).returncode == 0


SECRETS = {
    "SECRET_KEY": "s3cret-key-that-must-not-show-0123456789abcdefghijklmnop",
    "CELERY_BROKER_URL": "redis://:broker-password-x9@cache.internal:6379/0",
    "REDIS_URL": "redis://:broker-password-x9@cache.internal:6379/0",
    "EMAIL_HOST_PASSWORD": "smtp-password-y8",
    "OIDC_RP_CLIENT_SECRET": "oidc-client-secret-z7",
    "DATABASE_PASSWORD": "db-password-w6",
    "BEARER": "ingest-token-v5",
}
# What must not show: the secret parts alone (the page also shows this module's source around the
# frames it lists, so the test keeps them out of its own lines and locals).
HIDDEN = [value.split("@")[0].rsplit(":", 1)[-1] if "@" in value else value[:20] for value in SECRETS.values()]




@override_settings(**{k: v for k, v in SECRETS.items() if k not in ("DATABASE_PASSWORD", "BEARER")})
def test_the_debug_error_page_hides_keys_passwords_in_urls_and_bearer_tokens(settings):
    settings.DATABASES["default"] = {**settings.DATABASES["default"], "PASSWORD": SECRETS["DATABASE_PASSWORD"]}
    page = _error_page()
    assert "boom" in page  # the page is there...
    assert [secret for secret in HIDDEN if secret in page] == []  # ...without the secrets


def test_a_production_error_page_shows_no_traceback_nor_settings(cast, settings, monkeypatch):
    settings.DEBUG = False
    settings.SECRET_KEY = SECRETS["SECRET_KEY"]

    def broken(*args, **kwargs):
        raise RuntimeError("boom with s3cret inside")

    monkeypatch.setattr("leaderboard.boards.ranking.leaderboard", broken)
    client = Client(raise_request_exception=False)
    client.force_login(cast.erin)
    response = client.get("/")
    page = response.content.decode()
    assert response.status_code == 500
    assert "s3cret" not in page and "Traceback" not in page and "SECRET_KEY" not in page


def test_every_task_takes_ids_dates_or_nothing(cast):
    """What goes to the broker (and the worker's logs) is ids: never a credential, a token or an email."""
    for name, task in inspect.getmembers(tasks, lambda t: hasattr(t, "delay") and hasattr(t, "run")):
        for parameter in inspect.signature(task.run).parameters.values():
            assert parameter.name.endswith(("_id", "_ids")) or parameter.name in ("as_of",), (name, parameter.name)


def test_what_views_queue_is_ids_only(cast, settings, tmp_path, sent_tasks, django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = tmp_path / "media"
    world = security_world.build(cast)
    client = Client()
    client.force_login(cast.ada)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/identities/{world.identity.pk}/map/", {"person": "erin@example.com", "action": "map"})
        client.post(f"/imports/{world.export.pk}/retry/", {})
    assert sent_tasks
    for _, args, kwargs in sent_tasks:
        for value in [*(args or ()), *(kwargs or {}).values()]:
            assert value is None or isinstance(value, int | str) and str(value).replace("-", "").isdigit() or (
                isinstance(value, list) and all(isinstance(v, int) for v in value)), value


def test_exports_carry_no_password_hash_session_or_salary(cast, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    security_world.build(cast)
    cast.erin.annual_base_salary = 123456
    cast.erin.save()
    hashes = [p.password for p in type(cast.erin).objects.all()]
    client = Client()
    client.force_login(cast.maria)
    downloads = {path: client.get(path).content.decode() for path in ("/board.csv", "/review.csv", "/me/data.json")}
    for path, body in downloads.items():
        assert not any(h and h in body for h in hashes), path
        assert client.session.session_key not in body, path
        assert "123456" not in body, path  # Maria's own download has her data, not Erin's salary
        assert PASSWORD not in body, path
    mine = json.loads(downloads["/me/data.json"])
    assert "password" not in mine["person"]



def _error_page() -> str:
    request = RequestFactory().get("/", HTTP_AUTHORIZATION="Bearer " + SECRETS["BEARER"],
                                   HTTP_COOKIE="sessionid=abc123")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        return technical_500_response(request, *_sys.exc_info()).content.decode()
