"""Files that must be refused, end to end: a located refusal, final (never retried), nothing applied,
and never an "internal error", whatever the file holds."""

from __future__ import annotations

import gzip
import json

import pytest
from django.core.files.base import ContentFile

from leaderboard import imports
from leaderboard.models import UsageExport, UsageRecord

Status = UsageExport.Status
HEADER = "date,email,provider,model,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,requests,cost_usd\n"
INT64_MAX = 2**63 - 1


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def run(content: bytes, name: str) -> UsageExport:
    export, _created = imports.store_export(
        content=ContentFile(content, name=name), name=name, origin=UsageExport.Origin.COMMAND
    )
    imports.process_export(export.pk)
    export.refresh_from_db()
    return export


def assert_refused(export: UsageExport, where: str, field: str, message: str) -> None:
    assert export.status == Status.FAILED, export.problems
    assert "internal error" not in export.failure
    first = export.problems[0]
    assert (first["where"], first["field"]) == (where, field), first
    assert message in first["message"], first
    assert export.attempts == 1  # a located refusal is final
    assert not UsageRecord.objects.exists()


@pytest.mark.parametrize("depth", [20_000, 200_000])
def test_it_refuses_deeply_nested_json_saying_where(db, depth):
    export = run(b"[" * depth + b"]" * depth, "deep.json")
    assert_refused(export, "deep.json [0]", "", "nested more than 64 levels deep")


def test_it_refuses_a_truncated_json_file_as_truncated(db):
    export = run(b'{"data": [{"starting_at": "2026-10-01T00:00:00Z", "results": [', "cut.json")
    assert_refused(export, "cut.json", "", "the file ends in the middle of a JSON document (byte 62)")


def test_it_refuses_a_gzipped_one_line_document_of_millions_of_values(db):
    row = b'{"date": "2026-10-01", "inputTokens": 10, "outputTokens": 20, "totalTokens": 30, "totalCost": 0.5},'
    content = gzip.compress(b'{"daily": [' + row * 200_000 + b"{}]}")  # 20 MB from 100 KB
    assert_refused(run(content, "ccusage.json.gz"), "ccusage.json.gz line 1", "", "more than 1,000,000 values")


@pytest.mark.parametrize(
    ("row", "field"),
    [
        (f"2026-10-01,erin@example.com,x,m,{INT64_MAX},{INT64_MAX},0,0,1,", "input_tokens"),
        ("2026-10-01,erin@example.com,x,m,1,100000000000000000000000000,0,0,1,", "output_tokens"),
        ("2026-10-01,erin@example.com,x,m,1,1,0,0,1,99999999999", "cost_usd"),
        ("2099-12-31,erin@example.com,x,m,1,1,0,0,1,", "date"),
        ("1900-01-01,erin@example.com,x,m,1,1,0,0,1,", "date"),
        ("2026-10-01,erin@example.com,<b>prov</b>,m,1,1,0,0,1,", "provider"),
        ("2026-10-01,erin@example.com,x,gpt\x00-5,1,1,0,0,1,", "model"),
        ("2026-10-01,erin@example.com,x," + "m" * 300 + ",1,1,0,0,1,", "model"),
    ],
)
def test_it_refuses_a_row_out_of_range_with_its_line_and_field(db, row, field):
    export = run((HEADER + row + "\n").encode(), "usage.csv")
    assert_refused(export, "usage.csv line 2", field, "")


def test_it_refuses_a_csv_header_cell_over_the_cell_limit_with_its_line(db):
    content = b"date,email,provider," + b"x" * (17 * 1024 * 1024) + b"\n"
    assert_refused(run(content, "wide.csv"), "wide.csv line 1", "", "a cell is longer than 16,777,216 bytes")


def test_it_refuses_a_json_row_with_a_nul_in_its_model_with_its_path_and_field(db):
    page = {"data": [{"starting_at": "2026-10-01T00:00:00Z", "ending_at": "2026-10-02T00:00:00Z",
                      "results": [{"account_id": "user_A", "model": "claude\u0000opus", "uncached_input_tokens": 1,
                                   "output_tokens": 1, "cache_read_input_tokens": 0}]}]}
    export = run(json.dumps(page, indent=1).encode(), "usage.json")
    assert_refused(export, "usage.json $ data[0].results[0]", "model", "control characters")
    assert "\x00" not in json.dumps(export.problems)
