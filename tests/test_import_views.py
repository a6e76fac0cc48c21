"""The admin pages that feed usage in: /imports/ (upload, history, detail, progress, retry, download)
and /identities/ (unmatched identities, mapping them, service accounts)."""

from datetime import date, timedelta

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from pytest_django.asserts import assertContains, assertNotContains

from accounts.models import ProviderIdentity
from leaderboard import cache as lb_cache
from leaderboard import imports
from leaderboard.models import PersonDay, UsageExport

HEADER = "date,email,provider,model,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,requests,cost_usd"
Status = UsageExport.Status


def csv_text(*rows: str) -> str:
    return HEADER + "\n" + "".join(row + "\n" for row in rows)


def usage_row(email="erin@example.com", day="2026-10-01", input_tokens=1000, output_tokens=200) -> str:
    return f"{day},{email},mistral,mistral-large,{input_tokens},{output_tokens},30,4,3,0.50"


def upload_file(name: str, text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def stored(text: str, name="usage.csv", **fields) -> UsageExport:
    """An export as the upload page would store it, without enqueueing it."""
    export, _ = imports.store_export(
        content=ContentFile(text.encode()), name=name, origin=UsageExport.Origin.UPLOAD, **fields
    )
    return export


def imported(text: str, name="usage.csv", **fields) -> UsageExport:
    """An export driven to the end the way the worker would."""
    return imports.process_export(stored(text, name, **fields).pk).export


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def enqueued(monkeypatch) -> list[int]:
    """The export ids sent to the broker; the broker itself is not this module's concern."""
    sent: list[int] = []
    monkeypatch.setattr("leaderboard.tasks.import_export.delay", sent.append)
    return sent


@pytest.fixture
def admin(cast, login):
    return login(cast.ada)


def texts_of_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- Access -----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["erin", "maria"])
def test_it_hides_every_page_and_action_from_non_admins(cast, login, who, enqueued):
    export = imported(csv_text(usage_row(email="ghost@elsewhere.example")))
    identity = ProviderIdentity.objects.get(value="ghost@elsewhere.example")
    client = login(getattr(cast, who))
    for name, args in [
        ("imports", []), ("import_detail", [export.pk]), ("import_progress", [export.pk]),
        ("import_download", [export.pk]), ("identities", []),
    ]:
        assert client.get(reverse(name, args=args)).status_code == 404, name
    posts = [
        (reverse("imports"), {"files": [upload_file("new.csv", csv_text(usage_row(day="2026-10-02")))]}),
        (reverse("import_retry", args=[export.pk]), {}),
        (reverse("identity_map", args=[identity.pk]), {"person": "erin@example.com", "action": "map"}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 404, url
    assert UsageExport.objects.count() == 1
    identity.refresh_from_db()
    assert identity.person is None


def test_it_sends_anonymous_visitors_to_log_in(client, cast):
    response = client.get(reverse("imports"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


# --- Uploading --------------------------------------------------------------------------------


def test_it_queues_each_uploaded_file_and_keeps_its_bytes(admin, enqueued, django_capture_on_commit_callbacks):
    first, second = csv_text(usage_row()), csv_text(usage_row(day="2026-10-02"))
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            reverse("imports"), {"files": [upload_file("a.csv", first), upload_file("b.csv", second)]}, follow=True
        )
    assert response.redirect_chain == [(reverse("imports"), 302)]
    exports = list(UsageExport.objects.order_by("pk"))
    assert [(e.original_name, e.status, e.uploaded_by.email) for e in exports] == [
        ("a.csv", Status.QUEUED, "ada@example.com"), ("b.csv", Status.QUEUED, "ada@example.com"),
    ]
    assert [e.file.read().decode() for e in exports] == [first, second]
    assert enqueued == [e.pk for e in exports]
    # One banner for the whole upload, however many files.
    assert texts_of_messages(response) == [
        f'Queued a.csv as <a href="/imports/{exports[0].pk}/">#{exports[0].pk}</a> and '
        f'b.csv as <a href="/imports/{exports[1].pk}/">#{exports[1].pk}</a>.',
    ]


def test_it_recognises_the_same_bytes_and_creates_nothing(admin, enqueued):
    text = csv_text(usage_row())
    admin.post(reverse("imports"), {"files": [upload_file("usage.csv", text)]}, follow=True)
    export = UsageExport.objects.get()

    response = admin.post(reverse("imports"), {"files": [upload_file("renamed.csv", text)]}, follow=True)

    assert UsageExport.objects.count() == 1
    [message] = texts_of_messages(response)
    assert message.startswith(f'Already uploaded: renamed.csv as <a href="/imports/{export.pk}/">#{export.pk}</a> (queued)')


def test_it_refuses_a_forced_ccusage_file_without_a_person(admin, enqueued):
    response = admin.post(
        reverse("imports"), {"files": [upload_file("daily.json", "{}")], "format": "ccusage", "person": ""}
    )
    assert response.status_code == 200
    assertContains(response, "file names nobody: choose whose usage it is")
    assert not UsageExport.objects.exists()


def test_it_keeps_the_forced_format_and_person(admin, cast, enqueued):
    response = admin.post(
        reverse("imports"),
        {"files": [upload_file("daily.json", '{"daily": []}')], "format": "ccusage", "person": cast.erin.pk},
    )
    assert response.status_code == 302
    export = UsageExport.objects.get()
    assert (export.requested_format, export.attributed_to) == ("ccusage", cast.erin)


def test_it_renders_the_upload_form_accessibly(admin):
    response = admin.get(reverse("imports"))
    assertContains(response, '<label for="id_files">Export files</label>')
    assertContains(response, 'type="file" name="files" multiple')
    assertContains(response, "data-dropzone")
    assertContains(response, '<option value="" selected>Detect from content</option>')
    assertContains(response, '<option value="ccusage">ccusage daily/monthly JSON</option>')
    assertContains(response, '<label for="id_person">Whose usage is this?</label>')
    assertContains(response, "js/upload.js")


# --- History ----------------------------------------------------------------------------------


def test_it_lists_the_history_newest_first_and_filters_it_by_status(admin, cast):
    good = imported(csv_text(usage_row()), name="good.csv", uploaded_by=cast.ada)
    bad = imported(csv_text(usage_row(input_tokens=-1)), name="bad.csv")
    waiting = stored(csv_text(usage_row(day="2026-10-03")), name="waiting.csv")

    response = admin.get(reverse("imports"))
    assert [e.pk for e in response.context["page"]] == [waiting.pk, bad.pk, good.pk]
    assertContains(response, f'<a href="/imports/{good.pk}/">good.csv</a>', html=True)
    assertContains(response, '<span class="badge succeeded">Imported</span>', html=True)
    assertContains(response, '<span class="badge failed">Failed</span>', html=True)
    assertContains(response, '<span class="badge queued">Queued</span>', html=True)
    assertContains(response, "Generic usage CSV")
    assertContains(response, "1 record · 1 person")
    assertContains(response, "2026-10-01")
    assertContains(response, "Ada Admin")

    failed_only = admin.get(reverse("imports"), {"status": "failed"})
    assert [e.pk for e in failed_only.context["page"]] == [bad.pk]
    assertContains(failed_only, '<option value="failed" selected>Failed</option>', html=True)


def test_it_pages_the_history_by_fifty(admin):
    for n in range(51):
        UsageExport.objects.create(file=f"exports/{n}.csv", original_name=f"{n}.csv", size=1, sha256=f"{n:064}")
    first = admin.get(reverse("imports"))
    assert len(first.context["page"]) == 50
    assertContains(first, 'href="?page=2"')
    assert len(admin.get(reverse("imports"), {"page": 2}).context["page"]) == 1


# --- Detail, progress, retry, download --------------------------------------------------------


def test_it_shows_the_problems_of_a_failed_export(admin):
    export = imported(csv_text(usage_row(), usage_row(day="2026-10-02", input_tokens=-5)))
    assert export.status == Status.FAILED

    response = admin.get(reverse("import_detail", args=[export.pk]))

    assertContains(response, '<span class="badge failed">Failed</span>', html=True)
    assertContains(response, escape(export.failure))
    assertContains(response, "<th scope=\"row\">usage.csv line 3</th><td>input_tokens</td>", html=True)
    assertContains(response, f'action="{reverse("import_retry", args=[export.pk])}"')
    assertContains(response, export.sha256)
    assertContains(response, reverse("import_download", args=[export.pk]))
    assertNotContains(response, "hx-get")


def test_it_polls_while_queued_and_offers_a_refresh_link(admin):
    export = stored(csv_text(usage_row()))
    response = admin.get(reverse("import_detail", args=[export.pk]))
    assertContains(response, f'hx-get="{reverse("import_progress", args=[export.pk])}"')
    assertContains(response, 'hx-trigger="every 1s"')
    assertContains(response, 'hx-swap="outerHTML"')
    assertContains(response, f'<a href="/imports/{export.pk}/">Refresh</a>', html=True)
    assertContains(response, "Waiting for a worker")
    assertNotContains(response, "Retry")


def test_it_shows_a_progress_bar_while_running(admin):
    export = stored(csv_text(usage_row()))
    UsageExport.objects.filter(pk=export.pk).update(status=Status.RUNNING)
    lb_cache.report_import_progress(export.pk, rows=1200, fraction=0.4)

    response = admin.get(reverse("import_progress", args=[export.pk]), headers={"HX-Request": "true"})

    assert response.status_code == 200
    assertContains(response, '<progress id="import-progress" max="100" value="40">40%</progress>', html=True)
    assertContains(response, "1,200 rows read so far, about 40% of the file")
    assertContains(response, 'hx-trigger="every 1s"')
    assertNotContains(response, "<html")


def test_it_stops_polling_once_the_export_is_done(admin, cast):
    export = imported(csv_text(usage_row(), usage_row(email="maria@example.com")))

    response = admin.get(reverse("import_progress", args=[export.pk]), headers={"HX-Request": "true"})

    assert response.status_code == 286
    content = response.content.decode()
    assert '<span class="badge succeeded">Imported</span>' in content
    assert "hx-get" not in content and "<progress" not in content
    assertContains(response, '<div class="label">People</div><div class="value">2</div>', status_code=286)


def test_it_retries_a_failed_export(admin, enqueued, django_capture_on_commit_callbacks):
    export = imported(csv_text(usage_row(input_tokens=-1)))
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(reverse("import_retry", args=[export.pk]), follow=True)
    export.refresh_from_db()
    assert (export.status, export.problems, export.failure) == (Status.QUEUED, [], "")
    assert enqueued == [export.pk]
    assert response.redirect_chain == [(export.get_absolute_url(), 302)]
    assert texts_of_messages(response) == [f"#{export.pk} usage.csv is queued again."]


def test_it_does_not_retry_an_export_that_did_not_fail(admin, enqueued, django_capture_on_commit_callbacks):
    export = imported(csv_text(usage_row()))
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(reverse("import_retry", args=[export.pk]), follow=True)
    export.refresh_from_db()
    assert export.status == Status.SUCCEEDED and enqueued == []
    assert texts_of_messages(response) == [
        f"#{export.pk} has not failed and its worker is still at it, so there is nothing to retry."
    ]


def test_it_offers_to_retry_an_import_whose_worker_stopped_answering(admin, enqueued,
                                                                    django_capture_on_commit_callbacks):
    export = stored(csv_text(usage_row()))
    imports.claim(export.pk)
    page = admin.get(export.get_absolute_url())
    assert "stopped answering" not in page.content.decode()  # its worker beats

    export.refresh_from_db()
    cache.clear()  # its worker died: no heartbeat any more
    UsageExport.objects.filter(pk=export.pk).update(started_at=timezone.now() - timedelta(minutes=5))
    assertContains(admin.get(export.get_absolute_url()), "has stopped answering")
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(reverse("import_retry", args=[export.pk]))
    export.refresh_from_db()
    assert export.status == Status.QUEUED and enqueued == [export.pk]


def test_it_only_retries_by_post(admin):
    export = imported(csv_text(usage_row(input_tokens=-1)))
    assert admin.get(reverse("import_retry", args=[export.pk])).status_code == 405


def test_it_downloads_the_raw_file_as_an_attachment(admin):
    text = csv_text(usage_row())
    export = stored(text, name="october.csv")
    response = admin.get(reverse("import_download", args=[export.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).decode() == text
    assert response["Content-Disposition"] == 'attachment; filename="october.csv"'


# --- Identities -------------------------------------------------------------------------------


def unmatched_identity(email="ghost@elsewhere.example", **row) -> ProviderIdentity:
    imported(csv_text(usage_row(email=email, **row)), name=f"{email}.csv")
    return ProviderIdentity.objects.get(value=email)


def test_it_lists_unmatched_identities_with_their_volume(admin):
    ghost = unmatched_identity(input_tokens=5000, output_tokens=1000)  # 5000 + 1000 + 30 + 4 tokens
    unmatched_identity("small@elsewhere.example", input_tokens=1, output_tokens=1)
    imported(csv_text(usage_row()), name="erin.csv")  # erin is on the roster: matched, not listed

    response = admin.get(reverse("identities"))

    page = list(response.context["page"])
    assert [i.value for i in page] == ["ghost@elsewhere.example", "small@elsewhere.example"]
    assert (page[0].tokens, page[0].records, page[0].first_day, page[0].last_day) == (
        6034, 1, date(2026, 10, 1), date(2026, 10, 1)
    )
    assertContains(response, f'<tr id="identity-{ghost.pk}">')
    assertContains(response, "6,034")
    assertContains(response, '<datalist id="people">')
    assertContains(response, '<option value="Erin Employee &lt;erin@example.com&gt;"></option>', html=True)


def test_it_searches_identities_by_value_and_label(admin):
    unmatched_identity("ghost@elsewhere.example")
    unmatched_identity("bot@ci.example")
    ProviderIdentity.objects.filter(value="bot@ci.example").update(label="Nightly build")

    by_value = admin.get(reverse("identities"), {"q": "GHOST"})
    assert [i.value for i in by_value.context["page"]] == ["ghost@elsewhere.example"]
    by_label = admin.get(reverse("identities"), {"q": "nightly"})
    assert [i.value for i in by_label.context["page"]] == ["bot@ci.example"]


def test_it_maps_an_identity_by_email_and_moves_its_usage(admin, cast):
    ghost = unmatched_identity(input_tokens=5000, output_tokens=1000)
    assert not PersonDay.objects.filter(person=cast.erin).exists()

    response = admin.post(
        reverse("identity_map", args=[ghost.pk]),
        {"person": "Erin Employee <erin@example.com>", "action": "map", "next": "/identities/?q=ghost"},
    )

    assert response.status_code == 302 and response["Location"] == "/identities/?q=ghost"
    ghost.refresh_from_db()
    assert (ghost.person, ghost.mapped_by) == (cast.erin, cast.ada)
    assert PersonDay.objects.get(person=cast.erin, day=date(2026, 10, 1)).total_tokens == 6034
    listing = admin.get(reverse("identities"))
    assert list(listing.context["page"]) == []
    assert [i.pk for i in listing.context["recently_mapped"]] == [ghost.pk]
    assertContains(listing, "by Ada Admin")


def test_mapping_an_identity_re_evaluates_flags_and_warms_boards_for_whose_numbers_moved(
    admin, cast, sent_tasks, django_capture_on_commit_callbacks
):
    ghost = unmatched_identity()
    sent_tasks.clear()
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(reverse("identity_map", args=[ghost.pk]), {"person": "erin@example.com", "action": "map"})

    names = {name: kwargs for name, _args, kwargs in sent_tasks}
    assert set(names) == {"leaderboard.tasks.warm_boards", "leaderboard.tasks.evaluate_flags"}
    assert names["leaderboard.tasks.evaluate_flags"] == {"person_ids": [cast.erin.pk]}


def test_it_accepts_a_bare_email_in_any_case(admin, cast):
    ghost = unmatched_identity()
    admin.post(reverse("identity_map", args=[ghost.pk]), {"person": "Erin@Example.com", "action": "map"})
    ghost.refresh_from_db()
    assert ghost.person == cast.erin


def test_it_never_redirects_off_site_after_mapping(admin):
    ghost = unmatched_identity()
    response = admin.post(
        reverse("identity_map", args=[ghost.pk]),
        {"person": "erin@example.com", "action": "map", "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("identities")


def test_it_returns_the_mapped_row_to_htmx(admin, cast):
    ghost = unmatched_identity()

    response = admin.post(
        reverse("identity_map", args=[ghost.pk]),
        {"person": "Erin Employee <erin@example.com>", "action": "map", "next": "/identities/"},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    content = response.content.decode()
    assert content.strip().startswith(f'<tr id="identity-{ghost.pk}">')
    assert "<html" not in content
    assertContains(response, '<strong role="status">Mapped to Erin Employee</strong>', html=True)
    assertContains(response, 'name="next" value="/identities/"')


def test_it_shows_an_unknown_email_as_an_error_in_the_row(admin):
    ghost = unmatched_identity()

    htmx = admin.post(
        reverse("identity_map", args=[ghost.pk]), {"person": "nobody@example.com", "action": "map"},
        headers={"HX-Request": "true"},
    )
    plain = admin.post(reverse("identity_map", args=[ghost.pk]), {"person": "nobody@example.com", "action": "map"})

    for response in (htmx, plain):
        assert response.status_code == 200
        assertContains(response, "Nobody on the roster has the email “nobody@example.com”.")
        assertContains(response, 'value="nobody@example.com" aria-invalid="true"')
    assert htmx.content.decode().strip().startswith("<tr")
    assertContains(plain, '<datalist id="people">')  # without JS: a page of its own to correct it on
    ghost.refresh_from_db()
    assert ghost.person is None and ghost.mapped_by is None


def test_it_asks_for_a_person_when_map_is_pressed_with_none(admin):
    ghost = unmatched_identity()
    response = admin.post(
        reverse("identity_map", args=[ghost.pk]), {"person": "", "action": "map"}, headers={"HX-Request": "true"}
    )
    assertContains(response, "Choose a person, or mark it as a service account.")


def test_it_marks_a_service_account(admin, cast):
    bot = unmatched_identity("bot@ci.example")

    htmx = admin.post(
        reverse("identity_map", args=[bot.pk]), {"person": "", "action": "service"}, headers={"HX-Request": "true"}
    )

    assertContains(htmx, '<strong role="status">Marked as a service account</strong>', html=True)
    bot.refresh_from_db()
    assert bot.is_service_account and bot.person is None
    listing = admin.get(reverse("identities"))
    assert list(listing.context["page"]) == []
    assert [i.pk for i in listing.context["service_accounts"]] == [bot.pk]


def test_it_maps_a_service_account_back_to_a_person(admin, cast):
    bot = unmatched_identity("bot@ci.example")
    admin.post(reverse("identity_map", args=[bot.pk]), {"action": "service"})
    response = admin.post(reverse("identity_map", args=[bot.pk]), {"person": "sam@example.com", "action": "map"})
    assert response.status_code == 302
    bot.refresh_from_db()
    assert (bot.person, bot.is_service_account) == (cast.sam, False)
    assert PersonDay.objects.filter(person=cast.sam).exists()


def test_it_queries_the_identities_page_a_fixed_number_of_times(admin, cast, django_assert_max_num_queries):
    def render_page() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin.get(reverse("identities")).status_code == 200
        return len(queries)

    unmatched_identity("one@elsewhere.example")
    few = render_page()

    rows = [usage_row(email=f"ghost{n}@elsewhere.example", day=f"2026-10-{n % 28 + 1:02}") for n in range(30)]
    imported(csv_text(*rows), name="many.csv")
    ids = list(ProviderIdentity.objects.filter(person__isnull=True).values_list("pk", flat=True))
    ProviderIdentity.objects.filter(pk__in=ids[:5]).update(is_service_account=True)
    ProviderIdentity.objects.filter(pk__in=ids[5:10]).update(mapped_by=cast.ada, mapped_at=timezone.now())

    with django_assert_max_num_queries(few):
        response = admin.get(reverse("identities"))
    assert len(response.context["page"]) == 26  # one + thirty, less the five service accounts


# --- Issue 15: imports that refresh, say what they added, and never dead-end -------------------


def test_several_uploads_make_one_banner_saying_what_became_of_each(admin, enqueued):
    known = csv_text(usage_row())
    admin.post(reverse("imports"), {"files": [upload_file("first.csv", known)]}, follow=True)
    response = admin.post(
        reverse("imports"),
        {"files": [upload_file("again.csv", known), upload_file("new.csv", csv_text(usage_row(day="2026-10-05")))]},
        follow=True,
    )
    [message] = texts_of_messages(response)
    assert message.startswith("Queued new.csv as ")
    assert "Already uploaded: again.csv as " in message


def test_an_upload_sent_by_htmx_comes_back_as_a_full_page_load(admin, enqueued):
    response = admin.post(
        reverse("imports"), {"files": [upload_file("a.csv", csv_text(usage_row()))]}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("imports")


def test_the_history_polls_while_an_import_runs_and_stops_when_none_does(admin):
    waiting = stored(csv_text(usage_row()), name="waiting.csv")
    poll = {"HX-Request": "true", "HX-Target": "import-history"}

    page = admin.get(reverse("imports"))
    assertContains(page, 'hx-trigger="every 2s"')
    running = admin.get(reverse("imports"), headers=poll)
    assert running.status_code == 200
    assert "<html" not in running.content.decode()
    assertContains(running, 'id="import-history"')

    imports.process_export(waiting.pk)
    done = admin.get(reverse("imports"), headers=poll)
    assert done.status_code == 286
    assert "hx-trigger" not in done.content.decode()
    assert '<span class="badge succeeded">Imported</span>' in done.content.decode()


def test_the_history_keeps_to_six_columns(admin):
    imported(csv_text(usage_row()), name="good.csv")
    response = admin.get(reverse("imports"))
    head = response.content.decode().split('class="history-table"')[1].split("</thead>")[0]
    assert head.count("<th ") == 6


def test_the_detail_page_says_what_the_import_added(admin, cast):
    export = imported(csv_text(usage_row(), usage_row(email="maria@example.com", day="2026-10-02")))
    response = admin.get(export.get_absolute_url())
    assert response.context["added"] == {
        "tokens": 2 * 1234, "cost": pytest.approx(1.0), "unpriced": 0, "people": 2, "days": 2, "records": 2,
    }
    assertContains(response, "What it added")
    assertContains(response, '<div class="label">Tokens</div><div class="value" title="2,468 tokens">2.5K</div>',
                   html=True)
    assertContains(response, '<div class="label">Cost</div><div class="value">$1.00</div>', html=True)
    assertContains(response, '<div class="label">Days</div><div class="value">2</div>', html=True)


def test_a_truncated_json_says_where_it_was_cut_before_anything_else(admin):
    whole = b'{"data": [{"starting_at": "2026-10-01T00:00:00Z", "results": [{"uncached_input_tokens": 5}]}]}'
    export, _ = imports.store_export(content=ContentFile(whole[:40]), name="cut.json", origin=UsageExport.Origin.UPLOAD)
    export = imports.process_export(export.pk).export
    assert export.failure.startswith("cut.json: the file ends in the middle of a JSON document (byte 40")
    assert "not a usage export" not in export.failure
    assertContains(admin.get(export.get_absolute_url()), "the file ends in the middle of a JSON document")


def test_an_unknown_file_names_the_formats_as_the_dropdown_does(db):
    export, _ = imports.store_export(content=ContentFile(b'{"hello": "world"}'), name="odd.json",
                                     origin=UsageExport.Origin.UPLOAD)
    export = imports.process_export(export.pk).export
    assert "Anthropic usage report (Admin API, messages)" in export.failure
    assert "anthropic_usage_report" not in export.failure


def test_a_failed_export_can_be_retried_with_another_format(admin, enqueued, django_capture_on_commit_callbacks):
    export = imported(csv_text(usage_row(input_tokens=-1)), name="odd.csv")
    page = admin.get(export.get_absolute_url())
    assertContains(page, '<label for="id_format">Format', html=False)
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(reverse("import_retry", args=[export.pk]), {"format": "openai_usage_csv", "person": ""})
    export.refresh_from_db()
    assert (export.status, export.requested_format, export.format) == (Status.QUEUED, "openai_usage_csv", "")
    assert enqueued == [export.pk]


def test_a_retry_asks_whose_a_file_of_a_format_that_names_nobody_is(admin, enqueued):
    export = imported(csv_text(usage_row(input_tokens=-1)), name="odd.csv")
    response = admin.post(reverse("import_retry", args=[export.pk]), {"format": "ccusage", "person": ""}, follow=True)
    assert texts_of_messages(response) == ["A ccusage daily/monthly JSON file names nobody: choose whose usage it is."]
    export.refresh_from_db()
    assert export.status == Status.FAILED


def test_the_same_bytes_uploaded_again_retry_a_failed_export_with_the_format_chosen(
    admin, cast, enqueued, django_capture_on_commit_callbacks
):
    text = csv_text(usage_row(input_tokens=-1))
    failed = imported(text, name="odd.csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            reverse("imports"), {"files": [upload_file("odd-again.csv", text)], "format": "generic_csv"}, follow=True,
        )
    assert UsageExport.objects.count() == 1
    failed.refresh_from_db()
    assert (failed.status, failed.requested_format, failed.original_name) == (Status.QUEUED, "generic_csv",
                                                                              "odd-again.csv")
    assert enqueued == [failed.pk]
    [message] = texts_of_messages(response)
    assert message.startswith("Queued odd-again.csv as ")


# --- Issue 15: identities: suggestions, a picker that finds names, bulk mapping ------------------


def test_it_suggests_the_person_with_the_same_email_local_part(admin, cast):
    personal = unmatched_identity("erin@personal.example")
    response = admin.get(reverse("identities"))
    [row] = response.context["page"]
    assert row.pk == personal.pk and row.suggestion.person == cast.erin
    assertContains(response, 'value="Erin Employee &lt;erin@example.com&gt;"')
    assertContains(response, "Suggested: same name before the @")


def test_the_person_picker_finds_a_person_by_part_of_their_name(admin, cast):
    ghost = unmatched_identity()
    admin.post(reverse("identity_map", args=[ghost.pk]), {"person": "Erin", "action": "map"})
    ghost.refresh_from_db()
    assert ghost.person == cast.erin


def test_a_name_that_fits_several_people_lists_them(admin, cast):
    ghost = unmatched_identity()
    response = admin.post(reverse("identity_map", args=[ghost.pk]), {"person": "e", "action": "map"})
    assertContains(response, "could be")
    ghost.refresh_from_db()
    assert ghost.person is None


def test_bulk_mapping_says_how_much_history_moves_then_moves_it(admin, cast):
    one = unmatched_identity("erin.laptop@elsewhere.example", input_tokens=5000)
    two = unmatched_identity("erin.ci@elsewhere.example", day="2026-10-02", input_tokens=7000)
    asked = admin.post(reverse("identity_bulk_map"),
                       {"ids": [one.pk, two.pk], "person": "Erin", "action": "map", "next": "/identities/"})
    assert asked.status_code == 200
    assertContains(asked, "12.5K tokens, 2 days of history move to Erin Employee")
    one.refresh_from_db()
    assert one.person is None  # nothing moves before the confirmation

    done = admin.post(reverse("identity_bulk_map"), {
        "ids": [one.pk, two.pk], "person": "erin@example.com", "action": "map", "confirm": "on", "next": "/identities/",
    }, follow=True)
    assert {i.person for i in ProviderIdentity.objects.filter(pk__in=[one.pk, two.pk])} == {cast.erin}
    assert texts_of_messages(done) == ["2 identities mapped to Erin Employee; their history moved with them."]
    assert PersonDay.objects.filter(person=cast.erin).count() == 2


def test_bulk_mapping_without_a_tick_says_so(admin):
    response = admin.post(reverse("identity_bulk_map"), {"person": "Erin", "action": "map"})
    assertContains(response, "Tick the identities to map first.", status_code=400)
