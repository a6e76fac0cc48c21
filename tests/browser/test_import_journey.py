"""An admin uploads an export, watches it run in a real Celery worker, and sees it done."""

import re

import pytest

from leaderboard.models import PersonDay
from tests.browser.conftest import browser_login

HEADER = "date,email,provider,model,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,requests,cost_usd\n"

pytestmark = pytest.mark.celery


def test_it_uploads_an_export_and_shows_it_running_then_done(page, live_server, cast, workers, tmp_path, settings):
    workers.start()
    rows = "".join(f"2026-10-{day:02d},erin@example.com,mistral,m{n},100,50,0,0,1,0.10\n"
                   for day in range(1, 31) for n in range(200))
    export_file = tmp_path / "mistral_usage.csv"
    export_file.write_text(HEADER + rows)

    browser_login(page, live_server, cast.ada)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Imports").click()
    page.get_by_label(re.compile("Export files", re.I)).set_input_files(export_file)
    page.get_by_role("button", name="Upload").click()

    page.get_by_role("link", name="mistral_usage.csv").first.click()
    assert page.get_by_role("heading", name=re.compile(r"Import #\d+: mistral_usage\.csv")).is_visible()
    # The status block polls with htmx and stops once the worker has finished.
    page.get_by_text("Imported", exact=True).first.wait_for(timeout=60_000)
    assert page.get_by_text("6,000").first.is_visible()  # rows read
    assert PersonDay.objects.filter(person=cast.erin).count() == 30
