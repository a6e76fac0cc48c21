"""The headers of every page type, fragment and download, and templates that need no inline script or
style (the Content-Security-Policy allows neither)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests import security_world

PAGES = {
    "ada": ["/", "/?period=7d", "/teams/", "/teams/{engineering}/", "/me/", "/people/{erin}/", "/review/",
            "/review/{flag}/", "/imports/", "/imports/{export}/", "/identities/", "/budgets/", "/budgets/rules/",
            "/budgets/exemptions/", "/people/import/", "/audit/", "/settings/", "/password/change/",
            "/people/{left}/erase/"],
    "erin": ["/", "/me/", "/review/{flag}/", "/settings/"],
    None: ["/login/", "/password/reset/", "/login/sso/refused/"],
}
FRAGMENTS = ["/?period=30d", "/teams/", "/me/?period=7d", "/people/{erin}/", "/review/", "/board/models/",
             "/imports/{export}/progress/"]
DOWNLOADS = ["/board.csv", "/review.csv", "/me/data.json", "/imports/{export}/download/"]


@pytest.fixture
def world(cast, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return security_world.build(cast)


def fill(path: str, world) -> str:
    return path.format(engineering=world.cast.engineering.pk, erin=world.cast.erin.pk, flag=world.flag.pk,
                       export=world.export.pk, left=world.left.pk)


def csp(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def assert_protected(response, path: str) -> None:
    policy = csp(response)
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"], path
    assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"], path
    assert "'unsafe-inline'" not in response["Content-Security-Policy"], path
    assert "'unsafe-eval'" not in response["Content-Security-Policy"], path
    control = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= control, path
    assert "camera=()" in response["Permissions-Policy"] and "geolocation=()" in response["Permissions-Policy"], path


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"<style[\s>]", re.I), "a <style> element"),
    (re.compile(r"\sstyle\s*=", re.I), "a style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an event-handler attribute"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
]


def assert_no_inline_code(html: str, where: str) -> None:
    for pattern, what in INLINE:
        found = pattern.search(html)
        assert found is None, f"{where} has {what}: {html[max(0, found.start() - 80):found.end() + 80]}"


@pytest.mark.parametrize("who", list(PAGES))
def test_every_page_type_is_private_and_under_the_policy(client, world, who):
    if who:
        client.force_login(getattr(world.cast, who))
    for path in PAGES[who]:
        response = client.get(fill(path, world))
        assert response.status_code == (403 if "refused" in path else 200), path
        assert_protected(response, path)
        assert_no_inline_code(response.content.decode(), path)


def test_fragments_and_downloads_are_private_too(client, world):
    client.force_login(world.cast.ada)
    for path in FRAGMENTS:
        response = client.get(fill(path, world), HTTP_HX_REQUEST="true")
        assert 200 <= response.status_code < 300, path
        assert_protected(response, path)
        assert_no_inline_code(response.content.decode(), path)
    for path in DOWNLOADS:
        response = client.get(fill(path, world))
        assert response.status_code == 200 and "attachment" in response["Content-Disposition"], path
        assert_protected(response, path)


def test_errors_and_redirects_carry_the_headers(client, world):
    for response in (client.get("/me/"), client.get("/no/such/page/")):
        assert_protected(response, response.request["PATH_INFO"])


def test_htmx_is_told_to_need_no_eval_and_no_injected_style(client, world):
    client.force_login(world.cast.erin)
    html = client.get("/").content.decode()
    config = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'>', html)
    assert config and '"allowEval": false' in config.group(1) and '"includeIndicatorStyles": false' in config.group(1)
    assert html.index('name="htmx-config"') < html.index("htmx-2")  # read when htmx starts


ROOT = Path(__file__).resolve().parent.parent


def test_no_template_has_inline_script_or_style():
    # Emails are read in mail clients, where a stylesheet cannot follow: inline styles stay there.
    for path in sorted((ROOT / "templates").rglob("*.html")):
        if "emails" in path.parts:
            continue
        assert_no_inline_code(path.read_text(), str(path.relative_to(ROOT)))


def test_static_javascript_uses_no_eval():
    for path in (ROOT / "static" / "js").rglob("*.js"):
        text = path.read_text()
        assert "eval(" not in text and "new Function" not in text and "innerHTML" not in text, path
