"""The pages people use every day, at a laptop's width (1366 px) and a phone's (390 px), in a real
browser (issue 15): identities mapped several at a time after a confirmation that says how much
history moves, an import history that refreshes itself, a failed import that is not a dead end, and
phones that never scroll the page sideways. Each journey fails if its problem comes back."""

from __future__ import annotations

import re

import pytest
from django.core.files.base import ContentFile
from playwright.sync_api import expect

from accounts.models import Person, ProviderIdentity
from leaderboard import imports
from leaderboard.models import PersonDay, UsageExport
from tests.browser.conftest import browser_login, htmx_settled, open_menu_if_folded
from tests.browser.test_review_journey import _morning
from tests.test_boards import standard_week

WIDTHS = [1366, 390]
HEADER = "date,email,provider,model,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,requests,cost_usd\n"


@pytest.fixture
def enqueued(monkeypatch) -> list[int]:
    """Uploads are queued for a worker; here the test plays the worker, when it chooses to."""
    sent: list[int] = []
    monkeypatch.setattr("leaderboard.tasks.import_export.delay", sent.append)
    return sent


def at_width(page, width: int):
    page.set_viewport_size({"width": width, "height": 900})
    return page


def no_sideways_scroll(page) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{page.url} scrolls sideways: {widths[0]} px wide in a {widths[1]} px window"


def imported(text: str, name: str) -> UsageExport:
    export, _ = imports.store_export(content=ContentFile(text.encode()), name=name, origin=UsageExport.Origin.UPLOAD)
    return imports.process_export(export.pk).export


# --- Item 3: identities ------------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_an_admin_maps_several_identities_to_one_person_after_seeing_what_moves(page, live_server, cast, width):
    caleb = Person.objects.create_user("caleb.smith@example.com", None, name="Caleb Smith", team=cast.platform)
    rows = "".join(f"2026-10-{day:02d},{email},mistral,mistral-large,{tokens},0,0,0,1,0.10\n"
                   for email, days, tokens in [("caleb.smith@gmail.com", range(1, 21), 10_000_000),
                                               ("caleb-laptop@contractor.example", range(10, 31), 6_000_000),
                                               ("ghost@elsewhere.example", range(1, 3), 1_000)]
                   for day in days)
    imported(HEADER + rows, "mistral.csv")

    browser_login(at_width(page, width), live_server, cast.ada)
    open_menu_if_folded(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Identities").click()
    no_sideways_scroll(page)
    table = page.locator("table.identity-table").first
    # Compact rows (they were 162 px): an identity, its vendor and kind, and the map control.
    assert table.locator("tbody tr").first.bounding_box()["height"] < (90 if width >= 1366 else 120)
    if width >= 1366:
        # Every control within the window, none off its right edge.
        for button in table.get_by_role("button", name="Service account").all():
            box = button.bounding_box()
            assert box["x"] + box["width"] <= width
    # The likely person is suggested: the same name before the @.
    gmail = page.locator("tr", has_text="caleb.smith@gmail.com")
    expect(gmail.locator("input[name=person]")).to_have_value("Caleb Smith <caleb.smith@example.com>")
    expect(gmail).to_contain_text("Suggested: same name before the @")

    gmail.get_by_role("checkbox").check()
    page.locator("tr", has_text="caleb-laptop@contractor.example").get_by_role("checkbox").check()
    # The picker finds people by name: typing "Caleb" is enough.
    page.get_by_label("Map the ticked identities to").fill("Caleb")
    page.get_by_role("button", name="Map selected…").click()

    expect(page.get_by_role("heading", name="Map 2 identities to Caleb Smith?")).to_be_visible()
    expect(page.locator(".confirm-move")).to_contain_text("326M tokens, 30 days of history move to Caleb Smith")
    no_sideways_scroll(page)
    assert not PersonDay.objects.filter(person=caleb).exists()  # nothing moved yet
    page.get_by_role("button", name="Yes, move the history to Caleb Smith").click()

    expect(page.locator(".message.success")).to_contain_text("2 identities mapped to Caleb Smith")
    assert set(ProviderIdentity.objects.filter(value__startswith="caleb").values_list("person", flat=True)) == {caleb.pk}
    assert PersonDay.objects.filter(person=caleb).count() == 30

    # One at a time still works in place, after the browser's own confirmation with the numbers.
    messages = []
    page.on("dialog", lambda dialog: (messages.append(dialog.message), dialog.accept()))
    ghost = page.locator("tr", has_text="ghost@elsewhere.example")
    ghost.locator("input[name=person]").fill("Caleb")
    ghost.get_by_role("button", name="Map", exact=True).click()
    expect(page.locator("tr strong[role=status]")).to_have_text("Mapped to Caleb Smith")
    assert messages and "2.0K tokens, 2 days" in messages[0]


# --- Item 4: imports ---------------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_the_import_history_refreshes_itself_and_says_what_each_import_added(
    page, live_server, cast, tmp_path, enqueued, width
):
    first, second = tmp_path / "october.csv", tmp_path / "november.csv"
    first.write_text(HEADER + "".join(f"2026-10-{d:02d},erin@example.com,mistral,m,1000,0,0,0,1,0.10\n"
                                      for d in range(1, 11)))
    second.write_text(HEADER + "2026-11-01,maria@example.com,mistral,m,1000,0,0,0,1,0.10\n")
    unwanted = tmp_path / "unwanted.csv"
    unwanted.write_text(HEADER)

    browser_login(at_width(page, width), live_server, cast.ada)
    page.goto(f"{live_server.url}/imports/")
    page.get_by_label("Export files").set_input_files([first, second, unwanted])
    chosen = page.get_by_role("list", name="Files to upload")
    expect(chosen.get_by_role("listitem")).to_have_count(3)
    # A file dropped by mistake comes out before anything is sent.
    chosen.get_by_role("button", name="Remove unwanted.csv").click()
    expect(chosen.get_by_role("listitem")).to_have_count(2)
    page.get_by_role("button", name="Upload").click()

    # One banner for both files, and both queued.
    banner = page.locator(".messages .message")
    expect(banner).to_have_count(1)
    expect(banner).to_contain_text("Queued october.csv as")
    expect(banner).to_contain_text("november.csv as")
    assert UsageExport.objects.count() == 2 and len(enqueued) == 2
    history = page.locator("#import-history")
    expect(history.locator(".badge.queued:visible")).to_have_count(2)
    no_sideways_scroll(page)
    page.evaluate("window.stillHere = true")

    # The worker finishes; the page, left alone, shows it and then stops asking.
    for pk in enqueued:
        imports.process_export(pk)
    expect(history.locator(".badge.succeeded:visible")).to_have_count(2, timeout=10_000)
    expect(page.locator("#import-history")).not_to_have_attribute("hx-trigger", re.compile("every"))
    assert page.evaluate("window.stillHere") is True
    expect(history).to_contain_text("10 records · 1 person")
    if width >= 1366:
        # What matters fits the width: the last column is on screen.
        box = history.get_by_role("columnheader", name="When").bounding_box()
        assert box["x"] + box["width"] <= width

    history.get_by_role("link", name="october.csv").click()
    added = page.locator(".cards.added")
    expect(added).to_contain_text("Tokens")
    expect(added).to_contain_text("10.0K")
    expect(added).to_contain_text("$1.00")
    expect(added).to_contain_text("Days")
    no_sideways_scroll(page)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_large_upload_shows_its_progress(page, live_server, cast, tmp_path, enqueued, width):
    big = tmp_path / "big.csv"
    big.write_text(HEADER + "2026-10-01,erin@example.com,mistral,m,1000,0,0,0,1,0.10\n" * 200_000)
    browser_login(at_width(page, width), live_server, cast.ada)
    page.goto(f"{live_server.url}/imports/")
    # What the progress bar showed, kept across the page load that follows the upload.
    page.evaluate("""() => document.addEventListener('htmx:xhr:progress', () => {
        const status = document.querySelector('[data-upload-status]');
        sessionStorage.setItem('progress', JSON.stringify(
          [status.hidden, document.querySelector('#upload-progress').value]));
      })""")
    page.get_by_label("Export files").set_input_files(big)
    page.get_by_role("button", name="Upload").click()
    expect(page.locator(".messages .message")).to_contain_text("Queued big.csv as")
    assert UsageExport.objects.get().size == big.stat().st_size
    hidden, shown = page.evaluate("JSON.parse(sessionStorage.getItem('progress'))")
    assert hidden is False and shown == 100


# --- Item 5: a failed import is not a dead end -------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_a_failed_import_says_what_is_wrong_and_can_be_tried_again(page, live_server, cast, tmp_path, enqueued,
                                                                   width):
    whole = b'{"data": [{"starting_at": "2026-10-01T00:00:00Z", "ending_at": "2026-10-02T00:00:00Z", "results": []}]}'
    cut = tmp_path / "usage_report.json"
    cut.write_bytes(whole[:50])
    browser_login(at_width(page, width), live_server, cast.ada)
    page.goto(f"{live_server.url}/imports/")
    page.get_by_label("Export files").set_input_files(cut)
    page.get_by_role("button", name="Upload").click()
    expect(page.locator(".messages .message")).to_contain_text("Queued usage_report.json")
    [pk] = enqueued
    imports.process_export(pk)

    page.goto(f"{live_server.url}/imports/{pk}/")
    alert = page.get_by_role("alert")
    # What is wrong, first: where the file was cut, not "not a usage export this app knows".
    expect(alert).to_contain_text("Why it failed: usage_report.json: the file ends in the middle of a JSON document (byte 50)")
    expect(alert).not_to_contain_text("not a usage export")
    no_sideways_scroll(page)

    # Retry with a format chosen by its label.
    page.get_by_label("Format").select_option(label="Anthropic usage report (Admin API, messages)")
    page.get_by_role("button", name="Retry").click()
    expect(page.locator(".messages .message")).to_contain_text("is queued again")
    export = UsageExport.objects.get(pk=pk)
    assert (export.status, export.requested_format) == (UsageExport.Status.QUEUED, "anthropic_usage_report")
    imports.process_export(pk)

    # The same bytes uploaded again are not refused as a duplicate of the failed one: they retry it.
    page.goto(f"{live_server.url}/imports/")
    page.get_by_label("Export files").set_input_files(cut)
    page.get_by_role("button", name="Upload").click()
    expect(page.locator(".messages .message")).to_contain_text("Queued usage_report.json")
    expect(page.locator(".messages .message")).not_to_contain_text("Already uploaded")
    assert UsageExport.objects.get(pk=pk).status == UsageExport.Status.QUEUED


# --- Item 10: phones ---------------------------------------------------------------------------


def test_on_a_phone_nothing_scrolls_sideways_and_menus_and_filters_fold(page, live_server, cast):
    _morning(cast)  # Erin's last three weeks are empty: Lee comes first by name
    first_by_name = "Lee Report"
    browser_login(at_width(page, 390), live_server, cast.ada)

    nav = page.get_by_role("navigation", name="Main")
    # The navigation is one line until "Menu" opens it.
    expect(nav.get_by_role("link", name="Leaderboard")).to_be_hidden()
    assert page.locator(".site-header").bounding_box()["height"] < 70
    page.locator("label.nav-toggle-label").click()
    expect(nav.get_by_role("link", name="Leaderboard")).to_be_visible()
    nav.get_by_role("link", name="Leaderboard").click()

    # The filters wait behind a button, and stay open while one is changed.
    expect(page.get_by_label("Rank by")).to_be_hidden()
    page.locator("label.filters-toggle-label").click()
    expect(page.get_by_label("Rank by")).to_be_visible()
    htmx_settled(page)
    page.get_by_label("Rank by").select_option("cost")
    expect(page).to_have_url(re.compile(r"metric=cost"))
    htmx_settled(page)
    expect(page.get_by_label("Rank by")).to_be_visible()
    no_sideways_scroll(page)

    # Names that are links look like links; column headers sort the board in place.
    page.goto(f"{live_server.url}/?period=7d")
    name_link = page.locator("#board td.who a").first
    assert "underline" in name_link.evaluate("a => getComputedStyle(a).textDecorationLine")
    page.evaluate("window.stillHere = true")
    htmx_settled(page)
    page.locator("#board thead").get_by_role("link", name="Name").click()
    expect(page).to_have_url(re.compile(r"/\?period=7d&sort=name$"))
    expect(page.locator("#board td.who").first).to_contain_text(first_by_name)
    expect(page.locator("#board thead th[aria-sort]")).to_contain_text("Name")
    assert page.evaluate("window.stillHere") is True

    for path in ["/", "/teams/", "/me/", "/review/", "/identities/", "/imports/", "/people/import/", "/budgets/",
                 f"/people/{cast.erin.pk}/", "/health/", "/connections/", "/audit/"]:
        page.goto(f"{live_server.url}{path}")
        no_sideways_scroll(page)

    # Chart labels stay readable: at least 10 px high on screen.
    page.goto(f"{live_server.url}/people/{cast.sam.pk}/?period=30d")
    tick = page.locator(".chart-figure .chart .tick").first
    assert tick.bounding_box()["height"] >= 10


def test_on_a_laptop_the_menu_and_filters_are_simply_there(page, live_server, cast):
    standard_week(cast)
    first_by_name = "Erin Employee"
    browser_login(at_width(page, 1366), live_server, cast.erin)
    expect(page.locator("label.nav-toggle-label")).to_be_hidden()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Teams")).to_be_visible()
    expect(page.locator("label.filters-toggle-label")).to_be_hidden()
    expect(page.get_by_label("Rank by")).to_be_visible()
    no_sideways_scroll(page)

    # Names that are links look like links; column headers sort the board in place.
    page.goto(f"{live_server.url}/?period=7d")
    name_link = page.locator("#board td.who a").first
    assert "underline" in name_link.evaluate("a => getComputedStyle(a).textDecorationLine")
    page.evaluate("window.stillHere = true")
    htmx_settled(page)
    page.locator("#board thead").get_by_role("link", name="Name").click()
    expect(page).to_have_url(re.compile(r"/\?period=7d&sort=name$"))
    expect(page.locator("#board td.who").first).to_contain_text(first_by_name)
    expect(page.locator("#board thead th[aria-sort]")).to_contain_text("Name")
    assert page.evaluate("window.stillHere") is True
