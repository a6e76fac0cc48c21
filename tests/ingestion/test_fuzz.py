"""Property: whatever the bytes, reading an export gives typed rows or a located refusal.

Arbitrary bytes, mutated sample files and arbitrary JSON in each format's shape go through the
same path as an import: ``Export``, ``detect_format`` (or the format named), then ``parse``.
Nothing may come out but UsageRow, ActivityRow, IdentityRow and Problem values within the
documented ranges, or ImportRefused: never another exception.
"""

import json
import re
import tempfile
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leaderboard.ingestion import FORMATS, detect_format
from leaderboard.ingestion.reading import Export
from leaderboard.ingestion.rows import (
    ActivityRow,
    CostRow,
    IdentityKey,
    IdentityRow,
    ImportRefused,
    ParseContext,
    Problem,
    UsageRow,
)

SAMPLES = Path(__file__).parent.parent / "samples" / "org-acme"
PERSON = "erin@example.com"
# What may come out, as the fields module documents it.
MAX_COUNT = 10**12
MAX_COST_USD = Decimal(10_000_000)
EARLIEST_DAY = date(2020, 1, 1)
UNPRINTABLE = re.compile("[\x00-\x08\x0a-\x1f\x7f\ud800-\udfff]")

FUZZ = settings(max_examples=120, deadline=None, database=None, suppress_health_check=list(HealthCheck))


def _first_pages(path: Path, keep: int = 3) -> bytes:
    """A small valid file in the sample's format: its first few items, as the sample lays them out."""
    text = path.read_text()
    if path.suffix == ".csv":
        return "".join(text.splitlines(keepends=True)[: keep + 1]).encode()
    if path.suffix == ".jsonl":
        return "".join(text.splitlines(keepends=True)[:keep]).encode()
    doc = json.loads(text)
    pages = doc if isinstance(doc, list) else [doc]
    for page in pages:
        for key in ("data", "usageEvents", "daily", "seats"):
            if isinstance(page.get(key), list):
                page[key] = page[key][:keep]
    return json.dumps(pages[:2] if isinstance(doc, list) else pages[0], indent=1).encode()


USER_DAY = {"day": "2026-09-14", "user_login": "mchen-acme", "user_initiated_interaction_count": 3,
            "loc_added_sum": 10, "loc_deleted_sum": 1, "code_acceptance_activity_count": 2,
            "totals_by_cli": {"session_count": 1, "request_count": 4,
                              "token_usage": {"prompt_tokens_sum": 100, "output_tokens_sum": 10}}}
SEEDS = {
    "anthropic_usage_report": _first_pages(SAMPLES / "anthropic" / "usage_report_messages_p1.json"),
    "anthropic_users": _first_pages(SAMPLES / "anthropic" / "users.json"),
    "anthropic_api_keys": _first_pages(SAMPLES / "anthropic" / "api_keys.json"),
    "claude_code_analytics": _first_pages(SAMPLES / "anthropic" / "claude_code_analytics.jsonl"),
    "openai_usage": _first_pages(SAMPLES / "openai" / "usage_completions_pages.json"),
    "openai_usage_csv": _first_pages(SAMPLES / "openai" / "completions_usage_2026-10-16_2026-10-30.csv"),
    "openai_users": _first_pages(SAMPLES / "openai" / "users.json"),
    "openai_project_api_keys": json.dumps({"object": "list", "data": [
        {"object": "organization.project.api_key", "id": "key_1", "name": "ci", "redacted_value": "sk-...x",
         "owner": {"type": "user", "user": {"id": "user-1", "email": "erin@example.com"}}},
        {"object": "organization.project.api_key", "id": "key_2", "owner": {"type": "service_account"}}]}).encode(),
    "cursor_events": _first_pages(SAMPLES / "cursor" / "filtered_usage_events.json"),
    "cursor_events_csv": _first_pages(SAMPLES / "cursor" / "usage-events-export.csv"),
    "cursor_daily_usage": json.dumps({"data": [
        {"date": 1790812800000, "email": "erin@example.com", "isActive": True, "acceptedLinesAdded": 8,
         "composerRequests": 3, "totalAccepts": 2}], "period": {"startDate": 1790812800000}}).encode(),
    "copilot_usage": "".join(json.dumps(USER_DAY | {"day": f"2026-09-{d}"}) + "\n" for d in (14, 15)).encode(),
    "copilot_seats": json.dumps({"total_seats": 1, "seats": [
        {"assignee": {"login": "ana"}, "last_activity_at": "2026-10-01T10:00:00Z"}]}).encode(),
    "anthropic_cost_report": json.dumps({"data": [{"starting_at": "2026-09-14T00:00:00Z", "results": [
        {"amount": "2764.5690", "currency": "USD", "workspace_id": None, "description": "Web Search Usage"}]}],
        "has_more": False}).encode(),
    "openai_costs": json.dumps({"object": "page", "data": [{"object": "bucket", "start_time": 1789344000, "results": [
        {"object": "organization.costs.result", "amount": {"value": "1.25", "currency": "usd"},
         "line_item": "gpt-4o, input", "project_id": "proj_1"}]}]}).encode(),
    "cursor_members": json.dumps({"teamMembers": [{"name": "Erin", "email": "erin@example.com"}]}).encode(),
    "cursor_spend": json.dumps({"teamMemberSpend": [{"spendCents": 125.5, "email": "erin@example.com"}],
                                "subscriptionCycleStart": 1789344000000}).encode(),
    "ccusage": _first_pages(SAMPLES / "ccusage" / "dana.brooks.json"),
    "generic_csv": _first_pages(SAMPLES / "generic" / "mistral_usage.csv"),
}


def test_every_format_has_a_seed_that_reads_cleanly():
    assert set(SEEDS) == set(FORMATS)
    for name, seed in SEEDS.items():
        items = read(seed, name)
        assert items and not [item for item in items if isinstance(item, Problem)], name


# --- Reading and checking what comes out ------------------------------------------------------


def read(data: bytes, format_name: str | None = None) -> list | ImportRefused:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.dat"
        path.write_bytes(data)
        try:
            export = Export(path, name="fuzz.dat", limit=10**8)
            fmt = FORMATS[format_name] if format_name else detect_format(export)
            if fmt.kind != export.kind:
                return []
            items = list(fmt.parse(export, ParseContext(file_name="fuzz.dat", person_email=PERSON)))
        except ImportRefused as refused:
            assert refused.problems
            for problem in refused.problems:
                check_problem(problem)
            return refused
    for item in items:
        check(item)
    return items


def check_problem(problem: Problem) -> None:
    assert isinstance(problem, Problem)
    for text in (problem.where, problem.field, problem.message):
        assert isinstance(text, str) and text.isprintable(), problem
    assert problem.message


def check_text(text) -> None:
    assert isinstance(text, str) and len(text) <= 255
    assert not UNPRINTABLE.search(text), text


def check_identity(identity) -> None:
    assert isinstance(identity, IdentityKey)
    for part in identity:
        check_text(part)
    assert identity.vendor and identity.value


def check_count(value, *, summed: int = 1) -> None:
    assert type(value) is int and 0 <= value <= summed * MAX_COUNT, value


def check(item) -> None:
    if isinstance(item, Problem):
        check_problem(item)
        return
    if isinstance(item, IdentityRow):
        check_identity(item.identity)
        check_text(item.label)
        assert item.email is None or (check_text(item.email) or "@" in item.email)
        assert item.linked_to is None or check_identity(item.linked_to) is None
        return
    if isinstance(item, CostRow):
        check_text(item.dims)
        check_text(item.model)
        assert type(item.day) is date and EARLIEST_DAY <= item.day <= datetime.now(UTC).date()
        cost = item.amount_usd
        assert type(cost) is Decimal and cost.is_finite() and 0 <= cost <= MAX_COST_USD
        return
    assert isinstance(item, (UsageRow, ActivityRow)), item
    check_identity(item.identity)
    assert type(item.day) is date and EARLIEST_DAY <= item.day <= datetime.now(UTC).date()
    if isinstance(item, UsageRow):
        check_text(item.model)
        check_text(item.dims)
        for count in (item.input_tokens, item.cache_write_tokens, item.cache_read_tokens, item.output_tokens,
                      item.requests):
            check_count(count, summed=2)  # the 5-minute and 1-hour cache writes are added
        cost = item.cost_usd
        assert cost is None or (type(cost) is Decimal and cost.is_finite() and 0 <= cost <= MAX_COST_USD)
    else:
        for count in (item.sessions, item.requests, item.lines_added, item.lines_removed, item.commits,
                      item.pull_requests, item.edits_accepted, item.edits_rejected):
            check_count(count, summed=5)  # Cursor adds up five kinds of request


# --- Arbitrary bytes --------------------------------------------------------------------------

PREFIXES = st.sampled_from([b"", b"{", b"[", b'{"data": [', b"\xef\xbb\xbf", b"\x1f\x8b\x08\x00", b"PK\x03\x04",
                            b"date,email,provider,model,input_tokens,output_tokens\n"])


@FUZZ
@given(prefix=PREFIXES, data=st.binary(max_size=600))
def test_arbitrary_bytes_give_rows_or_a_located_refusal(prefix, data):
    read(prefix + data)


# --- Mutated samples --------------------------------------------------------------------------


@st.composite
def mutated(draw, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "splice"]))
        if kind == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[at:at] = draw(st.sampled_from([
                b"\x00", b"\n", b'"', b"{", b"[", b"]", b",", b"-", b"1e999999", b"1e999999999", b"9" * 30, b"\\ud800", b"\xff",
                b"NaN", b"null", b'""', b"\r\n", b"\x1b", b"2099-12-31", b"1900-01-01", b"0.0000001",
            ]))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 40))]
        elif kind == "truncate":
            del data[at:]
        elif kind == "splice":
            data[at:at] = draw(st.binary(max_size=20))
    return bytes(data)


@pytest.mark.parametrize("format_name", sorted(SEEDS))
def test_mutated_samples_give_rows_or_a_located_refusal(format_name):
    seed = SEEDS[format_name]

    @settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(data=mutated(seed), detect=st.booleans())
    def run(data, detect):
        read(data, None if detect else format_name)

    run()


# --- Arbitrary JSON in each format's shape --------------------------------------------------

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([Decimal("1e999999999"), Decimal("-1e-999999999"), Decimal("1.5e12")]),
    st.sampled_from(["", "x", "2026-10-01", "2026-10-01T12:00:00Z", "2099-12-31", "1900-01-01", "1790856596170",
                     "erin@example.com", "user_actor", "api_actor", "claude-opus-4-6", "Included", "$1.50", "-",
                     "a\x00b", "\ud800", "1e999", "9" * 40, "x" * 300]),
    st.text(max_size=12),
)
JSON = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.sampled_from([
        "data", "results", "result", "starting_at", "start_time", "model", "account_id", "api_key_id",
        "uncached_input_tokens", "output_tokens", "input_tokens", "input_cached_tokens", "cache_creation",
        "ephemeral_5m_input_tokens", "actor", "type", "email_address", "api_key_name", "date", "tokens", "input",
        "estimated_cost", "amount", "core_metrics", "tool_actions", "accepted", "model_breakdown", "usageEvents",
        "timestamp", "userEmail", "tokenUsage", "totalCents", "email", "isActive", "seats", "assignee", "login",
        "last_activity_at", "user_login", "day", "totals_by_cli", "token_usage", "daily", "monthly", "month",
        "projects", "modelBreakdowns", "modelName", "cost", "totalTokens", "id", "name", "object", "owner", "user",
        "created_by", "num_model_requests", "prompt_tokens_sum", "metadata", "agents",
    ]), inner, max_size=6),
), max_leaves=30)


def dumps(doc, **options) -> str:
    """JSON text, with Decimals written as the numbers they are (1E+999999999 included)."""
    text = json.dumps(doc, default=lambda number: f"<number {number}>", **options)
    return re.sub(r'"<number ([^>]*)>"', r"\1", text)


@pytest.mark.parametrize("format_name", sorted(name for name, fmt in FORMATS.items() if fmt.kind == "json"))
def test_arbitrary_json_in_a_format_s_shape_gives_rows_or_problems(format_name):
    seed = json.loads(SEEDS[format_name].splitlines()[0] if format_name in ("claude_code_analytics", "copilot_usage")
                      else SEEDS[format_name])
    seed = seed[0] if isinstance(seed, list) else seed

    @settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(replace=st.dictionaries(st.sampled_from(sorted(seed)), JSON, max_size=3), layout=st.integers(0, 2))
    def run(replace, layout):
        doc = {**seed, **replace}
        text = [dumps(doc, indent=1), "[" + dumps(doc) + "]", dumps(doc) + "\n"][layout]
        result = read(text.encode(), format_name)
        if isinstance(result, ImportRefused):  # only where the text itself cannot be read
            assert any("JSON" in p.message or "nested" in p.message or "person" in p.message for p in result.problems)

    run()
