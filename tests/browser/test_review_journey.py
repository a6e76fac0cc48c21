"""A manager's morning with the review queue, in a real browser: sees the queue, opens a flag and
understands why it was raised, snoozes one, dismisses another with a reason, and finds both in the
audit trail. htmx swaps rows and panels in place: the page is never reloaded."""

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from leaderboard import flags
from leaderboard.models import BudgetPolicy, Flag, FlagRule, PersonDay
from tests.browser.conftest import browser_login
from tests.test_flags import day_spend, fresh, usage


def _morning(cast):
    """Usage as imports would leave it, then the daily evaluation: Erin went quiet, Lee had a runaway day."""
    today = timezone.now().date()
    yesterday = today - timedelta(days=1)
    # The browser tests' database is flushed between tests, taking the migration's defaults with it.
    BudgetPolicy.objects.get_or_create(scope="org", effective_from=date(2000, 1, 1),
                                       defaults={"kind": "day", "amount_usd": Decimal(100)})
    fresh(last_day=yesterday)
    for person in (cast.erin, cast.sam, cast.lee):
        usage(person, today - timedelta(days=90), yesterday)
    PersonDay.objects.filter(person=cast.erin, day__gte=today - timedelta(days=21)).delete()
    day_spend(cast.lee, yesterday - timedelta(days=1), "1800")
    # This morning's flags are past their employee-first days: the manager sees them at once.
    flags.ensure_rules()
    FlagRule.objects.update(employee_first_days=0)
    flags.evaluate(as_of=today)
    return Flag.objects.get(person=cast.erin), Flag.objects.get(person=cast.lee)


def test_a_manager_reviews_snoozes_and_dismisses_flags(page, live_server, cast):
    erin_flag, lee_flag = _morning(cast)
    browser_login(page, live_server, cast.maria)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Review").click()
    assert page.get_by_role("heading", name="Review").is_visible()
    queue = page.locator("#queue")
    assert queue.get_by_role("link", name="Erin Employee").is_visible()
    assert queue.get_by_role("link", name="Lee Report").is_visible()
    assert queue.locator("tbody tr").count() == 2  # Maria's line only: nothing on Otto

    # Open Lee's flag and read why it was raised.
    queue.get_by_role("link", name="Lee Report").click()
    assert page.get_by_role("heading", name="Runaway spend: Lee Report").is_visible()
    why = page.get_by_role("region", name="Why this was raised")
    assert "the daily budget of $100.00" in why.inner_text()
    assert page.get_by_role("img", name="Daily USD").is_visible()

    # Snooze it from its page: the panel is swapped in place.
    page.evaluate("window.notReloaded = true")
    page.get_by_label("Snooze until").fill((timezone.now().date() + timedelta(days=7)).isoformat())
    page.get_by_role("button", name="Snooze").click()
    status = page.locator("#flag-status")
    status.filter(has_text="Snoozed").wait_for()
    assert page.evaluate("window.notReloaded") is True
    history = page.locator("#flag-body table")
    assert "Snoozed" in history.inner_text() and "Maria Manager" in history.inner_text()

    # Back in the queue, dismiss Erin's flag from its row, with a reason.
    page.get_by_role("link", name="Review queue").click()
    page.evaluate("window.notReloaded = true")
    row = page.locator(f"#flag-row-{erin_flag.pk}")
    row.get_by_text("More").click()
    row.get_by_label("Dismiss because").select_option(label="Role does not need AI")
    row.get_by_role("button", name="Dismiss").click()
    page.locator(f"#flag-row-{erin_flag.pk}").get_by_text("Dismissed", exact=True).wait_for()
    assert page.evaluate("window.notReloaded") is True

    # The audit trail shows who dismissed it, when and why.
    page.locator(f"#flag-row-{erin_flag.pk}").get_by_role("link", name="Erin Employee").click()
    trail = page.locator("#flag-body table").inner_text()
    assert "Dismissed" in trail and "Role does not need AI" in trail and "Maria Manager" in trail
    assert "status: open" in trail and "status: dismissed" in trail

    erin_flag.refresh_from_db()
    lee_flag.refresh_from_db()
    assert (erin_flag.status, erin_flag.dismiss_reason) == ("dismissed", "role_no_ai")
    assert lee_flag.status == "snoozed"


def test_the_queue_works_without_javascript(browser, live_server, cast, transactional_db):
    erin_flag, _ = _morning(cast)
    context = browser.new_context(java_script_enabled=False, base_url=live_server.url)
    page = context.new_page()
    try:
        browser_login(page, live_server, cast.maria)
        page.goto(f"{live_server.url}/review/")
        row = page.locator(f"#flag-row-{erin_flag.pk}")
        row.get_by_role("button", name="Acknowledge").click()
        page.wait_for_url("**/review/**")
        assert page.get_by_role("status").filter(has_text="Acknowledged.").first.is_visible()
        erin_flag.refresh_from_db()
        assert erin_flag.status == "acknowledged"
    finally:
        context.close()


def test_a_manager_acknowledges_flags_in_bulk(page, live_server, cast):
    erin_flag, lee_flag = _morning(cast)
    browser_login(page, live_server, cast.maria)
    page.goto(f"{live_server.url}/review/")
    page.evaluate("window.notReloaded = true")
    page.get_by_label(f"Select flag #{erin_flag.pk}").check()
    page.get_by_label(f"Select flag #{lee_flag.pk}").check()
    page.locator("#bulk-form").get_by_label("Action").select_option("acknowledge")
    page.locator("#bulk-form").get_by_role("button", name="Apply").click()
    page.get_by_text("Acknowledged: 2 flags.").wait_for()
    assert page.evaluate("window.notReloaded") is True
    assert set(Flag.objects.filter(status="acknowledged").values_list("pk", flat=True)) == {erin_flag.pk, lee_flag.pk}
