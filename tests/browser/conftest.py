"""Browser journeys: Playwright driving Debian's Chromium against the live test server.

``playwright install`` cannot download browsers here, so we launch the system Chromium. In CI
(the CI variable is set) a missing browser is an error, not a skip: these tests must run there.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import PASSWORD

CHROMIUM = Path(os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium"))
# Without the networking switches Chromium keeps trying to reach Google's hosts, which this
# machine's closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module: while Playwright runs, its event loop is the running loop of
    this thread, so it must not outlive the browser tests (other tests' ORM calls would be refused)."""
    if not CHROMIUM.exists():
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import expect, sync_playwright

    # A loaded CI machine can take a few seconds for a cold board; a slow answer is not a failure.
    expect.set_options(timeout=15_000)

    # Django would otherwise refuse the test body's ORM calls (creating the cast, checking
    # results) as if they were made from async code.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, live_server, transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def browser_login(page, live_server, person, password: str = PASSWORD):
    """Log in through the real login form, as a person would."""
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Work email").fill(person.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login/" not in url)
    return page


def open_menu_if_folded(page) -> None:
    """On a phone the links are behind "Menu"."""
    toggle = page.locator("label.nav-toggle-label")
    if toggle.is_visible():
        toggle.click()


def htmx_settled(page) -> None:
    """Wait until htmx has no request in flight and nothing swapping or settling: a person reads the
    page before changing the next filter; a test must too, or its change lands on a form being replaced."""
    page.wait_for_function(
        "() => !window.htmx || !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )
