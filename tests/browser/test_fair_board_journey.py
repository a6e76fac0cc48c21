"""Browser journeys through the fair board (issue 16): a colleague sees bands while the manager sees
the numbers; output columns and ratios beside usage; "unknown" for a person with no output source;
my output against my team's median.

The world is tests/test_board_output.py's week: Erin and Sam with Claude Code analytics (imported
through the real importer), Maria with spend and no pull request, Otto with OpenAI usage only (no
output source), Lee with a self-reported ccusage day."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import browser_login, htmx_settled
from tests.test_board_output import fair_week


@pytest.fixture
def fair(cast, tmp_path):
    fair_week(cast, tmp_path)
    return cast


def row_of(page, name: str):
    return page.locator("#board table.board-table tbody tr").filter(has_text=name)


@pytest.mark.peer_bands
def test_a_colleague_sees_bands_while_the_manager_sees_the_numbers(page, live_server, fair):
    browser_login(page, live_server, fair.otto)
    page.goto(f"{live_server.url}/?period=7d&metric=cost")
    # Otto (an employee, nobody's manager) sees his own row exactly and everyone else's band.
    expect(page.locator("tr.mine td.rank")).to_have_text("2")
    erin = row_of(page, "Erin Employee")
    expect(erin.locator("td.metric .value")).to_have_text("Top 25%")
    expect(erin).not_to_contain_text("$50.00")
    expect(erin.locator("td.out.withheld")).to_have_count(2)
    expect(page.locator("[data-note='bands']")).to_be_visible()
    # Nor does a colleague's own page give the figures away.
    erin.get_by_role("link", name="Erin Employee").click()
    expect(page.locator("[data-stat='band']")).to_contain_text("Top half")
    expect(page.get_by_text("Rank by tokens")).to_have_count(0)

    page.context.clear_cookies()
    browser_login(page, live_server, fair.maria)
    page.goto(f"{live_server.url}/?period=7d&metric=cost")
    # Maria manages Erin: the exact figure and rank; Otto is not in her line: a band.
    erin = row_of(page, "Erin Employee")
    expect(erin.locator("td.rank")).to_have_text("1")
    expect(erin.locator("td.metric .value")).to_have_text("$50.00")
    expect(erin.locator("td[data-col='pull_requests']")).to_have_text("2")
    expect(row_of(page, "Otto Outsider").locator("td.metric .value")).to_have_text("Top half")


def test_output_columns_and_ratios_are_visible_and_unknown_without_an_output_source(page, live_server, fair):
    browser_login(page, live_server, fair.ada)
    page.goto(f"{live_server.url}/?period=7d")
    erin = row_of(page, "Erin Employee")
    expect(erin.locator("td[data-col='commits']")).to_have_text("10")
    expect(erin.locator("td[data-col='pull_requests']")).to_have_text("2")
    expect(erin.locator("td[data-col='accepted_lines']")).to_have_text("500")
    # Every dollar of the week over its pull requests: $50 / 2, not the $10 of the days with one.
    expect(erin.locator("td[data-col='cost_per_pr']")).to_have_text("$25.00")
    expect(erin.locator("td[data-col='trust']")).to_have_text("Provider")
    otto = row_of(page, "Otto Outsider")
    for column in ("commits", "pull_requests", "accepted_lines", "cost_per_pr", "tokens_per_line"):
        expect(otto.locator(f"td[data-col='{column}']")).to_have_text("unknown")
    expect(row_of(page, "Lee Report").locator("td[data-col='trust']")).to_have_text("Self-reported")

    # Ranked by cost per pull request: the lowest first, spend without one last, unknown not ranked.
    htmx_settled(page)
    page.get_by_label("Rank by").select_option("cost_per_pr")
    expect(page).to_have_url(re.compile(r"metric=cost_per_pr"))
    names = page.locator("#board table.board-table tbody tr td.who a")
    expect(names).to_have_text(["Sam Lead", "Erin Employee", "Maria Manager"])
    expect(row_of(page, "Maria Manager").locator("td.metric .value")).to_have_text("no pull requests")
    expect(page.locator("[data-note='unknown-output']")).to_contain_text("2 people with usage")

    # On a phone the board still fits its width: the output columns give way.
    page.set_viewport_size({"width": 390, "height": 800})
    page.reload()
    expect(row_of(page, "Sam Lead")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    # On a laptop, every column fits without scrolling the table.
    page.set_viewport_size({"width": 1366, "height": 800})
    page.reload()
    expect(row_of(page, "Sam Lead").locator("td[data-col='trust']")).to_be_visible()
    assert page.evaluate("(() => { const w = document.querySelector('.table-wrap'); "
                         "return w.scrollWidth <= w.clientWidth; })()")


def test_my_usage_shows_my_output_against_my_teams_median(page, live_server, fair):
    browser_login(page, live_server, fair.erin)
    page.goto(f"{live_server.url}/me/?period=7d")
    produced = page.locator("#output")
    expect(produced.locator("[data-stat='pull_requests'] .value")).to_have_text("2")
    expect(produced.locator("[data-stat='cost_per_pr'] .value")).to_contain_text("$25.00")
    expect(produced.locator("[data-stat='cost_per_pr'] .value")).to_contain_text("team median no pull requests")
    expect(produced.locator("table tbody tr").first).to_contain_text("$25.00")

    page.context.clear_cookies()
    browser_login(page, live_server, fair.otto)
    page.goto(f"{live_server.url}/me/?period=7d")
    expect(page.locator("[data-stat='output-unknown']")).to_contain_text("Output unknown")
