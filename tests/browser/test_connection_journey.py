"""An admin connects a provider, tests the connection, watches the first sync (in a real Celery worker)
backfill, and finds the people on the board."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from playwright.sync_api import expect

from leaderboard.connections import sync
from leaderboard.models import Connection, SyncRun
from tests.browser.conftest import browser_login
from tests.fake_providers import KEYS

pytestmark = pytest.mark.celery


def test_an_admin_connects_anthropic_and_sees_the_first_sync_fill_the_board(
    page, live_server, cast, workers, providers, settings
):
    key = Fernet.generate_key().decode()
    settings.CREDENTIAL_KEYS = [key]
    start = sync.today() - timedelta(days=9)
    providers.seed([start + timedelta(days=n) for n in range(9)])
    # Slow enough to be watched: each call of the usage report takes a moment.
    providers.slow("usage_report/messages", 0.4, times=6)
    workers.start(CREDENTIAL_KEYS=key, CONNECTION_READ_TIMEOUT="10")

    browser_login(page, live_server, cast.ada)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Connections").click()
    page.get_by_role("link", name="Add a connection").click()
    page.get_by_label("Vendor").select_option("anthropic")
    page.get_by_label("Name").fill("Anthropic")
    page.get_by_label("Credential").fill(KEYS["anthropic"])
    page.get_by_label("Backfill from").fill(start.isoformat())
    page.get_by_label("Base URL").fill(providers.base_url("anthropic"))
    page.get_by_role("button", name="Add connection").click()

    expect(page.get_by_role("heading", name="Anthropic", exact=True)).to_be_visible()
    expect(page.get_by_text("credential ending")).to_contain_text("0001")
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#test-result")).to_contain_text("Connected: the organisation has 2 users.")

    page.get_by_role("button", name="Sync now").click()
    status = page.locator("#run-status")
    # The block polls: the backfill's progress bar appears and moves until the run is done.
    expect(status.locator("progress#sync-progress")).to_be_attached(timeout=60_000)
    expect(status).to_contain_text(re.compile(r"Backfill \(#\d+, Sync now\): Succeeded"), timeout=90_000)
    expect(status).to_contain_text("10 of 10 days")
    expect(status.locator("progress#sync-progress")).to_have_attribute("value", "100")
    assert status.get_attribute("hx-trigger") is None  # polling stopped
    assert SyncRun.objects.get().backfill and Connection.objects.get().status == Connection.Status.OK

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Leaderboard").click()
    board = page.locator("#board")
    expect(board).to_contain_text("Erin Employee")
    expect(board).to_contain_text("Lee Report")
    assert KEYS["anthropic"] not in page.content()
