"""Issue 16 in a real browser: an employee uploads a forged ccusage file, it is held and counts
nowhere, and an admin reviews it; an admin previews a rule change on the Rules page before saving it."""

import re
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from leaderboard import imports
from leaderboard.models import BudgetPolicy, FlagRule, PersonDay, UsageExport
from tests.browser.conftest import browser_login
from tests.test_flags import activity, fresh, usage
from tests.test_self_reports import forged


def test_a_forged_upload_is_held_and_an_admin_rejects_it(page, live_server, cast, tmp_path):
    path = tmp_path / "ccusage.json"
    path.write_bytes(forged())

    browser_login(page, live_server, cast.erin)
    page.goto(f"{live_server.url}/me/")
    page.get_by_label("ccusage JSON").set_input_files(path)
    page.get_by_role("button", name=re.compile("Upload", re.I)).click()
    export = UsageExport.objects.get(attributed_to=cast.erin)
    imports.process_export(export.pk)  # what the worker does with the queued import
    export.refresh_from_db()
    assert export.status == UsageExport.Status.HELD
    assert not PersonDay.objects.exists()
    page.context.clear_cookies()

    browser_login(page, live_server, cast.ada)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Imports").click()
    page.get_by_role("link", name="Held self-reports").click()
    held = page.locator(f"#held-{export.pk}")
    assert held.get_by_text("Erin Employee").first.is_visible()
    assert held.get_by_role("cell", name=re.compile("above the ceiling")).first.is_visible()
    assert held.get_by_role("cell", name=re.compile("is in the future")).first.is_visible()
    held.get_by_label("Reason").fill("50 billion tokens a day for four cents: forged")
    held.get_by_role("button", name="Reject").click()

    page.get_by_text("is rejected; the file is kept, nothing counts").wait_for()
    assert page.get_by_text("No upload is waiting for review.").is_visible()
    export.refresh_from_db()
    assert export.status == UsageExport.Status.REJECTED and not PersonDay.objects.exists()
    page.goto(f"{live_server.url}{export.get_absolute_url()}")
    assert page.get_by_text("“50 billion tokens a day for four cents: forged”").is_visible()


def test_an_admin_previews_a_rule_change_then_saves_it(page, live_server, cast):
    today = timezone.now().date()
    # The browser tests' database is flushed between tests, taking the migration's defaults with it.
    BudgetPolicy.objects.get_or_create(scope="org", effective_from=date(2000, 1, 1),
                                       defaults={"kind": "day", "amount_usd": Decimal(100)})
    fresh(last_day=today - timedelta(days=1))
    for person, cost in ((cast.erin, "10"), (cast.lee, "30")):
        usage(person, today - timedelta(days=20), today - timedelta(days=1), cost=cost, working_days_only=False)
        activity(person, today - timedelta(days=60), sessions=1)

    browser_login(page, live_server, cast.ada)
    page.goto(f"{live_server.url}/budgets/rules/")
    amount = page.locator("#id_burn_without_output-amount_usd")
    amount.fill("100")
    page.get_by_role("button", name="Preview").click()

    preview = page.locator("#rules-preview")
    preview.get_by_role("heading", name="Burn without output: 1 flagged now, 2 with the change").wait_for()
    assert preview.get_by_role("cell", name="Erin Employee").is_visible()
    assert FlagRule.objects.get(kind="burn_without_output").amount_usd == Decimal(200)
    # The form keeps the change: saving is one click.
    assert page.locator("#id_burn_without_output-amount_usd").input_value() == "100"
    page.get_by_role("button", name="Save rules").click()
    page.get_by_text(re.compile(r"Saved \d+ rule")).wait_for()
    assert FlagRule.objects.get(kind="burn_without_output").amount_usd == Decimal(100)
