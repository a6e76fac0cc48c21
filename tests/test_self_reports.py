"""Trust in self-reported usage: the checks a ccusage upload passes on arrival, holding the ones that
fail for an admin, and the admin's accept / reject (leaderboard/self_reports.py, its views)."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from leaderboard import imports, self_reports
from leaderboard.models import PersonDay, UsageExport, UsageRecord

Status = UsageExport.Status
SONNET = "claude-sonnet-4-5-20250929"  # $3 a million input tokens, $15 output, on the price list


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def today() -> date:
    return timezone.now().date()


def day_row(day: date, *, tokens_in=1_000_000, tokens_out=100_000, cost=None, model=SONNET) -> dict:
    """One ccusage daily row; its cost is the list price unless a claim is given."""
    if cost is None:
        cost = (tokens_in * 3 + tokens_out * 15) / 1_000_000
    counts = {"inputTokens": tokens_in, "outputTokens": tokens_out, "cacheCreationTokens": 0, "cacheReadTokens": 0}
    return {"date": day.isoformat(), **counts, "totalTokens": tokens_in + tokens_out, "totalCost": cost,
            "modelsUsed": [model], "modelBreakdowns": [{"modelName": model, **counts, "cost": cost}]}


def report(*rows) -> bytes:
    return json.dumps({"daily": list(rows)}, indent=1).encode()


def upload(person, content: bytes, name="ccusage.json", by=None) -> UsageExport:
    """Upload it as the person would from their page, and run the import here."""
    export, created = imports.store_export(
        content=ContentFile(content, name=name), name=name, origin=UsageExport.Origin.SELF_SERVICE,
        uploaded_by=by or person, attributed_to=person, requested_format="ccusage",
    )
    if created:
        imports.process_export(export.pk)
    export.refresh_from_db()
    return export


def forged() -> bytes:
    """The forged file of issue 16: 50 billion tokens a day for five days at $0.04 a day, plus a day
    three days ahead."""
    start = today() - timedelta(days=6)
    rows = [day_row(start + timedelta(days=n), tokens_in=50_000_000_000, tokens_out=0, cost=0.04) for n in range(5)]
    rows.append(day_row(today() + timedelta(days=3)))
    return report(*rows)


def board() -> str:
    out = io.StringIO()
    start, end = today() - timedelta(days=30), today() + timedelta(days=5)
    call_command("leaderboard", "--start", start.isoformat(), "--end", end.isoformat(), "--format", "json", stdout=out)
    return out.getvalue()


def test_a_forged_upload_is_held_with_its_reasons_and_changes_no_board(cast):
    before = board()
    export = upload(cast.erin, forged())

    assert export.status == Status.HELD
    fields = {(p["field"], p["where"].split(" day ")[-1][:10]) for p in export.problems}
    first = (today() - timedelta(days=6)).isoformat()
    ahead = (today() + timedelta(days=3)).isoformat()
    assert ("totalTokens", first) in fields and ("cost", first) in fields and ("date", ahead) in fields
    assert all(p["where"].startswith("ccusage.json day ") for p in export.problems)
    assert "Held for an admin's review" in export.failure
    assert not UsageRecord.objects.exists() and not PersonDay.objects.exists()
    assert board() == before
    assert [entry["action"] for entry in export.review_history] == ["held"]


def test_an_honest_upload_counts_at_once(cast):
    export = upload(cast.erin, report(day_row(today() - timedelta(days=1))))
    assert export.status == Status.SUCCEEDED, export.problems
    assert PersonDay.objects.get(person=cast.erin).total_tokens == 1_100_000


@pytest.mark.parametrize("row, field, words", [
    (lambda: day_row(today() - timedelta(days=1), tokens_in=2_500_000_000, tokens_out=0), "totalTokens",
     "above the ceiling of 2,000,000,000"),
    (lambda: day_row(today() - timedelta(days=1), cost=0.01), "cost", "the price list says $4.50"),
    (lambda: day_row(today() + timedelta(days=1)), "date", "is in the future"),
    (lambda: day_row(date(2023, 12, 1)), "date", "is before Erin Employee joined on 2024-01-08"),
    (lambda: day_row(today() - timedelta(days=1), model="claude-imaginary-9"), "modelName",
     "is not a model anthropic offers"),
])
def test_each_check_holds_the_upload_with_a_located_reason(cast, row, field, words):
    export = upload(cast.erin, report(row()))
    assert export.status == Status.HELD
    [problem] = export.problems
    assert problem["field"] == field and words in problem["message"]
    assert problem["where"].startswith("ccusage.json day ")
    assert not UsageRecord.objects.exists()


def test_a_claimed_cost_within_ten_percent_of_the_price_list_passes(cast):
    assert upload(cast.erin, report(day_row(today() - timedelta(days=1), cost=4.5 * 1.09))).status == Status.SUCCEEDED


def test_the_ceiling_is_a_setting(cast, settings):
    settings.SELF_REPORT_MAX_TOKENS_PER_DAY = 1_000_000
    export = upload(cast.erin, report(day_row(today() - timedelta(days=1))))
    assert export.status == Status.HELD and export.problems[0]["field"] == "totalTokens"


def test_a_monthly_report_is_held_only_above_a_month_of_the_ceiling(cast, settings):
    settings.SELF_REPORT_MAX_TOKENS_PER_DAY = 1_000_000
    month = (today().replace(day=1) - timedelta(days=1)).replace(day=1)
    row = day_row(month, tokens_in=20_000_000, tokens_out=0)
    row["month"] = row.pop("date")[:7]
    export = upload(cast.erin, json.dumps({"monthly": [row]}).encode())
    assert export.status == Status.SUCCEEDED, export.problems


def test_the_identical_file_uploaded_for_a_second_person_is_held(cast):
    content = report(day_row(today() - timedelta(days=1)))
    assert upload(cast.erin, content).status == Status.SUCCEEDED
    second = upload(cast.lee, content, by=cast.ada)
    assert second.status == Status.HELD
    assert "identical file was uploaded for Erin Employee" in second.problems[0]["message"]
    assert not PersonDay.objects.filter(person=cast.lee).exists()


def test_accepting_imports_it_through_the_normal_path_and_keeps_the_decision(cast, sent_tasks):
    export = upload(cast.erin, report(day_row(today() - timedelta(days=1), cost=0.01)))
    self_reports.accept(export=export, by=cast.ada, reason="Checked with Erin: a discount")
    assert export.status == Status.QUEUED and export.accepted_at
    imports.process_export(export.pk)
    export.refresh_from_db()

    assert export.status == Status.SUCCEEDED
    assert PersonDay.objects.get(person=cast.erin).total_tokens == 1_100_000
    assert [(e["action"], e["reason"], e["by"]) for e in export.review_history] == [
        ("held", "", None), ("accepted", "Checked with Erin: a discount", cast.ada.pk)]
    event = AuditEvent.objects.get(action="usage_export.accept")
    assert event.actor == cast.ada and event.target_id == str(export.pk)


def test_rejecting_keeps_the_raw_file_and_counts_nothing(cast):
    export = upload(cast.erin, forged())
    self_reports.reject(export=export, by=cast.ada, reason="Forged")
    assert export.status == Status.REJECTED
    assert export.file.storage.exists(export.file.name)
    assert imports.process_export(export.pk) is None
    assert not UsageRecord.objects.exists()
    assert [e["action"] for e in export.review_history] == ["held", "rejected"]
    assert AuditEvent.objects.filter(action="usage_export.reject", actor=cast.ada).exists()


def test_a_decision_on_an_upload_not_held_is_refused(cast):
    export = upload(cast.erin, report(day_row(today() - timedelta(days=1))))
    with pytest.raises(self_reports.ReviewRefused):
        self_reports.reject(export=export, by=cast.ada, reason="late")


def test_the_command_says_a_file_is_held_and_exits_non_zero(cast, tmp_path):
    path = tmp_path / "forged.json"
    path.write_bytes(forged())
    err = io.StringIO()
    with pytest.raises(Exception, match="refused or held"):
        call_command("import_usage", str(path), "--email", "erin@example.com", stderr=err, stdout=io.StringIO())
    assert "forged.json: held for an admin's review, nothing imported" in err.getvalue()
    assert "totalTokens" in err.getvalue()


# --- The pages --------------------------------------------------------------------------------


def test_admins_see_held_uploads_with_their_reasons(cast, login):
    export = upload(cast.erin, forged())
    page = login(cast.ada).get(reverse("held_uploads"))
    assert page.status_code == 200
    html = page.content.decode()
    assert f"#{export.pk} ccusage.json" in html and "Erin Employee" in html and "above the ceiling" in html
    detail = login(cast.ada).get(export.get_absolute_url()).content.decode()
    assert "Why it was held" in detail and "Accept and import" in detail


def test_an_admin_accepts_from_the_page_and_the_import_is_queued(cast, login, sent_tasks,
                                                                 django_capture_on_commit_callbacks):
    export = upload(cast.erin, forged())
    with django_capture_on_commit_callbacks(execute=True):
        response = login(cast.ada).post(reverse("held_review", args=[export.pk]),
                                        {"decision": "accept", "reason": "Erin ran a benchmark"})
    assert response.status_code == 302
    export.refresh_from_db()
    assert export.status == Status.QUEUED
    assert ("leaderboard.tasks.import_export", (export.pk,), {}) in [(n, a, k or {}) for n, a, k in sent_tasks]


def test_a_decision_needs_a_reason(cast, login):
    export = upload(cast.erin, forged())
    response = login(cast.ada).post(reverse("held_review", args=[export.pk]), {"decision": "reject", "reason": ""})
    assert response.status_code == 400
    export.refresh_from_db()
    assert export.status == Status.HELD


def test_managers_and_employees_cannot_review(cast, login):
    export = upload(cast.erin, forged())
    for person in (cast.maria, cast.erin):
        assert login(person).get(reverse("held_uploads")).status_code == 404
        assert login(person).post(reverse("held_review", args=[export.pk]),
                                  {"decision": "accept", "reason": "mine"}).status_code == 404
    export.refresh_from_db()
    assert export.status == Status.HELD
