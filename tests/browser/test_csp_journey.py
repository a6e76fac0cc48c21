"""Every kind of page under the Content-Security-Policy, in a real browser: an admin's and a manager's
rounds through the app (htmx swaps, polling, charts, the upload and select-all scripts, the Django
admin) fail on any violation the browser reports, in the console or as a securitypolicyviolation."""

from __future__ import annotations

import contextlib

import pytest

from tests import security_world
from tests.browser.conftest import browser_login, htmx_settled

WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__violations.push(event.violatedDirective + " blocked " + (event.blockedURI || "inline") + " at " +
                           event.sourceFile + ":" + event.lineNumber);
});
"""


@pytest.fixture
def watched(page):
    page.context.add_init_script(WATCH)
    console = []
    page.on("console", lambda message: console.append(message.text) if message.type in ("error", "warning") else None)
    return page, console


def violations(page, console) -> list[str]:
    found = [text for text in console if "Content Security Policy" in text or "Refused to" in text]
    with contextlib.suppress(Exception):  # a page mid-navigation: its events were collected on the way
        found += page.evaluate("window.__violations || []")
    return found


def visit(page, console, url):
    page.goto(url)
    page.wait_for_load_state("networkidle")
    assert violations(page, console) == [], url


def test_an_admin_goes_through_every_kind_of_page_without_a_csp_violation(watched, live_server, cast, settings,
                                                                          tmp_path):
    page, console = watched
    settings.MEDIA_ROOT = tmp_path / "media"
    world = security_world.build(cast)
    browser_login(page, live_server, cast.ada)
    base = live_server.url

    visit(page, console, f"{base}/")
    page.get_by_label("Period").select_option("7d")  # an htmx swap of the board
    htmx_settled(page)
    assert "period=7d" in page.url
    for path in ("/teams/", f"/teams/{cast.engineering.pk}/", "/me/", f"/people/{cast.erin.pk}/",
                 f"/people/{cast.erin.pk}/?by=model", "/review/", f"/review/{world.flag.pk}/", "/imports/",
                 f"/imports/{world.export.pk}/", "/identities/", "/budgets/", "/budgets/rules/",
                 "/budgets/exemptions/", "/people/import/", "/audit/", "/settings/", f"/people/{world.left.pk}/erase/",
                 "/admin/", "/admin/accounts/person/", f"/admin/accounts/person/{cast.erin.pk}/change/",
                 "/admin/accounts/auditevent/", "/no/such/page/"):
        visit(page, console, f"{base}{path}")

    # The review queue's "select all" is a static script now, not an onchange attribute.
    visit(page, console, f"{base}/review/")
    page.get_by_label("Select all").check()
    assert page.locator("input[name=ids]:checked").count() == page.locator("input[name=ids]").count() > 0

    # An action swapped in by htmx, and the budget preview fetched as the form changes.
    visit(page, console, f"{base}/review/{world.flag.pk}/")
    page.get_by_role("button", name="Acknowledge").click()
    page.locator("#flag-status").filter(has_text="Acknowledged").wait_for()
    visit(page, console, f"{base}/budgets/")
    page.get_by_label("Amount (USD)").fill("123")
    htmx_settled(page)
    assert violations(page, console) == []


def test_people_see_their_pages_and_charts_without_a_csp_violation(watched, live_server, cast, settings, tmp_path):
    page, console = watched
    settings.MEDIA_ROOT = tmp_path / "media"
    world = security_world.build(cast)
    visit(page, console, f"{live_server.url}/login/")
    visit(page, console, f"{live_server.url}/password/reset/")
    browser_login(page, live_server, cast.erin)
    for path in ("/", "/teams/", "/me/", f"/review/{world.flag.pk}/", "/settings/", "/password/change/"):
        visit(page, console, f"{live_server.url}{path}")
    visit(page, console, f"{live_server.url}/me/")
    page.get_by_role("link", name="By model").click()  # an htmx swap that brings a chart
    htmx_settled(page)
    assert violations(page, console) == []
