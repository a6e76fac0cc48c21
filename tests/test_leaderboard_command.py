"""``manage.py leaderboard`` (design.md §3): the board on the command line, from the same selector."""

import csv
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import Person
from leaderboard.models import DailyUsage, PersonDay
from tests.test_boards import TODAY, ago, save, standard_week, usage


def run(*args) -> str:
    out = io.StringIO()
    call_command("leaderboard", *args, stdout=out)
    return out.getvalue()


def as_json(*args):
    return json.loads(run(*args, "--format", "json"))


# --- The sample org, imported end to end --------------------------------------------------------

FIRST = ["anthropic/users.json", "anthropic/api_keys.json", "openai/users.json"]


def usage_files(samples):
    """Every export of the sample org except the identity lists and the ccusage uploads."""
    files = [samples / "anthropic/usage_report_messages_p1.json", samples / "anthropic/claude_code_analytics.jsonl"]
    files += sorted(p for p in (samples / "openai").glob("*.json") if p.name != "users.json")
    files += sorted((samples / "openai").glob("*.csv"))
    files += sorted((samples / "cursor").iterdir())
    files += sorted((samples / "generic").iterdir())
    return files


def import_everything(samples):
    quiet = {"stdout": io.StringIO(), "stderr": io.StringIO()}
    call_command("import_people", str(samples / "roster.csv"), **quiet)
    call_command("import_usage", *[str(samples / name) for name in FIRST], **quiet)
    call_command("import_usage", *map(str, usage_files(samples)), **quiet)
    expected = json.loads((samples / "expected.json").read_text())
    for name, email in expected["ccusage_uploads"].items():
        call_command("import_usage", str(samples / "ccusage" / name), "--email", email, **quiet)


@pytest.fixture
def sample_org(db, samples, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    import_everything(samples)
    return json.loads((samples / "expected.json").read_text())


def board_snapshot():
    return (
        sorted(PersonDay.objects.values_list("person__email", "day", "total_tokens", "output_tokens", "cost_usd", "active")),
        sorted(DailyUsage.objects.values_list("person__email", "day", "vendor", "model", "total_tokens", "cost_usd")),
    )


@pytest.mark.django_db(transaction=False)
def test_it_ranks_the_sample_org_as_expected(sample_org, samples):
    period = sample_org["period"]
    rows = as_json("--start", period["start"], "--end", period["end"])
    got = {row["email"]: row for row in rows}
    expected = sample_org["people"]

    assert set(got) == set(expected)
    for email, want in expected.items():
        row = got[email]
        for kind in ("total_tokens", "input_tokens", "cache_write_tokens", "cache_read_tokens", "output_tokens"):
            assert row[kind] == want[kind], (email, kind)
        assert row["requests"] == want["requests"], email
        assert Decimal(row["cost_usd"]) == pytest.approx(Decimal(want["cost_usd"]), rel=Decimal("0.01")), email
    # Ranked by total tokens, biggest first.
    assert [row["rank"] for row in rows] == list(range(1, len(rows) + 1))
    assert [row["total_tokens"] for row in rows] == sorted((row["total_tokens"] for row in rows), reverse=True)
    for email in sample_org["zero_usage"]:
        assert email not in got

    # Per vendor, the same numbers as the expected breakdown.
    for vendor in ("anthropic", "openai", "cursor", "mistral"):
        by_vendor = {row["email"]: row for row in as_json("--start", period["start"], "--end", period["end"], "--vendor", vendor)}
        want = {email: p["by_vendor"][vendor] for email, p in expected.items() if vendor in p.get("by_vendor", {})}
        assert set(by_vendor) == set(want), vendor
        for email, numbers in want.items():
            assert by_vendor[email]["total_tokens"] == numbers["total_tokens"], (vendor, email)
            assert Decimal(by_vendor[email]["cost_usd"]) == pytest.approx(Decimal(numbers["cost_usd"]), rel=Decimal("0.01"), abs=Decimal("0.01"))


def test_it_changes_nothing_when_everything_is_imported_again(sample_org, samples):
    period = sample_org["period"]
    before, board = board_snapshot(), run("--start", period["start"], "--end", period["end"], "--format", "json")

    import_everything(samples)

    assert board_snapshot() == before
    assert run("--start", period["start"], "--end", period["end"], "--format", "json") == board


# --- The contract, on a small board -------------------------------------------------------------


@pytest.fixture
def week_of_usage(cast):
    standard_week(cast)
    return cast


def last_week(*args):
    return ["--start", ago(6).isoformat(), "--end", TODAY.isoformat(), *args]


def test_it_writes_json_objects_ranked_by_tokens(week_of_usage):
    rows = as_json(*last_week())
    assert rows[2] == {
        "rank": 3, "email": "erin@example.com", "name": "Erin Employee", "team": "Engineering",
        "total_tokens": 3000, "input_tokens": 1200, "cache_write_tokens": 300, "cache_read_tokens": 900,
        "output_tokens": 600, "requests": 3, "cost_usd": "3.00",
    }
    assert [(row["rank"], row["email"]) for row in rows] == [
        (1, "otto@example.com"), (2, "sam@example.com"), (3, "erin@example.com"), (4, "maria@example.com"),
        (4, "lee@example.com"),
    ]


def test_it_counts_both_dates_inclusive(cast):
    save([usage(cast.erin, 3, tokens=10), usage(cast.erin, 5, tokens=100), usage(cast.erin, 4, tokens=1000),
          usage(cast.erin, 6, tokens=5)])
    rows = as_json("--start", ago(5).isoformat(), "--end", ago(3).isoformat())
    assert rows[0]["total_tokens"] == 1110


def test_it_ranks_by_cost_and_filters_by_vendor_and_team(week_of_usage, cast):
    assert [row["email"] for row in as_json(*last_week("--metric", "cost"))] == [
        "lee@example.com", "erin@example.com", "otto@example.com", "sam@example.com", "maria@example.com",
    ]
    assert [row["email"] for row in as_json(*last_week("--vendor", "openai"))] == ["sam@example.com"]
    # A team includes its sub-teams; by name (any case) or id.
    assert [row["email"] for row in as_json(*last_week("--team", "engineering"))] == [
        "sam@example.com", "erin@example.com", "maria@example.com", "lee@example.com",
    ]
    assert [row["email"] for row in as_json(*last_week("--team", str(cast.platform.pk)))] == [
        "sam@example.com", "lee@example.com",
    ]


def test_it_lists_hidden_and_anonymous_people_by_name_for_operators(week_of_usage, cast):
    Person.objects.filter(pk=cast.sam.pk).update(privacy=Person.Privacy.HIDDEN)
    Person.objects.filter(pk=cast.otto.pk).update(privacy=Person.Privacy.ANONYMOUS)
    assert [row["name"] for row in as_json(*last_week())][:2] == ["Otto Outsider", "Sam Lead"]


def test_it_writes_csv_with_formulas_escaped(week_of_usage, cast):
    Person.objects.filter(pk=cast.otto.pk).update(name="@SUM(1+1)*cmd")
    rows = list(csv.reader(io.StringIO(run(*last_week("--format", "csv")))))
    assert rows[0] == ["rank", "email", "name", "team", "total_tokens", "input_tokens", "cache_write_tokens",
                       "cache_read_tokens", "output_tokens", "requests", "cost_usd"]
    assert rows[1][:3] == ["1", "otto@example.com", "'@SUM(1+1)*cmd"]
    assert rows[1][-1] == "2.00"


def test_it_prints_a_table_by_default(week_of_usage):
    table = run(*last_week()).splitlines()
    assert table[0].startswith("Tokens by person, ")
    assert table[1].split() == ["#", "name", "email", "team", "tokens", "output", "requests", "cost"]
    assert table[2].split()[:3] == ["1", "Otto", "Outsider"] and table[2].rstrip().endswith("$2.00")
    assert "10,000" in table[2]


def test_it_says_when_there_is_nothing_to_rank(cast):
    assert "No usage in this range." in run("--start", "2020-01-01", "--end", "2020-01-31")
    assert as_json("--start", "2020-01-01", "--end", "2020-01-31") == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2026-13-01", "--end", "2026-12-31"], "not a date"),
        (["--start", "2026-10-30", "--end", "2026-10-01"], "--end is before --start"),
        (["--team", "Nobody"], "no team called 'Nobody'"),
    ],
)
def test_it_refuses_bad_arguments(cast, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
