"""The one settings module, read the way a deploy reads it: from the environment, in a fresh process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "x7Kq2vN9pR4sT6vW8xY0zA1bC3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5bC7dE",
    "ALLOWED_HOSTS": "tokens.example.com",
    "HTTPS": "true",
    "SECURE_HSTS_PRELOAD": "true",
    "DATABASE_URL": "postgres://leaderboard@db.internal:5432/leaderboard",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "CREDENTIAL_KEYS": "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=",
}


def settings_in(env: dict[str, str], tmp_path: Path) -> dict:
    script = (
        "import json, django; from django.conf import settings as s; django.setup();"
        "print(json.dumps({'db': s.DATABASES['default'], 'broker': s.CELERY_BROKER_URL,"
        "'cache': s.CACHES['default']['BACKEND'], 'key': s.SECRET_KEY, 'debug': s.DEBUG,"
        "'transport': getattr(s, 'CELERY_BROKER_TRANSPORT_OPTIONS', {}), 'time_limit': s.CELERY_TASK_TIME_LIMIT,"
        "'ssl': s.SECURE_SSL_REDIRECT, 'media': str(s.MEDIA_ROOT)}, default=str))"
    )
    return json.loads(run_in_a_fresh_process(script, tmp_path, env))


def run_in_a_fresh_process(script: str, tmp_path: Path, env: dict[str, str]) -> str:
    """What ``script`` prints, run by a new Python with this environment over a clean one."""
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION and k not in ("VAR_DIR", "MEDIA_ROOT")}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True,
        env={**clean, "DJANGO_SETTINGS_MODULE": "leaderboard.settings", "VAR_DIR": str(tmp_path), **env},
    )
    return result.stdout


def test_it_needs_no_configuration_on_a_laptop(tmp_path):
    found = settings_in({}, tmp_path)

    assert found["db"]["ENGINE"] == "django.db.backends.sqlite3"
    assert found["db"]["NAME"] == str(tmp_path / "db.sqlite3")
    assert found["broker"].startswith("filesystem://")
    assert "filebased" in found["cache"]
    assert found["media"] == str(tmp_path / "media")
    assert found["debug"] is False and found["ssl"] is False


def test_it_generates_a_secret_key_once_and_keeps_it(tmp_path):
    first = settings_in({}, tmp_path)["key"]
    assert len(first) >= 50
    assert settings_in({}, tmp_path)["key"] == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_it_uses_postgres_and_redis_when_told(tmp_path):
    found = settings_in(PRODUCTION, tmp_path)

    assert found["db"]["ENGINE"] == "django.db.backends.postgresql"
    assert (found["db"]["HOST"], found["db"]["NAME"]) == ("db.internal", "leaderboard")
    assert found["broker"] == PRODUCTION["REDIS_URL"]
    assert found["cache"] == "leaderboard.redis_cache.ForgivingRedisCache"
    assert found["key"] == PRODUCTION["SECRET_KEY"]
    # Redis must not hand an import to a second worker while the first is still within its time limit.
    assert found["transport"]["visibility_timeout"] > found["time_limit"]


def test_it_passes_the_deploy_checks_with_production_settings(tmp_path):
    clean = {k: v for k, v in os.environ.items() if k not in ("VAR_DIR", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
        capture_output=True, text=True, env={**clean, **PRODUCTION, "VAR_DIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


# A web process served by the test client: DEBUG names static files plainly (no collectstatic here).
SERVING = {"ALLOWED_HOSTS": "testserver", "DEBUG": "true"}


def test_a_web_process_freezes_what_it_keeps_for_life_once_it_is_set_up(tmp_path):
    # A fresh process, as a deploy starts one: the WSGI module is what gunicorn and runserver load.
    script = (
        "import gc; counts = [gc.get_freeze_count()]; from leaderboard.wsgi import application;"
        "counts.append(gc.get_freeze_count()); from django.test import Client; kept = [[n] for n in range(5000)];"
        "assert Client().get('/login/').status_code == 200; counts.append(gc.get_freeze_count()); print(counts)"
    )
    before, set_up, after_a_request = json.loads(run_in_a_fresh_process(script, tmp_path, SERVING))

    assert before == 0
    assert set_up > 10_000  # modules, classes, the URLconf and every view, the compiled templates
    # Once: what is made later (requests, and here 5,000 lists kept alive) stays collectable.
    assert after_a_request - set_up < 5000


def test_an_import_command_freezes_what_was_loaded_before_it_reads(tmp_path):
    sample = ROOT / "tests" / "samples" / "org-acme" / "generic" / "mistral_usage.csv"
    script = (
        "import gc, django; django.setup(); from django.core.management import call_command;"
        "from leaderboard import imports; call_command('migrate', verbosity=0); seen = [gc.get_freeze_count()];"
        "apply = imports.apply_export;"
        "imports.apply_export = lambda export: seen.append(gc.get_freeze_count()) or apply(export);"
        f"call_command('import_usage', {str(sample)!r}, stdout=__import__('io').StringIO()); print(seen)"
    )
    before, when_reading = json.loads(run_in_a_fresh_process(script, tmp_path, SERVING))

    assert before == 0 and when_reading > 10_000
