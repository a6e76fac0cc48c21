"""The OTLP/HTTP receiver (leaderboard/views/telemetry.py): real bodies from the three agents, in
protobuf and JSON, end to end through the fold task to today's board; and every refusal the OTLP
specification asks for, each of which changes nothing."""

from __future__ import annotations

import csv
import gzip
import io
import json

import pytest
from django.contrib.sessions.models import Session
from django.db import OperationalError
from django.test import Client
from django.urls import reverse
from google.rpc import status_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse

from leaderboard import imports, tasks
from leaderboard.models import PersonDay, TelemetryPoint, UsageExport, UsageRecord
from leaderboard.telemetry import receiving, tokens
from tests import telemetry_bodies as bodies

PROTOBUF, JSON = "application/x-protobuf", "application/json"
ENCODE = {PROTOBUF: bodies.as_protobuf, JSON: bodies.as_json}


@pytest.fixture
def token(cast):
    return tokens.create_token(name="Engineering laptops", by=cast.ada)[1]


@pytest.fixture(autouse=True)
def fresh_backlog_check():
    receiving._backlog.update(checked=0.0, behind=False)


def post(path: str, body: bytes, *, token: str | None, content_type: str = PROTOBUF, gzipped: bool = False,
         client: Client | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if gzipped:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    return (client or Client()).post(path, data=body, content_type=content_type, headers=headers)


METRICS, LOGS = "/otlp/v1/metrics", "/otlp/v1/logs"


def fold() -> None:
    tasks.fold_telemetry()


def todays_board(client, viewer) -> dict[str, dict]:
    client.force_login(viewer)
    response = client.get(reverse("board_csv"), {"period": "today"})
    return {row["email"]: row for row in csv.DictReader(io.StringIO(response.content.decode()))}


def nothing_stored() -> bool:
    return not UsageExport.objects.exists() and not TelemetryPoint.objects.exists() and not UsageRecord.objects.exists()


@pytest.mark.parametrize("content_type", [PROTOBUF, JSON])
def test_it_shows_claude_code_metrics_on_todays_board(cast, token, client, content_type, sent_tasks,
                                                      django_capture_on_commit_callbacks):
    end = bodies.now_ns()
    body = ENCODE[content_type](bodies.claude_code_metrics(start=end - bodies.MINUTE, end=end, sessions=1,
                                                           lines=(120, 30), commits=2, pull_requests=1))
    with django_capture_on_commit_callbacks(execute=True):
        response = post(METRICS, body, token=token, content_type=content_type)
    assert response.status_code == 200 and response["Content-Type"] == content_type
    assert [name for name, *_ in sent_tasks] == ["leaderboard.tasks.fold_telemetry"]
    fold()
    row = todays_board(client, cast.erin)["erin@example.com"]
    assert int(row["total_tokens"]) == 1200 + 800 + 90000 + 1800
    assert (row["input_tokens"], row["cache_read_tokens"], row["cache_write_tokens"]) == ("1200", "90000", "1800")
    assert row["cost_usd"] == "0.25"  # Claude Code's own figure
    day = PersonDay.objects.get(person=cast.erin)
    assert day.day == bodies.datetime.now(bodies.UTC).date() and day.active


@pytest.mark.parametrize("content_type", [PROTOBUF, JSON])
def test_it_shows_codex_events_on_todays_board(cast, token, client, content_type):
    body = ENCODE[content_type](bodies.codex_events(time_ns=bodies.now_ns() - 5 * 10**9,
                                                     responses=[(20000, 15000, 900), (3000, 0, 100)]))
    assert post(LOGS, body, token=token, content_type=content_type).status_code == 200
    fold()
    row = todays_board(client, cast.lee)["lee@example.com"]
    # OpenAI's input counts the cached tokens: the uncached input is what is left.
    assert (row["input_tokens"], row["cache_read_tokens"], row["output_tokens"]) == ("8000", "15000", "1000")
    assert row["requests"] == "2"


@pytest.mark.parametrize("content_type", [PROTOBUF, JSON])
def test_it_shows_gemini_cli_metrics_on_todays_board(cast, token, client, content_type):
    end = bodies.now_ns()
    body = ENCODE[content_type](bodies.gemini_metrics(start=end - 10 * bodies.MINUTE, end=end, requests=3,
                                                      tokens={"input": 5000, "cache": 2000, "output": 700,
                                                              "thought": 300, "tool": 50}))
    assert post(METRICS, body, token=token, content_type=content_type, gzipped=True).status_code == 200
    fold()
    row = todays_board(client, cast.sam)["sam@example.com"]
    assert (row["input_tokens"], row["cache_read_tokens"], row["output_tokens"]) == ("3050", "2000", "1000")
    assert row["requests"] == "3" and row["cost_usd"] != "0.00"  # estimated from the price list


def test_it_counts_the_same_batch_sent_twice_once(cast, token):
    end = bodies.now_ns()
    message = bodies.claude_code_metrics(start=end - bodies.MINUTE, end=end)
    for _ in range(2):
        assert post(METRICS, bodies.as_protobuf(message), token=token).status_code == 200
    # ...and as JSON, as another exporter (or a collector) might send the same points again.
    assert post(METRICS, bodies.as_json(message), token=token, content_type=JSON).status_code == 200
    assert UsageExport.objects.count() == 2  # the same bytes are one export
    fold()
    fold()
    assert PersonDay.objects.get(person=cast.erin).total_tokens == 93800


def test_it_reports_refused_points_as_a_partial_success(cast, token):
    end = bodies.now_ns()
    good = bodies.claude_code_metrics(start=end - bodies.MINUTE, end=end)
    late_by_a_week = 7 * 24 * 60 * bodies.MINUTE
    future = bodies.claude_code_metrics(start=end + late_by_a_week, end=end + late_by_a_week, cost=None)
    good.resource_metrics.extend(future.resource_metrics)
    response = post(METRICS, bodies.as_protobuf(good), token=token)
    answer = ExportMetricsServiceResponse.FromString(response.content)
    assert response.status_code == 200 and answer.partial_success.rejected_data_points == 4
    assert "in the future" in answer.partial_success.error_message
    fold()
    assert PersonDay.objects.get(person=cast.erin).total_tokens == 93800


def test_it_answers_logs_in_the_encoding_they_came_in(cast, token):
    response = post(LOGS, bodies.as_json(bodies.claude_code_events(times=[bodies.now_ns()])), token=token,
                    content_type=JSON)
    assert response.status_code == 200 and json.loads(response.content) == {}
    response = post(LOGS, bodies.as_protobuf(bodies.claude_code_events(times=[bodies.now_ns() - 10**9])), token=token)
    assert ExportLogsServiceResponse.FromString(response.content) == ExportLogsServiceResponse()
    fold()
    assert UsageRecord.objects.get().requests == 2


# --- Refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "Bearer tbi_not-a-real-token", "Basic dXNlcjpwYXNz", "tbi_"])
def test_it_refuses_a_missing_or_bad_token_with_401_and_changes_nothing(cast, token, header):
    end = bodies.now_ns()
    body = bodies.as_protobuf(bodies.claude_code_metrics(start=end - bodies.MINUTE, end=end))
    headers = {"Authorization": header} if header else {}
    response = Client().post(METRICS, data=body, content_type=PROTOBUF, headers=headers)
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")
    assert status_pb2.Status.FromString(response.content).code == 16
    assert nothing_stored()


def test_a_revoked_token_is_refused(cast, token):
    end = bodies.now_ns()
    body = bodies.as_protobuf(bodies.claude_code_metrics(start=end - bodies.MINUTE, end=end))
    assert post(METRICS, body, token=token).status_code == 200
    tokens.revoke_token(token=tokens.authenticate(f"Bearer {token}"), by=cast.ada)
    other = bodies.as_protobuf(bodies.claude_code_metrics(start=end, end=end + 1))
    assert post(METRICS, other, token=token).status_code == 401
    assert UsageExport.objects.count() == 1


@pytest.mark.parametrize("body, content_type, gzipped", [
    (b"\xff\xff\xff\xff not protobuf", PROTOBUF, False),
    (b'{"resourceMetrics": [{"scopeMetrics": "not a list"}]}', JSON, False),
    (b"[1, 2, 3]", JSON, False),
    (b"{not json", JSON, False),
    (b"\x1f\x8b\x08\x00 broken gzip", PROTOBUF, None),
])
def test_it_refuses_a_malformed_body_with_400_and_changes_nothing(cast, token, body, content_type, gzipped):
    headers = {"Authorization": f"Bearer {token}"}
    if gzipped is None:
        headers["Content-Encoding"] = "gzip"
    response = Client().post(METRICS, data=body, content_type=content_type, headers=headers)
    assert response.status_code == 400 and response["Content-Type"] == content_type
    assert nothing_stored()


def test_it_refuses_an_oversize_body_with_413_and_changes_nothing(cast, token, settings):
    settings.TELEMETRY_MAX_BYTES = 2000
    end = bodies.now_ns()
    big = bodies.claude_code_metrics(start=end - bodies.MINUTE, end=end, model="m" * 150,
                                     tokens={f"type{n}": n for n in range(40)})
    assert post(METRICS, bodies.as_protobuf(big), token=token).status_code == 413
    # Small on the wire, large once inflated: refused all the same, without inflating it all.
    bomb = gzip.compress(b"\x0a" + b"\x00" * 10_000_000)
    response = Client().post(METRICS, data=bomb, content_type=PROTOBUF,
                             headers={"Authorization": f"Bearer {token}", "Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert nothing_stored()


def test_it_refuses_other_content_types_and_methods(cast, token):
    assert post(METRICS, b"hello", token=token, content_type="text/plain").status_code == 415
    assert Client().get(METRICS, headers={"Authorization": f"Bearer {token}"}).status_code == 405
    assert nothing_stored()


def test_it_asks_exporters_to_wait_when_the_fold_is_behind(cast, token, settings):
    settings.TELEMETRY_MAX_BACKLOG = 0
    end = bodies.now_ns()
    first = bodies.as_protobuf(bodies.claude_code_metrics(start=end - bodies.MINUTE, end=end))
    assert post(METRICS, first, token=token).status_code == 200  # nothing was waiting yet
    receiving._backlog.update(checked=0.0)
    response = post(METRICS, bodies.as_protobuf(bodies.claude_code_metrics(start=end, end=end + 1)), token=token)
    assert response.status_code == 429 and response["Retry-After"] == str(settings.TELEMETRY_RETRY_AFTER)
    assert UsageExport.objects.count() == 1


def test_it_asks_exporters_to_send_again_when_the_batch_cannot_be_kept(cast, token, monkeypatch):
    def database_down(**kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(imports, "store_export", database_down)
    end = bodies.now_ns()
    response = post(METRICS, bodies.as_json(bodies.claude_code_metrics(start=end - 1, end=end)), token=token,
                    content_type=JSON)
    assert response.status_code == 503 and response["Retry-After"]
    assert json.loads(response.content)["code"] == 14


def test_it_asks_exporters_to_send_again_when_tokens_cannot_be_checked(cast, token, monkeypatch):
    def database_down(authorization):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(tokens, "authenticate", database_down)
    response = post(METRICS, b"", token=token)
    assert response.status_code == 503 and response["Retry-After"]


def test_it_needs_no_session_nor_csrf_token(cast, token):
    client = Client(enforce_csrf_checks=True)
    end = bodies.now_ns()
    response = post(METRICS, bodies.as_protobuf(bodies.claude_code_metrics(start=end - 1, end=end)), token=token,
                    client=client)
    assert response.status_code == 200
    assert "sessionid" not in response.cookies and "csrftoken" not in response.cookies
    assert not Session.objects.exists()
