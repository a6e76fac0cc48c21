import json
from datetime import date, timedelta
from decimal import Decimal

import pytest

from leaderboard.ingestion import ccusage, generic, github
from leaderboard.ingestion.reading import Export
from leaderboard.ingestion.rows import IdentityKey, ImportRefused, ParseContext, Problem, UsageRow

DANA = "dana.brooks@acme.example"


def parse(path, email=DANA):
    export = Export(path, name=path.name, limit=10**9)
    return list(ccusage.parse(export, ParseContext(file_name=path.name, person_email=email)))


def write(tmp_path, doc, name="ccusage.json"):
    path = tmp_path / name
    # ccusage pretty-prints its JSON, so a report is one document ("$"), not a line of JSON Lines.
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc, indent=1))
    return path


def usage(items):
    return [item for item in items if isinstance(item, UsageRow)]


def problems(items):
    return [item for item in items if isinstance(item, Problem)]


def day_row(day="2026-10-01", breakdowns=None, **counts):
    row = {"date": day, "inputTokens": 10, "outputTokens": 20, "cacheCreationTokens": 30, "cacheReadTokens": 40,
           "totalTokens": 100, "totalCost": 0.5, "modelsUsed": ["claude-opus-4-6"]}
    row.update(counts)
    if breakdowns is not None:
        row["modelBreakdowns"] = breakdowns
    return row


def breakdown(model="claude-opus-4-6", cost=0.5, **counts):
    entry = {"modelName": model, "inputTokens": 10, "outputTokens": 20, "cacheCreationTokens": 30,
             "cacheReadTokens": 40, "cost": cost}
    entry.update(counts)
    return entry


def totals(rows):
    return tuple(
        sum(getattr(row, name) for row in rows)
        for name in ("input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens")
    )


def test_it_reads_dana_s_sample_one_row_per_model_and_day(samples):
    items = parse(samples / "ccusage" / "dana.brooks.json")
    rows = usage(items)
    assert not problems(items)
    assert len(rows) == 20  # ten days, two models each
    assert {row.identity for row in rows} == {IdentityKey("anthropic", "email", DANA)}
    assert {(row.vendor, row.source, row.dims, row.requests) for row in rows} == {("anthropic", "ccusage", "", 0)}
    assert totals(rows) == (8023, 4457, 14034, 227721)
    assert sum(row.cost_usd for row in rows) == Decimal("0.2836")
    assert all(row.cost_reported for row in rows)
    first = rows[0]
    assert (first.day, first.model) == (date(2026, 10, 1), "claude-sonnet-4-5-20250929")
    assert (first.input_tokens, first.output_tokens, first.cache_write_tokens, first.cache_read_tokens) == (
        477, 173, 272, 13601,
    )
    assert first.cost_usd == Decimal("0.0091")


def test_it_reads_gus_s_sample(samples):
    rows = usage(parse(samples / "ccusage" / "gus.vogel.json", email="Gus.Vogel@acme.example"))
    assert len(rows) == 20
    assert {row.identity.value for row in rows} == {"gus.vogel@acme.example"}
    assert totals(rows) == (102617, 46408, 157608, 2416239)
    assert sum(row.cost_usd for row in rows) == Decimal("2.9777")
    opus_cache_read = sum(row.cache_read_tokens for row in rows if row.model == "claude-opus-4-6")
    assert opus_cache_read == 966007
    last = rows[-1]
    assert (last.day, last.model, last.output_tokens, last.cost_usd) == (
        date(2026, 10, 28), "claude-opus-4-6", 2558, Decimal("0.1908"),
    )


def test_it_refuses_a_file_attributed_to_nobody(samples):
    with pytest.raises(ImportRefused) as refused:
        parse(samples / "ccusage" / "dana.brooks.json", email=None)
    message = str(refused.value)
    assert "must be attributed to a person" in message and "--email" in message


def test_it_refuses_an_attribution_that_is_no_email(tmp_path):
    with pytest.raises(ImportRefused, match="email"):
        parse(write(tmp_path, {"daily": []}), email="dana")


def test_it_counts_a_month_on_its_first_day(tmp_path):
    doc = {"monthly": [{"month": "2026-09", "inputTokens": 1, "outputTokens": 2, "cacheCreationTokens": 3,
                        "cacheReadTokens": 4, "totalTokens": 10, "totalCost": 0.25,
                        "modelBreakdowns": [breakdown(inputTokens=1, outputTokens=2, cacheCreationTokens=3,
                                                      cacheReadTokens=4, cost=0.25)]}]}
    [row] = usage(parse(write(tmp_path, doc)))
    assert row.day == date(2026, 9, 1)
    assert (row.input_tokens, row.output_tokens, row.cache_write_tokens, row.cache_read_tokens) == (1, 2, 3, 4)
    assert row.cost_usd == Decimal("0.25")


def test_it_counts_a_week_on_its_first_day(tmp_path):
    row = day_row(breakdowns=[breakdown()])
    del row["date"]
    [usage_row] = usage(parse(write(tmp_path, {"weekly": [dict(row, week="2026-09-28")]})))
    assert usage_row.day == date(2026, 9, 28)


def test_it_refuses_an_impossible_month_or_date(tmp_path):
    doc = {"monthly": [{"month": "2026-13", "modelBreakdowns": [breakdown()]}],
           "daily": [day_row("2026-02-30", [breakdown()])]}
    found = problems(parse(write(tmp_path, doc)))
    assert {(p.where, p.field) for p in found} == {
        ("ccusage.json $ monthly[0]", "month"), ("ccusage.json $ daily[0]", "date"),
    }
    assert any("YYYY-MM" in p.message for p in found)


def test_it_yields_every_project_row_of_an_instances_report(tmp_path):
    doc = {
        "projects": {
            "frontend": [day_row(breakdowns=[breakdown(cost=0.5)])],
            "backend-api": [day_row(breakdowns=[breakdown(cost=0.25)]), day_row("2026-10-02", [breakdown()])],
        },
        "totals": {"totalTokens": 300},
    }
    rows = usage(parse(write(tmp_path, doc)))
    # Same day and model in two projects: both are yielded; the pipeline sums rows sharing a key.
    assert [(row.day.day, row.model, row.cost_usd) for row in rows] == [
        (1, "claude-opus-4-6", Decimal("0.5")),
        (1, "claude-opus-4-6", Decimal("0.25")),
        (2, "claude-opus-4-6", Decimal("0.5")),
    ]


def test_it_leaves_cost_unknown_in_no_cost_output(tmp_path):
    plain = {key: value for key, value in day_row().items() if key != "totalCost"}
    entry = {key: value for key, value in breakdown().items() if key != "cost"}
    rows = usage(parse(write(tmp_path, {"daily": [dict(plain, modelBreakdowns=[entry]), dict(plain, date="2026-10-02")]})))
    assert [(row.cost_usd, row.cost_reported) for row in rows] == [(None, False), (None, False)]


def test_it_reads_a_row_without_model_breakdowns_from_its_totals(tmp_path):
    [row] = usage(parse(write(tmp_path, {"daily": [day_row(totalCost="1.5")]})))
    assert row.model == ""
    assert (row.input_tokens, row.output_tokens, row.cache_write_tokens, row.cache_read_tokens) == (10, 20, 30, 40)
    assert row.cost_usd == Decimal("1.5") and row.cost_reported


def test_it_takes_a_zero_cost_for_tokens_as_unknown(tmp_path):
    # ccusage prices a model missing from its table at 0; that is not a free model.
    [priced, unpriced] = usage(parse(write(tmp_path, {"daily": [day_row(breakdowns=[
        breakdown(cost=0.5, inputTokens=10), breakdown(model="claude-new-9", cost=0, inputTokens=10)])]})))
    assert priced.cost_reported
    assert (unpriced.cost_usd, unpriced.cost_reported) == (None, False)


def test_it_accepts_nulls_and_float_integers(tmp_path):
    entry = breakdown(inputTokens=None, outputTokens="20.0", cacheCreationTokens=30.0, cacheReadTokens=None, cost=None)
    text = json.dumps({"daily": [day_row(inputTokens=None, cacheReadTokens=None, totalTokens=50,
                                         breakdowns=[entry])]}).replace("30.0", "3.0e1")
    items = parse(write(tmp_path, text))
    assert not problems(items)
    [row] = usage(items)
    assert (row.input_tokens, row.output_tokens, row.cache_write_tokens, row.cache_read_tokens) == (0, 20, 30, 0)
    assert not row.cost_reported


def test_it_reports_a_bad_breakdown_by_json_path_and_carries_on(tmp_path):
    doc = {"daily": [day_row(breakdowns=[breakdown(), breakdown(outputTokens=-5), breakdown(cacheReadTokens=1.5)]),
                     day_row("2026-10-02", [breakdown(cost="lots")])]}
    items = parse(write(tmp_path, doc))
    assert len(usage(items)) == 1
    assert [(p.where, p.field) for p in problems(items)] == [
        ("ccusage.json $ daily[0].modelBreakdowns[1]", "outputTokens"),
        ("ccusage.json $ daily[0].modelBreakdowns[2]", "cacheReadTokens"),
        ("ccusage.json $ daily[1].modelBreakdowns[0]", "cost"),
    ]
    assert "negative" in problems(items)[0].message


def test_it_refuses_a_row_whose_total_does_not_add_up(tmp_path):
    doc = {"daily": [day_row(totalTokens=999, breakdowns=[breakdown()]), day_row("2026-10-02", [breakdown()])]}
    items = parse(write(tmp_path, doc))
    [problem] = problems(items)
    assert (problem.where, problem.field) == ("ccusage.json $ daily[0]", "totalTokens")
    assert "999" in problem.message and "100" in problem.message
    assert [row.day.day for row in usage(items)] == [2]


def test_it_keeps_only_claude_models_of_a_report_that_mixes_tools(tmp_path):
    # Recent ccusage reads Codex and other tools too, and its unified report mixes them in one row.
    row = {"period": "2026-10-01", "agent": "all", "metadata": {"agents": ["claude", "codex"]},
           "inputTokens": 20, "outputTokens": 40, "cacheCreationTokens": 30, "cacheReadTokens": 80,
           "totalTokens": 200, "totalCost": 1.0,
           "modelBreakdowns": [breakdown(), breakdown(model="gpt-5.5", cacheCreationTokens=0)]}
    items = parse(write(tmp_path, {"daily": [row]}))
    [kept] = usage(items)
    assert (kept.day, kept.model) == (date(2026, 10, 1), "claude-opus-4-6")
    [problem] = problems(items)
    assert (problem.where, problem.field) == ("ccusage.json $ daily[0].modelBreakdowns[1]", "modelName")
    assert "ccusage claude daily" in problem.message


def test_it_reads_rows_of_a_claude_only_unified_report(tmp_path):
    row = dict(day_row(breakdowns=[breakdown()]), period="2026-10-03", metadata={"agents": ["claude"]})
    del row["date"]
    [kept] = usage(parse(write(tmp_path, {"daily": [row]})))
    assert kept.day == date(2026, 10, 3)


def test_it_reports_a_document_that_is_no_report(tmp_path):
    path = write(tmp_path, '{"daily": [' + json.dumps(day_row()) + "]}\n" + '{"session": []}\n', name="x.jsonl")
    items = parse(path)
    assert len(usage(items)) == 1
    [problem] = problems(items)
    assert problem.where == "x.jsonl line 2"


def test_it_sniffs_its_own_shapes():
    assert ccusage.sniff({"daily": [], "totals": {}})
    assert ccusage.sniff({"monthly": [{"month": "2026-10"}]})
    assert ccusage.sniff({"weekly": [{"week": "2026-10-05"}]})
    assert ccusage.sniff({"projects": {"a": [], "b": [{"date": "2026-10-01"}]}, "totals": {}})


def test_it_rejects_other_shapes_and_others_reject_it(samples):
    assert not ccusage.sniff({"projects": {"a": [{"name": "x"}]}})
    assert not ccusage.sniff({"projects": [{"date": "2026-10-01"}]})
    assert not ccusage.sniff({"user_login": "octo", "day": "2026-10-01"})
    assert not ccusage.sniff({"total_seats": 0, "seats": []})
    assert not ccusage.sniff({"data": [], "has_more": False})
    assert not ccusage.sniff(["date", "email", "provider", "model", "input_tokens", "output_tokens"])
    sample = json.loads((samples / "ccusage" / "dana.brooks.json").read_text())
    assert ccusage.sniff(sample)
    assert not github.sniff_usage(sample) and not github.sniff_seats(sample) and not generic.sniff(sample)


def test_it_refuses_days_and_months_before_2020_or_more_than_a_year_ahead(tmp_path):
    doc = {"monthly": [{"month": "2099-12", "modelBreakdowns": [breakdown()]},
                       {"month": "1900-01", "modelBreakdowns": [breakdown()]}],
           "daily": [day_row("2099-12-31", [breakdown()]), day_row("2019-12-31", [breakdown()])]}
    found = problems(parse(write(tmp_path, doc)))
    assert [(p.where, p.field) for p in found] == [
        ("ccusage.json $ daily[0]", "date"), ("ccusage.json $ daily[1]", "date"),
        ("ccusage.json $ monthly[0]", "month"), ("ccusage.json $ monthly[1]", "month"),
    ]
    assert all("must be a day from 2020-01-01 to " in p.message for p in found)


def test_it_reads_a_day_a_few_days_ahead_as_claimed_for_the_review_to_hold(tmp_path):
    ahead = (date.today() + timedelta(days=3)).isoformat()
    rows = usage(parse(write(tmp_path, {"daily": [day_row(ahead, [breakdown()])]})))
    assert [row.day.isoformat() for row in rows] == [ahead]


def test_it_refuses_counts_costs_and_models_out_of_range(tmp_path):
    doc = {"daily": [day_row(breakdowns=[breakdown(outputTokens=2**63 - 1), breakdown(cost=1e12),
                                         breakdown(model="claude\x00opus")])]}
    assert [(p.where, p.field) for p in problems(parse(write(tmp_path, doc)))] == [
        ("ccusage.json $ daily[0].modelBreakdowns[0]", "outputTokens"),
        ("ccusage.json $ daily[0].modelBreakdowns[1]", "cost"),
        ("ccusage.json $ daily[0].modelBreakdowns[2]", "modelName"),
    ]
