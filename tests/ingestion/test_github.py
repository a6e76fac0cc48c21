import json
from datetime import date

from leaderboard.ingestion import ccusage, generic, github
from leaderboard.ingestion.reading import Export
from leaderboard.ingestion.rows import (
    ActivityRow,
    IdentityKey,
    IdentityRow,
    ParseContext,
    Problem,
    UsageRow,
)

MCHEN = IdentityKey("github", "login", "mchen-acme")


def parse(parser, path):
    export = Export(path, name=path.name, limit=10**9)
    return list(parser(export, ParseContext(file_name=path.name)))


def write(tmp_path, text, name="report.ndjson"):
    path = tmp_path / name
    path.write_text(text)
    return path


def ndjson(*records):
    return "".join(json.dumps(record) + "\n" for record in records)


def of(kind, items):
    return [item for item in items if isinstance(item, kind)]


def user_day(login="mchen-acme", day="2026-09-14", **fields):
    record = {
        "day": day, "user_id": 58120331, "user_login": login, "organization_id": "8812345",
        "enterprise_id": "13213", "user_initiated_interaction_count": 37, "code_generation_activity_count": 52,
        "code_acceptance_activity_count": 19, "loc_suggested_to_add_sum": 640, "loc_suggested_to_delete_sum": 0,
        "loc_added_sum": 288, "loc_deleted_sum": 41, "used_chat": True, "used_agent": True, "used_cli": False,
        "totals_by_ide": [{"ide": "vscode", "loc_added_sum": 288}], "totals_by_feature": [],
        "totals_by_language_feature": [], "totals_by_language_model": [], "totals_by_model_feature": [],
    }
    record.update(fields)
    return record


CLI = {
    "session_count": 3, "request_count": 44, "prompt_count": 9,
    "token_usage": {"prompt_tokens_sum": 301220, "output_tokens_sum": 18760, "avg_tokens_per_request": 7272.3},
    "last_known_cli_version": {"cli_version": "1.0.8", "sampled_at": "2026-09-14T00:01:43.000Z"},
}


def seat(login, last_activity_at):
    return {
        "created_at": "2026-02-03T10:12:00Z", "pending_cancellation_date": None,
        "last_activity_at": last_activity_at, "last_activity_editor": None, "last_authenticated_at": None,
        "plan_type": "business", "assignee": {"login": login, "id": 1, "type": "User"}, "assigning_team": None,
    }


# --- copilot_usage ------------------------------------------------------------------------------


def test_it_reads_a_user_day_without_cli_use_as_activity_only(tmp_path):
    [row] = parse(github.parse_usage, write(tmp_path, ndjson(user_day(login="MChen-Acme"))))
    assert row == ActivityRow(
        vendor="github", source="copilot_usage", identity=MCHEN, day=date(2026, 9, 14), active=True,
        sessions=0, requests=37, lines_added=288, lines_removed=41, edits_accepted=19, chat_days=1, agent_days=1,
    )


def test_it_reads_cli_tokens_as_usage(tmp_path):
    activity, usage = parse(github.parse_usage, write(tmp_path, ndjson(user_day(used_cli=True, totals_by_cli=CLI))))
    assert activity.sessions == 3 and activity.requests == 37
    assert usage == UsageRow(
        vendor="github", source="copilot_usage", identity=MCHEN, day=date(2026, 9, 14), model="",
        input_tokens=301220, output_tokens=18760, cache_read_tokens=0, cache_write_tokens=0, requests=44,
        cost_usd=None, cost_reported=False,
    )


def test_it_reads_cli_use_without_tokens_as_activity_only(tmp_path):
    cli = {"session_count": 2, "request_count": 5, "token_usage": None}
    [activity] = parse(github.parse_usage, write(tmp_path, ndjson(user_day(totals_by_cli=cli))))
    assert activity.sessions == 2


def test_it_skips_blank_lines_and_accepts_nulls_and_float_integers(tmp_path):
    first = user_day(user_initiated_interaction_count=None, loc_deleted_sum=None, totals_by_cli=None)
    second = user_day(login="ana", loc_added_sum="3.0", code_acceptance_activity_count=2.0)
    text = ndjson(first) + "\n   \n" + ndjson(second) + "\n"
    items = parse(github.parse_usage, write(tmp_path, text))
    assert not of(Problem, items)
    first_row, second_row = items
    assert (first_row.requests, first_row.lines_removed, first_row.sessions) == (0, 0, 0)
    assert (second_row.identity.value, second_row.lines_added, second_row.edits_accepted) == ("ana", 3, 2)


def test_it_accepts_a_json_array_of_user_days(tmp_path):
    path = write(tmp_path, json.dumps([user_day(), user_day(login="ana", day="2026-09-15")]), name="report.json")
    rows = parse(github.parse_usage, path)
    assert [(row.identity.value, row.day) for row in rows] == [
        ("mchen-acme", date(2026, 9, 14)), ("ana", date(2026, 9, 15)),
    ]


def test_it_reports_bad_lines_by_line_and_field_and_carries_on(tmp_path):
    text = ndjson(
        user_day(day="2026-02-30"),
        user_day(loc_added_sum=-4),
        user_day(user_login=None),
        user_day(totals_by_cli={"session_count": 1, "token_usage": {"prompt_tokens_sum": 1.5}}),
        user_day(totals_by_cli="yes"),
        user_day(login="ok"),
    )
    items = parse(github.parse_usage, write(tmp_path, text))
    assert [(p.where, p.field) for p in of(Problem, items)] == [
        ("report.ndjson line 1", "day"),
        ("report.ndjson line 2", "loc_added_sum"),
        ("report.ndjson line 3", "user_login"),
        ("report.ndjson line 4", "totals_by_cli.token_usage.prompt_tokens_sum"),
        ("report.ndjson line 5", "totals_by_cli"),
    ]
    # A user-day is taken whole or not at all: line 4 yields no activity without its usage.
    assert [row.identity.value for row in of(ActivityRow, items)] == ["ok"]


def test_it_sniffs_a_user_day_and_nothing_else(samples):
    assert github.sniff_usage(user_day())
    assert github.sniff_usage([user_day()])
    # The user-teams report joins users to teams; it holds no usage.
    assert not github.sniff_usage({"user_login": "a", "day": "2026-09-14", "team_id": 7, "slug": "platform"})
    assert not github.sniff_usage({"download_links": ["https://example.invalid/r.ndjson"], "report_day": "2026-09-14"})
    assert not github.sniff_usage({"total_seats": 1, "seats": [seat("a", None)]})
    assert not github.sniff_usage(["date", "email", "provider"])
    assert not github.sniff_usage(json.loads((samples / "ccusage" / "dana.brooks.json").read_text()))
    assert not ccusage.sniff(user_day()) and not generic.sniff(user_day())


# --- copilot_seats ------------------------------------------------------------------------------


def test_it_reads_seats_as_identities_and_last_activity(tmp_path):
    page = {"total_seats": 2, "seats": [seat("MChen-Acme", "2026-09-14T23:02:41-02:00"), seat("jdoe-acme", None)]}
    rows = parse(github.parse_seats, write(tmp_path, json.dumps(page, indent=1), name="seats.json"))
    assert rows == [
        IdentityRow(identity=MCHEN, label="MChen-Acme"),
        # 23:02 at UTC-2 is the next UTC day.
        ActivityRow(vendor="github", source="copilot_seats", identity=MCHEN, day=date(2026, 9, 15), active=True),
        # Never used: known as a seat holder, with no active day.
        IdentityRow(identity=IdentityKey("github", "login", "jdoe-acme"), label="jdoe-acme"),
    ]


def test_it_reads_a_json_array_of_seat_pages(tmp_path):
    pages = [{"total_seats": 3, "seats": [seat("a", None), seat("b", None)]}, {"total_seats": 3, "seats": [seat("c", None)]}]
    rows = parse(github.parse_seats, write(tmp_path, json.dumps(pages), name="seats.json"))
    assert [row.identity.value for row in rows] == ["a", "b", "c"]


def test_it_reports_bad_seats_and_pages_and_carries_on(tmp_path):
    broken = dict(seat("b", None), assignee=None)
    page = {"total_seats": 3, "seats": [seat("a", "2026-13-01T00:00:00Z"), broken, seat("c", None)]}
    text = json.dumps(page) + "\n" + json.dumps({"total_seats": 0}) + "\n"
    items = parse(github.parse_seats, write(tmp_path, text, name="seats.jsonl"))
    assert [(p.where, p.field) for p in of(Problem, items)] == [
        ("seats.jsonl line 1 seats[0]", "last_activity_at"),
        ("seats.jsonl line 1 seats[1]", "assignee.login"),
        ("seats.jsonl line 2", "seats"),
    ]
    assert [row.identity.value for row in of(IdentityRow, items)] == ["c"]


def test_it_sniffs_a_seats_page_and_nothing_else():
    assert github.sniff_seats({"total_seats": 0, "seats": []})
    assert not github.sniff_seats(user_day())
    assert not github.sniff_seats({"daily": []})
    assert not github.sniff_seats(["date", "email", "provider"])
    assert not ccusage.sniff({"total_seats": 0, "seats": []}) and not generic.sniff({"seats": []})


# --- values out of range ------------------------------------------------------------------------


def test_it_refuses_days_before_2020_or_in_the_future_and_logins_with_control_characters(tmp_path):
    text = ndjson(user_day(day="2099-12-31"), user_day(day="1900-01-01"), user_day(login="mchen\x00"),
                  user_day(loc_added_sum=2**63 - 1))
    assert [(p.where, p.field) for p in of(Problem, parse(github.parse_usage, write(tmp_path, text)))] == [
        ("report.ndjson line 1", "day"),
        ("report.ndjson line 2", "day"),
        ("report.ndjson line 3", "user_login"),
        ("report.ndjson line 4", "loc_added_sum"),
    ]


def test_it_refuses_seats_active_before_2020_or_in_the_future(tmp_path):
    text = json.dumps({"total_seats": 2, "seats": [seat("ana", "2099-01-01T00:00:00Z"), seat("bo\x1b", None)]})
    items = parse(github.parse_seats, write(tmp_path, text, name="seats.json"))
    assert [(p.where, p.field) for p in of(Problem, items)] == [
        ("seats.json line 1 seats[0]", "last_activity_at"), ("seats.json line 1 seats[1]", "assignee.login"),
    ]
