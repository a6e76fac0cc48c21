"""An OTLP request message into typed readings: for each data point or event we count, what it
measures, for whom, over which interval, on which UTC day. Nothing past here sees protobuf.

The receiver reads a batch to answer with the right counts (and refuse what is malformed); the fold
reads the stored batch again, the same way, to write it. Points of metrics no agent here defines
are ignored, not refused: an exporter sends all of its metrics, and most say nothing about usage.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from ..ingestion import fields
from ..ingestion.rows import IdentityKey
from . import agents
from .otlp import LOGS

EARLIEST_NS = int(datetime(2020, 1, 1, tzinfo=UTC).timestamp()) * 10**9
# A clock a little ahead is a laptop's; much further is a broken point.
FUTURE_SLACK_NS = 10 * 60 * 10**9
DELTA, CUMULATIVE = 1, 2
MAX_PROBLEMS = 5


@dataclass(slots=True)
class Reading:
    """One increment (or, for a cumulative series, one raw reading) of one measure."""

    series: str
    start_ns: int
    end_ns: int
    cumulative: bool
    identity: IdentityKey
    vendor: str
    source: str
    model: str
    kind: str
    value: int
    day: date


@dataclass
class Read:
    readings: list[Reading] = field(default_factory=list)
    counted: int = 0  # points or records that gave readings
    ignored: int = 0  # points or records of nothing we count
    rejected: int = 0  # points or records of something we count, but unusable
    problems: list[str] = field(default_factory=list)

    def refuse(self, what: str, why: str) -> None:
        self.rejected += 1
        problem = f"{what}: {why}"
        if len(self.problems) < MAX_PROBLEMS and problem not in self.problems:
            self.problems.append(problem)

    @property
    def message(self) -> str:
        more = self.rejected - len(self.problems)
        return "; ".join(self.problems) + (f" (and {more} more)" if more > 0 else "")


def read(message, signal: str, *, now_ns: int) -> Read:
    """The readings of a decoded request (``otlp.decode``); never raises for a point's content."""
    result = Read()
    if signal == LOGS:
        _read_logs(message, result, now_ns)
    else:
        _read_metrics(message, result, now_ns)
    return result


def _value(any_value):
    which = any_value.WhichOneof("value")
    if which in ("string_value", "int_value", "double_value", "bool_value"):
        return getattr(any_value, which)
    return None  # arrays, maps and bytes name nobody and measure nothing here


def _attributes(key_values: Iterable) -> dict:
    return {kv.key: _value(kv.value) for kv in key_values}


def _fingerprint(key_values: Iterable) -> bytes:
    # Deterministic bytes, so a batch sent as JSON and as protobuf gives the same series.
    return b"\x1e".join(kv.SerializeToString(deterministic=True) for kv in sorted(key_values, key=lambda kv: kv.key))


def _hash(*parts: bytes) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        digest.update(part)
        digest.update(b"\x1f")
    return digest.hexdigest()


def _day(end_ns: int, now_ns: int) -> date:
    return datetime.fromtimestamp(min(end_ns, now_ns) / 1e9, UTC).date()


def _check_time(end_ns: int, now_ns: int) -> str | None:
    if end_ns < EARLIEST_NS:
        return "has no time, or a time before 2020" if end_ns else "has no time"
    if end_ns > now_ns + FUTURE_SLACK_NS:
        return f"is timed {(end_ns - now_ns) / 3.6e12:.1f} hours in the future"
    return None


# --- Metrics ------------------------------------------------------------------------------------


def _points(metric):
    """(data points, temporality, value of a point) for the kinds of metric that add up."""
    which = metric.WhichOneof("data")
    if which == "sum":
        return metric.sum.data_points, metric.sum.aggregation_temporality, _number
    if which in ("histogram", "exponential_histogram"):
        data = getattr(metric, which)
        return data.data_points, data.aggregation_temporality, _histogram_sum
    return (), 0, None  # gauges and summaries are not amounts


def _number(point):
    which = point.WhichOneof("value")
    return getattr(point, which) if which else None


def _histogram_sum(point):
    return point.sum if point.HasField("sum") else None


def _read_metrics(message, result: Read, now_ns: int) -> None:
    for resource_metrics in message.resource_metrics:
        resource = _attributes(resource_metrics.resource.attributes)
        resource_print = _fingerprint(resource_metrics.resource.attributes)
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                points, temporality, value_of = _points(metric)
                agent = agents.agent_of_metric(metric.name)
                if agent is None or value_of is None:
                    result.ignored += len(points)
                    continue
                name_bytes = metric.name.encode()
                for point in points:
                    attributes = {**resource, **_attributes(point.attributes)}
                    kind = agents.metric_kind(agent, metric.name, attributes)
                    if kind is None:
                        result.ignored += 1
                        continue
                    problem = _read_point(result, agent, metric.name, kind, point, attributes, temporality,
                                          value_of(point), now_ns, name_bytes, resource_print)
                    if problem:
                        result.refuse(metric.name, problem)
                    else:
                        result.counted += 1


def _read_point(result: Read, agent, name: str, kind: str, point, attributes: Mapping, temporality: int, value,
                now_ns: int, name_bytes: bytes, resource_print: bytes) -> str | None:
    """Append the point's reading; or say what is wrong with it."""
    if temporality not in (DELTA, CUMULATIVE):
        return "has no aggregation temporality (delta or cumulative)"
    if value is None or isinstance(value, bool) or not math.isfinite(value) or value < 0:
        return f"has no usable value ({value!r})"
    end_ns, start_ns = point.time_unix_nano, point.start_time_unix_nano
    problem = _check_time(end_ns, now_ns)
    if problem:
        return problem
    scaled = round(value * agents.MICRO) if kind == agents.COST else round(value)
    if scaled > fields.MAX_COUNT * agents.MICRO:
        return f"has a value past what a row can hold ({value!r})"
    cumulative = temporality == CUMULATIVE
    try:
        model = fields.text(attributes.get("model"), "model")
        who = agents.identity(agent, attributes)
    except fields.FieldError as error:
        return f"{error.field} {error.message}"
    series = _hash(name_bytes, resource_print, _fingerprint(point.attributes), str(start_ns).encode() if cumulative else b"")
    source = agent.metrics_source
    result.readings.append(Reading(series, start_ns, end_ns, cumulative, who, agent.vendor, source, model, kind,
                                   scaled, _day(end_ns, now_ns)))
    return None


# --- Events -------------------------------------------------------------------------------------


def _read_logs(message, result: Read, now_ns: int) -> None:
    for resource_logs in message.resource_logs:
        resource = _attributes(resource_logs.resource.attributes)
        resource_print = _fingerprint(resource_logs.resource.attributes)
        for scope_logs in resource_logs.scope_logs:
            scope = scope_logs.scope.name
            for record in scope_logs.log_records:
                attributes = {**resource, **_attributes(record.attributes)}
                body = record.body.string_value if record.body.WhichOneof("value") == "string_value" else ""
                agent = agents.agent_of_event(attributes, body, scope)
                try:
                    measures = agents.event_measures(agent, attributes, body) if agent else []
                except fields.FieldError as error:
                    result.refuse(attributes.get("event.name") or "event", f"{error.field} {error.message}")
                    continue
                if not measures:
                    result.ignored += 1
                    continue
                problem = _read_event(result, agent, record, attributes, measures, now_ns, resource_print)
                if problem:
                    result.refuse(attributes.get("event.name") or body or "event", problem)
                else:
                    result.counted += 1


def _read_event(result: Read, agent, record, attributes: Mapping, measures: list[tuple[str, int]], now_ns: int,
                resource_print: bytes) -> str | None:
    end_ns = record.time_unix_nano or record.observed_time_unix_nano
    problem = _check_time(end_ns, now_ns)
    if problem:
        return problem
    try:
        model = fields.text(attributes.get("model"), "model")
        who = agents.identity(agent, attributes)
    except fields.FieldError as error:
        return f"{error.field} {error.message}"
    # The event is its own series: the same record sent again is the same series at the same time.
    event = _hash(resource_print, record.SerializeToString(deterministic=True))
    day = _day(end_ns, now_ns)
    for kind, value in measures:
        if value:
            result.readings.append(Reading(_hash(event.encode(), kind.encode()), 0, end_ns, False, who, agent.vendor,
                                           agent.events_source, model, kind, value, day))
    return None
