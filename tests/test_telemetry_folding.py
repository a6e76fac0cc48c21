"""Folding telemetry batches into usage (leaderboard/telemetry/folding.py): cumulative series turned
into increments (resets included), late points, retried batches, precedence against the other
sources, who the usage belongs to, and activity."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.core.files.base import ContentFile

from accounts.models import ProviderIdentity
from leaderboard import identities, imports
from leaderboard.models import (
    ActivityRecord,
    DailyUsage,
    PersonDay,
    Source,
    TelemetryPoint,
    UsageExport,
    UsageRecord,
)
from leaderboard.telemetry import folding, otlp, receiving, tokens
from tests import telemetry_bodies as bodies

DAY = "2026-11-02"
T = bodies.at(f"{DAY}T09:00:00")
MIN = bodies.MINUTE


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    receiving._backlog.update(checked=0.0, behind=False)


@pytest.fixture
def token(cast):
    return tokens.create_token(name="laptops", by=None)[0]


def send(token, message, *, signal=otlp.METRICS, encoding=otlp.PROTOBUF) -> int:
    """What the receiver does with a request; returns the HTTP status it would answer."""
    body = bodies.as_protobuf(message) if encoding == otlp.PROTOBUF else bodies.as_json(message)
    return receiving.receive(signal=signal, token=token, body=body, content_type=encoding, content_encoding="").answer.status


def fold():
    return folding.fold_all(seconds=60)


def tokens_of(person, day=DAY) -> int:
    found = PersonDay.objects.filter(person=person, day=day).first()
    return found.total_tokens if found else 0


def gemini(token, *, start, end, output, email="sam@example.com"):
    assert send(token, bodies.gemini_metrics(start=start, end=end, tokens={"output": output}, email=email)) == 200


# --- Cumulative series ------------------------------------------------------------------------------


def test_it_turns_a_cumulative_counter_into_increments(cast, token):
    for minute, total in ((1, 100), (2, 250), (3, 250), (4, 400)):
        gemini(token, start=T, end=T + minute * MIN, output=total)
        fold()
    assert tokens_of(cast.sam) == 400
    # An unchanged reading adds nothing, and needs no row of its own.
    assert sorted(TelemetryPoint.objects.values_list("value", flat=True)) == [100, 150, 150]


def test_it_counts_a_counter_that_resets_right(cast, token):
    # The CLI restarted without saying so (same start time): 300 before, then counting again from 0.
    for minute, total in ((1, 100), (2, 300), (3, 40), (4, 90)):
        gemini(token, start=T, end=T + minute * MIN, output=total)
    fold()
    assert tokens_of(cast.sam) == 300 + 90
    # A restart that says so starts a new series (a new start time): it counts from its own start.
    gemini(token, start=T + 5 * MIN, end=T + 6 * MIN, output=25)
    fold()
    assert tokens_of(cast.sam) == 300 + 90 + 25


def test_it_accepts_a_late_reading_between_two_it_has(cast, token):
    gemini(token, start=T, end=T + 1 * MIN, output=100)
    gemini(token, start=T, end=T + 3 * MIN, output=300)
    fold()
    gemini(token, start=T, end=T + 2 * MIN, output=180)  # arrives last, belongs in the middle
    fold()
    assert tokens_of(cast.sam) == 300
    assert sorted(TelemetryPoint.objects.values_list("value", flat=True)) == [80, 100, 120]


def test_a_late_reading_across_midnight_moves_usage_to_its_own_day(cast, token):
    midnight = bodies.at("2026-11-03T00:00:00")
    gemini(token, start=midnight - 10 * MIN, end=midnight - 5 * MIN, output=100)
    gemini(token, start=midnight - 10 * MIN, end=midnight + 5 * MIN, output=500)
    fold()
    gemini(token, start=midnight - 10 * MIN, end=midnight - 1 * MIN, output=350)  # late, before midnight
    fold()
    assert (tokens_of(cast.sam, "2026-11-02"), tokens_of(cast.sam, "2026-11-03")) == (350, 150)


# --- Delta series and retries -----------------------------------------------------------------------


def test_it_counts_a_retried_batch_once_even_as_other_bytes(cast, token):
    first = bodies.claude_code_metrics(start=T, end=T + MIN)
    assert send(token, first) == 200
    fold()
    # The exporter retries the same points inside a larger batch, in JSON this time.
    second = bodies.claude_code_metrics(start=T + MIN, end=T + 2 * MIN, tokens={"output": 10}, cost=None)
    second.resource_metrics.extend(first.resource_metrics)
    assert send(token, second, encoding=otlp.JSON) == 200
    fold()
    assert tokens_of(cast.erin) == 93800 + 10
    assert UsageRecord.objects.get().cost_usd == pytest.approx(0.25)


def test_it_accepts_late_points_for_past_days(cast, token):
    assert send(token, bodies.claude_code_metrics(start=T, end=T + MIN)) == 200
    fold()
    earlier = bodies.at("2026-10-20T17:00:00")
    assert send(token, bodies.claude_code_metrics(start=earlier, end=earlier + MIN, tokens={"input": 7}, cost=None)) == 200
    fold()
    assert tokens_of(cast.erin, "2026-10-20") == 7 and tokens_of(cast.erin) == 93800


def test_a_batch_that_cannot_be_read_again_fails_alone(cast, token):
    assert send(token, bodies.claude_code_metrics(start=T, end=T + MIN)) == 200
    broken, _ = imports.store_export(content=ContentFile(b"\xff\xff garbage"), name="hand-made.pb",
                                     origin=UsageExport.Origin.TELEMETRY, requested_format="otlp_metrics")
    folded = fold()
    assert (folded.batches, folded.failed) == (1, 1)
    broken.refresh_from_db()
    assert broken.status == "failed" and "cannot be read again" in broken.failure
    assert tokens_of(cast.erin) == 93800
    assert UsageExport.objects.filter(status="succeeded").get().records_written == 5


# --- Precedence -------------------------------------------------------------------------------------


def analytics_page(email: str, day: str, output: int) -> bytes:
    record = {"date": day, "actor": {"type": "user_actor", "email_address": email}, "organization_id": "o",
              "customer_type": "api", "terminal_type": "vscode",
              "core_metrics": {"num_sessions": 1, "lines_of_code": {"added": 1, "removed": 0},
                               "commits_by_claude_code": 0, "pull_requests_by_claude_code": 0},
              "model_breakdown": [{"model": "claude-sonnet-4-5", "tokens": {"input": 0, "output": output,
                                   "cache_read": 0, "cache_creation": 0},
                                   "estimated_cost": {"currency": "USD", "amount": 100}}],
              "tool_actions": {}}
    return json.dumps({"data": [record], "has_more": False, "next_page": None}).encode()


def ccusage_file(day: str, output: int) -> bytes:
    cost = output * 15 / 1_000_000  # the list price of Sonnet 4.5's output: the self-report checks accept it
    entry = {"date": day, "inputTokens": 0, "outputTokens": output, "cacheCreationTokens": 0, "cacheReadTokens": 0,
             "totalTokens": output, "totalCost": cost, "modelsUsed": ["claude-sonnet-4-5"], "modelBreakdowns": [
                 {"modelName": "claude-sonnet-4-5", "inputTokens": 0, "outputTokens": output,
                  "cacheCreationTokens": 0, "cacheReadTokens": 0, "cost": cost}]}
    return json.dumps({"daily": [entry], "totals": {}}).encode()


def import_bytes(content: bytes, name: str, **fields) -> None:
    export, _ = imports.store_export(content=ContentFile(content), name=name, origin=UsageExport.Origin.UPLOAD, **fields)
    assert imports.process_export(export.pk).export.status == "succeeded", export.failure


def test_telemetry_counts_over_ccusage_and_under_claude_code_analytics(cast, token):
    import_bytes(ccusage_file(DAY, 5), "ccusage.json", attributed_to=cast.erin, requested_format="ccusage")
    assert tokens_of(cast.erin) == 5
    assert send(token, bodies.claude_code_metrics(start=T, end=T + MIN)) == 200
    fold()
    assert tokens_of(cast.erin) == 93800
    assert DailyUsage.objects.get(person=cast.erin).source == Source.CLAUDE_CODE_TELEMETRY
    import_bytes(analytics_page("erin@example.com", DAY, 40), "analytics.json")
    assert tokens_of(cast.erin) == 40  # a day the analytics cover counts the analytics
    # The telemetry still shows as activity on the person's page.
    assert ActivityRecord.objects.filter(source=Source.CLAUDE_CODE_TELEMETRY).exists()


def test_codex_events_count_over_its_turn_metrics(cast, token):
    turn = {"input": 1000, "cached_input": 400, "output": 50, "reasoning_output": 20, "total": 1050}
    assert send(token, bodies.codex_metrics(start=T, end=T + MIN, tokens=turn, resource_email="lee@example.com")) == 200
    fold()
    assert tokens_of(cast.lee) == 600 + 400 + 50
    assert send(token, bodies.codex_events(time_ns=T + 2 * MIN, responses=[(1000, 400, 50)]), signal=otlp.LOGS) == 200
    fold()
    assert DailyUsage.objects.get(person=cast.lee).source == Source.CODEX_TELEMETRY
    assert tokens_of(cast.lee) == 1050


# --- People -----------------------------------------------------------------------------------------


def test_it_finds_people_by_account_id_through_the_identity_lists(cast, token):
    account = "user_01JLEE"
    assert send(token, bodies.claude_code_metrics(start=T, end=T + MIN, email=None, account_id=account)) == 200
    fold()
    identity = ProviderIdentity.objects.get(kind="account_id", value=account)
    assert identity.person is None and tokens_of(cast.lee) == 0
    users = {"data": [{"type": "user", "id": account, "email": "lee@example.com", "name": "Lee"}], "has_more": False}
    import_bytes(json.dumps(users).encode(), "users.json")
    assert tokens_of(cast.lee) == 93800


def test_it_keeps_usage_from_an_unknown_sender_for_an_admin_to_map(cast, token):
    assert send(token, bodies.claude_code_metrics(start=T, end=T + MIN, email=None, account_id=None, user_id="f00d")) == 200
    assert send(token, bodies.codex_events(time_ns=T, email=None), signal=otlp.LOGS) == 200
    fold()
    install = ProviderIdentity.objects.get(vendor="anthropic", kind="user_id")
    nobody = ProviderIdentity.objects.get(vendor="openai", kind="unattributed")
    assert install.value == "Claude Code install f00d" and install.person is None and nobody.person is None
    assert not PersonDay.objects.exists()
    moved = identities.assign_identity(identity=install, person=cast.otto, by=cast.ada)
    assert moved == {cast.otto.pk} and tokens_of(cast.otto) == 93800


def test_it_never_takes_a_shared_codex_workspace_account_for_a_person(cast, token):
    assert send(token, bodies.codex_events(time_ns=T, email=None), signal=otlp.LOGS) == 200
    fold()
    assert not ProviderIdentity.objects.filter(value="workspace-shared-account").exists()


# --- Activity ---------------------------------------------------------------------------------------


def test_sessions_lines_commits_and_pull_requests_feed_activity(cast, token):
    message = bodies.claude_code_metrics(start=T, end=T + MIN, sessions=2, lines=(120, 30), commits=3, pull_requests=1)
    assert send(token, message) == 200
    assert send(token, bodies.gemini_metrics(start=T, end=T + MIN, tokens={"output": 5}, sessions=1, lines=(9, 4)),
                ) == 200
    assert send(token, bodies.codex_events(time_ns=T), signal=otlp.LOGS) == 200
    fold()
    claude = ActivityRecord.objects.get(source=Source.CLAUDE_CODE_TELEMETRY)
    assert (claude.sessions, claude.lines_added, claude.lines_removed, claude.commits, claude.pull_requests) == (
        2, 120, 30, 3, 1)
    gemini_day = ActivityRecord.objects.get(source=Source.GEMINI_CLI_TELEMETRY)
    assert (gemini_day.sessions, gemini_day.lines_added, gemini_day.lines_removed) == (1, 9, 4)
    assert ActivityRecord.objects.get(source=Source.CODEX_TELEMETRY).sessions == 1
    assert PersonDay.objects.get(person=cast.erin, day=date(2026, 11, 2)).active
