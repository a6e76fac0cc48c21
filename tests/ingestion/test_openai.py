import json
from datetime import date, timedelta

import pytest

from leaderboard.ingestion import generic, openai
from leaderboard.ingestion.reading import Export
from leaderboard.ingestion.rows import (
    IdentityKey,
    IdentityRow,
    ImportRefused,
    ParseContext,
    Problem,
    UsageRow,
)

FORMATS = {fmt.name: fmt for fmt in openai.FORMATS}
OCT_1 = 1790812800  # 2026-10-01T00:00:00Z
DAY = 86400
DANA_BROOKS = "user-w904i4cbFxucb57eFeuvieeD"
CALEB_VOGEL = "user-91Gq8qyvmHieeguhDHFck6BF"
CSV_HEADER = (
    "start_time,end_time,start_time_iso,end_time_iso,project_id,num_model_requests,user_id,api_key_id,model,"
    "batch,service_tier,input_tokens,output_tokens,input_cached_tokens,input_audio_tokens,output_audio_tokens"
)


def parse(format_name, path):
    export = Export(path, name=path.name, limit=10**9)
    return list(FORMATS[format_name].parse(export, ParseContext(file_name=path.name)))


def write(tmp_path, text, name="usage.json"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def write_json(tmp_path, doc, name="usage.json"):
    # Pretty-printed, as saved from the API; one compact line would read as JSON Lines ("line 1").
    return write(tmp_path, json.dumps(doc, indent=1), name)


def page(*buckets, **extra):
    return {"object": "page", "data": list(buckets), "has_more": False, "next_page": None, **extra}


def bucket(start, *results, width=DAY):
    return {"object": "bucket", "start_time": start, "end_time": start + width, "results": list(results)}


def completion(**fields):
    result = {
        "object": "organization.usage.completions.result",
        "input_tokens": 1000,
        "output_tokens": 50,
        "num_model_requests": 4,
        "input_cached_tokens": 600,
        "input_cache_write_tokens": 100,
        "input_uncached_tokens": 300,
        "project_id": None,
        "user_id": "user-erin",
        "api_key_id": None,
        "model": "gpt-5.2-2025-12-11",
        "batch": None,
        "service_tier": None,
    }
    result.update(fields)
    return result


def tokens(row):
    return (row.input_tokens, row.cache_write_tokens, row.cache_read_tokens, row.output_tokens, row.requests)


def totals(rows):
    return tuple(sum(column) for column in zip(*(tokens(row) for row in rows), strict=True))


def matching(path):
    """The formats (of this module and the generic CSV) that claim the file."""
    export = Export(path, name=path.name, limit=10**9)
    sample = export.first_document() if export.kind == "json" else export.header()
    candidates = [*openai.FORMATS, *generic.FORMATS]
    return [fmt.name for fmt in candidates if fmt.kind == export.kind and fmt.sniff(sample)]


# --- the sample org's files -----------------------------------------------------------------------


def test_it_reads_the_sample_api_pages(samples):
    rows = parse("openai_usage", samples / "openai" / "usage_completions_pages.json")
    assert len(rows) == 217 and all(isinstance(row, UsageRow) for row in rows)
    assert totals(rows) == (2_644_239, 0, 75_130_076, 1_535_217, 44_908)
    assert {row.day for row in rows} == {date(2026, 10, 1) + timedelta(days=n) for n in range(18)}
    first = rows[0]
    assert (first.vendor, first.source, first.dims, first.cost_usd, first.cost_reported) == (
        "openai",
        "openai_usage",
        "",
        None,
        False,
    )
    assert first.identity == IdentityKey("openai", "user_id", DANA_BROOKS)
    assert (first.day, first.model) == (date(2026, 10, 1), "gpt-5.2-2025-12-11")
    # input_tokens 3283 includes 3002 cached: 281 uncached.
    assert tokens(first) == (281, 0, 3002, 105, 77)


def test_it_reads_the_sample_dashboard_csv(samples):
    rows = parse("openai_usage_csv", samples / "openai" / "completions_usage_2026-10-16_2026-10-30.csv")
    assert len(rows) == 173 and all(isinstance(row, UsageRow) for row in rows)
    assert totals(rows) == (2_241_035, 0, 59_344_208, 1_208_003, 34_169)
    assert {row.day for row in rows} == {date(2026, 10, 16) + timedelta(days=n) for n in range(15)}
    first = rows[0]
    assert first.identity == IdentityKey("openai", "user_id", "user-7az238HwEv8og8hoqzfu1vrb")
    assert (first.day, first.model, first.source, first.dims) == (
        date(2026, 10, 16),
        "gpt-5.2-2025-12-11",
        "openai_usage",
        "",
    )
    # input_tokens 45381 includes 42482 cached: 2899 uncached.
    assert tokens(first) == (2899, 0, 42482, 1007, 128)


def test_it_gives_identical_rows_from_the_api_and_the_csv_for_the_overlapping_days(samples):
    overlap = {date(2026, 10, 16), date(2026, 10, 17), date(2026, 10, 18)}
    api = parse("openai_usage", samples / "openai" / "usage_completions_pages.json")
    csv = parse("openai_usage_csv", samples / "openai" / "completions_usage_2026-10-16_2026-10-30.csv")

    def on_overlap(rows):
        kept = [row for row in rows if row.day in overlap]
        return sorted(kept, key=lambda row: (row.day, row.identity.value, row.model))

    assert len(on_overlap(api)) == 36
    assert on_overlap(api) == on_overlap(csv)


def test_it_adds_up_to_the_expected_openai_totals_once_both_files_are_upserted(samples):
    natural_key = {}
    for name, fmt in (
        ("usage_completions_pages.json", "openai_usage"),
        ("completions_usage_2026-10-16_2026-10-30.csv", "openai_usage_csv"),
    ):
        for row in parse(fmt, samples / "openai" / name):
            natural_key[(row.identity, row.day, row.model, row.dims)] = row  # a later file replaces

    def total_tokens(user_id):
        return sum(sum(tokens(row)[:4]) for key, row in natural_key.items() if key[0].value == user_id)

    assert total_tokens(DANA_BROOKS) == 413_028
    assert total_tokens(CALEB_VOGEL) == 22_905_131


def test_it_reads_the_sample_users(samples):
    rows = parse("openai_users", samples / "openai" / "users.json")
    assert len(rows) == 24 and all(isinstance(row, IdentityRow) for row in rows)
    dana = next(row for row in rows if row.identity.value == DANA_BROOKS)
    assert dana == IdentityRow(
        identity=IdentityKey("openai", "user_id", DANA_BROOKS),
        label="Dana Brooks",
        email="dana.brooks@acme.example",
    )


def test_it_recognises_each_sample_as_exactly_its_own_format(samples):
    folder = samples / "openai"
    assert matching(folder / "usage_completions_pages.json") == ["openai_usage"]
    assert matching(folder / "completions_usage_2026-10-16_2026-10-30.csv") == ["openai_usage_csv"]
    assert matching(folder / "users.json") == ["openai_users"]
    assert matching(samples / "generic" / "mistral_usage.csv") == ["generic_csv"]


# --- usage pages: awkward content -----------------------------------------------------------------


def test_it_splits_input_into_uncached_cache_write_and_cache_read(tmp_path):
    [row] = parse("openai_usage", write_json(tmp_path, page(bucket(OCT_1, completion()))))
    assert tokens(row) == (300, 100, 600, 50, 4)


def test_it_reads_explicit_nulls_as_nothing(tmp_path):
    result = completion(
        user_id=None,
        api_key_id=None,
        project_id=None,
        model=None,
        input_cached_tokens=None,
        input_cache_write_tokens=None,
        input_uncached_tokens=None,
    )
    [row] = parse("openai_usage", write_json(tmp_path, page(bucket(OCT_1, result))))
    assert row.identity == IdentityKey("openai", "unattributed", "organization")
    assert row.model == ""
    assert tokens(row) == (1000, 0, 0, 50, 4)


def test_it_names_the_user_then_the_key_then_the_project(tmp_path):
    results = [
        completion(user_id="user-erin", api_key_id="key_erin", project_id="proj_a"),
        completion(user_id=None, api_key_id="key_ci", project_id="proj_a"),
        completion(user_id=None, api_key_id=None, project_id="proj_a"),
    ]
    rows = parse("openai_usage", write_json(tmp_path, page(bucket(OCT_1, *results))))
    assert [row.identity for row in rows] == [
        IdentityKey("openai", "user_id", "user-erin"),
        IdentityKey("openai", "api_key", "key_ci"),
        IdentityKey("openai", "unattributed", "project proj_a"),
    ]
    assert {row.dims for row in rows} == {""}


def test_it_skips_empty_buckets_and_keeps_an_unaligned_first_bucket_on_its_start_day(tmp_path):
    unaligned = OCT_1 + 5 * 3600 + 17  # 05:00:17 on Oct 1, ending at the next midnight
    doc = page(
        {"object": "bucket", "start_time": unaligned, "end_time": OCT_1 + DAY, "results": [completion()]},
        bucket(OCT_1 + DAY),
        bucket(OCT_1 + 2 * DAY, completion(user_id="user-sam")),
    )
    rows = parse("openai_usage", write_json(tmp_path, doc))
    assert [(row.day, row.identity.value) for row in rows] == [
        (date(2026, 10, 1), "user-erin"),
        (date(2026, 10, 3), "user-sam"),
    ]


def test_it_reads_whole_numbers_written_as_decimals(tmp_path):
    result = completion(
        input_tokens=3.0,
        output_tokens=2.0,
        num_model_requests=1.0,
        input_cached_tokens=1.0,
        input_cache_write_tokens=0.0,
        input_uncached_tokens=2.0,
    )
    [row] = parse("openai_usage", write_json(tmp_path, page(bucket(OCT_1, result))))
    assert tokens(row) == (2, 0, 1, 2, 1)


def test_it_reports_cache_reads_larger_than_input_and_carries_on(tmp_path):
    doc = page(bucket(OCT_1, completion(), completion(input_tokens=500, input_uncached_tokens=None)))
    items = parse("openai_usage", write_json(tmp_path, doc))
    assert isinstance(items[0], UsageRow)
    assert items[1] == Problem(
        "usage.json $ data[0].results[1]",
        "input_cached_tokens",
        "cache reads (600) and cache writes (100) exceed input_tokens (500), which includes them",
    )


def test_it_reports_a_stated_uncached_count_that_disagrees(tmp_path):
    [problem] = parse(
        "openai_usage", write_json(tmp_path, page(bucket(OCT_1, completion(input_uncached_tokens=299))))
    )
    assert (problem.where, problem.field) == ("usage.json $ data[0].results[0]", "input_uncached_tokens")


def test_it_reports_negative_tokens_with_the_bucket_and_result(tmp_path):
    doc = page(bucket(OCT_1), bucket(OCT_1 + DAY, completion(), completion(output_tokens=-5)))
    items = parse("openai_usage", write_json(tmp_path, doc))
    assert [type(item) for item in items] == [UsageRow, Problem]
    assert (items[1].where, items[1].field) == ("usage.json $ data[1].results[1]", "output_tokens")
    assert "negative" in items[1].message


def test_it_reads_embeddings_and_moderations_results(tmp_path):
    embeddings = {
        "object": "organization.usage.embeddings.result",
        "input_tokens": 1200,
        "num_model_requests": 3,
        "project_id": None,
        "user_id": "user-erin",
        "api_key_id": None,
        "model": "text-embedding-3-small",
    }
    moderations = {
        **embeddings,
        "object": "organization.usage.moderations.result",
        "input_tokens": 80,
        "model": "omni-moderation-latest",
    }
    rows = parse("openai_usage", write_json(tmp_path, page(bucket(OCT_1, embeddings, moderations))))
    assert [(row.model, tokens(row)) for row in rows] == [
        ("text-embedding-3-small", (1200, 0, 0, 0, 3)),
        ("omni-moderation-latest", (80, 0, 0, 0, 3)),
    ]


def test_it_skips_results_that_count_no_tokens(tmp_path):
    others = [
        {
            "object": "organization.usage.images.result",
            "images": 4,
            "num_model_requests": 4,
            "size": "1024x1024",
            "source": "image.generation",
            "user_id": "user-erin",
            "model": "gpt-image-1",
        },
        {"object": "organization.usage.audio_speeches.result", "characters": 900, "num_model_requests": 2},
        {"object": "organization.usage.vector_stores.result", "usage_bytes": 10_000, "project_id": None},
        {
            "object": "organization.usage.code_interpreter_sessions.result",
            "num_sessions": 1,
            "project_id": None,
        },
    ]
    assert parse("openai_usage", write_json(tmp_path, page(bucket(OCT_1, *others)))) == []


def test_it_reads_results_under_the_spec_name_result(tmp_path):
    doc = page({"object": "bucket", "start_time": OCT_1, "end_time": OCT_1 + DAY, "result": [completion()]})
    assert FORMATS["openai_usage"].sniff(doc)
    [row] = parse("openai_usage", write_json(tmp_path, doc))
    assert row.day == date(2026, 10, 1)


def test_it_reads_json_lines_pages_and_says_which_line(tmp_path):
    lines = [
        page(bucket(OCT_1, completion()), has_more=True, next_page="p2"),
        page(bucket(OCT_1 + DAY, completion(user_id="user-sam"), completion(num_model_requests="x"))),
    ]
    items = parse(
        "openai_usage", write(tmp_path, "\n".join(json.dumps(doc) for doc in lines) + "\n", "usage.jsonl")
    )
    assert [row.identity.value for row in items if isinstance(row, UsageRow)] == ["user-erin", "user-sam"]
    [problem] = [item for item in items if isinstance(item, Problem)]
    assert (problem.where, problem.field) == ("usage.jsonl line 2 data[0].results[1]", "num_model_requests")


def test_it_reports_cost_results_when_told_a_costs_page_is_usage(tmp_path):
    cost = {
        "object": "organization.costs.result",
        "amount": {"value": 4.12, "currency": "usd"},
        "line_item": "gpt-5.2-2025-12-11, input",
        "project_id": "proj_a",
    }
    [problem] = parse("openai_usage", write_json(tmp_path, page(bucket(OCT_1, cost))))
    assert (problem.where, problem.field) == ("usage.json $ data[0].results[0]", "amount")


# --- the dashboard CSV: awkward content -----------------------------------------------------------


def csv_line(start=OCT_1, **cells):
    values = {
        "start_time": str(start),
        "end_time": str(start + DAY),
        "start_time_iso": "2026-10-01T00:00:00+00:00",
        "end_time_iso": "2026-10-02T00:00:00+00:00",
        "project_id": "",
        "num_model_requests": "4",
        "user_id": "user-erin",
        "api_key_id": "",
        "model": "gpt-5.2-2025-12-11",
        "batch": "False",
        "service_tier": "default",
        "input_tokens": "1000",
        "output_tokens": "50",
        "input_cached_tokens": "600",
        "input_audio_tokens": "0",
        "output_audio_tokens": "0",
    }
    values.update(cells)
    return ",".join(values[column] for column in CSV_HEADER.split(","))


def test_it_reads_a_csv_with_bom_crlf_shuffled_columns_and_decimal_integers(tmp_path):
    header = "\ufeffModel,Input_Tokens,Output_Tokens,Input_Cached_Tokens,Input_Cache_Write_Tokens,User_ID,Start_Time,Num_Model_Requests"
    text = header + "\r\ngpt-5.2-2025-12-11,1000.0,50.0,600.0,100.0,user-erin,1790812800.0,3.0\r\n"
    [row] = parse("openai_usage_csv", write(tmp_path, text, "usage.csv"))
    assert row.identity == IdentityKey("openai", "user_id", "user-erin")
    assert row.day == date(2026, 10, 1)
    assert tokens(row) == (300, 100, 600, 50, 3)


def test_it_gives_the_same_row_from_the_csv_as_from_the_api(tmp_path):
    api_result = completion(
        input_cache_write_tokens=None,
        input_uncached_tokens=None,
        project_id="proj_a",
        batch=False,
        service_tier="default",
    )
    [from_api] = parse("openai_usage", write_json(tmp_path, page(bucket(OCT_1, api_result))))
    [from_csv] = parse(
        "openai_usage_csv",
        write(tmp_path, CSV_HEADER + "\n" + csv_line(project_id="proj_a") + "\n", "usage.csv"),
    )
    assert from_csv == from_api


def test_it_falls_back_to_the_iso_start_time(tmp_path):
    text = CSV_HEADER + "\n" + csv_line(start_time="", start_time_iso="2026-10-05T00:00:00+00:00") + "\n"
    [row] = parse("openai_usage_csv", write(tmp_path, text, "usage.csv"))
    assert row.day == date(2026, 10, 5)


def test_it_imports_nothing_from_a_csv_of_time_columns_only(tmp_path):
    text = "start_time,end_time,start_time_iso,end_time_iso\n"
    text += f"{OCT_1},{OCT_1 + DAY},2026-10-01T00:00:00+00:00,2026-10-02T00:00:00+00:00\n"
    path = write(tmp_path, text, "completions_usage_2026-10-01_2026-10-01.csv")
    assert matching(path) == ["openai_usage_csv"]
    assert parse("openai_usage_csv", path) == []


def test_it_skips_csv_rows_of_times_without_usage(tmp_path):
    empty = csv_line(
        num_model_requests="",
        user_id="",
        model="",
        batch="",
        service_tier="",
        input_tokens="",
        output_tokens="",
        input_cached_tokens="",
        input_audio_tokens="",
        output_audio_tokens="",
    )
    rows = parse(
        "openai_usage_csv", write(tmp_path, CSV_HEADER + "\n" + empty + "\n" + csv_line() + "\n", "u.csv")
    )
    assert [row.identity.value for row in rows] == ["user-erin"]


def test_it_reports_bad_csv_cells_with_line_and_field_and_carries_on(tmp_path):
    lines = [
        csv_line(input_cached_tokens="1200"),
        csv_line(output_tokens="-5"),
        csv_line(start_time="soon"),
        csv_line(),
    ]
    items = parse(
        "openai_usage_csv", write(tmp_path, CSV_HEADER + "\n" + "\n".join(lines) + "\n", "usage.csv")
    )
    assert [(item.where, item.field) for item in items if isinstance(item, Problem)] == [
        ("usage.csv line 2", "input_cached_tokens"),
        ("usage.csv line 3", "output_tokens"),
        ("usage.csv line 4", "start_time"),
    ]
    assert isinstance(items[-1], UsageRow)


def test_it_refuses_a_csv_missing_usage_columns(tmp_path):
    with pytest.raises(ImportRefused) as refused:
        parse(
            "openai_usage_csv",
            write(tmp_path, "start_time,user_id,input_tokens\n1790812800,user-erin,5\n", "u.csv"),
        )
    assert "output_tokens, num_model_requests" in str(refused.value)


# --- identity lists -------------------------------------------------------------------------------


def test_it_reads_users_and_service_accounts(tmp_path):
    doc = {
        "object": "list",
        "data": [
            {
                "object": "organization.user",
                "id": "user-erin",
                "name": "Erin Employee",
                "email": "Erin@Example.com",
                "role": "reader",
                "added_at": 1767225600,
            },
            {
                "object": "organization.user",
                "id": "user-bot",
                "name": None,
                "email": "ci-bot@example.com",
                "is_service_account": True,
            },
        ],
        "has_more": False,
    }
    rows = parse("openai_users", write_json(tmp_path, doc))
    assert rows == [
        IdentityRow(
            IdentityKey("openai", "user_id", "user-erin"), label="Erin Employee", email="erin@example.com"
        ),
        IdentityRow(
            IdentityKey("openai", "user_id", "user-bot"),
            label="ci-bot@example.com",
            email="ci-bot@example.com",
            is_service_account=True,
        ),
    ]


def test_it_reports_a_user_without_an_id(tmp_path):
    doc = {"object": "list", "data": [{"object": "organization.user", "email": "erin@example.com"}]}
    [problem] = parse("openai_users", write_json(tmp_path, doc))
    assert problem == Problem("usage.json $ data[0]", "id", "is required")


def api_keys_page():
    return {
        "object": "list",
        "data": [
            {
                "object": "organization.project.api_key",
                "id": "key_erin",
                "name": "erin laptop",
                "redacted_value": "sk-proj-abc...xyz",
                "created_at": 1767225600,
                "last_used_at": 1790812800,
                "owner": {
                    "type": "user",
                    "user": {
                        "id": "user-erin",
                        "email": "Erin@Example.com",
                        "name": "Erin",
                        "role": "owner",
                        "created_at": 1767225600,
                    },
                },
            },
            {
                "object": "organization.project.api_key",
                "id": "key_ci",
                "name": "ci",
                "owner": {
                    "type": "service_account",
                    "service_account": {"id": "svc_acct_1", "name": "ci", "role": "member"},
                },
            },
        ],
        "first_id": "key_erin",
        "last_id": "key_ci",
        "has_more": False,
    }


def test_it_reads_project_api_keys_and_links_them_to_their_owners(tmp_path):
    rows = parse("openai_project_api_keys", write_json(tmp_path, [api_keys_page()], "keys.json"))
    assert rows == [
        IdentityRow(
            IdentityKey("openai", "api_key", "key_erin"),
            label="erin laptop",
            email="erin@example.com",
            linked_to=IdentityKey("openai", "user_id", "user-erin"),
        ),
        IdentityRow(IdentityKey("openai", "api_key", "key_ci"), label="ci", is_service_account=True),
    ]


def test_it_reports_a_key_in_a_users_list(tmp_path):
    keys = api_keys_page()
    [problem] = parse("openai_users", write_json(tmp_path, {**keys, "data": keys["data"][1:]}))
    assert (problem.where, problem.field) == ("usage.json $ data[0]", "object")


# --- recognising files ----------------------------------------------------------------------------


ANTHROPIC_USAGE = {
    "data": [{"starting_at": "2026-10-01T00:00:00Z", "ending_at": "2026-10-02T00:00:00Z", "results": []}],
    "has_more": False,
}
COSTS = page(
    bucket(
        OCT_1,
        {
            "object": "organization.costs.result",
            "amount": {"value": "1.2377", "currency": "usd"},
            "line_item": "gpt-5.2-2025-12-11, output",
            "project_id": None,
            "quantity": 88412,
        },
    )
)


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (page(bucket(OCT_1, completion())), ["openai_usage"]),
        (page(), ["openai_usage"]),
        ({"data": [bucket(OCT_1, completion())]}, ["openai_usage"]),
        (api_keys_page(), ["openai_project_api_keys"]),
        (ANTHROPIC_USAGE, []),
        (COSTS, ["openai_costs"]),  # the invoice's figures, read for reconciliation, never as usage
        ({"data": []}, []),
        ({"object": "list", "data": []}, []),
        ({"data": [{"start_time": "2026-10-01", "results": []}]}, []),
    ],
)
def test_it_claims_its_own_json_and_no_other(tmp_path, doc, expected):
    assert matching(write_json(tmp_path, doc)) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (CSV_HEADER, ["openai_usage_csv"]),
        ("start_time,end_time,start_time_iso,end_time_iso", ["openai_usage_csv"]),
        (
            "date,email,provider,model,input_tokens,output_tokens,start_time,num_model_requests",
            ["generic_csv"],
        ),
        ("start_time,user_id,input_tokens,output_tokens", []),
        ("start_time,end_time", []),
    ],
)
def test_it_claims_its_own_csv_and_no_other(tmp_path, header, expected):
    assert matching(write(tmp_path, header + "\n", "usage.csv")) == expected


# --- values out of range --------------------------------------------------------------------------


def test_it_refuses_buckets_before_2020_or_in_the_future(tmp_path):
    pages = page(bucket(4102444800, completion()), bucket(0, completion()), bucket(OCT_1, completion()))
    items = parse("openai_usage", write_json(tmp_path, pages))
    assert [(p.where, p.field) for p in items if isinstance(p, Problem)] == [
        ("usage.json $ data[0]", "start_time"), ("usage.json $ data[1]", "start_time"),
    ]


def test_it_refuses_csv_days_before_2020_or_in_the_future(tmp_path):
    lines = [csv_line(start_time="4102444800"), csv_line(start_time="", start_time_iso="1900-01-01T00:00:00Z")]
    items = parse("openai_usage_csv", write(tmp_path, CSV_HEADER + "\n" + "\n".join(lines) + "\n", "usage.csv"))
    assert [(p.where, p.field) for p in items] == [("usage.csv line 2", "start_time"), ("usage.csv line 3", "start_time_iso")]


def test_it_refuses_counts_no_row_can_hold_and_models_with_control_characters(tmp_path):
    big = 2**63 - 1
    results = [completion(input_tokens=big, input_cached_tokens=0, input_cache_write_tokens=0, input_uncached_tokens=big),
               completion(model="gpt\x00"), completion(user_id="us\ner")]
    items = parse("openai_usage", write_json(tmp_path, page(bucket(OCT_1, *results))))
    assert [(p.where, p.field) for p in items] == [
        ("usage.json $ data[0].results[0]", "input_tokens"),
        ("usage.json $ data[0].results[1]", "model"),
        ("usage.json $ data[0].results[2]", "user_id"),
    ]


def test_it_refuses_user_names_with_control_characters(tmp_path):
    doc = {"object": "list", "data": [{"object": "organization.user", "id": "user-1", "name": "Ann\x00",
                                       "email": "ann@example.com"}]}
    [problem] = parse("openai_users", write_json(tmp_path, doc))
    assert (problem.where, problem.field) == ("usage.json $ data[0]", "name")
