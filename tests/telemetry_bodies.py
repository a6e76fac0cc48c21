"""OTLP request bodies as the three coding agents send them, built with opentelemetry-proto's own
message classes and shaped as leaderboard/telemetry/agents.py documents (names, attributes,
temporality, value encodings); ``as_json`` gives the OTLP/JSON form (integers for enums, int64 as
strings, hex ids), ``as_protobuf`` the binary one."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

DELTA, CUMULATIVE = m.AGGREGATION_TEMPORALITY_DELTA, m.AGGREGATION_TEMPORALITY_CUMULATIVE
MINUTE = 60 * 10**9


def now_ns() -> int:
    return time.time_ns()


def at(day_and_time: str) -> int:
    """Nanoseconds since the epoch of "2026-10-01T09:30:00" (UTC)."""
    return int(datetime.fromisoformat(day_and_time).replace(tzinfo=UTC).timestamp()) * 10**9


def attributes(values: dict) -> list[KeyValue]:
    found = []
    for key, value in values.items():
        if isinstance(value, bool):
            found.append(KeyValue(key=key, value=AnyValue(bool_value=value)))
        elif isinstance(value, int):
            found.append(KeyValue(key=key, value=AnyValue(int_value=value)))
        elif isinstance(value, float):
            found.append(KeyValue(key=key, value=AnyValue(double_value=value)))
        else:
            found.append(KeyValue(key=key, value=AnyValue(string_value=str(value))))
    return found


def as_protobuf(message) -> bytes:
    return message.SerializeToString()


def as_json(message) -> bytes:
    return json_format.MessageToJson(message, use_integers_for_enums=True).encode()


def _metrics(resource: dict, scope: str, metrics: list[m.Metric]) -> ExportMetricsServiceRequest:
    return ExportMetricsServiceRequest(resource_metrics=[m.ResourceMetrics(
        resource=Resource(attributes=attributes(resource)),
        scope_metrics=[m.ScopeMetrics(scope=InstrumentationScope(name=scope, version="1.0"), metrics=metrics)],
    )])


def _sum(name: str, points: list[tuple[dict, float | int]], *, start: int, end: int, temporality=DELTA,
         unit: str = "", double: bool = True) -> m.Metric:
    data_points = []
    for point_attributes, value in points:
        point = m.NumberDataPoint(attributes=attributes(point_attributes), start_time_unix_nano=start,
                                  time_unix_nano=end)
        if double:
            point.as_double = float(value)
        else:
            point.as_int = int(value)
        data_points.append(point)
    return m.Metric(name=name, unit=unit, sum=m.Sum(aggregation_temporality=temporality, is_monotonic=True,
                                                    data_points=data_points))


# --- Claude Code --------------------------------------------------------------------------------

CLAUDE_RESOURCE = {"service.name": "claude-code", "service.version": "2.1.220", "os.type": "darwin"}


def claude_code_metrics(*, email: str | None = "erin@example.com", model: str = "claude-sonnet-4-5",
                        tokens: dict | None = None, cost: float | None = 0.25, start: int, end: int,
                        sessions: int = 0, lines: tuple[int, int] = (0, 0), commits: int = 0, pull_requests: int = 0,
                        account_id: str | None = "user_01HZX4QK8MZP2Y7R3B5T9WQJ6A", user_id: str = "a1b2c3",
                        temporality=DELTA) -> ExportMetricsServiceRequest:
    """One export interval of Claude Code's meter (delta, doubles, the standard attributes on each point)."""
    standard = {"session.id": "0f6c2d9a-7b1e-4c55-8d0a-2e9f41b7c3aa", "organization.id": "5b0d8f2e", "user.id": user_id,
                "terminal.type": "vscode"}
    if email:
        standard["user.email"] = email
    if account_id:
        standard["user.account_id"] = account_id
    per_model = {**standard, "model": model, "query_source": "main"}
    tokens = {"input": 1200, "output": 800, "cacheRead": 90000, "cacheCreation": 1800} if tokens is None else tokens
    metrics = [_sum("claude_code.token.usage", [({**per_model, "type": kind}, n) for kind, n in tokens.items()],
                    start=start, end=end, temporality=temporality, unit="tokens")]
    if cost is not None:
        metrics.append(_sum("claude_code.cost.usage", [(per_model, cost)], start=start, end=end,
                            temporality=temporality, unit="USD"))
    if sessions:
        metrics.append(_sum("claude_code.session.count", [({**standard, "start_type": "fresh"}, sessions)],
                            start=start, end=end, temporality=temporality))
    if any(lines):
        metrics.append(_sum("claude_code.lines_of_code.count",
                            [({**standard, "type": "added"}, lines[0]), ({**standard, "type": "removed"}, lines[1])],
                            start=start, end=end, temporality=temporality))
    for name, count in (("claude_code.commit.count", commits), ("claude_code.pull_request.count", pull_requests)):
        if count:
            metrics.append(_sum(name, [(standard, count)], start=start, end=end, temporality=temporality))
    # Metrics nothing here counts come along too, as they do from a real exporter.
    metrics.append(_sum("claude_code.active_time.total", [({**standard, "type": "cli"}, 42.5)], start=start, end=end,
                        temporality=temporality, unit="s"))
    return _metrics(CLAUDE_RESOURCE, "com.anthropic.claude_code", metrics)


def claude_code_events(*, email: str = "erin@example.com", model: str = "claude-sonnet-4-5", times: list[int],
                       ) -> ExportLogsServiceRequest:
    """``claude_code.api_request`` events, one per time."""
    records = [LogRecord(
        time_unix_nano=moment, observed_time_unix_nano=moment, body=AnyValue(string_value="claude_code.api_request"),
        attributes=attributes({"event.name": "api_request", "event.sequence": index, "user.email": email,
                               "session.id": "0f6c2d9a", "model": model, "input_tokens": 12, "output_tokens": 913,
                               "cache_read_tokens": 96520, "cost_usd": 0.1355, "duration_ms": 18211}),
    ) for index, moment in enumerate(times)]
    return ExportLogsServiceRequest(resource_logs=[ResourceLogs(
        resource=Resource(attributes=attributes(CLAUDE_RESOURCE)),
        scope_logs=[ScopeLogs(scope=InstrumentationScope(name="com.anthropic.claude_code.events"), log_records=records)],
    )])


# --- Codex CLI ----------------------------------------------------------------------------------

CODEX_RESOURCE = {"service.name": "codex_cli_rs", "service.version": "0.77.0", "env": "prod"}


def codex_events(*, email: str | None = "lee@example.com", model: str = "gpt-5-codex", time_ns: int,
                 responses: list[tuple[int, int, int]] = ((20000, 15000, 900),), conversation: str = "c0ffee",
                 ) -> ExportLogsServiceRequest:
    """A conversation start and a ``codex.sse_event`` response.completed per (input, cached, output)."""
    common = {"conversation.id": conversation, "app.version": "0.77.0", "auth_mode": "chatgpt",
              "user.account_id": "workspace-shared-account", "terminal.type": "iTerm.app", "model": model,
              "slug": model, "originator": "codex_cli_rs"}
    if email:
        common["user.email"] = email
    records = [LogRecord(time_unix_nano=time_ns, attributes=attributes({
        **common, "event.name": "codex.conversation_starts", "provider_name": "OpenAI"}))]
    for index, (input_count, cached, output) in enumerate(responses):
        records.append(LogRecord(
            time_unix_nano=time_ns + (index + 1) * 10**9, trace_id=bytes.fromhex("5b8efff798038103d269b633813fc60c"),
            span_id=bytes.fromhex("eee19b7ec3c1b174"),
            attributes=attributes({**common, "event.name": "codex.sse_event", "event.kind": "response.completed",
                                   "event.timestamp": "2026-10-01T09:30:00Z", "input_token_count": str(input_count),
                                   "output_token_count": str(output), "cached_token_count": cached,
                                   "reasoning_token_count": 120, "tool_token_count": 0}),
        ))
    return ExportLogsServiceRequest(resource_logs=[ResourceLogs(
        resource=Resource(attributes=attributes(CODEX_RESOURCE)),
        scope_logs=[ScopeLogs(scope=InstrumentationScope(name="codex_otel"), log_records=records)],
    )])


def codex_metrics(*, model: str = "gpt-5-codex", start: int, end: int, tokens: dict, resource_email: str | None = None,
                  ) -> ExportMetricsServiceRequest:
    """``codex.turn.token_usage``: a histogram per token type, tagged with the model but no person."""
    resource = {**CODEX_RESOURCE, **({"user.email": resource_email} if resource_email else {})}
    points = [m.HistogramDataPoint(
        attributes=attributes({"token_type": kind, "tmp_mem_enabled": "false", "model": model, "auth_mode": "chatgpt",
                               "originator": "codex_cli_rs", "session_source": "cli", "app.version": "0.77.0"}),
        start_time_unix_nano=start, time_unix_nano=end, count=1, sum=float(count), bucket_counts=[0, 1],
        explicit_bounds=[1000.0],
    ) for kind, count in tokens.items()]
    metric = m.Metric(name="codex.turn.token_usage",
                      histogram=m.Histogram(aggregation_temporality=DELTA, data_points=points))
    return _metrics(resource, "codex_otel", [metric])


# --- Gemini CLI ---------------------------------------------------------------------------------

GEMINI_RESOURCE = {"service.name": "gemini-cli", "service.version": "v22.12.0", "session.id": "9d3e"}


def gemini_metrics(*, email: str | None = "sam@example.com", model: str = "gemini-2.5-pro", start: int, end: int,
                   tokens: dict, sessions: int = 0, lines: tuple[int, int] = (0, 0), requests: int = 0,
                   installation: str = "inst-77", temporality=CUMULATIVE) -> ExportMetricsServiceRequest:
    """Gemini CLI's counters (ints, cumulative by default): the values are totals since ``start``."""
    common = {"session.id": "9d3e", "installation.id": installation, "active_approval_mode": "default"}
    if email:
        common["user.email"] = email
    metrics = [_sum("gemini_cli.token.usage", [({**common, "model": model, "type": kind}, n) for kind, n in tokens.items()],
                    start=start, end=end, temporality=temporality, double=False)]
    if sessions:
        metrics.append(_sum("gemini_cli.session.count", [(common, sessions)], start=start, end=end,
                            temporality=temporality, double=False))
    if any(lines):
        metrics.append(_sum("gemini_cli.lines.changed", [({**common, "function_name": "replace", "type": "added"}, lines[0]),
                                                         ({**common, "function_name": "replace", "type": "removed"}, lines[1])],
                            start=start, end=end, temporality=temporality, double=False))
    if requests:
        metrics.append(_sum("gemini_cli.api.request.count", [({**common, "model": model, "status_code": 200}, requests)],
                            start=start, end=end, temporality=temporality, double=False))
    return _metrics(GEMINI_RESOURCE, "gemini-cli", metrics)
