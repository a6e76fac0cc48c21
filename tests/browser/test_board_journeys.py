"""Browser journeys through the boards: filters update the table in place and the URL, the back
button restores, my pinned row, my usage page, and going hidden."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Person
from tests.browser.conftest import browser_login, htmx_settled
from tests.test_boards import save, standard_week, usage


@pytest.fixture
def company(cast):
    """The cast's week, and sixty busier colleagues in Sales, so that Erin's row is off page one."""
    standard_week(cast)
    people = [Person.objects.create_user(f"p{n}@example.com", None, name=f"Person {n:02}", team=cast.sales)
              for n in range(60)]
    save([usage(person, 2, tokens=20_000 + n, cost="0.01") for n, person in enumerate(people)])
    return cast


def board_table(page):
    return page.locator("#board table.board-table")


def test_it_filters_in_place_with_shareable_urls_and_a_working_back_button(page, live_server, company):
    browser_login(page, live_server, company.erin)
    page.goto(f"{live_server.url}/?period=7d")
    # Erin is 63rd of 65: her row is pinned under the first page, with her percentile.
    pinned = page.locator("tbody.pinned-rows tr.mine")
    expect(pinned).to_contain_text("Erin Employee")
    expect(pinned).to_contain_text("top 97%")
    # A marker that a full page load would wipe out: the filters must update the page in place.
    page.evaluate("window.stillHere = true")

    htmx_settled(page)
    page.get_by_label("Rank by").select_option("cost")
    expect(page).to_have_url(re.compile(r"/\?period=7d&metric=cost$"))
    expect(board_table(page).locator("tbody tr").first).to_contain_text("Lee Report")
    expect(page.locator("#board-heading")).to_contain_text("Cost")

    htmx_settled(page)
    page.get_by_label("Team").select_option(label="Platform")
    expect(page).to_have_url(re.compile(r"team=\d+"))
    expect(board_table(page).locator("tbody tr")).to_have_count(2)
    expect(page.get_by_label("Team")).to_have_value(str(company.platform.pk))

    htmx_settled(page)
    page.get_by_label("Period").select_option("30d")
    expect(page).to_have_url(re.compile(r"/\?metric=cost&team=\d+$"))
    expect(page.locator("#board-heading")).to_contain_text("Last 30 days")
    assert page.evaluate("window.stillHere") is True

    htmx_settled(page)
    page.go_back()
    expect(page).to_have_url(re.compile(r"period=7d&metric=cost&team=\d+$"))
    expect(page.locator("#board-heading")).to_contain_text("Last 7 days")
    htmx_settled(page)
    page.go_back()
    expect(page).to_have_url(re.compile(r"/\?period=7d&metric=cost$"))
    expect(page.get_by_label("Team")).to_have_value("")
    # By cost Erin is second, on the page itself: nothing pinned.
    expect(board_table(page).locator("tr.mine td.rank")).to_have_text("2")
    expect(page.locator("tbody.pinned-rows")).to_have_count(0)

    # The model field suggests the models in use once it is first focused.
    page.get_by_label("Model").focus()
    expect(page.locator("#model-choices option[value='composer-2.5']")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"/\?period=7d&metric=cost$"))

    # Pages turn in place too.
    htmx_settled(page)
    page.get_by_label("Rank by").select_option("tokens")
    expect(page.locator("tbody.pinned-rows tr.mine")).to_contain_text("Erin Employee")
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="2", exact=True).click()
    expect(page).to_have_url(re.compile(r"page=2$"))
    expect(board_table(page).locator("tbody tr").first.locator("td.rank")).to_have_text("51")
    assert page.evaluate("window.stillHere") is True


def test_it_works_without_javascript(browser, live_server, company):
    context = browser.new_context(java_script_enabled=False, base_url=live_server.url)
    page = context.new_page()
    try:
        browser_login(page, live_server, company.erin)
        page.goto(f"{live_server.url}/")
        htmx_settled(page)
        page.get_by_label("Period").select_option("7d")
        htmx_settled(page)
        page.get_by_label("Rank by").select_option("output")
        page.get_by_role("button", name="Update").click()
        expect(page).to_have_url(re.compile(r"period=7d.*metric=output"))
        expect(page.locator("#board-heading")).to_contain_text("Output tokens")
        page.get_by_role("link", name="Download CSV").is_visible()
    finally:
        context.close()


def test_it_opens_my_usage_page(page, live_server, company):
    browser_login(page, live_server, company.erin)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My usage").click()
    expect(page.get_by_role("heading", name="My usage", exact=True)).to_be_visible()
    htmx_settled(page)
    page.get_by_label("Period").select_option("7d")
    expect(page).to_have_url(re.compile(r"/me/\?period=7d$"))
    expect(page.locator(".cards")).to_contain_text("3.0K")
    page.get_by_role("link", name="By model").click()
    expect(page).to_have_url(re.compile(r"by=model"))
    expect(page.locator("figure.chart-figure .legend")).to_contain_text("claude-sonnet-4-5")
    expect(page.get_by_text("npx ccusage@latest daily --json --timezone UTC")).to_be_visible()


def test_it_takes_me_off_the_boards_when_i_choose_hidden(page, browser, live_server, company):
    browser_login(page, live_server, company.sam)
    page.goto(f"{live_server.url}/teams/?period=7d")
    platform_before = page.locator("tr", has_text="Platform").locator("td.metric .value").inner_text()

    # Sam goes hidden...
    page.goto(f"{live_server.url}/settings/")
    page.get_by_label(re.compile("Leave me off the boards")).check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    # ...and still sees himself.
    page.goto(f"{live_server.url}/?period=7d&team={company.platform.pk}")
    expect(board_table(page)).to_contain_text("Sam Lead")

    other = browser.new_context(base_url=live_server.url)
    erin = other.new_page()
    try:
        browser_login(erin, live_server, company.erin)
        erin.goto(f"{live_server.url}/?period=7d&team={company.platform.pk}")
        expect(board_table(erin)).not_to_contain_text("Sam Lead")
        expect(board_table(erin)).to_contain_text("Lee Report")
        erin.goto(f"{live_server.url}/teams/?period=7d")
        expect(erin.locator("tr", has_text="Platform").locator("td.metric .value")).to_have_text(platform_before)
        assert erin.goto(f"{live_server.url}/people/{company.sam.pk}/").status == 404
    finally:
        other.close()
