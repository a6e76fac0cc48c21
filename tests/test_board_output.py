"""Output beside usage (leaderboard/boards/output.py): commits, pull requests and accepted lines from
the sources that report them, ratios that count every dollar, "unknown" without an output source, and
the trust level a person's numbers rest on.

The world is imported through the real path (a Claude Code analytics export read by its parser,
rolled up by leaderboard.rollups), except for people whose usage has no output source, whose
rollups are built directly as in tests/test_boards.py."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import ProviderIdentity
from leaderboard import rollups
from leaderboard.board_forms import BoardFilterForm
from leaderboard.boards import catalog, output, ranking
from leaderboard.boards import filters as board_filters
from leaderboard.models import ActivityRecord, DailyOutput, UsageExport
from tests.test_boards import TODAY, ago, save, usage


def analytics_record(email: str, days_ago: int, *, cents: int, commits: int = 0, pull_requests: int = 0,
                     lines: int = 0) -> dict:
    """One user-day of GET /v1/organizations/usage_report/claude_code (provider-formats.md §1.3)."""
    return {
        "date": f"{ago(days_ago).isoformat()}T00:00:00Z",
        "actor": {"type": "user_actor", "email_address": email},
        "organization_id": "9a1e6c2d-0000-4000-8000-00000000beef", "customer_type": "api",
        "subscription_type": None, "terminal_type": "tmux", "is_remote": False,
        "core_metrics": {"num_sessions": 1, "lines_of_code": {"added": lines, "removed": 0},
                         "commits_by_claude_code": commits, "pull_requests_by_claude_code": pull_requests},
        "tool_actions": {"edit_tool": {"accepted": 3, "rejected": 0}},
        "model_breakdown": [{"model": "claude-sonnet-4-5", "tokens": {"input": 1000, "output": 500, "cache_read": 0,
                                                                       "cache_creation": 0},
                             "estimated_cost": {"currency": "USD", "amount": cents}}],
    }


def import_analytics(tmp_path, records: list[dict], name: str = "claude_code.jsonl") -> None:
    path = tmp_path / name
    path.write_text(json.dumps({"data": records, "has_more": False, "next_page": None}) + "\n")
    call_command("import_usage", str(path))


def fair_week(cast, tmp_path) -> None:
    """The last 7 days:

    - Erin (Claude Code): $10 a day for five days; pull requests on two of them (one each), 2 commits
      and 100 accepted lines a day: $50 over 2 pull requests is $25 each, not the $10 of the days
      that had one.
    - Sam (Claude Code): $2 in one day with 4 pull requests and 400 lines: $0.50 each.
    - Maria (Claude Code): $3 over three days and not one pull request.
    - Otto: $30 of OpenAI usage, no source that reports output: unknown.
    - Lee: a ccusage upload of his own, $1: self-reported, and no output source either."""
    erin = [analytics_record(cast.erin.email, n, cents=1000, commits=2, lines=100, pull_requests=1 if n in (1, 3) else 0)
            for n in range(1, 6)]
    sam = [analytics_record(cast.sam.email, 2, cents=200, commits=3, pull_requests=4, lines=400)]
    maria = [analytics_record(cast.maria.email, n, cents=100, lines=10) for n in (1, 2, 3)]
    import_analytics(tmp_path, erin + sam + maria)
    save([usage(cast.otto, 2, "openai", "gpt-5", tokens=50_000, cost="30.00"),
          usage(cast.lee, 1, tokens=4_000, cost="1.00", source="ccusage")])


@pytest.fixture
def fair(cast, tmp_path):
    fair_week(cast, tmp_path)
    return cast


def week(metric="tokens", **more) -> board_filters.BoardFilters:
    return board_filters.BoardFilters(period=board_filters.resolve_period("7d", today=TODAY),
                                      metric=board_filters.METRICS[metric], **more)


def board_for(viewer, filters=None, **options):
    options.setdefault("outputs", True)
    return ranking.leaderboard(filters or week(), viewer=viewer, catalog=catalog.load(), **options)


def rows_by_name(board) -> dict[str, ranking.BoardRow]:
    return {row.name: row for row in board.rows}


# --- Output and its ratios ------------------------------------------------------------------------


def test_it_keeps_commits_pull_requests_and_accepted_lines_per_person_and_day(fair):
    erin = {row.day: row for row in DailyOutput.objects.filter(person=fair.erin)}
    assert sorted(erin) == [ago(n) for n in range(5, 0, -1)]
    assert (erin[ago(1)].commits, erin[ago(1)].pull_requests, erin[ago(1)].accepted_lines) == (2, 1, 100)
    assert erin[ago(2)].pull_requests == 0
    assert output.output_by_person(week().period)[fair.erin.pk] == output.Output(10, 2, 500)


def test_it_shows_output_columns_beside_usage_on_the_board(fair, login):
    board = board_for(fair.ada)
    erin = next(row for row in board.rows if row.person_id == fair.erin.pk)
    assert (erin.extra.commits_display, erin.extra.pull_requests_display, erin.extra.accepted_lines_display) == (
        "10", "2", "500")
    assert erin.extra.cost_display == "$50.00"
    assert erin.extra.tokens_per_line_display == "15"  # 7,500 tokens over 500 lines
    body = login(fair.ada).get(reverse("board"), {"period": "7d"}).content.decode()
    for header in ("Commits", "PRs", "Accepted lines", "Cost / PR", "Tokens / line", "Numbers from"):
        assert header in body


def test_cost_per_pull_request_counts_every_dollar_including_days_without_one(fair):
    rows = rows_by_name(board_for(fair.ada, week("cost_per_pr")))
    # $50 over 2 pull requests: the three days that produced nothing still cost $30.
    assert rows["Erin Employee"].value == Decimal(25)
    assert rows["Erin Employee"].value_display == "$25.00"
    assert rows["Sam Lead"].value_display == "$0.50"


def test_ratios_rank_the_lowest_first_and_spend_without_output_last(fair):
    board = board_for(fair.ada, week("cost_per_pr"))
    assert [(row.rank, row.name, row.value_display) for row in board.rows] == [
        (1, "Sam Lead", "$0.50"), (2, "Erin Employee", "$25.00"), (3, "Maria Manager", "no pull requests"),
    ]
    # Everything the people with an output source spent over everything they produced.
    assert board.company_total == Decimal(55) / 6  # ($50 + $2 + $3) over (2 + 4)
    assert board.company_total_display == "$9.17"


def test_a_person_without_an_output_source_has_output_unknown_not_zero(fair):
    rows = rows_by_name(board_for(fair.ada))
    otto = rows["Otto Outsider"].extra
    assert not otto.known
    assert (otto.commits_display, otto.pull_requests_display, otto.cost_per_pr_display, otto.tokens_per_line_display) == (
        "unknown", "unknown", "unknown", "unknown")
    # Nor is anyone without an output source ranked by output, or by a ratio of it.
    for metric in ("commits", "cost_per_pr", "tokens_per_line"):
        board = board_for(fair.ada, week(metric))
        names = [row.name for row in board.rows]
        assert "Otto Outsider" not in names and "Lee Report" not in names, metric
        assert board.unknown_output == 2


def test_it_says_unknown_on_the_page_for_a_person_without_an_output_source(fair, login):
    body = login(fair.ada).get(reverse("board"), {"period": "7d", "metric": "commits"}).content.decode()
    assert "2 people with usage have no source that reports output" in body
    body = login(fair.ada).get(reverse("board"), {"period": "7d"}).content.decode()
    otto_row = body.split("Otto Outsider</a>")[1].split("</tr>")[0]
    assert otto_row.count(">unknown<") == 5


def test_only_the_best_ranked_source_counts_when_two_report_the_same_work(fair):
    """Claude Code's telemetry reports the commits its analytics already count: once, not twice."""
    identity = ProviderIdentity.objects.get(vendor="anthropic", person=fair.erin)
    export = UsageExport.objects.first()
    ActivityRecord.objects.create(vendor="anthropic", source="claude_code_telemetry", identity=identity, day=ago(1),
                                  active=True, commits=2, pull_requests=1, lines_added=100, export=export)
    ActivityRecord.objects.create(vendor="anthropic", source="claude_code_telemetry", identity=identity, day=ago(6),
                                  active=True, commits=7, pull_requests=0, lines_added=70, export=export)
    rollups.recompute([fair.erin.pk], ago(6), ago(0))
    # Day 1 is the analytics' (the same counts); day 6, telemetry alone, adds its own.
    assert output.output_by_person(week().period)[fair.erin.pk] == output.Output(17, 2, 570)


def test_the_teams_board_offers_counts_but_not_ratios(fair, login):
    body = login(fair.ada).get(reverse("teams"), {"period": "7d", "metric": "commits"}).content.decode()
    assert 'value="commits" selected' in body
    assert 'value="cost_per_pr"' not in body
    # A team's cost per pull request is not the sum of its members': a link asking for it gets tokens.
    form = BoardFilterForm({"metric": "cost_per_pr"}, catalog=catalog.load(), vendors=[], today=TODAY, ratios=False)
    assert form.filters().metric.name == "tokens"


# --- Trust ----------------------------------------------------------------------------------------


def test_the_board_says_which_trust_level_each_persons_numbers_rest_on(fair, login):
    rows = rows_by_name(board_for(fair.ada))
    assert rows["Erin Employee"].extra.trust_label == "Provider-reported"
    assert rows["Lee Report"].extra.trust_label == "Self-reported"
    assert rows["Lee Report"].extra.trust_short == "Self-reported"
    body = login(fair.erin).get(reverse("board"), {"period": "7d"}).content.decode()
    assert 'class="trust-level trust-self" title="Self-reported">Self-reported<' in body
    assert 'title="Provider-reported">Provider<' in body


def test_each_source_has_a_trust_level():
    from leaderboard.models import Source, Trust, trust_of

    assert trust_of(Source.CCUSAGE) is Trust.SELF_REPORTED
    assert trust_of(Source.CLAUDE_CODE_TELEMETRY) is Trust.TELEMETRY
    assert trust_of(Source.ANTHROPIC_USAGE_REPORT) is Trust.PROVIDER
    assert output.trust_label(["provider", "self"]) == "Provider-reported and self-reported"


# --- My usage -------------------------------------------------------------------------------------


def test_my_usage_shows_my_output_and_cost_per_pull_request_against_my_teams_median(fair, login):
    trend = output.output_trend(fair.erin.pk, fair.engineering.pk, week().period)
    # Engineering: Erin ($25 per pull request) and Maria (spend, no pull request): the median of the two.
    assert trend.cost_per_pr_display == "$25.00"
    assert trend.team_median_cost_per_pr == output.NO_OUTPUT
    # This week (the period's last 7 days is one week): Erin's 2 pull requests.
    assert trend.weeks[0][1:3] == ("2", "$25.00")
    body = login(fair.erin).get(reverse("me"), {"period": "7d"}).content.decode()
    assert "What it produced" in body and "Cost per pull request" in body and "team median" in body


def test_my_usage_says_output_is_unknown_without_an_output_source(fair, login):
    body = login(fair.otto).get(reverse("me"), {"period": "7d"}).content.decode()
    assert 'data-stat="output-unknown"' in body
    assert "Cost per pull request is unknown too, not zero." in body


def test_the_team_median_counts_only_people_with_an_output_source(fair):
    trend = output.output_trend(fair.sam.pk, fair.platform.pk, week().period)
    # Platform: Sam ($0.50) and Lee (no output source: left out, not zero).
    assert trend.team_median_cost_per_pr == Decimal("0.5")
    assert trend.team_tokens_per_line_display == "3.8"  # 1,500 tokens over 400 lines


def test_it_keeps_cursor_applies_and_tabs_and_copilot_chat_and_agent_use(cast, tmp_path):
    from tests.ingestion.test_cursor import DAILY_ROW
    from tests.ingestion.test_github import ndjson, user_day

    cursor_file = tmp_path / "cursor_daily.json"
    cursor_file.write_text(json.dumps({"data": [{**DAILY_ROW, "email": cast.lee.email}],
                                       "period": {"startDate": 1790812800000, "endDate": 1790899200000}}))
    copilot_file = tmp_path / "copilot.ndjson"
    copilot_file.write_text(ndjson(user_day(login="erin-gh", used_agent=False)))
    call_command("import_usage", str(cursor_file))
    call_command("import_usage", str(copilot_file))
    cursor_day = ActivityRecord.objects.get(source="cursor_daily")
    assert (cursor_day.lines_added, cursor_day.applies, cursor_day.tabs_accepted, cursor_day.requests) == (80, 9, 15, 15)
    copilot_day = ActivityRecord.objects.get(source="copilot_usage")
    assert (copilot_day.edits_accepted, copilot_day.lines_added, copilot_day.requests) == (19, 288, 37)
    assert (copilot_day.chat_days, copilot_day.agent_days) == (1, 0)
    # Lee's accepted lines in Cursor are his output.
    assert DailyOutput.objects.get(person=cast.lee).accepted_lines == 80
