"""The error pages (templates/404.html, 403.html, 500.html): the app's own, with its navigation, and
never Django's technical pages, which list every URL (issue 15)."""

import os
import subprocess
import sys
from pathlib import Path

from django.test import RequestFactory
from django.urls import reverse
from django.views import defaults

from tests.test_review_views import make_flag

REPO = Path(__file__).resolve().parent.parent


def test_a_page_that_is_not_mine_is_the_branded_404_with_the_navigation(cast, login):
    flag = make_flag(cast.lee)
    client = login(cast.erin)
    for url in (reverse("imports"), reverse("budgets"), reverse("flag", args=[flag.pk]), "/no-such-page/"):
        response = client.get(url)
        text = response.content.decode()
        assert response.status_code == 404, url
        assert "You don’t have access to this, or it doesn’t exist" in text
        assert 'aria-label="Main"' in text and reverse("me") in text
        assert "URLconf" not in text


def test_a_visitor_who_is_not_logged_in_gets_a_plain_not_found(client):
    text = client.get("/no-such-page/").content.decode()
    assert "Page not found" in text and "don’t have access" not in text


def test_the_403_page_says_you_dont_have_access(cast):
    request = RequestFactory().get("/somewhere/")
    request.user = cast.erin
    response = defaults.permission_denied(request, exception=PermissionError())
    text = response.content.decode()
    assert response.status_code == 403
    assert "You don’t have access to this" in text and cast.erin.email in text and 'aria-label="Main"' in text


def test_the_500_page_renders_without_a_request_context():
    """Django renders it with an empty context: no user, no session, no database needed."""
    response = defaults.server_error(RequestFactory().get("/"))
    text = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in text and 'class="brand"' in text


def test_make_run_keeps_debug_off_and_still_serves_static_files(tmp_path):
    """bin/run's environment: DEBUG off (the branded pages), static files from static/ through WhiteNoise."""
    exports = [line.split(" ", 1)[1] for line in (REPO / "bin/run").read_text().splitlines()
               if line.startswith("export ") and "SITE_URL" not in line]
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "MANIFEST_STATIC", "STATIC_FROM_SOURCE")}
    env["VAR_DIR"] = str(tmp_path)
    for assignment in exports:
        name, value = assignment.split("=", 1)
        env[name] = value.split(":-", 1)[1].rstrip("}") if ":-" in value else value
    probe = ("import django; django.setup(); from django.conf import settings as s; "
             "print(s.DEBUG, s.WHITENOISE_USE_FINDERS, s.STORAGES['staticfiles']['BACKEND'].rsplit('.', 1)[1])")
    out = subprocess.run([sys.executable, "-c", probe], env={**env, "DJANGO_SETTINGS_MODULE": "leaderboard.settings"},
                         cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True", "StaticFilesStorage"]


def test_an_expired_form_gets_the_apps_own_page(cast):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.maria)
    response = client.post(reverse("review_bulk"), {"action": "acknowledge"})
    text = response.content.decode()
    assert response.status_code == 403
    assert "That form had expired" in text and 'class="brand"' in text and "CSRF verification failed" not in text
