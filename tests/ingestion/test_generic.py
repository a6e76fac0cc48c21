from decimal import Decimal

import pytest

from leaderboard.ingestion import generic
from leaderboard.ingestion.reading import Export
from leaderboard.ingestion.rows import ImportRefused, ParseContext, Problem, UsageRow

HEADER = "date,email,provider,model,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,requests,cost_usd"


def parse(path):
    export = Export(path, name=path.name, limit=10**9)
    return list(generic.parse(export, ParseContext(file_name=path.name)))


def write(tmp_path, text, name="usage.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_it_reads_the_sample_file(samples):
    rows = parse(samples / "generic" / "mistral_usage.csv")
    assert rows and all(isinstance(row, UsageRow) for row in rows)
    first = rows[0]
    assert first.vendor == "mistral"
    assert first.identity.value == "maya.murphy@acme.example"
    assert (first.input_tokens, first.output_tokens, first.cache_read_tokens, first.cache_write_tokens) == (
        1549, 2519, 192042, 3204,
    )
    assert first.cost_usd == Decimal("8.28") and first.cost_reported


def test_it_accepts_bom_crlf_case_and_float_integers(tmp_path):
    text = "\ufeff" + HEADER.upper().replace(",", " ,") + "\r\n2026-10-01,Erin@Example.com,Mistral,m,3.0,2,,,1,\r\n"
    [row] = parse(write(tmp_path, text))
    assert row.identity.value == "erin@example.com"
    assert row.vendor == "mistral"
    assert row.input_tokens == 3
    assert row.cost_usd is None and not row.cost_reported


def test_it_reports_every_bad_cell_with_line_and_field(tmp_path):
    text = HEADER + "\n2026-02-30,erin@example.com,x,m,1,1,0,0,1,\n2026-10-01,not-an-email,x,m,-5,1,0,0,1,\n"
    problems = [item for item in parse(write(tmp_path, text)) if isinstance(item, Problem)]
    assert [(p.where, p.field) for p in problems] == [("usage.csv line 2", "date"), ("usage.csv line 3", "email")]


def test_it_refuses_a_file_missing_required_columns(tmp_path):
    with pytest.raises(ImportRefused) as refused:
        parse(write(tmp_path, "date,email,provider\n2026-10-01,a@b.c,x\n"))
    assert "model, input_tokens, output_tokens" in str(refused.value)


def test_it_reads_a_file_without_the_optional_columns_in_any_order_and_rows_cut_short(tmp_path):
    text = "model,output_tokens,email,extra,date,provider,input_tokens\nm,7,erin@example.com,x,2026-10-01,openrouter,5\nm,1,erin@example.com\n"
    first, second = parse(write(tmp_path, text))
    assert (first.vendor, first.model, first.input_tokens, first.output_tokens) == ("openrouter", "m", 5, 7)
    assert (first.cache_read_tokens, first.cache_write_tokens, first.requests, first.cost_usd) == (0, 0, 0, None)
    # A row that stops early has empty cells: here no date and no provider, each said once.
    assert isinstance(second, Problem) and second.where == "usage.csv line 3"


def test_it_reads_costs_however_they_are_written(tmp_path):
    costs = ["1.25", "$0.19", "1,250.50", "Included", "-", "", "0", "2e-3"]
    text = HEADER + "".join(f"\n2026-10-01,erin@example.com,x,m,1,1,0,0,1,\"{cost}\"" for cost in costs) + "\n"
    rows = parse(write(tmp_path, text))
    assert [row.cost_usd for row in rows] == [
        Decimal("1.25"), Decimal("0.19"), Decimal("1250.50"), None, None, None, Decimal("0"), Decimal("0.002"),
    ]


def test_it_refuses_negative_or_impossible_costs_naming_the_line(tmp_path):
    text = HEADER + "\n2026-10-01,erin@example.com,x,m,1,1,0,0,1,-1.00\n2026-10-01,erin@example.com,x,m,1,1,0,0,1,NaN\n"
    problems = parse(write(tmp_path, text))
    assert [(p.where, p.field) for p in problems] == [("usage.csv line 2", "cost_usd"), ("usage.csv line 3", "cost_usd")]


def test_it_refuses_a_provider_that_is_no_provider_id_with_line_and_field(tmp_path):
    text = HEADER + "\n2026-10-01,erin@example.com,<b>prov</b>,m,1,1,0,0,1,\n2026-10-01,erin@example.com,Open-Router,m,1,1,0,0,1,\n"
    problem, row = parse(write(tmp_path, text))
    assert (problem.where, problem.field) == ("usage.csv line 2", "provider")
    assert row.vendor == "open-router"


def test_it_refuses_a_nul_or_control_character_in_the_model_with_line_and_field(tmp_path):
    text = HEADER + "\n2026-10-01,erin@example.com,x,gpt\x00-5,1,1,0,0,1,\n2026-10-01,erin@example.com,x,m\x1b[0m,1,1,0,0,1,\n"
    assert [(p.where, p.field) for p in parse(write(tmp_path, text))] == [
        ("usage.csv line 2", "model"), ("usage.csv line 3", "model"),
    ]


def test_it_refuses_days_before_2020_or_in_the_future_with_line_and_field(tmp_path):
    text = HEADER + "\n2099-12-31,erin@example.com,x,m,1,1,0,0,1,\n1900-01-01,erin@example.com,x,m,1,1,0,0,1,\n"
    assert [(p.where, p.field) for p in parse(write(tmp_path, text))] == [
        ("usage.csv line 2", "date"), ("usage.csv line 3", "date"),
    ]


def test_it_refuses_counts_and_costs_no_row_can_hold_with_line_and_field(tmp_path):
    int64_max = 2**63 - 1
    text = HEADER + (
        f"\n2026-10-01,erin@example.com,x,m,{int64_max},{int64_max},0,0,1,"
        f"\n2026-10-01,erin@example.com,x,m,1,1,100000000000000000000000000,0,1,"
        f"\n2026-10-01,erin@example.com,x,m,1,1,0,0,1,20000000.00\n"
    )
    assert [(p.where, p.field) for p in parse(write(tmp_path, text))] == [
        ("usage.csv line 2", "input_tokens"), ("usage.csv line 3", "cache_read_tokens"), ("usage.csv line 4", "cost_usd"),
    ]
