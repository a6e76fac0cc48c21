"""The review queue, a flag's page and its actions, and the admin pages (leaderboard/views/review.py),
with the workflow functions behind them (leaderboard/review.py).

Who may see what: admins everything; a manager the flags on people below them (transitively) and
flags handed to them; the person their own flags, to read and answer. Everyone else gets a 404,
whether they try by URL, by id or by a forged POST.
"""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from accounts.models import Person, ProviderIdentity
from leaderboard import flags, review
from leaderboard.models import BudgetPolicy, Exemption, Flag, FlagEvent, FlagNote, FlagRule, OrgSettings
from leaderboard.views.review import BulkForm

TODAY = timezone.now().date()


def make_flag(person=None, kind="underuse", severity="medium", status="open", identity=None, **fields):
    rules = flags.ensure_rules()
    start = TODAY - timedelta(days=30)
    numbers = {
        "rule": kind, "window": {"start": start.isoformat(), "end": (TODAY - timedelta(days=1)).isoformat(), "days": 30},
        "share": 0.012, "spend_total": "25.00", "threshold_percent": "10",
        "budget": {"amount": "2100.00", "per_day": "100.00", "working_days": 21, "work_percent": 100,
                   "derived": "$100.00 per working day (organisation default, from 2000-01-01), 21 working days"},
        "series": [{"day": (start + timedelta(days=i)).isoformat(), "cost": f"{i % 3}.00", "tokens": 1000 * i}
                   for i in range(30)],
        "spend_by_source": [{"vendor": "anthropic", "source": "anthropic_usage_report",
                             "source_label": "Anthropic Admin API usage report", "cost": "25.00", "tokens": 12345}],
        "freshness": [{"vendor": "anthropic", "last_day": (TODAY - timedelta(days=1)).isoformat(), "stale": False}],
    }
    subject = person.name if person else "an identity"
    return Flag.objects.create(
        rule=rules[kind], person=person, identity=identity, severity=severity, status=status,
        explanation=f"{subject} used 1.2% of the budget.\nBudget: $2,100.", numbers=numbers,
        opened_on=TODAY, updated_on=TODAY, **fields,
    )


@pytest.fixture
def board(cast):
    """One open flag on each of Erin, Sam, Lee and Otto, and one on an unmatched identity."""
    identity = ProviderIdentity.objects.create(vendor="openai", kind="api_key", value="key-x", label="old key")
    return {
        "erin": make_flag(cast.erin),
        "sam": make_flag(cast.sam, kind="runaway", severity="high"),
        "lee": make_flag(cast.lee, kind="inactive"),
        "otto": make_flag(cast.otto),
        "identity": make_flag(identity=identity, kind="unattributed"),
    }


# --- the access matrix --------------------------------------------------------------------------

# viewer -> the flags they may open (as reviewer or as the flagged person)
MAY_OPEN = {
    "ada": {"erin", "sam", "lee", "otto", "identity"},
    "maria": {"erin", "sam", "lee"},
    "sam": {"sam", "lee"},
    "erin": {"erin"},
    "lee": {"lee"},
    "otto": {"otto"},
}
# viewer -> the flags they review (act on, see in the queue)
REVIEWS = {
    "ada": {"erin", "sam", "lee", "otto", "identity"},
    "maria": {"erin", "sam", "lee"},
    "sam": {"lee"},
    "erin": set(), "lee": set(), "otto": set(),
}


@pytest.mark.parametrize("viewer", list(MAY_OPEN))
def test_it_lets_each_role_open_only_the_flags_it_may_see(board, cast, login, viewer):
    client = login(getattr(cast, viewer))
    for name, flag in board.items():
        response = client.get(reverse("flag", args=[flag.pk]))
        assert response.status_code == (200 if name in MAY_OPEN[viewer] else 404), (viewer, name)


@pytest.mark.parametrize("viewer", list(REVIEWS))
def test_it_shows_each_role_only_its_queue(board, cast, login, viewer):
    client = login(getattr(cast, viewer))
    response = client.get(reverse("review"), {"status": "all"})
    if not REVIEWS[viewer]:
        assert response.status_code == 404
        assert client.get(reverse("review_csv")).status_code == 404
        return
    assert response.status_code == 200
    shown = {name for name, flag in board.items() if flag in response.context["flags"]}
    assert shown == REVIEWS[viewer]


@pytest.mark.parametrize("viewer", list(REVIEWS))
@pytest.mark.parametrize("action,data", [
    ("acknowledge", {}), ("snooze", {"until": "2099-01-01"}), ("dismiss", {"reason": "on_leave"}),
    ("resolve", {}), ("note", {"text": "hm"}),
])
def test_it_lets_each_role_act_only_on_flags_it_reviews(board, cast, login, viewer, action, data):
    client = login(getattr(cast, viewer))
    for name, flag in board.items():
        response = client.post(reverse("flag_action", args=[flag.pk, action]), data)
        expected = 302 if name in REVIEWS[viewer] else 404
        assert response.status_code == expected, (viewer, name, action)
        flag.refresh_from_db()
        if expected == 404:
            assert flag.status == "open" and not flag.events.exists() and not flag.notes.exists()


@pytest.mark.parametrize("htmx", [False, True])
def test_it_refuses_forged_htmx_and_plain_posts_alike(board, cast, login, htmx):
    client = login(cast.sam)
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = client.post(reverse("flag_action", args=[board["erin"].pk, "acknowledge"]), {"from": "queue"}, **headers)
    assert response.status_code == 404
    response = client.post(reverse("flag_action", args=[999999, "acknowledge"]), **headers)
    assert response.status_code == 404


def test_a_bulk_post_with_one_forged_id_does_nothing(board, cast, login):
    client = login(cast.sam)
    response = client.post(reverse("review_bulk"), {"ids": [board["lee"].pk, board["otto"].pk], "action": "resolve"})
    assert response.status_code == 404
    assert Flag.objects.filter(status="resolved").count() == 0


def test_the_person_can_only_answer_their_own_flag(board, cast, login):
    client = login(cast.erin)
    assert client.post(reverse("flag_action", args=[board["erin"].pk, "acknowledge"])).status_code == 404
    assert client.post(reverse("flag_action", args=[board["lee"].pk, "answer"]), {"text": "x"}).status_code == 404
    response = client.post(reverse("flag_action", args=[board["erin"].pk, "answer"]), {"text": "On a non-AI project"})
    assert response.status_code == 302
    note = FlagNote.objects.get()
    assert (note.kind, note.author, note.text) == ("answer", cast.erin, "On a non-AI project")
    # Reviewers can't put words in the person's mouth.
    assert login(cast.maria).post(reverse("flag_action", args=[board["erin"].pk, "answer"]),
                                  {"text": "x"}).status_code == 404


@pytest.mark.parametrize("name", ["budgets", "budget_preview", "flag_rules", "exemptions"])
@pytest.mark.parametrize("viewer", ["maria", "sam", "erin", "otto"])
def test_the_admin_pages_are_for_admins_only(cast, login, name, viewer):
    client = login(getattr(cast, viewer))
    assert client.get(reverse(name)).status_code == 404
    assert login(cast.ada).get(reverse(name)).status_code == 200


@pytest.mark.parametrize("name", ["budgets", "budget_settings", "budget_part_time", "flag_rules", "exemptions"])
def test_the_admin_posts_are_for_admins_only(cast, login, name):
    assert login(cast.maria).post(reverse(name), {}).status_code == 404


def test_the_admin_object_posts_are_for_admins_only(cast, login):
    policy = BudgetPolicy.objects.create(scope="org", kind="day", amount_usd=1, effective_from=TODAY + timedelta(days=9))
    exemption = Exemption.objects.create(person=cast.erin, reason="x", expires_on=TODAY + timedelta(days=9))
    client = login(cast.maria)
    assert client.post(reverse("budget_delete", args=[policy.pk])).status_code == 404
    assert client.post(reverse("exemption_end", args=[exemption.pk])).status_code == 404
    assert BudgetPolicy.objects.filter(pk=policy.pk).exists()


def test_anonymous_visitors_are_sent_to_log_in(board, client):
    for url in (reverse("review"), reverse("flag", args=[board["erin"].pk]), reverse("budgets")):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


# --- the queue ----------------------------------------------------------------------------------


def test_the_queue_counts_flags_per_status(board, cast, login):
    Flag.objects.filter(pk=board["lee"].pk).update(status="snoozed", snoozed_until=TODAY + timedelta(days=3))
    response = login(cast.maria).get(reverse("review"))
    assert response.context["counts"] == {"open": 2, "acknowledged": 0, "snoozed": 1, "dismissed": 0, "resolved": 0}
    # By default: what needs attention (snoozed flags are out of the way).
    assert {f.person for f in response.context["flags"]} == {cast.erin, cast.sam}
    assert b"Snoozed <span class=\"muted\">1</span>" in response.content


@pytest.mark.parametrize("params,expected", [
    ({"rule": "runaway"}, {"sam"}),
    ({"severity": "medium"}, {"erin", "lee", "otto", "identity"}),
    ({"team": "platform"}, {"sam", "lee"}),
    ({"team": "engineering"}, {"erin", "sam", "lee"}),
    ({"person": "LEE"}, {"lee"}),
    ({"status": "open", "person": "example.com"}, {"erin", "sam", "lee", "otto"}),
])
def test_the_queue_filters(board, cast, login, params, expected):
    if "team" in params:
        params["team"] = getattr(cast, params["team"]).pk
    response = login(cast.ada).get(reverse("review"), params)
    assert {n for n, f in board.items() if f in response.context["flags"]} == expected


def test_the_queue_sorts_by_severity_by_default_and_by_person_on_request(board, cast, login):
    client = login(cast.maria)
    assert client.get(reverse("review")).context["flags"][0] == board["sam"]
    names = [f.person.name for f in client.get(reverse("review"), {"sort": "person"}).context["flags"]]
    assert names == sorted(names)


def test_the_queue_renders_rows_with_their_actions(board, cast, login):
    response = login(cast.maria).get(reverse("review"))
    text = response.content.decode()
    assert f'id="flag-row-{board["erin"].pk}"' in text
    assert reverse("flag_action", args=[board["erin"].pk, "acknowledge"]) in text
    assert 'hx-post="' in text and 'action="' in text  # htmx and plain HTML both
    # "More": the row's other actions, loaded into its menu; without JavaScript, the flag's page.
    assert f'hx-get="{reverse("flag", args=[board["erin"].pk])}?next=' in text


def test_the_queue_filter_answers_htmx_with_the_queue_only(board, cast, login):
    response = login(cast.maria).get(reverse("review"), {"rule": "runaway"}, HTTP_HX_REQUEST="true",
                                     HTTP_HX_TARGET="queue")
    text = response.content.decode()
    assert text.lstrip().startswith('<section id="queue"')
    assert "<html" not in text


def test_the_queue_says_when_vendor_data_is_stale(board, cast, login):
    from leaderboard.models import FlagEvaluation

    FlagEvaluation.objects.create(as_of=TODAY, people=6, skipped={"stale": 2},
                                  stale_vendors=[{"vendor": "cursor", "last_day": "2025-03-02"}])
    text = login(cast.maria).get(reverse("review")).content.decode()
    assert "Cursor data is not fresh" in text and "Mar 2, 2025" in text
    # How many people the run could not judge is the company's count: for admins, not for a manager.
    assert "2 their vendors" not in text
    assert "2 their vendors" in login(cast.ada).get(reverse("review")).content.decode()


def test_the_csv_export_is_safe_from_formula_injection(board, cast, login):
    Flag.objects.filter(pk=board["erin"].pk).update(explanation="=cmd|' /C calc'!A0")
    Person.objects.filter(pk=cast.lee.pk).update(name="@Lee")
    response = login(cast.maria).get(reverse("review_csv"), {"status": "all"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert {r["person_email"] for r in rows} == {"erin@example.com", "sam@example.com", "lee@example.com"}
    erin = next(r for r in rows if r["person_email"] == "erin@example.com")
    assert erin["explanation"].startswith("'=")
    assert next(r for r in rows if r["person_email"] == "lee@example.com")["person_name"] == "'@Lee"


# --- one flag and its actions -------------------------------------------------------------------


def test_the_flag_page_explains_itself(board, cast, login):
    text = login(cast.maria).get(reverse("flag", args=[board["erin"].pk])).content.decode()
    assert "used 1.2% of the budget" in text
    assert "organisation default" in text and "Anthropic Admin API usage report" in text
    assert "<svg" in text and "<rect" in text and 'class="budget"' in text
    assert "1.2%" in text


def test_an_htmx_row_action_returns_the_updated_row(board, cast, login):
    response = login(cast.maria).post(
        reverse("flag_action", args=[board["erin"].pk, "acknowledge"]), {"from": "queue", "next": "/review/?rule="},
        HTTP_HX_REQUEST="true",
    )
    text = response.content.decode()
    assert response.status_code == 200
    assert text.lstrip().startswith(f'<tr id="flag-row-{board["erin"].pk}"')
    assert "Acknowledged" in text and "notice" in text


def test_an_htmx_action_on_the_flag_page_returns_its_body(board, cast, login):
    response = login(cast.maria).post(reverse("flag_action", args=[board["erin"].pk, "snooze"]),
                                      {"until": (TODAY + timedelta(days=5)).isoformat()}, HTTP_HX_REQUEST="true")
    text = response.content.decode()
    assert text.lstrip().startswith('<section id="flag-body"')
    assert "Snoozed until" in text


def test_a_plain_post_redirects_back_to_the_queue_it_came_from(board, cast, login):
    response = login(cast.maria).post(reverse("flag_action", args=[board["erin"].pk, "acknowledge"]),
                                      {"next": "/review/?rule=underuse"})
    assert response.status_code == 302 and response["Location"] == "/review/?rule=underuse"
    response = login(cast.maria).post(reverse("flag_action", args=[board["erin"].pk, "resolve"]),
                                      {"next": "https://evil.example/"})
    assert response["Location"] == reverse("flag", args=[board["erin"].pk])


def test_snooze_records_who_when_and_before_after(board, cast, login):
    until = TODAY + timedelta(days=7)
    login(cast.maria).post(reverse("flag_action", args=[board["erin"].pk, "snooze"]), {"until": until.isoformat()})
    flag = Flag.objects.get(pk=board["erin"].pk)
    assert flag.status == "snoozed" and flag.snoozed_until == until
    event = flag.events.get()
    assert event.actor == cast.maria and event.action == "snoozed"
    assert event.before == {"status": "open", "snoozed_until": None}
    assert event.after == {"status": "snoozed", "snoozed_until": until.isoformat()}


def test_snooze_needs_a_day_in_the_future(board, cast, login):
    response = login(cast.maria).post(reverse("flag_action", args=[board["erin"].pk, "snooze"]),
                                      {"until": TODAY.isoformat()}, follow=True)
    assert "Snooze until a day after today." in response.content.decode()
    assert Flag.objects.get(pk=board["erin"].pk).status == "open"


def test_dismiss_needs_a_reason_and_words_for_other(board, cast, login):
    client = login(cast.maria)
    url = reverse("flag_action", args=[board["erin"].pk, "dismiss"])
    client.post(url, {"reason": "other"})
    assert Flag.objects.get(pk=board["erin"].pk).status == "open"
    client.post(url, {"reason": "other", "text": "Joined the sales team"})
    flag = Flag.objects.get(pk=board["erin"].pk)
    assert (flag.status, flag.dismiss_reason, flag.dismiss_text) == ("dismissed", "other", "Joined the sales team")
    assert flag.suppressed_until == TODAY + timedelta(days=30)
    assert flag.events.get().message == "Other: Joined the sales team"


def test_acting_on_a_closed_flag_is_refused(board, cast, login):
    review.resolve(flag=board["erin"], by=cast.maria)
    response = login(cast.maria).post(reverse("flag_action", args=[board["erin"].pk, "acknowledge"]), follow=True)
    assert "acknowledge a flag that is resolved" in response.content.decode()
    assert Flag.objects.get(pk=board["erin"].pk).status == "resolved"


def test_reassigning_hands_the_flag_to_another_manager(board, cast, login):
    login(cast.maria).post(reverse("flag_action", args=[board["erin"].pk, "reassign"]), {"to": cast.sam.pk})
    flag = Flag.objects.get(pk=board["erin"].pk)
    assert flag.assignee == cast.sam
    assert flag.events.get().after == {"assignee": cast.sam.pk}
    # Sam now reviews Erin's flag, though Erin does not report to him.
    assert login(cast.sam).get(reverse("flag", args=[flag.pk])).status_code == 200
    assert flag in login(cast.sam).get(reverse("review")).context["flags"]


def test_reassigning_to_someone_who_is_not_a_manager_is_refused(board, cast, login):
    login(cast.maria).post(reverse("flag_action", args=[board["erin"].pk, "reassign"]), {"to": cast.lee.pk})
    assert Flag.objects.get(pk=board["erin"].pk).assignee is None


def test_the_person_sees_replies_but_not_internal_notes(board, cast, login):
    flag = board["erin"]
    review.add_note(flag=flag, by=cast.maria, text="Internal: check her project")
    review.add_note(flag=flag, by=cast.maria, text="Reply: how can I help?", to_employee=True)
    review.answer(flag=flag, by=cast.erin, text="Answer: waiting for a license")
    mine = login(cast.erin).get(reverse("flag", args=[flag.pk])).content.decode()
    assert "Reply: how can I help?" in mine and "Answer: waiting for a license" in mine
    assert "Internal: check her project" not in mine
    assert "Act on it" not in mine and "Your answer" in mine
    theirs = login(cast.maria).get(reverse("flag", args=[flag.pk])).content.decode()
    assert "Internal: check her project" in theirs and "Answer: waiting for a license" in theirs


def test_the_history_shows_every_action(board, cast, login):
    flag = board["erin"]
    review.acknowledge(flag=flag, by=cast.maria)
    review.snooze(flag=flag, by=cast.maria, until=TODAY + timedelta(days=3))
    review.dismiss(flag=flag, by=cast.maria, reason="role_no_ai")
    text = login(cast.maria).get(reverse("flag", args=[flag.pk])).content.decode()
    for label in ("Acknowledged", "Snoozed", "Dismissed", "Role does not need AI"):
        assert label in text
    assert list(flag.events.values_list("action", flat=True)) == ["acknowledged", "snoozed", "dismissed"]


def test_the_person_finds_their_live_and_recently_closed_flags_on_my_usage(board, cast, login):
    long_ago = make_flag(cast.erin, kind="inactive", status="resolved", closed_on=TODAY - timedelta(days=40))
    recent = make_flag(cast.erin, kind="drop", status="open")
    review.add_note(flag=recent, by=cast.maria, text="Internal: watch this")
    review.add_note(flag=recent, by=cast.maria, text="Glad the project shipped.", to_employee=True)
    review.resolve(flag=recent, by=cast.maria)
    text = login(cast.erin).get(reverse("me")).content.decode()
    assert reverse("flag", args=[board["erin"].pk]) in text
    assert reverse("flag", args=[long_ago.pk]) not in text and reverse("flag", args=[board["lee"].pk]) not in text
    # A reply that came with the resolution is still there to read; the internal note never is.
    assert reverse("flag", args=[recent.pk]) in text and "Glad the project shipped." in text
    assert "Internal: watch this" not in text
    assert text.index("My flags") < text.index("Tokens by kind") if "Tokens by kind" in text else True


def test_my_open_flags_are_a_badge_in_the_navigation(board, cast, login):
    make_flag(cast.erin, kind="inactive")
    text = login(cast.erin).get(reverse("board")).content.decode()
    assert '<span class="nav-badge"' in text and ">2<span class=\"visually-hidden\"> open flags</span>" in text
    review.resolve(flag=board["erin"], by=cast.maria)
    text = login(cast.erin).get(reverse("teams")).content.decode()
    assert ">1<span class=\"visually-hidden\"> open flag</span>" in text
    assert '<span class="nav-badge"' not in login(cast.ada).get(reverse("board")).content.decode()


# --- Dismissing and reopening (issue 15) ------------------------------------------------------------


def test_no_dismiss_reason_is_preselected(board, cast, login):
    for url in (reverse("review"), reverse("flag", args=[board["erin"].pk])):
        text = login(cast.maria).get(url).content.decode()
        assert '<option value="">Choose a reason…</option>' in text
        assert "selected" not in text.split('name="reason"', 1)[1].split("</select>", 1)[0], url


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_a_dismiss_error_keeps_what_was_typed(board, cast, login, htmx):
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = login(cast.maria).post(reverse("flag_action", args=[board["erin"].pk, "dismiss"]),
                                      {"reason": "other", "text": "  ", "from": "queue"}, **extra)
    text = response.content.decode()
    assert response.status_code == 200
    assert '<option value="other" selected>Other</option>' in text
    assert "when the reason is “Other”" in text
    assert Flag.objects.get(pk=board["erin"].pk).status == "open"
    if htmx:
        assert "data-reopen" in text  # the row's menu opens again, as it was left
    response = login(cast.maria).post(reverse("flag_action", args=[board["erin"].pk, "dismiss"]),
                                      {"reason": "", "text": "Joined sales"})
    text = response.content.decode()
    assert "Choose a reason." in text and 'value="Joined sales"' in text


def test_reopening_a_dismissed_flag_keeps_its_history(board, cast):
    flag = review.dismiss(flag=board["erin"], by=cast.maria, reason="on_leave")
    flag = review.reopen(flag=flag, by=cast.maria)
    flag.refresh_from_db()
    assert (flag.status, flag.dismiss_reason, flag.closed_on, flag.suppressed_until) == ("open", "", None, None)
    assert list(flag.events.values_list("action", flat=True)) == ["dismissed", "reopened"]
    reopened = flag.events.get(action="reopened")
    assert reopened.actor == cast.maria and reopened.before["status"] == "dismissed"
    assert reopened.after["status"] == "open"


def test_reopening_is_refused_for_a_live_flag_or_when_a_newer_one_is_open(board, cast):
    with pytest.raises(review.ActionRefused):
        review.reopen(flag=board["erin"], by=cast.maria)
    old = review.resolve(flag=board["erin"], by=cast.maria)
    make_flag(cast.erin)  # the next evaluation raised it again
    with pytest.raises(review.ActionRefused, match="newer flag"):
        review.reopen(flag=old, by=cast.maria)
    assert Flag.objects.get(pk=old.pk).status == "resolved"


def test_a_reviewer_reopens_from_the_flag_page(board, cast, login):
    review.resolve(flag=board["erin"], by=cast.maria)
    page = login(cast.maria).get(reverse("flag", args=[board["erin"].pk])).content.decode()
    assert reverse("flag_action", args=[board["erin"].pk, "reopen"]) in page
    assert reverse("flag_action", args=[board["erin"].pk, "reopen"]) not in \
        login(cast.erin).get(reverse("flag", args=[board["erin"].pk])).content.decode()
    login(cast.maria).post(reverse("flag_action", args=[board["erin"].pk, "reopen"]))
    assert Flag.objects.get(pk=board["erin"].pk).status == "open"
    # The person it is about may not reopen it.
    review.resolve(flag=board["erin"], by=cast.maria)
    assert login(cast.erin).post(reverse("flag_action", args=[board["erin"].pk, "reopen"])).status_code == 404


# --- The queue page (issue 15) ----------------------------------------------------------------------


def test_a_closed_flags_row_links_to_view_it(board, cast, login):
    review.resolve(flag=board["erin"], by=cast.maria)
    text = login(cast.maria).get(reverse("review"), {"status": "all"}).content.decode()
    row = text.split(f'id="flag-row-{board["erin"].pk}"', 1)[1].split("</tr>", 1)[0]
    assert ">View</a>" in row and ">Open</a>" not in row


def test_the_evaluation_line_counts_only_the_flags_the_viewer_reviews(cast, login):
    from tests.browser.test_review_journey import _morning

    _morning(cast)
    run = flags.last_evaluation()
    assert run.opened >= 2
    sams = review.evaluation_summary(cast.sam, run)
    assert (sams.opened, sams.everyone, sams.skipped) == (review.reviewable_flags(cast.sam).count(), False, {})
    assert sams.opened < run.opened
    text = login(cast.sam).get(reverse("review")).content.decode()
    assert f"{sams.opened} opened" in text and "among the flags you review" in text
    admins = review.evaluation_summary(cast.ada, run)
    assert (admins.opened, admins.everyone) == (run.opened, True)


def test_the_queue_page_is_small_for_its_rows(cast, login):
    for person in (cast.erin, cast.lee, cast.sam, cast.otto, cast.maria):
        for kind in ("underuse", "inactive", "drop", "runaway"):
            make_flag(person, kind=kind)
    response = login(cast.ada).get(reverse("review"))
    rows = response.content.count(b'id="flag-row-')
    assert rows == 20
    # A row carries its Acknowledge form only; "More" loads the other actions when first opened.
    # About 1.3 KB a row, it was 3.3 KB.
    body = response.content.split(b"<tbody>", 1)[1].split(b"</tbody>", 1)[0]
    assert len(body) / rows < 1600, len(body) / rows
    assert body.count(b"csrfmiddlewaretoken") == rows


def test_more_loads_a_rows_actions_into_its_menu(board, cast, login):
    flag = board["erin"]
    url = reverse("flag", args=[flag.pk])
    menu = login(cast.maria).get(url, {"next": "/review/?rule=underuse"}, HTTP_HX_REQUEST="true",
                                 HTTP_HX_TARGET=f"menu-{flag.pk}")
    text = menu.content.decode()
    assert text.lstrip().startswith(f'<form id="act-{flag.pk}"') and "<html" not in text
    for action in ("snooze", "dismiss", "resolve"):
        assert f'hx-post="{reverse("flag_action", args=[flag.pk, action])}"' in text
    assert 'name="next" value="/review/?rule=underuse"' in text
    # The person it is about gets their page, never the reviewers' menu; others a 404.
    assert "<html" in login(cast.erin).get(url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET=f"menu-{flag.pk}").content.decode()
    assert login(cast.otto).get(url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET=f"menu-{flag.pk}").status_code == 404


# --- Budgets and people pickers (issue 15) ----------------------------------------------------------


def test_the_budget_form_starts_on_the_first_of_next_month(cast, login):
    form = login(cast.ada).get(reverse("budgets")).context["form"]
    start = form.initial["effective_from"]
    assert start.day == 1 and start > TODAY and (start - TODAY).days <= 31


def test_the_budget_preview_groups_people_whose_budget_changes_the_same_way(cast, login):
    for n in range(6):
        Person.objects.create_user(email=f"p{n}@example.com", password="x", name=f"Platformer {n}",
                                   team=cast.platform, manager=cast.sam)
    response = login(cast.ada).get(reverse("budget_preview"), {
        "scope": "team", "team": cast.platform.pk, "kind": "month", "amount_usd": "5000",
        "effective_from": "2030-03-01"}, HTTP_HX_REQUEST="true")
    text = response.content.decode()
    assert text.count("<tr>") == 1 + 1  # the header and one line for everyone changed the same way
    assert "8 people:" in text and "Platformer 5" in text


def test_people_with_the_same_name_are_told_apart_by_email(cast, login):
    Person.objects.create_user(email="erin.two@example.com", password="x", name="Erin Employee", team=cast.sales)
    text = login(cast.ada).get(reverse("budgets")).content.decode()
    assert f"Erin Employee · {cast.erin.email}" in text and "Erin Employee · erin.two@example.com" in text


# --- The flag page (issue 15) -----------------------------------------------------------------------


def test_the_flag_page_writes_days_vendors_and_tokens_as_people_read_them(board, cast, login):
    text = login(cast.maria).get(reverse("flag", args=[board["erin"].pk])).content.decode()
    window = board["erin"].numbers["window"]
    assert window["start"] not in text.split("<h2>History</h2>")[0]  # no ISO day above the audit trail
    assert "through " + flags_day(TODAY - timedelta(days=1)) in text
    assert "<td>Anthropic</td>" in text and "<td>anthropic</td>" not in text
    assert "12.3K" in text and "12,345" not in text
    # The chart has a value axis, a day axis and their labels.
    chart = text.split('<section class="card chart', 1)[1].split("</section>", 1)[0]
    assert chart.count('class="tick"') >= 4 and "Day (UTC)" in chart and "Spend (USD)" in chart
    assert 'class="grid"' in chart and 'class="axis"' in chart


def flags_day(value):
    from leaderboard.display import day

    return day(value)


def test_the_access_checks_read_the_reporting_line_once_however_deep(board, cast, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert review.role_for(cast.maria, board["lee"]) == "reviewer"  # Lee reports to Sam, who reports to Maria
    with django_assert_num_queries(0):
        assert review.role_for(cast.erin, board["erin"]) == "subject"
    with django_assert_num_queries(2):
        assert set(review.reviewable_flags(cast.maria)) == {board["erin"], board["sam"], board["lee"]}


# --- bulk ---------------------------------------------------------------------------------------


def test_bulk_snooze_acts_on_every_selected_flag(board, cast, login):
    until = TODAY + timedelta(days=10)
    response = login(cast.maria).post(reverse("review_bulk"), {
        "ids": [board["erin"].pk, board["lee"].pk], "action": "snooze", "until": until.isoformat(), "next": "/review/"})
    assert response.status_code == 302
    assert set(Flag.objects.filter(status="snoozed").values_list("pk", flat=True)) == {board["erin"].pk, board["lee"].pk}
    assert FlagEvent.objects.filter(action="snoozed", actor=cast.maria).count() == 2


def test_bulk_skips_flags_the_action_does_not_apply_to(board, cast, login):
    review.resolve(flag=board["lee"], by=cast.maria)
    response = login(cast.maria).post(reverse("review_bulk"), {
        "ids": [board["erin"].pk, board["lee"].pk], "action": "acknowledge"}, follow=True)
    text = response.content.decode()
    assert "Acknowledged: 1 flag." in text and "Skipped 1" in text


def test_bulk_over_htmx_returns_the_refreshed_queue(board, cast, login):
    response = login(cast.maria).post(reverse("review_bulk"), {
        "ids": [board["erin"].pk], "action": "dismiss", "reason": "data_problem", "next": "/review/"},
        HTTP_HX_REQUEST="true")
    text = response.content.decode()
    assert text.lstrip().startswith('<section id="queue"') and "Dismissed: 1 flag." in text
    assert Flag.objects.get(pk=board["erin"].pk).dismiss_reason == "data_problem"


def test_bulk_without_a_selection_says_so(board, cast, login):
    response = login(cast.maria).post(reverse("review_bulk"), {"action": "resolve"}, follow=True)
    assert "Select at least one flag" in response.content.decode()


# --- budgets and rules (admins) -----------------------------------------------------------------


def test_an_admin_adds_a_team_policy(cast, login):
    response = login(cast.ada).post(reverse("budgets"), {
        "scope": "team", "team": cast.platform.pk, "kind": "day", "amount_usd": "150",
        "effective_from": "2030-01-01", "note": "More for Platform"})
    assert response.status_code == 302
    policy = BudgetPolicy.objects.get(scope="team")
    assert (policy.team, policy.amount_usd, policy.created_by) == (cast.platform, Decimal(150), cast.ada)


def test_the_policy_form_checks_its_fields(cast, login):
    response = login(cast.ada).post(reverse("budgets"), {"scope": "team", "kind": "salary",
                                                         "effective_from": "2030-01-01"})
    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"team", "salary_percent"}


def test_the_budget_preview_shows_who_is_affected_and_how(cast, login):
    response = login(cast.ada).get(reverse("budget_preview"), {
        "scope": "team", "team": cast.platform.pk, "kind": "month", "amount_usd": "5000",
        "effective_from": "2030-03-01"}, HTTP_HX_REQUEST="true")
    text = response.content.decode()
    assert text.lstrip().startswith('<section id="preview"')
    assert "Sam Lead" in text and "Lee Report" in text and "Erin" not in text
    assert "$5,000" in text and "$5,000.00" not in text and "2 people" in text


def test_the_budget_preview_works_without_javascript(cast, login):
    response = login(cast.ada).post(reverse("budgets"), {
        "scope": "person", "person": cast.erin.pk, "kind": "day", "amount_usd": "10", "effective_from": "2030-03-01",
        "preview": "1"})
    assert response.status_code == 200 and "Erin Employee" in response.content.decode()
    assert not BudgetPolicy.objects.filter(scope="person").exists()


def test_an_admin_deletes_only_scheduled_policies(cast, login):
    org = BudgetPolicy.objects.get(scope="org")
    client = login(cast.ada)
    client.post(reverse("budget_delete", args=[org.pk]))
    assert BudgetPolicy.objects.filter(pk=org.pk).exists()


def test_an_admin_sets_the_working_week_and_part_time(cast, login):
    client = login(cast.ada)
    client.post(reverse("budget_settings"), {"working_weekdays": [1, 2, 3, 4], "grace_days": 14,
                                             "max_data_lag_days": 2})
    settings = OrgSettings.load()
    assert (settings.working_weekdays, settings.grace_days, settings.max_data_lag_days) == ([1, 2, 3, 4], 14, 2)
    client.post(reverse("budget_part_time"), {"person": cast.erin.pk, "percent": 60})
    assert Person.objects.get(pk=cast.erin.pk).work_percent == 60
    assert "Erin Employee" in client.get(reverse("budgets")).content.decode()


def test_an_admin_edits_the_rules(cast, login):
    client = login(cast.ada)
    page = client.get(reverse("flag_rules"))
    assert "Flag below (% of budget)" in page.content.decode()
    data = {}
    for form in page.context["forms"]:
        for name in form.fields:
            value = form.initial.get(name)
            if value is None:
                continue
            if name == "enabled":
                if value:
                    data[f"{form.prefix}-{name}"] = "on"
            else:
                data[f"{form.prefix}-{name}"] = str(value)
    data["underuse-threshold"] = "15"
    data.pop("drop-enabled")
    response = client.post(reverse("flag_rules"), data)
    assert response.status_code == 302
    assert FlagRule.objects.get(kind="underuse").threshold == 15
    assert FlagRule.objects.get(kind="underuse").updated_by == cast.ada
    assert not FlagRule.objects.get(kind="drop").enabled
    assert FlagRule.objects.get(kind="runaway").threshold == 5


def test_an_admin_exempts_someone_and_ends_it(cast, login):
    client = login(cast.ada)
    client.post(reverse("exemptions"), {"person": cast.erin.pk, "reason": "Sabbatical",
                                        "expires_on": (TODAY + timedelta(days=30)).isoformat()})
    exemption = Exemption.objects.get()
    assert (exemption.person, exemption.rule, exemption.created_by) == (cast.erin, None, cast.ada)
    assert "Sabbatical" in client.get(reverse("exemptions")).content.decode()
    client.post(reverse("exemption_end", args=[exemption.pk]))
    assert not Exemption.objects.filter(expires_on__gte=TODAY).exists()


def test_the_nav_links_to_review_and_budgets(cast, login):
    text = login(cast.ada).get(reverse("review")).content.decode()
    assert f'href="{reverse("review")}"' in text and f'href="{reverse("budgets")}"' in text


def test_the_review_page_with_no_flags_still_renders(cast, login):
    response = login(cast.maria).get(reverse("review"))
    assert response.status_code == 200 and "Nothing here" in response.content.decode()


def test_the_bulk_form_parses_integer_ids_and_leaves_access_to_the_database(cast):
    form = BulkForm(QueryDict("ids=5&ids=12&action=resolve"))
    assert form.is_valid() and form.cleaned_data["ids"] == [5, 12]
    assert not BulkForm(QueryDict("ids=x&action=resolve")).is_valid()


# --- the queue's cost -----------------------------------------------------------------------------

# A manager's queue (or a flag's page) asks the database the same few things whatever the size of
# the company or of the queue: a manager's reporting line is kept under the people's version, which
# no flag action moves, so a warm request never reads the whole roster's managers.
MAX_QUEUE_QUERIES = 16


def roster_reads(queries) -> list[str]:
    """The queries that read every person's manager (the reporting line), as opposed to a few people."""
    return [q["sql"] for q in queries.captured_queries
            if '"accounts_person"."manager_id"' in q["sql"] and "WHERE" not in q["sql"].split("FROM", 1)[1]]


@pytest.mark.parametrize("url", ["review", "review_all_by_severity", "flag"])
def test_a_warm_queue_or_flag_page_makes_the_same_few_queries_whatever_the_company(board, cast, login, url,
                                                                                 django_assert_max_num_queries):
    def path():
        if url == "flag":
            return reverse("flag", args=[board["erin"].pk])
        return reverse("review") + ("?status=all&sort=severity" if url == "review_all_by_severity" else "")

    client = login(cast.maria)
    client.get(path())
    with django_assert_max_num_queries(MAX_QUEUE_QUERIES) as small:
        assert client.get(path()).status_code == 200
    assert not roster_reads(small)
    # Forty more people under Maria, each with a flag, and a hundred elsewhere.
    extra = [Person.objects.create_user(f"r{i}@example.com", "pw", name=f"Report {i}", manager=cast.sam,
                                        team=cast.platform) for i in range(40)]
    Person.objects.bulk_create([Person(email=f"o{i}@example.com", name=f"Other {i}") for i in range(100)])
    for person in extra:
        make_flag(person)
    client.get(path())
    with django_assert_max_num_queries(MAX_QUEUE_QUERIES) as big:
        response = client.get(path())
    assert response.status_code == 200 and not roster_reads(big)
    assert len(big.captured_queries) == len(small.captured_queries)
    if url != "flag":
        assert response.context["total"] == 3 + 40


def test_the_queue_follows_a_change_of_manager_at_once(board, cast, login):
    client = login(cast.maria)
    assert {f.pk for f in client.get(reverse("review")).context["flags"]} == {board[n].pk for n in ("erin", "sam", "lee")}
    Person.objects.filter(pk=cast.otto.pk).update(manager=cast.sam)
    assert board["otto"].pk in {f.pk for f in client.get(reverse("review")).context["flags"]}
    assert client.get(reverse("flag", args=[board["otto"].pk])).context["role"] == "reviewer"
    Person.objects.filter(pk=cast.erin.pk).update(manager=None)
    assert board["erin"].pk not in {f.pk for f in client.get(reverse("review")).context["flags"]}
    assert client.get(reverse("flag", args=[board["erin"].pk])).status_code == 404


def test_the_queue_shows_a_flag_action_at_once(board, cast, login):
    client = login(cast.maria)
    client.get(reverse("review"))
    client.post(reverse("flag_action", args=[board["erin"].pk, "acknowledge"]), {"from": "queue"}, HTTP_HX_REQUEST="true")
    rows = {f.pk: f for f in client.get(reverse("review")).context["flags"]}
    assert rows[board["erin"].pk].status == "acknowledged"
    assert client.get(reverse("review"), {"status": "open"}).context["total"] == 2
