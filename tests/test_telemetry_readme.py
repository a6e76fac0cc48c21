"""The README's "Telemetry" settings, tested by replaying captured bodies with them: each agent's
block is read from the README, the URL and headers worked out the way that agent's exporter does,
and the samples in tests/samples/telemetry/ sent over real HTTP to a live server."""

from __future__ import annotations

import json
import re
import tomllib
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from leaderboard.models import PersonDay
from leaderboard.telemetry import folding, tokens

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = Path(__file__).parent / "samples" / "telemetry"
SITE, PLACEHOLDER = "https://tokens.example.com", "tbi_YOUR_TOKEN"
CONTENT_TYPES = {".json": "application/json", ".pb": "application/x-protobuf"}


def telemetry_section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("## Telemetry")
    return text[start:text.index("\n## ", start + 1)]


def block(language: str) -> str:
    found = re.search(rf"```{language}\n(.*?)```", telemetry_section(), re.S)
    assert found, f"the README's Telemetry section has no {language} block"
    return found.group(1)


def otel_headers(value: str) -> dict[str, str]:
    """OTEL_EXPORTER_OTLP_HEADERS as the OpenTelemetry SDKs read it: key=value pairs, URL-encoded."""
    pairs = (item.split("=", 1) for item in value.split(",") if "=" in item)
    return {urllib.parse.unquote(key).strip(): urllib.parse.unquote(val).strip() for key, val in pairs}


def send(url: str, headers: dict, sample: str) -> int:
    path = SAMPLES / sample
    request = urllib.request.Request(url, data=path.read_bytes(), method="POST",
                                     headers={**headers, "Content-Type": CONTENT_TYPES[path.suffix]})
    with urllib.request.urlopen(request, timeout=20) as response:
        return response.status


@pytest.fixture
def site(live_server, transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    _, token = tokens.create_token(name="laptops", by=None)

    def filled(text: str) -> str:
        return text.replace(SITE, live_server.url).replace(PLACEHOLDER, token)

    return filled


def tokens_on(person, day="2026-11-02") -> int:
    return PersonDay.objects.filter(person=person, day=day).values_list("total_tokens", flat=True).first() or 0


def test_claude_codes_settings_deliver_its_metrics_and_events(cast, site):
    env = dict(line.split("=", 1) for line in site(block("sh")).splitlines() if "=" in line)
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf" and env["CLAUDE_CODE_ENABLE_TELEMETRY"] == "1"
    assert env["OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"] == "delta"
    base, headers = env["OTEL_EXPORTER_OTLP_ENDPOINT"].rstrip("/"), otel_headers(env["OTEL_EXPORTER_OTLP_HEADERS"])
    # The SDKs append the signal's path to the base endpoint.
    for sample in ("claude_code_metrics.pb", "claude_code_metrics.json"):
        assert send(f"{base}/v1/metrics", headers, sample) == 200
    assert send(f"{base}/v1/logs", headers, "claude_code_logs.json") == 200
    folding.fold_all(seconds=30)
    assert tokens_on(cast.erin) == 93800 + 5500
    assert PersonDay.objects.get(person=cast.erin).requests == 2


def test_codexs_settings_deliver_its_events_and_metrics(cast, site):
    otel = tomllib.loads(site(block("toml")))["otel"]
    logs, metrics = otel["exporter"]["otlp-http"], otel["metrics_exporter"]["otlp-http"]
    assert logs["protocol"] == metrics["protocol"] == "binary"
    assert send(logs["endpoint"], logs["headers"], "codex_logs.pb") == 200
    assert send(metrics["endpoint"], metrics["headers"], "codex_metrics.json") == 200
    folding.fold_all(seconds=30)
    assert tokens_on(cast.lee) == 24000  # the events name Lee; the metrics name nobody


def test_gemini_clis_settings_deliver_its_cumulative_metrics(cast, site):
    telemetry = json.loads(site(block("json")))["telemetry"]
    assert telemetry["otlpProtocol"] == "http" and telemetry["enabled"]
    # Its headers come from the environment variable the README names beside the settings file.
    headers = otel_headers(site(re.search(r"`OTEL_EXPORTER_OTLP_HEADERS=(\S+?)`", telemetry_section()).group(1)))
    # Gemini CLI joins the signal's path to its endpoint, as the OpenTelemetry SDKs do.
    url = telemetry["otlpEndpoint"].rstrip("/") + "/v1/metrics"
    for sample in ("gemini_cli_metrics_1.pb", "gemini_cli_metrics_2.pb"):
        assert send(url, headers, sample) == 200
    folding.fold_all(seconds=30)
    # Cumulative totals: the second export's, not the two added (input 8000 = 2000 cached + 6000).
    assert tokens_on(cast.sam) == (8000 - 2000 + 50) + 2000 + 900 + 300
