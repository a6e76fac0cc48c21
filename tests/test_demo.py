"""The demo company: believable, imported through the real importers, and safe to load twice."""

import io
from datetime import date, timedelta

import pytest
from django.core.management import call_command

from accounts.models import Person, Team
from leaderboard.models import Flag, PersonDay, UsageExport


@pytest.fixture
def demo(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.MEDIA_ROOT = tmp_path / "media"
    out = io.StringIO()
    call_command("demo", stdout=out)
    return out.getvalue()


def test_it_builds_a_believable_company(demo):
    people = Person.objects.exclude(is_staff=True)
    assert people.count() >= 150
    assert Team.objects.count() >= 10
    assert Team.objects.filter(parent__isnull=False).exists()
    # Three management levels: someone whose manager has a manager.
    assert people.filter(manager__manager__isnull=False).exists()
    assert people.filter(status=Person.Status.LEAVE).exists()
    assert people.filter(start_date__gte=date.today() - timedelta(days=30)).exists()
    assert {"named", "anonymous", "hidden"} <= set(people.values_list("privacy", flat=True))


def test_it_imports_every_file_through_the_importers(demo):
    exports = UsageExport.objects.all()
    assert exports.count() >= 10
    assert set(exports.values_list("status", flat=True)) == {UsageExport.Status.SUCCEEDED}
    assert {"anthropic_usage_report", "claude_code_analytics", "openai_usage", "cursor_events", "copilot_usage",
            "ccusage", "generic_csv"} <= set(exports.values_list("format", flat=True))
    days = PersonDay.objects.dates("day", "day")
    assert len(days) >= 110


def test_it_gives_managers_a_believable_queue(demo):
    open_flags = Flag.objects.filter(status=Flag.Status.OPEN).count()
    assert 5 <= open_flags <= Person.objects.count() // 2


def test_it_prints_three_logins_and_the_password(demo):
    assert "admin@demo.example" in demo
    assert "manager" in demo and "employee" in demo
    assert "leaderboard-demo" in demo


def test_it_duplicates_nothing_when_run_again(demo):
    counts = (Person.objects.count(), UsageExport.objects.count(), PersonDay.objects.count())
    call_command("demo", stdout=io.StringIO())
    assert (Person.objects.count(), UsageExport.objects.count(), PersonDay.objects.count()) == counts
