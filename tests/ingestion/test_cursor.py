import json
from datetime import date
from decimal import Decimal

import pytest

from leaderboard.ingestion import cursor
from leaderboard.ingestion.reading import Export
from leaderboard.ingestion.rows import (
    ActivityRow,
    IdentityKey,
    ImportRefused,
    ParseContext,
    Problem,
    UsageRow,
)

HEADER = (
    "Date,User,Cloud Agent ID,Automation ID,Kind,Model,Max Mode,Input (w/ Cache Write),"
    "Input (w/o Cache Write),Cache Read,Output Tokens,Total Tokens,Cost"
)
OLD_HEADER = (
    "Date,Kind,Model,Max Mode,Input (w/ Cache Write),Input (w/o Cache Write),Cache Read,Output Tokens,"
    "Total Tokens,Requests"
)

# The first event of the API sample, and the same event as the dashboard CSV writes it.
SAMPLE_EVENT = {
    "timestamp": "1790856596170", "model": "composer-2.5", "kind": "Usage-based", "maxMode": False,
    "requestsCosts": 1, "isTokenBasedCall": True, "isFreeBugbot": False, "userEmail": "dana.brooks@acme.example",
    "tokenUsage": {"inputTokens": 63, "outputTokens": 64, "cacheWriteTokens": 331, "cacheReadTokens": 1428,
                   "totalCents": 21.91186},
}
SAMPLE_EVENT_CSV = (
    "2026-10-01T12:09:56.170Z,dana.brooks@acme.example,,,Usage-based,composer-2.5,No,331,63,1428,64,1886,$0.2191186"
)


def parse(parser, path, person_email=None):
    export = Export(path, name=path.name, limit=10**9)
    return list(parser(export, ParseContext(file_name=path.name, person_email=person_email)))


def write(tmp_path, text, name="usage-events.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def page(*events):
    return {"totalUsageEventsCount": len(events), "pagination": {"numPages": 1, "currentPage": 1},
            "usageEvents": list(events), "period": {"startDate": 1790812800000, "endDate": 1792108800000}}


def event(**changes):
    return {**SAMPLE_EVENT, **changes}


def problems(items):
    return [(item.where, item.field) for item in items if isinstance(item, Problem)]


def usage(items):
    return [item for item in items if isinstance(item, UsageRow)]


def tokens(row):
    return (row.input_tokens, row.cache_write_tokens, row.cache_read_tokens, row.output_tokens)


# --- the samples -----------------------------------------------------------------------------------


def test_it_reads_the_api_sample(samples):
    rows = parse(cursor.parse_events, samples / "cursor" / "filtered_usage_events.json")
    assert len(rows) == 321 and all(isinstance(row, UsageRow) for row in rows)
    first = rows[0]
    assert (first.vendor, first.source) == ("cursor", "cursor_events")
    assert first.identity == IdentityKey("cursor", "email", "dana.brooks@acme.example")
    assert (first.day, first.model, first.dims) == (date(2026, 10, 1), "composer-2.5", "event 1790856596170")
    assert tokens(first) == (63, 331, 1428, 64)
    assert first.requests == 1
    assert first.cost_usd == Decimal("0.2191186") and first.cost_reported
    assert sum(sum(tokens(row)) for row in rows) == 22_506_807
    assert sum(row.cost_usd for row in rows) == Decimal("64.2917")
    assert sum(row.requests for row in rows) == 321


def test_it_reads_the_csv_sample(samples):
    rows = parse(cursor.parse_events_csv, samples / "cursor" / "usage-events-export.csv")
    assert len(rows) == 295 and all(isinstance(row, UsageRow) for row in rows)
    first = rows[0]
    assert (first.vendor, first.source) == ("cursor", "cursor_events")
    assert first.identity == IdentityKey("cursor", "email", "dana.brooks@acme.example")
    assert (first.day, first.model, first.dims) == (date(2026, 10, 16), "gpt-5", "event 1792169032831")
    assert tokens(first) == (43, 40, 1150, 26)  # "Input (w/ Cache Write)" 40 is the cache write
    assert first.cost_usd == Decimal("0.05") and first.cost_reported
    assert sum(sum(tokens(row)) for row in rows) == 18_469_272
    assert sum(row.cost_usd for row in rows) == Decimal("58.79")


def test_it_gives_an_event_the_same_row_from_the_api_and_the_csv(tmp_path):
    [from_api] = parse(cursor.parse_events, write(tmp_path, json.dumps(page(SAMPLE_EVENT)), "events.json"))
    [from_csv] = parse(cursor.parse_events_csv, write(tmp_path, HEADER + "\n" + SAMPLE_EVENT_CSV + "\n"))
    assert from_csv == from_api
    # Another offset for the same instant is the same event.
    shifted = SAMPLE_EVENT_CSV.replace("2026-10-01T12:09:56.170Z", "2026-10-01T14:09:56.170+02:00")
    [from_offset] = parse(cursor.parse_events_csv, write(tmp_path, HEADER + "\n" + shifted + "\n"))
    assert from_offset == from_api


# --- event costs -----------------------------------------------------------------------------------


def test_it_reads_csv_costs_in_dollars_and_words(tmp_path):
    lines = [
        '"2026-10-16T09:20:55.123Z","erin@example.com","","","Usage-based","claude-4.5-sonnet-thinking","No",'
        '"22410","4120","181200","1877","209607","$0.19"',
        '"2026-10-16T09:15:20.877Z","erin@example.com","","","Included","gpt-5","No","0","2011","14080","640",'
        '"16731","Included"',
        '"2026-10-16T08:23:22.310Z","erin@example.com","","","Errored, No Charge","composer-2.5","No","0",'
        '"3595","0","0","3595","-"',
        '"2026-10-16T08:00:00.000Z","erin@example.com","","","On-Demand","gpt-5","No","0","10","0","5","15","-"',
        '"2026-10-16T07:00:00.000Z","erin@example.com","","","Free","cursor-small","No","0","10","0","5","15","Free"',
        '"2026-10-16T06:00:00.000Z","erin@example.com","","","Included","gpt-5","No","0","0","0","0","0","Included"',
    ]
    rows = parse(cursor.parse_events_csv, write(tmp_path, HEADER + "\n" + "\n".join(lines) + "\n"))
    assert [(row.cost_usd, row.cost_reported) for row in rows] == [
        (Decimal("0.19"), True),
        (None, False),  # included in the plan: the model cost is estimated from the price list
        (Decimal(0), True),  # Cursor says it charged nothing
        (None, False),  # no amount given: estimated
        (Decimal(0), True),
        (Decimal(0), True),  # no tokens, nothing to price
    ]
    assert tokens(rows[0]) == (4120, 22410, 181200, 1877)


def test_it_counts_an_event_without_token_data_as_one_request_at_no_token_cost(tmp_path):
    request_priced = event(kind="Included in Business", isTokenBasedCall=False, tokenUsage=None)
    del request_priced["tokenUsage"]
    [row] = parse(cursor.parse_events, write(tmp_path, json.dumps(page(request_priced)), "events.json"))
    assert tokens(row) == (0, 0, 0, 0)
    assert row.requests == 1
    assert (row.cost_usd, row.cost_reported) == (Decimal(0), True)


def test_it_estimates_an_event_whose_cents_are_missing(tmp_path):
    included = event(kind="Included in Business", tokenUsage={"inputTokens": 5, "outputTokens": 7})
    free_bugbot = event(timestamp="1790856596171", isFreeBugbot=True, tokenUsage={"inputTokens": 5})
    rows = parse(cursor.parse_events, write(tmp_path, json.dumps(page(included, free_bugbot)), "events.json"))
    assert [(row.cost_usd, row.cost_reported) for row in rows] == [(None, False), (Decimal(0), True)]
    assert tokens(rows[0]) == (5, 0, 0, 7)


# --- awkward files ---------------------------------------------------------------------------------


def test_it_accepts_bom_crlf_quoted_cells_and_float_integers(tmp_path):
    text = (
        "\ufeff" + HEADER.upper() + "\r\n"
        '"2026-10-16T09:20:55.123Z","Erin@Example.com","","","Usage-based","gpt-5","No",'
        '"3.0","4","5","6.0","18","0.12"\r\n'
    )
    [row] = parse(cursor.parse_events_csv, write(tmp_path, text))
    assert row.identity.value == "erin@example.com"
    assert tokens(row) == (4, 3, 5, 6)
    assert row.cost_usd == Decimal("0.12")


def test_it_reports_a_total_that_is_not_the_sum_of_the_columns(tmp_path):
    text = HEADER + "\n2026-10-16T09:20:55.123Z,erin@example.com,,,Usage-based,gpt-5,No,10,20,30,40,90,0.12\n"
    [problem] = parse(cursor.parse_events_csv, write(tmp_path, text))
    assert problem == Problem("usage-events.csv line 2", "total tokens",
                              "is 90 but the four token columns add up to 100")


def test_it_reports_every_bad_csv_cell_with_line_and_field_and_carries_on(tmp_path):
    text = HEADER + (
        "\nyesterday,erin@example.com,,,Usage-based,gpt-5,No,0,1,0,1,2,0.01"
        "\n2026-10-16T09:20:55.123Z,erin@example.com,,,Usage-based,gpt-5,No,0,-5,0,1,,0.01"
        "\n2026-10-16T09:20:55.123Z,,,,Usage-based,gpt-5,No,0,1,0,1,2,0.01"
        "\n2026-10-16T09:20:55.123Z,erin@example.com,,,Usage-based,gpt-5,No,0,1,0,1,2,lots"
        "\n2026-10-16T09:20:56.000Z,erin@example.com,,,Usage-based,gpt-5,No,0,1,0,1,2,0.01\n"
    )
    items = parse(cursor.parse_events_csv, write(tmp_path, text))
    assert problems(items) == [
        ("usage-events.csv line 2", "date"),
        ("usage-events.csv line 3", "input (w/o cache write)"),
        ("usage-events.csv line 4", "user"),
        ("usage-events.csv line 5", "cost"),
    ]
    assert [row.dims for row in usage(items)] == ["event 1792142456000"]


def test_it_refuses_a_csv_missing_token_columns(tmp_path):
    with pytest.raises(ImportRefused) as refused:
        parse(cursor.parse_events_csv, write(tmp_path, "Date,User,Kind,Model,Cache Read\n"))
    assert "input (w/ cache write), input (w/o cache write), output tokens" in str(refused.value)


def test_it_will_not_guess_whose_an_export_without_users_is(tmp_path):
    text = OLD_HEADER + "\n2026-10-16T09:20:55.123Z,Usage-based,gpt-5,No,1,2,3,4,10,1\n"
    [problem] = parse(cursor.parse_events_csv, write(tmp_path, text))
    assert (problem.where, problem.field) == ("usage-events.csv line 1", "User")
    assert "User column" in problem.message


def test_it_attributes_an_export_without_users_to_the_person_it_is_imported_for(tmp_path):
    text = OLD_HEADER + "\n2026-10-16T09:20:55.123Z,Usage-based,gpt-5,No,1,2,3,4,10,1\n"
    [row] = parse(cursor.parse_events_csv, write(tmp_path, text), person_email="Erin@Example.com")
    assert row.identity == IdentityKey("cursor", "email", "erin@example.com")
    assert tokens(row) == (2, 1, 3, 4)
    assert row.requests == 1
    assert (row.cost_usd, row.cost_reported) == (None, False)  # no Cost column: estimated


def test_it_reads_json_lines_pages_and_numeric_timestamps(tmp_path):
    second = event(timestamp=1790856596170 + 86_400_000, userEmail="Lee@Example.com")
    text = json.dumps(page(SAMPLE_EVENT)) + "\n\n" + json.dumps(page(second)) + "\n"
    rows = parse(cursor.parse_events, write(tmp_path, text, "events.jsonl"))
    assert [(row.identity.value, row.day, row.dims) for row in rows] == [
        ("dana.brooks@acme.example", date(2026, 10, 1), "event 1790856596170"),
        ("lee@example.com", date(2026, 10, 2), "event 1790942996170"),
    ]


def test_it_reports_bad_events_with_their_json_path_and_carries_on(tmp_path):
    bad = [
        event(timestamp="yesterday"),
        event(tokenUsage={**SAMPLE_EVENT["tokenUsage"], "outputTokens": -3}),
        event(tokenUsage={**SAMPLE_EVENT["tokenUsage"], "inputTokens": "3.5"}),
        event(userEmail=None),
        "not an event",
    ]
    pages = [page(*bad), {"data": []}, page(SAMPLE_EVENT)]
    items = parse(cursor.parse_events, write(tmp_path, json.dumps(pages), "events.json"))
    assert problems(items) == [
        ("events.json [0] usageEvents[0]", "timestamp"),
        ("events.json [0] usageEvents[1]", "tokenUsage.outputTokens"),
        ("events.json [0] usageEvents[2]", "tokenUsage.inputTokens"),
        ("events.json [0] usageEvents[3]", "userEmail"),
        ("events.json [0] usageEvents[4]", ""),
        ("events.json [1]", "usageEvents"),
    ]
    assert len(usage(items)) == 1


def test_it_takes_the_utc_day_of_an_event(tmp_path):
    text = HEADER + "\n2026-10-01T23:30:00.000-01:00,erin@example.com,,,Usage-based,gpt-5,No,0,1,0,1,2,0.01\n"
    [row] = parse(cursor.parse_events_csv, write(tmp_path, text))
    assert row.day == date(2026, 10, 2)


# --- daily usage -----------------------------------------------------------------------------------

DAILY_ROW = {
    "date": 1790812800000, "email": "Erin@Example.com", "isActive": True,
    "totalLinesAdded": 120, "totalLinesDeleted": 30, "acceptedLinesAdded": 80, "acceptedLinesDeleted": 10,
    "totalApplies": 9, "totalAccepts": 6, "totalRejects": 2, "totalTabsShown": 40, "totalTabsAccepted": 15,
    "composerRequests": 3, "chatRequests": 4, "agentRequests": 5, "cmdkUsages": 1, "subscriptionIncludedReqs": 13,
    "apiKeyReqs": 0, "usageBasedReqs": 2, "bugbotUsages": 2, "mostUsedModel": "gpt-5",
}


def test_it_reads_daily_usage_rows(tmp_path):
    idle = {**DAILY_ROW, "date": "1790899200000", "email": "lee@example.com", "isActive": False,
            "acceptedLinesAdded": 0, "acceptedLinesDeleted": 0, "totalAccepts": 0, "totalTabsAccepted": 0,
            "totalRejects": 0, "composerRequests": 0, "chatRequests": 0, "agentRequests": 0, "cmdkUsages": 0,
            "bugbotUsages": None}
    document = {"data": [DAILY_ROW, idle], "period": {"startDate": 1790812800000, "endDate": 1790985600000}}
    rows = parse(cursor.parse_daily, write(tmp_path, json.dumps(document), "daily.json"))
    assert rows == [
        ActivityRow(vendor="cursor", source="cursor_daily", identity=IdentityKey("cursor", "email", "erin@example.com"),
                    day=date(2026, 10, 1), active=True, requests=15, lines_added=80, lines_removed=10,
                    edits_accepted=21, edits_rejected=2, applies=9, tabs_accepted=15),
        ActivityRow(vendor="cursor", source="cursor_daily", identity=IdentityKey("cursor", "email", "lee@example.com"),
                    day=date(2026, 10, 2), active=False, applies=9),
    ]


def test_it_reports_bad_daily_rows_and_carries_on(tmp_path):
    pages = [{"data": [{**DAILY_ROW, "chatRequests": -1}, {**DAILY_ROW, "isActive": "maybe"}, DAILY_ROW]}]
    items = parse(cursor.parse_daily, write(tmp_path, json.dumps(pages), "daily.json"))
    assert problems(items) == [("daily.json [0] data[0]", "chatRequests"), ("daily.json [0] data[1]", "isActive")]
    assert sum(isinstance(item, ActivityRow) for item in items) == 1


# --- recognising the formats -----------------------------------------------------------------------


def sample_of(path):
    export = Export(path, name=path.name, limit=10**9)
    return export.first_document() if export.kind == "json" else export.header()


def test_it_recognises_its_own_files_and_no_others(samples, tmp_path):
    formats = {fmt.name: fmt for fmt in cursor.FORMATS}
    assert set(formats) == {"cursor_events", "cursor_events_csv", "cursor_daily_usage", "cursor_members",
                            "cursor_spend"}
    daily = write(tmp_path, json.dumps({"data": [DAILY_ROW], "period": {}}), "daily.json")
    empty_daily = write(tmp_path, json.dumps({"data": [], "period": {"startDate": 1, "endDate": 2}}), "empty.json")
    old_csv = write(tmp_path, OLD_HEADER + "\n", "old.csv")
    own = {
        samples / "cursor" / "filtered_usage_events.json": "cursor_events",
        samples / "cursor" / "usage-events-export.csv": "cursor_events_csv",
        old_csv: "cursor_events_csv",
        daily: "cursor_daily_usage",
        empty_daily: "cursor_daily_usage",
    }
    for path, name in own.items():
        assert [fmt.name for fmt in cursor.FORMATS if fmt.sniff(sample_of(path))] == [name], path
    others = [
        samples / "generic" / "mistral_usage.csv",
        *sorted((samples / "openai").iterdir()),
        *sorted((samples / "anthropic").iterdir()),
        *sorted((samples / "ccusage").iterdir()),
        samples / "roster.csv",
    ]
    for path in others:
        assert not any(fmt.sniff(sample_of(path)) for fmt in cursor.FORMATS), path


# --- values out of range ---------------------------------------------------------------------------


def test_it_refuses_events_before_2020_or_in_the_future(tmp_path):
    events = [event(timestamp="4102444800000"), event(timestamp=946684800000), SAMPLE_EVENT]
    items = parse(cursor.parse_events, write(tmp_path, json.dumps(page(*events)), "events.json"))
    assert problems(items) == [("events.json line 1 usageEvents[0]", "timestamp"),
                               ("events.json line 1 usageEvents[1]", "timestamp")]
    # Millisecond times are far above any count: the event's own time is still read whole.
    assert [row.dims for row in usage(items)] == ["event 1790856596170"]


def test_it_refuses_csv_dates_before_2020_or_in_the_future(tmp_path):
    text = HEADER + (
        "\n2099-12-31T09:20:55.123Z,erin@example.com,,,Usage-based,gpt-5,No,0,1,0,1,2,0.01"
        "\n1900-01-01T09:20:55.123Z,erin@example.com,,,Usage-based,gpt-5,No,0,1,0,1,2,0.01\n"
    )
    assert problems(parse(cursor.parse_events_csv, write(tmp_path, text))) == [
        ("usage-events.csv line 2", "date"), ("usage-events.csv line 3", "date"),
    ]


def test_it_refuses_counts_costs_and_models_out_of_range(tmp_path):
    events = [
        event(tokenUsage={**SAMPLE_EVENT["tokenUsage"], "outputTokens": 2**63 - 1}),
        event(tokenUsage={**SAMPLE_EVENT["tokenUsage"], "totalCents": 10**10}),
        event(model="gpt-5\x00"),
    ]
    items = parse(cursor.parse_events, write(tmp_path, json.dumps(page(*events)), "events.json"))
    assert problems(items) == [
        ("events.json line 1 usageEvents[0]", "tokenUsage.outputTokens"),
        ("events.json line 1 usageEvents[1]", "tokenUsage.totalCents"),
        ("events.json line 1 usageEvents[2]", "model"),
    ]


def test_it_refuses_daily_rows_before_2020_or_in_the_future(tmp_path):
    document = {"data": [{**DAILY_ROW, "date": 4102444800000}, {**DAILY_ROW, "date": 0}], "period": {}}
    items = parse(cursor.parse_daily, write(tmp_path, json.dumps(document), "daily.json"))
    assert problems(items) == [("daily.json line 1 data[0]", "date"), ("daily.json line 1 data[1]", "date")]
