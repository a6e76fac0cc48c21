"""The review queue, a flag's page, my flags, my budget and the error pages as people use them (issue 15),
each at a laptop's width and a phone's: a problem found by trying the app as a new user, kept from
coming back.

1. A row's actions are never clipped by the table (the last row's included); the bulk bar shows the
   fields of the chosen action only; the evaluation line counts the viewer's flags; a closed flag's
   row reads "View".
2. Dismissing records the reason chosen: none is preselected, an error keeps what was typed, and a
   dismissed flag can be reopened (its history kept).
7. Branded error pages with the navigation: "you don't have access to this" for a page not yours.
8. My open flags: a badge in the navigation, the flags near the top of My usage, and a reply that
   came with the resolution still there.
9. Budget numbers that agree: one money format, the budget as a month, the default period ending at
   the last complete day.
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from leaderboard import display, flags, review
from leaderboard.models import Flag, FlagEvent
from tests.browser.conftest import browser_login, htmx_settled, open_menu_if_folded
from tests.browser.test_review_journey import _morning

WIDTHS = pytest.mark.parametrize("width", [1366, 390], ids=["laptop", "phone"])


def at_width(page, width: int):
    page.set_viewport_size({"width": width, "height": 800})
    return page


def fully_visible(page, locator) -> bool:
    """The element is inside the viewport and nothing (a clipping box, another element) covers its centre."""
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    size = page.viewport_size
    if box is None or box["x"] < 0 or box["y"] < 0 or box["x"] + box["width"] > size["width"] \
            or box["y"] + box["height"] > size["height"]:
        return False
    return locator.evaluate(
        "(el, [x, y]) => { const hit = document.elementFromPoint(x, y); return hit === el || el.contains(hit); }",
        [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
    )


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


# --- 1. The review queue --------------------------------------------------------------------------


@WIDTHS
def test_the_last_rows_actions_are_not_clipped_by_the_table(page, live_server, cast, width):
    erin_flag, lee_flag = _morning(cast)
    at_width(page, width)
    browser_login(page, live_server, cast.maria)
    page.goto(f"{live_server.url}/review/")
    last = page.locator("#queue tbody tr").last
    last.get_by_role("button", name="More").click()
    menu = last.get_by_role("dialog")
    for name in ("Snooze", "Dismiss", "Resolve"):
        assert fully_visible(page, menu.get_by_role("button", name=name, exact=True)), (name, width)
    assert fully_visible(page, menu.get_by_role("link", name="Note, reassign, history…"))
    assert fully_visible(page, menu.get_by_label("Dismiss because"))
    # Resolving from the menu of the last row works and swaps the row in place.
    page.evaluate("window.notReloaded = true")
    menu.get_by_role("button", name="Resolve", exact=True).click()
    page.locator("#queue tbody tr").last.get_by_text("Resolved.").wait_for()
    assert page.evaluate("window.notReloaded") is True
    assert Flag.objects.filter(status="resolved").count() == 1


@WIDTHS
def test_the_bulk_bar_shows_only_the_fields_of_the_chosen_action(page, live_server, cast, width):
    _morning(cast)
    at_width(page, width)
    browser_login(page, live_server, cast.maria)
    page.goto(f"{live_server.url}/review/")
    bulk = page.locator("#bulk-form")
    fields = {"snooze": bulk.get_by_label("Snooze until"), "reason": bulk.get_by_label("Dismiss reason"),
              "details": bulk.get_by_label("Details"), "to": bulk.get_by_label("Hand to")}

    def shown():
        return {name for name, field in fields.items() if field.is_visible()}

    assert shown() == set()  # acknowledge needs nothing
    for action, wanted in (("snooze", {"snooze"}), ("dismiss", {"reason", "details"}), ("resolve", {"details"}),
                           ("reassign", {"to"}), ("acknowledge", set())):
        bulk.get_by_label("Action").select_option(action)
        assert shown() == wanted, action
    # After an htmx swap of the queue the bar is still trimmed.
    bulk.get_by_label("Action").select_option("snooze")
    page.locator("#bulk-form").get_by_role("button", name="Apply").click()
    page.get_by_text("Select at least one flag and an action.").wait_for()
    htmx_settled(page)
    assert not page.locator("#bulk-form").get_by_label("Dismiss reason").is_visible()


@WIDTHS
def test_the_evaluation_line_counts_only_the_flags_the_manager_sees(page, live_server, cast, width):
    _morning(cast)
    total = review.evaluation_summary(cast.ada, flags.last_evaluation())
    mine = [flag for flag in review.reviewable_flags(cast.sam)]
    assert total.opened > len(mine)  # the company's run opened more than Sam's line holds
    at_width(page, width)
    browser_login(page, live_server, cast.sam)
    page.goto(f"{live_server.url}/review/")
    line = page.locator("p.evaluation").inner_text()
    assert f"{len(mine)} opened" in line and "among the flags you review" in line
    assert f"{total.opened} opened" not in line


@WIDTHS
def test_a_closed_flags_row_reads_view(page, live_server, cast, width):
    erin_flag, _ = _morning(cast)
    review.resolve(flag=erin_flag, by=cast.maria, text="Talked it through.")
    at_width(page, width)
    browser_login(page, live_server, cast.maria)
    page.goto(f"{live_server.url}/review/?status=all")
    row = page.locator(f"#flag-row-{erin_flag.pk}")
    assert row.get_by_role("link", name=f"View flag #{erin_flag.pk}").is_visible()
    assert row.get_by_role("link", name="Open", exact=True).count() == 0
    assert no_horizontal_scroll(page) or width == 390  # a phone scrolls the table box, not the page
    assert page.evaluate("document.body.scrollWidth <= window.innerWidth + 1")


# --- 2. Dismissing, and reopening -----------------------------------------------------------------


@WIDTHS
def test_dismissing_records_the_reason_chosen_after_an_error_and_the_flag_can_be_reopened(page, live_server, cast,
                                                                                          width):
    erin_flag, _ = _morning(cast)
    at_width(page, width)
    browser_login(page, live_server, cast.maria)
    page.goto(f"{live_server.url}/review/")
    row = page.locator(f"#flag-row-{erin_flag.pk}")
    row.get_by_role("button", name="More").click()
    reason = row.get_by_label("Dismiss because")
    assert reason.input_value() == ""  # nothing preselected
    reason.select_option(label="Other")
    row.get_by_role("button", name="Dismiss", exact=True).click()

    # The error comes back in the open menu with "Other" still chosen.
    row = page.locator(f"#flag-row-{erin_flag.pk}")
    row.get_by_role("dialog").get_by_role("alert").wait_for()
    assert "when the reason is “Other”" in row.get_by_role("dialog").get_by_role("alert").inner_text()
    assert row.get_by_label("Dismiss because").input_value() == "other"
    row.get_by_label("Details").fill("Covering support this month")
    row.get_by_role("button", name="Dismiss", exact=True).click()
    page.locator(f"#flag-row-{erin_flag.pk}").get_by_text("Dismissed", exact=True).wait_for()
    erin_flag.refresh_from_db()
    assert (erin_flag.status, erin_flag.dismiss_reason, erin_flag.dismiss_text) == (
        "dismissed", "other", "Covering support this month")

    # Reopened from its page, with the dismissal kept in its history.
    page.goto(f"{live_server.url}/review/{erin_flag.pk}/")
    page.get_by_role("button", name="Reopen").click()
    page.locator("#flag-status").filter(has_text="Open").wait_for()
    trail = page.locator("#flag-body table").inner_text()
    assert "Dismissed" in trail and "Reopened" in trail and "Maria Manager" in trail
    erin_flag.refresh_from_db()
    assert erin_flag.status == "open" and erin_flag.dismiss_reason == ""
    assert FlagEvent.objects.filter(flag=erin_flag, action="reopened", actor=cast.maria).exists()


def test_dismissing_without_javascript_keeps_what_was_typed(browser, live_server, cast, transactional_db):
    erin_flag, _ = _morning(cast)
    context = browser.new_context(java_script_enabled=False, base_url=live_server.url)
    page = context.new_page()
    try:
        browser_login(page, live_server, cast.maria)
        page.goto(f"{live_server.url}/review/{erin_flag.pk}/")
        page.get_by_label("Dismiss because").select_option(label="Other")
        page.get_by_role("button", name="Dismiss", exact=True).click()
        page.get_by_role("alert").wait_for()
        assert page.get_by_label("Dismiss because").input_value() == "other"
        page.get_by_label("Details", exact=True).fill("Parental leave")
        page.get_by_role("button", name="Dismiss", exact=True).click()
        page.locator("#flag-status").filter(has_text="Dismissed").wait_for()
        erin_flag.refresh_from_db()
        assert (erin_flag.dismiss_reason, erin_flag.dismiss_text) == ("other", "Parental leave")
    finally:
        context.close()


# --- 7. Error pages -------------------------------------------------------------------------------


@WIDTHS
def test_a_page_that_is_not_mine_says_so_in_the_apps_own_page(page, live_server, cast, width):
    _, lee_flag = _morning(cast)
    at_width(page, width)
    browser_login(page, live_server, cast.erin)
    for path in ("/imports/", f"/review/{lee_flag.pk}/", "/budgets/", "/no-such-page/"):
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 404, path
        assert page.get_by_role("heading", name="You don’t have access to this, or it doesn’t exist").is_visible()
        open_menu_if_folded(page)
        assert page.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile("My usage")).count()
        body = page.locator("body").inner_text()
        assert "URLconf" not in body and "Using the URLconf" not in body and "Django" not in body
        assert page.evaluate("document.body.scrollWidth <= window.innerWidth + 1")


# --- 8. My flags ----------------------------------------------------------------------------------


@WIDTHS
def test_my_flags_are_in_the_navigation_near_the_top_and_keep_the_reply_after_resolution(page, live_server, cast,
                                                                                      width):
    erin_flag, _ = _morning(cast)
    review.add_note(flag=erin_flag, by=cast.maria, text="Let's talk on Monday about your project.", to_employee=True)
    at_width(page, width)
    browser_login(page, live_server, cast.erin)
    nav = page.get_by_role("navigation", name="Main")
    if width == 390:  # the links are folded behind "Menu", which carries the badge
        assert re.search(r"Menu\s*1\s*open flag", nav.locator("label.nav-toggle-label").inner_text())
    open_menu_if_folded(page)
    assert nav.get_by_role("link", name=re.compile(r"My usage\s*1\s*open flag")).is_visible()

    nav.get_by_role("link", name=re.compile("My usage")).click()
    flags_heading = page.get_by_role("heading", name="My flags")
    usage_heading = page.locator("#usage h2, #usage h3").first
    assert flags_heading.bounding_box()["y"] < usage_heading.bounding_box()["y"]
    assert flags_heading.bounding_box()["y"] < 800  # on the first screen
    assert "Let's talk on Monday about your project." in page.locator(".my-flags").inner_text()

    # The manager resolves it with a reply: Erin still reads the conversation, and the badge is gone.
    review.add_note(flag=erin_flag, by=cast.maria, text="Resolved: thanks for explaining.", to_employee=True)
    review.resolve(flag=erin_flag, by=cast.maria)
    page.reload()
    section = page.locator(".my-flags")
    assert "Resolved: thanks for explaining." in section.inner_text()
    assert "Let's talk on Monday about your project." in section.inner_text()
    assert "Resolved" in section.inner_text()
    assert not page.get_by_role("navigation", name="Main").locator(".nav-badge").count()


# --- 9. Budget numbers ----------------------------------------------------------------------------


@WIDTHS
def test_my_budget_reads_as_a_month_in_one_money_format_over_complete_days(page, live_server, cast, width):
    _morning(cast)
    at_width(page, width)
    browser_login(page, live_server, cast.lee)
    page.goto(f"{live_server.url}/me/")
    budget = page.get_by_role("group", name="My budget").inner_text()
    assert re.search(r"\$[\d,.]+ a month", budget)
    assert "2000-01-01" not in budget and "from 2000" not in budget
    text = page.locator("main").inner_text()
    # "$1,234" from a thousand dollars on: never "$1,234.00", never "$1234".
    assert not re.search(r"\$\d{1,3}(,\d{3})+\.\d\d\b", text), re.findall(r"\$\d{1,3}(?:,\d{3})+\.\d\d", text)
    assert not re.search(r"\$\d{4,}", text)
    # The default period is the last 30 complete days: today has no data yet.
    today = timezone.now().date()
    span = display.day_span(today - timedelta(days=30), today - timedelta(days=1))
    assert span in text
    assert page.evaluate("document.body.scrollWidth <= window.innerWidth + 1")


# --- The flag's page ------------------------------------------------------------------------------


@WIDTHS
def test_the_flag_page_has_a_chart_with_readable_axes_and_written_days(page, live_server, cast, width):
    _, lee_flag = _morning(cast)
    at_width(page, width)
    browser_login(page, live_server, cast.maria)
    page.goto(f"{live_server.url}/review/{lee_flag.pk}/")
    chart = page.get_by_role("img", name=re.compile("^Daily USD"))
    assert chart.is_visible()
    ticks = chart.locator("text.tick")
    assert ticks.count() >= 6 and ticks.first.inner_html().startswith("$")
    assert min(ticks.nth(i).bounding_box()["height"] for i in range(ticks.count())) >= 9  # px on screen
    assert chart.locator("text.axis-label").count() == 2
    numbers = page.get_by_role("region", name="The numbers").inner_text()
    assert not re.search(r"\d{4}-\d\d-\d\d", numbers) and "anthropic" not in numbers
    assert page.evaluate("document.body.scrollWidth <= window.innerWidth + 1")


def test_without_javascript_more_leads_to_the_flags_page_and_the_bulk_bar_shows_every_field(browser, live_server,
                                                                                             cast, transactional_db):
    erin_flag, _ = _morning(cast)
    context = browser.new_context(java_script_enabled=False, base_url=live_server.url,
                                  viewport={"width": 390, "height": 800})
    page = context.new_page()
    try:
        browser_login(page, live_server, cast.maria)
        page.goto(f"{live_server.url}/review/")
        bulk = page.locator("#bulk-form")
        for label in ("Snooze until", "Dismiss reason", "Details (dismiss, resolve)", "Hand to"):
            assert bulk.get_by_label(label).is_visible(), label
        row = page.locator(f"#flag-row-{erin_flag.pk}")
        row.get_by_role("button", name="More").click()
        row.get_by_role("dialog").get_by_role("link").click()
        page.wait_for_url(f"**/review/{erin_flag.pk}/")
        assert page.get_by_role("button", name="Dismiss", exact=True).is_visible()
    finally:
        context.close()
