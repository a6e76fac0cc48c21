"""OTLP/HTTP on the wire: request bodies (protobuf or JSON, maybe gzipped) into messages, and the
answers the specification asks for (an Export*ServiceResponse with partial-success counts, or a
google.rpc.Status saying what was wrong), in the encoding the exporter used.

The protobuf classes are opentelemetry-proto's; OTLP/JSON is protobuf's JSON mapping with two
differences that matter here: trace and span ids are hex, not base64, and field names may come in
either case (which protobuf's parser accepts anyway).
"""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import dataclass

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from google.rpc import status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
METRICS, LOGS = "metrics", "logs"
REQUESTS = {METRICS: metrics_service_pb2.ExportMetricsServiceRequest, LOGS: logs_service_pb2.ExportLogsServiceRequest}

# google.rpc.Code values the Status bodies carry.
INVALID_ARGUMENT, UNAUTHENTICATED, RESOURCE_EXHAUSTED, UNAVAILABLE = 3, 16, 8, 14


class Malformed(ValueError):
    """The body is not an OTLP request of this signal (the exporter must not send it again)."""


class TooLarge(ValueError):
    """The body, or what it inflates to, is over the size limit."""


def encoding_of(content_type: str) -> str | None:
    """PROTOBUF, JSON, or None for a content type OTLP/HTTP does not have."""
    kind = content_type.split(";")[0].strip().lower()
    return kind if kind in (PROTOBUF, JSON) else None


def inflate(body: bytes, content_encoding: str, *, limit: int) -> bytes:
    """The body as the exporter serialized it: gunzipped when it says gzip, never past ``limit``
    bytes (a few kilobytes of gzip can inflate to gigabytes)."""
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding != "gzip":
        raise Malformed(f"Content-Encoding {content_encoding!r} is not supported (gzip or none)")
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as error:
        raise Malformed(f"the body is not valid gzip ({error})") from None
    if len(data) > limit:
        raise TooLarge(f"the body inflates to more than {limit:,} bytes")
    if not inflater.eof:
        raise Malformed("the gzip body is truncated")
    return data


def sniff_encoding(payload: bytes) -> str:
    """How a stored batch is encoded: OTLP/JSON is an object; a protobuf request starts with field 1
    (0x0a), never with "{"."""
    return JSON if payload.lstrip()[:1] == b"{" else PROTOBUF


def decode(payload: bytes, encoding: str, signal: str) -> Message:
    """The request message for ``signal``; Malformed, saying why, when it is not one."""
    message = REQUESTS[signal]()
    if encoding == PROTOBUF:
        try:
            message.ParseFromString(payload)
        except (DecodeError, RecursionError, ValueError) as error:
            raise Malformed(f"not a protobuf {message.DESCRIPTOR.name} ({error})") from None
        return message
    try:
        document = json.loads(payload)
    except (UnicodeDecodeError, RecursionError, ValueError) as error:
        raise Malformed(f"not JSON ({error})") from None
    if not isinstance(document, dict):
        raise Malformed(f"an OTLP/JSON body is an object, got {type(document).__name__}")
    try:
        _hex_ids_to_base64(document)
        json_format.ParseDict(document, message, ignore_unknown_fields=True)
    except (json_format.ParseError, RecursionError, TypeError, ValueError, AttributeError) as error:
        raise Malformed(f"not an OTLP/JSON {message.DESCRIPTOR.name} ({error})") from None
    return message


def _hex_ids_to_base64(document: dict) -> None:
    """OTLP/JSON writes trace and span ids in hex; protobuf's JSON parser reads bytes as base64."""
    for resource in document.get("resourceLogs") or document.get("resource_logs") or ():
        scopes = resource.get("scopeLogs") or resource.get("scope_logs") or () if isinstance(resource, dict) else ()
        for scope in scopes:
            records = scope.get("logRecords") or scope.get("log_records") or () if isinstance(scope, dict) else ()
            for record in records:
                if not isinstance(record, dict):
                    continue
                for name in ("traceId", "trace_id", "spanId", "span_id"):
                    if isinstance(record.get(name), str):
                        try:
                            record[name] = base64.b64encode(bytes.fromhex(record[name])).decode()
                        except ValueError:
                            record.pop(name)  # an id we never read is not worth refusing a batch for


# --- Answers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes


def accepted(signal: str, encoding: str, *, rejected: int = 0, message: str = "") -> Answer:
    """200, with partial success saying how many points or records were refused and why."""
    if signal == METRICS:
        response = metrics_service_pb2.ExportMetricsServiceResponse()
        if rejected:
            response.partial_success.rejected_data_points = rejected
            response.partial_success.error_message = message
    else:
        response = logs_service_pb2.ExportLogsServiceResponse()
        if rejected:
            response.partial_success.rejected_log_records = rejected
            response.partial_success.error_message = message
    return Answer(200, encoding, _encode(response, encoding))


def refused(status: int, code: int, message: str, encoding: str | None) -> Answer:
    """An error status with a google.rpc.Status body (JSON when the request's encoding is unknown)."""
    encoding = encoding or JSON
    return Answer(status, encoding, _encode(status_pb2.Status(code=code, message=message), encoding))


def _encode(message: Message, encoding: str) -> bytes:
    if encoding == PROTOBUF:
        return message.SerializeToString()
    return json_format.MessageToJson(message, indent=None).encode()

