"""The formats provider connections brought: the providers' own cost reports (Anthropic cost report,
OpenAI costs, Cursor spend) and Cursor's member list."""

import json
from datetime import date
from decimal import Decimal

from leaderboard.ingestion import FORMATS, detect_format
from leaderboard.ingestion.reading import Export
from leaderboard.ingestion.rows import CostRow, IdentityKey, IdentityRow, ParseContext, Problem

SEP_14 = 1789344000  # 2026-09-14T00:00:00Z


def write(tmp_path, doc, name="page.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc, indent=1))
    return Export(path, name=name, limit=10**9)


def parse(name, export):
    return list(FORMATS[name].parse(export, ParseContext(file_name=export.name)))


ANTHROPIC_COSTS = {  # provider-formats.md 1.8
    "data": [{"starting_at": "2026-09-14T00:00:00Z", "ending_at": "2026-09-15T00:00:00Z", "results": [
        {"amount": "2764.5690", "currency": "USD", "workspace_id": "wrkspc_01", "description":
            "Claude Sonnet 4.5 Usage - Output Tokens", "cost_type": "tokens", "model": "claude-sonnet-4-5-20250929",
         "service_tier": "standard", "context_window": "0-200k", "token_type": "output_tokens", "inference_geo": "global"},
        {"amount": "120.0000", "currency": "USD", "workspace_id": None, "description": "Web Search Usage",
         "cost_type": "web_search", "model": None, "service_tier": None, "context_window": None, "token_type": None},
    ]}],
    "has_more": False, "next_page": None,
}

OPENAI_COSTS = {  # provider-formats.md 4.8: one value a number, one a string
    "object": "page", "has_more": False, "next_page": None,
    "data": [{"object": "bucket", "start_time": SEP_14, "end_time": SEP_14 + 86400, "results": [
        {"object": "organization.costs.result", "amount": {"value": 4.1290512, "currency": "usd"},
         "line_item": "gpt-5.2-2025-12-11, input", "project_id": "proj_3f", "api_key_id": None, "quantity": 327730},
        {"object": "organization.costs.result", "amount": {"value": "1.2377", "currency": "usd"},
         "line_item": "gpt-5.2-2025-12-11, output", "project_id": "proj_3f", "api_key_id": None, "quantity": 88412},
    ]}],
}


def test_it_reads_the_anthropic_cost_report_in_cents(tmp_path):
    export = write(tmp_path, ANTHROPIC_COSTS)
    assert detect_format(export).name == "anthropic_cost_report"
    rows = parse("anthropic_cost_report", export)
    assert rows == [
        CostRow("anthropic", "anthropic_cost_report", date(2026, 9, 14), Decimal("27.645690"),
                "workspace wrkspc_01 | Claude Sonnet 4.5 Usage - Output Tokens", "claude-sonnet-4-5-20250929"),
        CostRow("anthropic", "anthropic_cost_report", date(2026, 9, 14), Decimal("1.2"),
                "workspace default | Web Search Usage", ""),
    ]


def test_a_cost_report_is_not_taken_for_a_usage_report(tmp_path):
    assert detect_format(write(tmp_path, ANTHROPIC_COSTS)).name != "anthropic_usage_report"
    assert detect_format(write(tmp_path, OPENAI_COSTS, "openai.json")).name == "openai_costs"


def test_it_refuses_another_currency_saying_where(tmp_path):
    doc = json.loads(json.dumps(ANTHROPIC_COSTS))
    doc["data"][0]["results"][0]["currency"] = "EUR"
    problems = [item for item in parse("anthropic_cost_report", write(tmp_path, doc)) if isinstance(item, Problem)]
    assert len(problems) == 1 and problems[0].field == "currency" and "data[0].results[0]" in problems[0].where


def test_it_reads_openai_costs_in_dollars_as_numbers_or_strings(tmp_path):
    rows = parse("openai_costs", write(tmp_path, OPENAI_COSTS))
    assert [(r.day, r.amount_usd, r.model, r.dims) for r in rows] == [
        (date(2026, 9, 14), Decimal("4.1290512"), "gpt-5.2-2025-12-11", "project proj_3f | gpt-5.2-2025-12-11, input"),
        (date(2026, 9, 14), Decimal("1.2377"), "gpt-5.2-2025-12-11", "project proj_3f | gpt-5.2-2025-12-11, output"),
    ]


def test_it_refuses_a_negative_openai_cost(tmp_path):
    doc = json.loads(json.dumps(OPENAI_COSTS))
    doc["data"][0]["results"][1]["amount"]["value"] = "-3"
    problems = [item for item in parse("openai_costs", write(tmp_path, doc)) if isinstance(item, Problem)]
    assert [p.field for p in problems] == ["amount.value"]


def test_it_reads_cursor_members_as_identities(tmp_path):
    export = write(tmp_path, {"teamMembers": [{"name": "Diego Ramos", "email": "Diego.Ramos@acme.example",
                                               "role": "member"}]})
    assert detect_format(export).name == "cursor_members"
    assert parse("cursor_members", export) == [IdentityRow(
        identity=IdentityKey("cursor", "email", "diego.ramos@acme.example"), label="Diego Ramos",
        email="diego.ramos@acme.example")]


def test_it_reads_cursor_spend_on_the_cycles_first_day(tmp_path):
    export = write(tmp_path, {"teamMemberSpend": [
        {"spendCents": 1234.5, "fastPremiumRequests": 3, "name": "Mei", "email": "mei.chen@acme.example",
         "role": "member", "hardLimitOverrideDollars": 0}], "subscriptionCycleStart": SEP_14 * 1000,
        "totalMembers": 1, "totalPages": 1})
    assert detect_format(export).name == "cursor_spend"
    assert parse("cursor_spend", export) == [CostRow("cursor", "cursor_spend", date(2026, 9, 14), Decimal("12.345"),
                                                     "member mei.chen@acme.example")]


def test_cursor_spend_without_its_cycle_is_refused(tmp_path):
    problems = parse("cursor_spend", write(tmp_path, {"teamMemberSpend": []}))
    assert [p.field for p in problems] == ["subscriptionCycleStart"]
