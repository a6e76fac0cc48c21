import json
from datetime import date
from decimal import Decimal

import pytest

from leaderboard.ingestion import anthropic
from leaderboard.ingestion.reading import Export
from leaderboard.ingestion.rows import ActivityRow, IdentityKey, IdentityRow, ParseContext, Problem, UsageRow

FORMATS = {fmt.name: fmt for fmt in anthropic.FORMATS}
SAMPLE_FILES = {
    "anthropic_usage_report": "usage_report_messages_p1.json",
    "anthropic_users": "users.json",
    "anthropic_api_keys": "api_keys.json",
    "claude_code_analytics": "claude_code_analytics.jsonl",
}


def parse(format_name, path):
    export = Export(path, name=path.name, limit=10**9)
    return list(FORMATS[format_name].parse(export, ParseContext(file_name=path.name)))


def write(tmp_path, content, name="export.json"):
    """A file holding ``content``: text as is, anything else as one pretty-printed JSON document."""
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content, indent=1), encoding="utf-8")
    return path


def of(items, kind):
    return [item for item in items if isinstance(item, kind)]


def tokens(row):
    """The four disjoint token counts, in the order input, cache write, cache read, output."""
    return (row.input_tokens, row.cache_write_tokens, row.cache_read_tokens, row.output_tokens)


def key(kind, value):
    return IdentityKey("anthropic", kind, value)


def usage_page(*buckets):
    return {"data": list(buckets), "has_more": False, "next_page": None}


def bucket(start, *results, end=None):
    return {"starting_at": start, "ending_at": end or start, "results": list(results)}


def result(**fields):
    base = {
        "account_id": "user_A",
        "api_key_id": None,
        "service_account_id": None,
        "workspace_id": None,
        "model": "claude-opus-4-6",
        "uncached_input_tokens": 10,
        "cache_creation": {"ephemeral_5m_input_tokens": 20, "ephemeral_1h_input_tokens": 5},
        "cache_read_input_tokens": 300,
        "output_tokens": 40,
    }
    return base | fields


def record(actor=None, date_="2026-10-01T00:00:00Z", breakdown=None, **fields):
    base = {
        "date": date_,
        "actor": actor or {"type": "user_actor", "email_address": "erin@example.com"},
        "organization_id": "org",
        "customer_type": "api",
        "terminal_type": "vscode",
        "is_remote": False,
        "core_metrics": {
            "num_sessions": 2,
            "lines_of_code": {"added": 30, "removed": 7},
            "commits_by_claude_code": 1,
            "pull_requests_by_claude_code": 1,
        },
        "tool_actions": {
            "edit_tool": {"accepted": 5, "rejected": 1},
            "write_tool": {"accepted": 2, "rejected": 0},
        },
        "model_breakdown": breakdown
        if breakdown is not None
        else [
            {
                "model": "claude-opus-4-6",
                "tokens": {"input": 100, "output": 50, "cache_read": 1000, "cache_creation": 200},
                "estimated_cost": {"currency": "USD", "amount": 123},
            }
        ],
    }
    return base | fields


# --- The sample org ---------------------------------------------------------------------------


def test_it_reads_the_usage_report_sample(samples):
    rows = parse("anthropic_usage_report", samples / "anthropic" / "usage_report_messages_p1.json")
    assert len(rows) == 414 and all(isinstance(row, UsageRow) for row in rows)
    first = rows[0]
    assert (first.vendor, first.source, first.day) == (
        "anthropic",
        "anthropic_usage_report",
        date(2026, 10, 1),
    )
    assert first.model == "claude-sonnet-4-5-20250929"
    assert first.identity == key("account_id", "user_01FBXF8BRH99TA1XKPMZ69SY3T")
    assert tokens(first) == (6682, 12925, 298335, 8498)
    assert rows[1].identity == key("api_key", "apikey_0129Y6YECVCV0XBJ37PBVSKD")
    assert rows[-1].day == date(2026, 10, 30)
    assert sum(row.input_tokens for row in rows) == 15567305
    assert sum(row.cache_write_tokens for row in rows) == 32071667
    assert sum(row.cache_read_tokens for row in rows) == 449604594
    assert sum(row.output_tokens for row in rows) == 8775775
    assert sum(row.identity.kind == "account_id" for row in rows) == 285
    assert sum(row.identity.kind == "api_key" for row in rows) == 129
    gus = [row for row in rows if row.identity == key("account_id", "user_01FBXF8BRH99TA1XKPMZ69SY3T")]
    assert len(gus) == 16 and sum(row.output_tokens for row in gus) == 120091
    assert all(
        row.requests == 0 and row.cost_usd is None and not row.cost_reported and row.dims == ""
        for row in rows
    )


def test_it_reads_the_users_sample(samples):
    rows = parse("anthropic_users", samples / "anthropic" / "users.json")
    assert len(rows) == 24 and all(isinstance(row, IdentityRow) for row in rows)
    gus = next(row for row in rows if row.identity == key("account_id", "user_01FBXF8BRH99TA1XKPMZ69SY3T"))
    assert (gus.label, gus.email, gus.linked_to) == ("Gus Vogel", "gus.vogel@acme.example", None)


def test_it_reads_the_api_keys_sample(samples):
    rows = parse("anthropic_api_keys", samples / "anthropic" / "api_keys.json")
    assert len(rows) == 50 and all(isinstance(row, IdentityRow) for row in rows)
    by_id, by_name = rows[0], rows[1]
    assert by_id.identity == key("api_key", "apikey_012NKXRSPMP28F4DGGCTS3T4")
    assert by_name.identity == key("api_key_name", "caleb.nguyen-laptop")
    for row in (by_id, by_name):
        assert row.label == "caleb.nguyen-laptop"
        assert row.linked_to == key("account_id", "user_019NP6PJ42H34QAVXBQN3GCKQ6")
        assert row.email is None
    # An archived key whose creator has left is still tied to that (now unknown) account.
    orphan = next(row for row in rows if row.identity == key("api_key_name", "old-ci-bot"))
    assert orphan.linked_to == key("account_id", "user_01DEPARTEDPERSON00000000000")


def test_it_reads_the_claude_code_sample(samples):
    items = parse("claude_code_analytics", samples / "anthropic" / "claude_code_analytics.jsonl")
    usage, activity = of(items, UsageRow), of(items, ActivityRow)
    assert len(items) == len(usage) + len(activity)
    assert (len(usage), len(activity)) == (377, 253)
    first = usage[0]
    assert first.identity == key("email", "maya.murphy@acme.example")
    assert (first.source, first.day, first.model) == (
        "claude_code_analytics",
        date(2026, 10, 1),
        "claude-opus-4-6",
    )
    assert tokens(first) == (38032, 120064, 1019581, 20329)
    assert first.cost_usd == Decimal("1.89") and first.cost_reported and first.requests == 0
    assert sum(row.cost_usd for row in usage) == Decimal("222.55")
    assert sum(row.input_tokens for row in usage) == 8398750
    assert sum(row.output_tokens for row in usage) == 4657679
    assert sum(row.cache_read_tokens for row in usage) == 226403576
    assert sum(row.cache_write_tokens for row in usage) == 15381737
    assert all(row.active for row in activity)
    assert sum(row.sessions for row in activity) == 1591
    assert sum(row.lines_added for row in activity) == 245175
    assert sum(row.commits for row in activity) == 695
    assert sum(row.pull_requests for row in activity) == 233
    assert sum(row.edits_accepted for row in activity) == 10392
    assert sum(row.edits_rejected for row in activity) == 622
    jonas = [row for row in usage if row.identity == key("api_key_name", "jonas.haddad-laptop")]
    assert sum(row.output_tokens for row in jonas) == 8085
    assert len([row for row in activity if row.identity == key("api_key_name", "jonas.haddad-laptop")]) == 11


# --- Awkward usage reports ----------------------------------------------------------------------


def test_it_tolerates_explicit_nulls_empty_buckets_and_unknown_fields(tmp_path):
    sparse = result(
        model=None,
        uncached_input_tokens=None,
        cache_creation=None,
        cache_read_input_tokens=None,
        output_tokens=7,
        server_tool_use=None,
        speed="fast",
        some_future_field={"nested": [1, 2]},
    )
    page = usage_page(
        bucket("2026-10-01T00:00:00Z"),
        {"starting_at": "2026-10-02T00:00:00Z", "ending_at": "2026-10-03T00:00:00Z", "results": None},
        bucket("2026-10-03T00:00:00Z", sparse),
    )
    [row] = parse("anthropic_usage_report", write(tmp_path, page))
    assert (row.day, row.model, row.identity) == (date(2026, 10, 3), "", key("account_id", "user_A"))
    assert tokens(row) == (0, 0, 0, 7)


def test_it_adds_both_cache_writes_nested_or_flattened(tmp_path):
    flattened = result(cache_creation_5m_input_tokens=11, cache_creation_1h_input_tokens="4")
    del flattened["cache_creation"]
    page = usage_page(bucket("2026-10-01T00:00:00Z", result(), flattened))
    nested, flat = parse("anthropic_usage_report", write(tmp_path, page))
    assert (nested.cache_write_tokens, flat.cache_write_tokens) == (25, 15)


def test_it_puts_hourly_buckets_on_their_utc_day(tmp_path):
    page = usage_page(
        bucket("2026-10-01T00:00:00Z", result(output_tokens=1), end="2026-10-01T01:00:00Z"),
        bucket("2026-10-01T23:00:00Z", result(output_tokens=2), end="2026-10-02T00:00:00Z"),
        bucket("2026-10-01T22:30:00-02:00", result(output_tokens=4)),
    )
    rows = parse("anthropic_usage_report", write(tmp_path, page))
    assert [(row.day, row.output_tokens) for row in rows] == [
        (date(2026, 10, 1), 1),
        (date(2026, 10, 1), 2),
        (date(2026, 10, 2), 4),
    ]


def test_it_keeps_usage_without_an_account_or_key_unattributed(tmp_path):
    nobody = {"account_id": None, "api_key_id": None}
    page = usage_page(
        bucket(
            "2026-10-01T00:00:00Z",
            result(**nobody),
            result(**nobody, workspace_id="wrkspc_01X"),
            result(**nobody, service_account_id="svac_01S"),
            result(account_id=None, api_key_id="apikey_01K", workspace_id="wrkspc_01X"),
        )
    )
    rows = parse("anthropic_usage_report", write(tmp_path, page))
    assert [row.identity for row in rows] == [
        key("unattributed", "default workspace"),
        key("unattributed", "workspace wrkspc_01X"),
        key("user_id", "svac_01S"),
        key("api_key", "apikey_01K"),
    ]
    assert all(row.dims == "" for row in rows)


@pytest.mark.parametrize("layout", ["page", "array", "lines"])
def test_it_accepts_one_page_an_array_of_pages_or_json_lines_with_a_bom(tmp_path, layout):
    pages = [
        usage_page(bucket("2026-10-01T00:00:00Z", result(output_tokens=1))),
        usage_page(bucket("2026-10-02T00:00:00Z", result(output_tokens=2), result(output_tokens=3))),
    ]
    text = {
        "page": json.dumps(usage_page(*pages[0]["data"], *pages[1]["data"]), indent=1),
        "array": json.dumps(pages, indent=1),
        "lines": "\n".join(json.dumps(page) for page in pages) + "\n",
    }[layout]
    path = write(tmp_path, "\ufeff" + text)
    assert anthropic.sniff_usage_report(Export(path, name=path.name, limit=10**9).first_document())
    rows = parse("anthropic_usage_report", path)
    assert [(row.day, row.output_tokens) for row in rows] == [
        (date(2026, 10, 1), 1),
        (date(2026, 10, 2), 2),
        (date(2026, 10, 2), 3),
    ]


def test_it_reports_a_negative_token_count_by_path_and_field_and_carries_on(tmp_path):
    lines = [
        usage_page(bucket("2026-10-01T00:00:00Z", result())),
        usage_page(
            bucket(
                "2026-10-02T00:00:00Z",
                result(),
                result(output_tokens=-5),
                result(cache_read_input_tokens="x"),
            )
        ),
    ]
    items = parse("anthropic_usage_report", write(tmp_path, "\n".join(map(json.dumps, lines)), "usage.jsonl"))
    assert len(of(items, UsageRow)) == 2
    assert [(p.where, p.field) for p in of(items, Problem)] == [
        ("usage.jsonl line 2 data[0].results[1]", "output_tokens"),
        ("usage.jsonl line 2 data[0].results[2]", "cache_read_input_tokens"),
    ]
    assert "negative" in of(items, Problem)[0].message


def test_it_reports_nested_cache_fields_by_their_path(tmp_path):
    bad = result(cache_creation={"ephemeral_5m_input_tokens": 1, "ephemeral_1h_input_tokens": -1})
    [problem] = parse(
        "anthropic_usage_report", write(tmp_path, usage_page(bucket("2026-10-01T00:00:00Z", bad)))
    )
    assert (problem.where, problem.field) == (
        "export.json $ data[0].results[0]",
        "cache_creation.ephemeral_1h_input_tokens",
    )


def test_it_reports_an_impossible_bucket_date(tmp_path):
    page = usage_page(bucket("2026-02-30T00:00:00Z", result()), bucket("2026-10-01T00:00:00Z", result()))
    items = parse("anthropic_usage_report", write(tmp_path, page))
    assert [(p.where, p.field) for p in of(items, Problem)] == [("export.json $ data[0]", "starting_at")]
    assert len(of(items, UsageRow)) == 1


def test_it_reports_documents_that_are_not_pages(tmp_path):
    text = "\n".join(
        [
            json.dumps(usage_page(bucket("2026-10-01T00:00:00Z", result()))),
            "42",
            '{"error": "x"}',
            '{"data": [7]}',
        ]
    )
    items = parse("anthropic_usage_report", write(tmp_path, text, "usage.jsonl"))
    assert len(of(items, UsageRow)) == 1
    assert [(p.where, p.field) for p in of(items, Problem)] == [
        ("usage.jsonl line 2", ""),
        ("usage.jsonl line 3", "data"),
        ("usage.jsonl line 4 data[0]", ""),
    ]


# --- Awkward identity lists ---------------------------------------------------------------------


def test_it_lower_cases_user_emails_and_labels_nameless_users_by_email(tmp_path):
    page = {
        "data": [
            {"id": "user_1", "type": "user", "email": "Erin@Example.COM", "name": None, "role": "developer"},
            {"id": "user_2", "type": "user", "email": "not an email", "name": "Bad"},
            {"id": None, "type": "user", "email": "x@example.com", "name": "No id"},
        ],
        "has_more": False,
    }
    items = parse("anthropic_users", write(tmp_path, page))
    [erin] = of(items, IdentityRow)
    assert erin.identity == key("account_id", "user_1")
    assert erin.label == erin.email == "erin@example.com"
    assert [(p.where, p.field) for p in of(items, Problem)] == [
        ("export.json $ data[1]", "email"),
        ("export.json $ data[2]", "id"),
    ]


def test_it_ties_api_keys_to_their_creator_or_principal(tmp_path):
    def api_key(key_id, name, **owner):
        return {"id": key_id, "type": "api_key", "name": name, "status": "active", **owner}

    page = {
        "data": [
            api_key("apikey_1", "ci", created_by=None, principal={"id": "user_P", "type": "user"}),
            api_key("apikey_2", "robot", principal={"id": "svac_R", "type": "service_account"}),
            api_key("apikey_3", "lost"),
            api_key("apikey_4", None, created_by={"id": "user_C", "type": "user"}),
        ]
    }
    rows = parse("anthropic_api_keys", write(tmp_path, page))
    assert [(row.identity.kind, row.identity.value, row.linked_to) for row in rows] == [
        ("api_key", "apikey_1", key("account_id", "user_P")),
        ("api_key_name", "ci", key("account_id", "user_P")),
        ("api_key", "apikey_2", key("user_id", "svac_R")),
        ("api_key_name", "robot", key("user_id", "svac_R")),
        ("api_key", "apikey_3", None),
        ("api_key_name", "lost", None),
        ("api_key", "apikey_4", key("account_id", "user_C")),
    ]


# --- Awkward Claude Code analytics ------------------------------------------------------------


def test_it_reads_api_actors_and_several_records_per_actor_and_day(tmp_path):
    robot = {"type": "api_actor", "api_key_name": "ci-bot"}
    page = {
        "data": [
            record(),
            record(terminal_type="tmux"),
            record(is_remote=True, tool_actions={"multi_edit_tool": {"accepted": 3, "rejected": None}}),
            record(actor=robot),
        ]
    }
    items = parse("claude_code_analytics", write(tmp_path, page))
    usage, activity = of(items, UsageRow), of(items, ActivityRow)
    erin = key("email", "erin@example.com")
    assert [row.identity for row in usage] == [erin, erin, erin, key("api_key_name", "ci-bot")]
    assert [row.identity for row in activity] == [erin, erin, erin, key("api_key_name", "ci-bot")]
    assert all(row.day == date(2026, 10, 1) and row.cost_usd == Decimal("1.23") for row in usage)
    assert tokens(usage[0]) == (100, 200, 1000, 50)
    first = activity[0]
    assert (first.sessions, first.lines_added, first.lines_removed) == (2, 30, 7)
    assert (first.commits, first.pull_requests) == (1, 1)
    assert [(row.edits_accepted, row.edits_rejected) for row in activity] == [(7, 1), (7, 1), (3, 0), (7, 1)]


def test_it_tolerates_nulls_in_claude_code_records(tmp_path):
    sparse = record(
        date_="2026-10-02",
        core_metrics={"num_sessions": None, "lines_of_code": None},
        tool_actions=None,
        breakdown=[
            {
                "model": "claude-haiku-4-5",
                "tokens": {"input": 1, "output": None},
                "estimated_cost": {"amount": None},
            },
            {"model": "claude-opus-4-6", "tokens": {"input": 2, "output": 3}},
            {"model": "claude-sonnet-4-5", "tokens": {"input": 4}, "estimated_cost": {"amount": "12.5"}},
        ],
        subscription_type=None,
        a_new_field=[],
    )
    items = parse("claude_code_analytics", write(tmp_path, {"data": [sparse, record(breakdown=[])]}))
    usage, activity = of(items, UsageRow), of(items, ActivityRow)
    assert [(row.model, row.input_tokens, row.output_tokens) for row in usage] == [
        ("claude-haiku-4-5", 1, 0),
        ("claude-opus-4-6", 2, 3),
        ("claude-sonnet-4-5", 4, 0),
    ]
    assert [(row.cost_usd, row.cost_reported) for row in usage] == [
        (None, False),
        (None, False),
        (Decimal("0.125"), True),
    ]
    assert usage[0].day == date(2026, 10, 2)
    assert (
        activity[0].sessions,
        activity[0].lines_added,
        activity[0].edits_accepted,
        activity[0].active,
    ) == (0, 0, 0, True)
    assert len(activity) == 2


def test_it_reports_bad_claude_code_records_by_path_and_field(tmp_path):
    negative = [{"model": "m", "tokens": {"input": 1, "output": -3}, "estimated_cost": {"amount": 1}}]
    page = {
        "data": [
            record(breakdown=negative),
            record(date_="2026-13-01T00:00:00Z"),
            record(actor={"type": "robot_actor"}),
            record(actor={"type": "user_actor", "email_address": None}),
            record(breakdown=[{"model": "m", "estimated_cost": {"amount": -1}}]),
            record(core_metrics={"num_sessions": "many"}),
            record(),
        ]
    }
    lines = "\n".join([json.dumps({"data": []}), json.dumps(page)])
    items = parse("claude_code_analytics", write(tmp_path, lines, "cc.jsonl"))
    assert len(of(items, ActivityRow)) == 1 and len(of(items, UsageRow)) == 1
    assert [(p.where, p.field) for p in of(items, Problem)] == [
        ("cc.jsonl line 2 data[0]", "model_breakdown[0].tokens.output"),
        ("cc.jsonl line 2 data[1]", "date"),
        ("cc.jsonl line 2 data[2]", "actor.type"),
        ("cc.jsonl line 2 data[3]", "actor.email_address"),
        ("cc.jsonl line 2 data[4]", "model_breakdown[0].estimated_cost.amount"),
        ("cc.jsonl line 2 data[5]", "core_metrics.num_sessions"),
    ]


# --- Recognising each format --------------------------------------------------------------------

OPENAI_USAGE_PAGE = {
    "object": "page",
    "data": [{"object": "bucket", "start_time": 1, "end_time": 2, "results": []}],
}
COST_REPORT_PAGE = usage_page(
    bucket(
        "2026-10-01T00:00:00Z",
        {"amount": "123.45", "currency": "USD", "workspace_id": None, "description": None},
    )
)


def first_document(path):
    return Export(path, name=path.name, limit=10**9).first_document()


@pytest.mark.parametrize("name", sorted(SAMPLE_FILES))
def test_each_format_recognises_only_its_own_sample(samples, name):
    doc = first_document(samples / "anthropic" / SAMPLE_FILES[name])
    assert [fmt.name for fmt in anthropic.FORMATS if fmt.sniff(doc)] == [name]
    assert FORMATS[name].kind == "json" and not FORMATS[name].needs_person


@pytest.mark.parametrize(
    "doc",
    [OPENAI_USAGE_PAGE, {"data": [], "has_more": False}, {"data": None}, [], 42, "data"],
    ids=["openai-usage", "empty-page", "null-data", "array", "number", "string"],
)
def test_it_recognises_none_of_the_lookalikes(doc):
    assert not any(fmt.sniff(doc) for fmt in anthropic.FORMATS)


def test_a_cost_report_is_recognised_as_one_and_never_as_usage():
    # Same envelope as the usage report; its amounts are the invoice's, not anyone's usage.
    assert [fmt.name for fmt in anthropic.FORMATS if fmt.sniff(COST_REPORT_PAGE)] == ["anthropic_cost_report"]


def test_it_recognises_no_other_providers_sample(samples):
    others = [path for path in samples.glob("*/*.json") if path.parent.name != "anthropic"]
    assert others
    for path in others:
        doc = first_document(path)
        assert not any(fmt.sniff(doc) for fmt in anthropic.FORMATS), path.name


def test_it_recognises_a_report_of_empty_buckets_as_usage():
    assert anthropic.sniff_usage_report(
        usage_page(bucket("2026-10-01T00:00:00Z"), bucket("2026-10-02T00:00:00Z"))
    )


# --- Values out of range ----------------------------------------------------------------------


def test_it_refuses_bucket_days_before_2020_or_in_the_future(tmp_path):
    page = usage_page(bucket("2099-12-31T00:00:00Z", result()), bucket("1900-01-01T00:00:00Z", result()),
                      bucket("2026-10-01T00:00:00Z", result()))
    items = parse("anthropic_usage_report", write(tmp_path, page))
    assert [(p.where, p.field) for p in of(items, Problem)] == [
        ("export.json $ data[0]", "starting_at"), ("export.json $ data[1]", "starting_at"),
    ]
    assert len(of(items, UsageRow)) == 1


def test_it_refuses_counts_no_row_can_hold_and_control_characters_in_names(tmp_path):
    page = usage_page(bucket(
        "2026-10-01T00:00:00Z",
        result(output_tokens=2**63 - 1),
        result(uncached_input_tokens=10**26),
        result(model="claude\x00opus"),
        result(account_id="user_\nA"),
    ))
    items = parse("anthropic_usage_report", write(tmp_path, page))
    assert [(p.where, p.field) for p in of(items, Problem)] == [
        ("export.json $ data[0].results[0]", "output_tokens"),
        ("export.json $ data[0].results[1]", "uncached_input_tokens"),
        ("export.json $ data[0].results[2]", "model"),
        ("export.json $ data[0].results[3]", "account_id"),
    ]


def test_it_refuses_claude_code_records_out_of_range(tmp_path):
    many_tools = {f"tool_{n}": {"accepted": 10**12, "rejected": 0} for n in range(3)}
    page = {"data": [
        record(date_="2099-12-31"),
        record(tool_actions=many_tools),
        record(breakdown=[{"model": "m", "tokens": {"input": 1}, "estimated_cost": {"amount": 10**12}}]),
        record(actor={"type": "api_actor", "api_key_name": "key\x00"}),
    ]}
    items = parse("claude_code_analytics", write(tmp_path, page))
    assert [(p.where, p.field) for p in of(items, Problem)] == [
        ("export.json $ data[0]", "date"),
        ("export.json $ data[1]", "tool_actions (accepted, all tools)"),
        ("export.json $ data[2]", "model_breakdown[0].estimated_cost.amount"),
        ("export.json $ data[3]", "actor.api_key_name"),
    ]


def test_it_refuses_user_and_key_names_with_control_characters(tmp_path):
    users = {"data": [{"id": "user_1", "type": "user", "email": "a@example.com", "name": "Ann\x00"}]}
    keys = {"data": [{"id": "apikey_1", "type": "api_key", "name": "ci\x1bkey", "created_by": {"id": "user_1"}}]}
    assert [p.field for p in of(parse("anthropic_users", write(tmp_path, users)), Problem)] == ["name"]
    assert [p.field for p in of(parse("anthropic_api_keys", write(tmp_path, keys)), Problem)] == ["name"]
