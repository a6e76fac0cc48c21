"""The boards' selectors (leaderboard/boards.py): periods, rankings, privacy, teams, my usage, badges.

The rollups are built directly (``usage`` and ``save`` below): these tests are about what the boards
make of the numbers, the importers have their own. The other board tests import these helpers.
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest

from accounts.models import Person, Team
from leaderboard import charts, display, freshness
from leaderboard.board_forms import BoardFilterForm
from leaderboard.boards import catalog, ranking, series, teams
from leaderboard.boards import filters as board_filters
from leaderboard.boards import usage as usage_page
from leaderboard.models import DailyUsage, PersonDay, UsageExport

TODAY = board_filters.utc_today()


def ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def usage(person, days_ago: int, vendor: str = "anthropic", model: str = "claude-sonnet-4-5", *, tokens: int = 0,
          output: int = 0, cache_read: int = 0, cache_write: int = 0, requests: int = 1, cost="0", unpriced: int = 0,
          source: str = "") -> DailyUsage:
    """One DailyUsage row; ``tokens`` is the total, split into the four kinds by ``output`` etc."""
    source = source or {"anthropic": "anthropic_usage_report", "openai": "openai_usage", "cursor": "cursor_events"}.get(
        vendor, "generic"
    )
    return DailyUsage(
        person=person, day=ago(days_ago), vendor=vendor, model=model, source=source,
        input_tokens=tokens - output - cache_read - cache_write, cache_write_tokens=cache_write,
        cache_read_tokens=cache_read, output_tokens=output, total_tokens=tokens, requests=requests,
        cost_usd=Decimal(cost), unpriced_records=unpriced,
    )


def save(rows: list[DailyUsage], *, active_only: tuple = ()) -> None:
    """Store the rows and rebuild the PersonDay rollup of the days they touch, as leaderboard.rollups
    would. ``active_only``: (person, days_ago) with activity but no tokens (a Copilot seat in use)."""
    DailyUsage.objects.bulk_create(rows)
    touched = {(row.person_id, row.day) for row in rows} | {(p.pk, ago(n)) for p, n in active_only}
    for person_id, day in touched:
        PersonDay.objects.filter(person_id=person_id, day=day).delete()
        rollup = PersonDay(person_id=person_id, day=day, active=(person_id, day) in {(p.pk, ago(n)) for p, n in active_only})
        for row in DailyUsage.objects.filter(person_id=person_id, day=day):
            rollup.total_tokens += row.total_tokens
            rollup.output_tokens += row.output_tokens
            rollup.requests += row.requests
            rollup.cost_usd += row.cost_usd
            rollup.unpriced_records += row.unpriced_records
            rollup.active = rollup.active or bool(row.total_tokens or row.requests)
        rollup.save()


def standard_week(cast) -> None:
    """The last 7 days, by tokens: Otto 10,000 · Sam 4,000 · Erin 3,000 · Maria 500 = Lee 500.
    The 7 days before: Erin 10,000 · Sam 100 · Otto 50. Ada has no usage at all."""
    rows = [usage(cast.erin, n, tokens=1000, output=200, cache_read=300, cache_write=100, cost="1.00") for n in range(3)]
    rows += [usage(cast.sam, n, "openai", "gpt-5", tokens=2000, output=1000, cost="0.50", requests=4) for n in range(2)]
    rows.append(usage(cast.lee, 1, "cursor", "composer-2.5", tokens=500, output=100, cost="5.00"))
    rows += [usage(cast.maria, n, tokens=100, output=50, cost="0.10") for n in range(5)]
    rows.append(usage(cast.otto, 2, tokens=10000, output=1000, cost="2.00"))
    rows.append(usage(cast.erin, 8, tokens=10000, output=2000, cost="4.00"))
    rows.append(usage(cast.sam, 9, "openai", "gpt-5", tokens=100, output=10, cost="0.01"))
    rows.append(usage(cast.otto, 10, tokens=50, output=5, cost="0.01"))
    save(rows)


def week(metric="tokens", **filters) -> board_filters.BoardFilters:
    return board_filters.BoardFilters(
        period=board_filters.resolve_period("7d", today=TODAY), metric=board_filters.METRICS[metric], **filters
    )


def ranked(board) -> list[tuple[int, str, object]]:
    return [(row.rank, row.name, row.value) for row in board.rows]


@pytest.fixture
def week_of_usage(cast):
    standard_week(cast)
    return cast


def board_for(viewer, filters=None, **options):
    return ranking.leaderboard(filters or week(), viewer=viewer, catalog=catalog.load(), **options)


# --- Periods and numbers ------------------------------------------------------------------------

WEDNESDAY = date(2026, 11, 18)


@pytest.mark.parametrize(
    ("key", "start", "end"),
    [
        ("today", date(2026, 11, 18), date(2026, 11, 18)),
        ("yesterday", date(2026, 11, 17), date(2026, 11, 17)),
        ("7d", date(2026, 11, 12), date(2026, 11, 18)),
        ("30d", date(2026, 10, 20), date(2026, 11, 18)),
        ("90d", date(2026, 8, 21), date(2026, 11, 18)),
        ("week", date(2026, 11, 16), date(2026, 11, 18)),
        ("month", date(2026, 11, 1), date(2026, 11, 18)),
        ("quarter", date(2026, 10, 1), date(2026, 11, 18)),
        ("year", date(2026, 1, 1), date(2026, 11, 18)),
        ("nonsense", date(2026, 10, 20), date(2026, 11, 18)),
    ],
)
def test_it_resolves_each_period_to_utc_days(key, start, end):
    period = board_filters.resolve_period(key, today=WEDNESDAY)
    assert (period.start, period.end) == (start, end)


def test_it_compares_with_the_previous_period_of_the_same_length():
    period = board_filters.resolve_period("week", today=WEDNESDAY)
    previous = period.previous()
    assert (previous.start, previous.end) == (date(2026, 11, 13), date(2026, 11, 15))
    assert previous.days == period.days == 3

    custom = board_filters.resolve_period("custom", today=WEDNESDAY, start=date(2026, 10, 30), end=date(2026, 10, 1))
    assert (custom.start, custom.end) == (date(2026, 10, 1), date(2026, 10, 30))
    assert (custom.previous().start, custom.previous().end) == (date(2026, 9, 1), date(2026, 9, 30))


def test_it_describes_periods_for_people():
    assert board_filters.Period("custom", date(2026, 10, 1), date(2026, 10, 30)).describe() == "Oct 1 – 30, 2026"
    assert board_filters.Period("custom", date(2026, 9, 28), date(2026, 10, 4)).describe() == "Sep 28 – Oct 4, 2026"
    assert board_filters.Period("custom", date(2025, 12, 20), date(2026, 1, 3)).describe() == "Dec 20, 2025 – Jan 3, 2026"
    assert board_filters.Period("today", WEDNESDAY, WEDNESDAY).describe() == "Nov 18, 2026"
    assert board_filters.resolve_period("7d", today=WEDNESDAY).phrase == "in the last 7 days"
    assert board_filters.resolve_period("week", today=WEDNESDAY).phrase == "this week"


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0"), (999, "999"), (1234, "1.2K"), (999_600, "1.0M"), (1_234_567, "1.2M"), (184_151_946, "184M"),
     (2_500_000_000, "2.5B"), (4_000_000_000, "4.0B"), (99_960, "100K")],
)
def test_it_writes_token_counts_compactly(value, text):
    assert display.compact(value) == text


def test_it_writes_money_to_the_cent():
    assert display.money(Decimal("3.4")) == "$3.40"
    assert display.money(Decimal("138.4849")) == "$138.48"
    assert display.money(Decimal("12345.6")) == "$12,346"
    assert display.cents(Decimal("138.485")) == "138.49"


def test_it_gives_ties_the_same_rank():
    assert ranking.competition_ranks([(1, 5), (2, 9), (3, 5), (4, 1), (5, 0)]) == [
        (1, 2, 9), (2, 1, 5), (2, 3, 5), (4, 4, 1)
    ]


# --- The individual board -----------------------------------------------------------------------


def test_it_ranks_people_by_tokens_with_ties(week_of_usage):
    cast = week_of_usage
    board = board_for(cast.ada)
    assert ranked(board) == [
        (1, "Otto Outsider", 10000), (2, "Sam Lead", 4000), (3, "Erin Employee", 3000),
        (4, "Maria Manager", 500), (4, "Lee Report", 500),
    ]
    assert [round(row.share, 2) for row in board.rows] == [1.0, 0.4, 0.3, 0.05, 0.05]
    assert board.count == 5
    assert board.company_total == 18000


def test_it_shows_the_rank_change_against_the_previous_period(week_of_usage):
    changes = {row.name: row.change for row in board_for(week_of_usage.ada).rows}
    assert changes == {
        "Otto Outsider": 2, "Sam Lead": 0, "Erin Employee": -2, "Lee Report": None, "Maria Manager": None,
    }
    row = next(row for row in board_for(week_of_usage.ada).rows if row.name == "Erin Employee")
    assert (row.change_display, row.change_label) == ("▼ 2", "down 2 places")


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("cost", [("Lee Report", Decimal("5.00")), ("Erin Employee", Decimal("3.00")),
                  ("Otto Outsider", Decimal("2.00")), ("Sam Lead", Decimal("1.00")), ("Maria Manager", Decimal("0.50"))]),
        ("output", [("Sam Lead", 2000), ("Otto Outsider", 1000), ("Erin Employee", 600), ("Maria Manager", 250),
                    ("Lee Report", 100)]),
        ("active_days", [("Maria Manager", 5), ("Erin Employee", 3), ("Sam Lead", 2), ("Lee Report", 1),
                         ("Otto Outsider", 1)]),
    ],
)
def test_it_ranks_by_each_metric(week_of_usage, metric, expected):
    board = board_for(week_of_usage.ada, week(metric))
    assert [(row.name, row.value) for row in board.rows] == expected


def test_it_counts_days_with_activity_but_no_tokens_as_active(cast):
    save([usage(cast.erin, 0, tokens=10)], active_only=[(cast.erin, 1), (cast.erin, 2), (cast.sam, 0)])
    board = board_for(cast.ada, week("active_days"))
    assert [(row.name, row.value) for row in board.rows] == [("Erin Employee", 3), ("Sam Lead", 1)]
    # Sam has no tokens: not on the tokens board.
    assert [row.name for row in board_for(cast.ada).rows] == ["Erin Employee"]


def test_it_ranks_a_vendor_or_a_model_from_the_daily_usage(week_of_usage, cast):
    save([usage(cast.maria, 3, "openai", "gpt-5-mini", tokens=7000)])
    assert ranked(board_for(cast.ada, week(vendor="openai"))) == [(1, "Maria Manager", 7000), (2, "Sam Lead", 4000)]
    assert ranked(board_for(cast.ada, week(vendor="openai", model="gpt-5-mini"))) == [(1, "Maria Manager", 7000)]
    # A model names its family too: "gpt-5" finds gpt-5-mini (issue 15).
    assert ranked(board_for(cast.ada, week(vendor="openai", model="gpt-5"))) == [
        (1, "Maria Manager", 7000), (2, "Sam Lead", 4000)]
    assert ranked(board_for(cast.ada, week(model="composer-2.5"))) == [(1, "Lee Report", 500)]
    by_cost = board_for(cast.ada, week("cost", vendor="anthropic"))
    assert [(row.name, row.value) for row in by_cost.rows] == [
        ("Erin Employee", Decimal("3.00")), ("Otto Outsider", Decimal("2.00")), ("Maria Manager", Decimal("0.50"))
    ]


def test_it_filters_by_team_including_sub_teams_and_by_role(week_of_usage, cast):
    engineering = board_for(cast.ada, week(team_id=cast.engineering.pk))
    assert [row.name for row in engineering.rows] == ["Sam Lead", "Erin Employee", "Maria Manager", "Lee Report"]
    platform = board_for(cast.ada, week(team_id=cast.platform.pk))
    assert [row.name for row in platform.rows] == ["Sam Lead", "Lee Report"]
    engineers = board_for(cast.ada, week(title="Engineer"))
    assert [row.name for row in engineers.rows] == ["Erin Employee", "Lee Report"]


def test_it_leaves_terminated_people_off_the_board(week_of_usage, cast):
    Person.objects.filter(pk=cast.otto.pk).update(status=Person.Status.TERMINATED, is_active=False)
    Person.objects.filter(pk=cast.sam.pk).update(status=Person.Status.LEAVE)
    names = [row.name for row in board_for(cast.ada).rows]
    assert "Otto Outsider" not in names
    assert names[0] == "Sam Lead"  # on leave, still on the board


def test_it_paginates_and_pins_my_row_with_my_percentile(week_of_usage, cast):
    first = board_for(cast.lee, per_page=2)
    assert first.pages == 3 and [row.name for row in first.rows] == ["Otto Outsider", "Sam Lead"]
    assert first.pinned is not None and first.pinned.is_me and first.pinned.name == "Lee Report"
    assert (first.pinned.rank, first.pinned.percentile) == (4, 80)
    assert first.me is first.pinned

    last = board_for(cast.lee, per_page=2, page=3)
    assert [row.name for row in last.rows] == ["Lee Report"]
    assert last.pinned is None and last.rows[0].is_me

    beyond = board_for(cast.lee, per_page=2, page=99)
    assert beyond.page == 3

    leader = board_for(cast.otto)
    assert (leader.me.rank, leader.me.percentile, leader.pinned) == (1, 20, None)


def test_it_tells_me_when_i_am_not_ranked(week_of_usage, cast):
    board = board_for(cast.ada)
    assert board.me is None and board.me_unranked
    # Filtered to a team I am not in: the board is not about me.
    assert not board_for(cast.ada, week(team_id=cast.sales.pk)).me_unranked


# --- Privacy ------------------------------------------------------------------------------------


def test_it_leaves_hidden_people_off_but_counts_them_in_the_total(week_of_usage, cast):
    Person.objects.filter(pk=cast.sam.pk).update(privacy=Person.Privacy.HIDDEN)
    board = board_for(cast.erin)
    assert [row.name for row in board.rows] == ["Otto Outsider", "Erin Employee", "Maria Manager", "Lee Report"]
    assert [row.rank for row in board.rows] == [1, 2, 3, 3]
    assert board.company_total == 18000
    # Managers and admins see the same board as everyone else.
    assert "Sam Lead" not in [row.name for row in board_for(cast.maria).rows]
    assert "Sam Lead" not in [row.name for row in board_for(cast.ada).rows]


def test_it_always_shows_me_my_own_row_even_when_hidden(week_of_usage, cast):
    Person.objects.filter(pk=cast.sam.pk).update(privacy=Person.Privacy.HIDDEN)
    board = board_for(cast.sam)
    assert [row.name for row in board.rows][:3] == ["Otto Outsider", "Sam Lead", "Erin Employee"]
    mine = board.rows[1]
    assert mine.is_me and mine.rank == 2 and mine.email == cast.sam.email


def test_it_shows_anonymous_people_without_name_email_or_team(week_of_usage, cast):
    Person.objects.filter(pk__in=[cast.otto.pk, cast.erin.pk]).update(privacy=Person.Privacy.ANONYMOUS)
    board = board_for(cast.lee)
    rows = {row.rank: row for row in board.rows}
    assert rows[1].name.startswith("Anonymous #") and rows[3].name.startswith("Anonymous #")
    assert rows[1].name != rows[3].name
    for row in (rows[1], rows[3]):
        assert (row.email, row.team, row.title, row.linked, row.is_anonymous) == ("", "", "", False, True)
    assert rows[1].value == 10000  # the number is still there: that is the point of being on the board
    # I see myself named.
    mine = next(row for row in board_for(cast.erin).rows if row.is_me)
    assert mine.name == "Erin Employee" and not mine.is_anonymous


def test_it_numbers_anonymous_people_per_period_and_filters_but_not_by_id_or_rank(cast, settings):
    settings.SECRET_KEY = "a fixed key, so that this test is deterministic"
    people = [
        Person.objects.create_user(f"anon{n}@example.com", "x", name=f"Anon {n}", team=cast.sales,
                                   privacy=Person.Privacy.ANONYMOUS)
        for n in range(8)
    ]
    save([usage(person, 1, tokens=1000 * (n + 1), output=10 * (8 - n)) for n, person in enumerate(people)])

    def numbers(filters):
        return {row.person_id: row.name for row in board_for(cast.erin, filters).rows}

    by_tokens = numbers(week())
    assert sorted(by_tokens.values()) == sorted(f"Anonymous #{n}" for n in range(1, 9))
    # Stable within the period, whatever the metric...
    assert numbers(week("output")) == by_tokens
    # ...but numbered afresh when narrowed by team or title: a number that survived the narrowing
    # would end up naming its person.
    assert numbers(week(team_id=cast.sales.pk)) != by_tokens
    # Derived neither from ids nor from ranks...
    in_id_order = [by_tokens[p.pk] for p in people]
    assert in_id_order != [f"Anonymous #{n}" for n in range(1, 9)]
    assert in_id_order != [f"Anonymous #{n}" for n in range(8, 0, -1)]
    # ...and another period numbers them afresh.
    month = board_filters.BoardFilters(period=board_filters.resolve_period("30d", today=TODAY))
    assert numbers(month) != by_tokens


def test_it_lists_everyone_by_name_when_revealed(week_of_usage, cast):
    Person.objects.filter(pk=cast.sam.pk).update(privacy=Person.Privacy.HIDDEN)
    Person.objects.filter(pk=cast.otto.pk).update(privacy=Person.Privacy.ANONYMOUS)
    board = board_for(None, reveal=True)
    assert [row.name for row in board.rows][:2] == ["Otto Outsider", "Sam Lead"]


# --- Sparklines, CSV, freshness -----------------------------------------------------------------


def test_it_draws_sparklines_for_the_rows_on_the_page_only(week_of_usage, cast):
    board = board_for(cast.maria, per_page=2)
    otto, sam = board.rows
    assert len(otto.sparkline) == 7 and otto.sparkline[-3] == 10000 and sum(otto.sparkline) == 10000
    assert sam.sparkline[-2:] == [2000, 2000]
    assert board.pinned.sparkline == [0, 0, 100, 100, 100, 100, 100]
    long = board_for(cast.maria, board_filters.BoardFilters(period=board_filters.resolve_period("year", today=TODAY)))
    if long.filters.period.days > board_filters.WEEKLY_AFTER_DAYS:
        assert len(long.rows[0].sparkline) == len(series.buckets(long.filters.period))


def test_it_writes_the_board_as_csv_with_formulas_escaped(week_of_usage, cast):
    Person.objects.filter(pk=cast.otto.pk).update(name="=HYPERLINK(\"http://evil\")")
    Team.objects.filter(pk=cast.platform.pk).update(name="+Platform")
    board = board_for(cast.erin, breakdown=True, sparklines=False)
    out = io.StringIO()
    ranking.write_csv(board.all_rows(), out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "rank,email,name,team,total_tokens,input_tokens,cache_write_tokens,cache_read_tokens,output_tokens,requests,cost_usd"
    assert lines[1] == "1,otto@example.com,\"'=HYPERLINK(\"\"http://evil\"\")\",Sales,10000,9000,0,0,1000,1,2.00"
    assert lines[2] == "2,sam@example.com,Sam Lead,'+Platform,4000,2000,0,0,2000,8,1.00"
    assert lines[3] == "3,erin@example.com,Erin Employee,Engineering,3000,1200,300,900,600,3,3.00"
    assert len(lines) == 6


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1"])
def test_it_escapes_every_formula_start(text):
    assert display.spreadsheet_safe(text) == "'" + text
    assert display.spreadsheet_safe("plain") == "plain"
    assert display.spreadsheet_safe(-5) == -5


def export(vendors, last_day, status=UsageExport.Status.SUCCEEDED):
    return UsageExport.objects.create(
        file="x", original_name="x.json", size=1, sha256=f"{vendors}{last_day}{status}", vendors=vendors,
        last_day=last_day, status=status,
    )


def test_it_says_how_fresh_each_vendors_data_is(db):
    export(["anthropic"], date(2026, 10, 12))
    export(["anthropic", "openai"], date(2026, 10, 14))
    export(["cursor"], date(2026, 10, 9))
    export(["cursor"], date(2026, 10, 20), status=UsageExport.Status.FAILED)
    export(["cursor"], None)
    assert [f.label for f in freshness.by_vendor()] == [
        "Anthropic data until Oct 14 (UTC)", "Cursor data until Oct 9 (UTC)", "OpenAI data until Oct 14 (UTC)",
    ]


# --- The filter form ----------------------------------------------------------------------------


def form(data, cast=None):
    return BoardFilterForm(data, catalog=catalog.load(), vendors=["anthropic", "openai"], today=WEDNESDAY)


def test_it_reads_the_filters_from_the_query_string(cast):
    filters = form({"period": "7d", "metric": "cost", "vendor": "openai", "model": " gpt-5 ",
                    "team": str(cast.platform.pk), "title": "Engineer"}).filters()
    assert (filters.period.start, filters.metric.name, filters.vendor, filters.model, filters.team_id, filters.title) == (
        date(2026, 11, 12), "cost", "openai", "gpt-5", cast.platform.pk, "Engineer"
    )
    assert filters.query_params() == {"period": "7d", "metric": "cost", "vendor": "openai", "model": "gpt-5",
                                      "team": str(cast.platform.pk), "title": "Engineer"}


def test_it_falls_back_to_defaults_for_nonsense_and_for_metrics_that_do_not_exist(cast):
    nonsense = form({"metric": "karma", "period": "fortnight", "vendor": "<script>", "team": "999", "page": "x"})
    filters = nonsense.filters()
    assert (filters.metric.name, filters.period.key, filters.vendor, filters.team_id) == ("tokens", "30d", "", None)
    assert not nonsense.errors.get("metric") and nonsense.page_number == 1
    assert filters.query_params() == {}
    # A vendor nothing was imported from yet is still a vendor (a shared link may be early).
    assert form({"vendor": "mistral"}).filters().vendor == "mistral"


def test_it_explains_a_custom_range_that_makes_no_sense(cast):
    backwards = form({"period": "custom", "start": "2026-10-30", "end": "2026-10-01"})
    assert backwards.filters().period.key == "30d"
    assert "The range ends before it starts." in backwards.errors["end"]
    fresh = form({"period": "custom"})
    period = fresh.filters().period
    assert (period.key, period.start, period.end) == ("custom", date(2026, 10, 20), WEDNESDAY)
    assert fresh.data["start"] == "2026-10-20"


# --- Team boards --------------------------------------------------------------------------------


def test_it_ranks_teams_by_total_per_active_member_and_median(week_of_usage, cast):
    extra = Person.objects.create_user("ivy@example.com", "x", name="Ivy Idle", team=cast.engineering)
    board = teams.team_board(week(), catalog=catalog.load())
    rows = {row.name: row for row in board.rows}
    assert [(row.rank, row.name) for row in board.rows] == [(1, "Sales"), (2, "Platform"), (3, "Engineering")]
    engineering = rows["Engineering"]  # Maria 500, Erin 3000, Ivy nothing
    assert (engineering.members, engineering.active_members, engineering.total) == (3, 2, 3500)
    assert (engineering.per_active, engineering.median, engineering.active_share) == (1750, 500, 67)
    assert rows["Platform"].total == 4500 and rows["Platform"].median == 2250
    assert board.company_total == 18000
    assert extra.pk  # counted as a member, not active

    Person.objects.filter(pk=extra.pk).update(status=Person.Status.TERMINATED, is_active=False)  # never deleted
    save([usage(cast.maria, 6, tokens=20000)])  # Engineering: 23,500 between Maria and Erin now
    by_total = teams.team_board(week(), catalog=catalog.load())
    assert [row.name for row in by_total.rows] == ["Engineering", "Sales", "Platform"]
    by_median = teams.team_board(week(), catalog=catalog.load(), sort="median")
    assert [row.name for row in by_median.rows] == ["Engineering", "Sales", "Platform"]
    by_median_values = [row.median for row in by_median.rows]
    assert by_median_values == [11750, 10000, 2250]
    assert [row.rank for row in by_median.rows] == [1, 2, 3]


def test_it_counts_hidden_and_anonymous_people_in_team_totals(week_of_usage, cast):
    before = {row.name: row.total for row in teams.team_board(week(), catalog=catalog.load()).rows}
    Person.objects.filter(pk=cast.sam.pk).update(privacy=Person.Privacy.HIDDEN)
    Person.objects.filter(pk=cast.erin.pk).update(privacy=Person.Privacy.ANONYMOUS)
    after = {row.name: row.total for row in teams.team_board(week(), catalog=catalog.load()).rows}
    assert after == before


def test_it_charts_a_team_by_vendor(week_of_usage, cast):
    spans, stacks, _spend = teams.team_trend(week(), catalog.load().team_and_below(cast.engineering.pk))
    assert len(spans) == 7
    assert stacks["anthropic"] == [0, 0, 100, 100, 1100, 1100, 1100]
    assert stacks["openai"][-2:] == [2000, 2000] and stacks["cursor"][-2] == 500


# --- My usage, person pages and badges ----------------------------------------------------------


def test_it_sums_my_usage_for_the_period(week_of_usage, cast):
    overview = usage_page.usage_overview(cast.erin, week().period, today=TODAY)
    assert (overview.total_tokens, overview.input_tokens, overview.cache_write_tokens, overview.cache_read_tokens,
            overview.output_tokens) == (3000, 1200, 300, 900, 600)
    assert (overview.cost_usd, overview.active_days, overview.requests) == (Decimal("3.00"), 3, 3)
    assert (overview.rank, overview.ranked_people, overview.percentile) == (3, 5, 60)
    assert overview.stacks == {"anthropic": [0, 0, 0, 0, 1000, 1000, 1000]}
    assert overview.by_vendor == [("anthropic", 3000, Decimal("3.00"), "Anthropic Admin API usage report")]


def test_it_stacks_my_days_by_model_on_demand(cast):
    save([usage(cast.erin, 0, model="claude-opus-4-6", tokens=10), usage(cast.erin, 0, model="claude-haiku", tokens=5),
          usage(cast.erin, 1, "openai", "gpt-5", tokens=7)])
    overview = usage_page.usage_overview(cast.erin, week().period, by="model", today=TODAY)
    assert overview.stacks == {
        "claude-opus-4-6": [0, 0, 0, 0, 0, 0, 10], "gpt-5": [0, 0, 0, 0, 0, 7, 0], "claude-haiku": [0, 0, 0, 0, 0, 0, 5],
    }


def test_it_keeps_the_details_from_a_limited_overview(week_of_usage, cast):
    overview = usage_page.usage_overview(cast.erin, week().period, today=TODAY, detail=False)
    assert overview.total_tokens == 3000 and overview.rank == 3
    assert (overview.stacks, overview.by_vendor, overview.input_tokens) == ({}, [], 0)


def test_it_ranks_me_week_by_week(cast):
    monday = TODAY - timedelta(days=TODAY.weekday())
    save([usage(cast.erin, (TODAY - monday).days + 7, tokens=100), usage(cast.sam, (TODAY - monday).days + 7, tokens=50),
          usage(cast.erin, (TODAY - monday).days + 14, tokens=10), usage(cast.sam, (TODAY - monday).days + 14, tokens=50)])
    overview = usage_page.usage_overview(cast.erin, week().period, today=TODAY)
    assert len(overview.rank_weeks) == usage_page.RANK_WEEKS
    assert overview.rank_weeks[-1] == (monday, None)
    assert overview.rank_weeks[-2] == (monday - timedelta(weeks=1), 1)
    assert overview.rank_weeks[-3] == (monday - timedelta(weeks=2), 2)


def test_it_awards_a_billion_tokens_and_a_streak(cast):
    rows = [usage(cast.erin, n, tokens=60_000_000) for n in range(40, 15, -1)]  # 25 days in a row, 1.5B
    save(rows)
    badges = {badge.slug: badge for badge in usage_page.usage_overview(cast.erin, week().period, today=TODAY).badges}
    assert set(badges) == {"billion", "streak"}
    crossed = ago(40 - 16)  # the 17th day reaches 1,020,000,000
    assert f"{crossed:%b} {crossed.day}" in badges["billion"].detail
    assert "25 days in a row" in badges["streak"].detail


def test_it_awards_no_streak_for_nineteen_days(cast):
    save([usage(cast.erin, n, tokens=10) for n in range(19)] + [usage(cast.erin, n, tokens=10) for n in range(20, 39)])
    assert usage_page.usage_overview(cast.erin, week().period, today=TODAY).badges == []


def test_it_awards_the_biggest_climber_of_last_week(cast):
    monday = TODAY - timedelta(days=TODAY.weekday())
    last_week = (TODAY - monday).days + 3
    before = last_week + 7
    save([
        usage(cast.erin, before, tokens=10), usage(cast.sam, before, tokens=50), usage(cast.lee, before, tokens=40),
        usage(cast.otto, before, tokens=30),
        usage(cast.erin, last_week, tokens=100), usage(cast.sam, last_week, tokens=50), usage(cast.lee, last_week, tokens=40),
        usage(cast.otto, last_week, tokens=60),
    ])
    def slugs(person):
        return [badge.slug for badge in usage_page.usage_overview(person, week().period, today=TODAY).badges]

    assert slugs(cast.erin) == ["climber"]  # 4th to 1st
    assert slugs(cast.otto) == []  # 3rd to 2nd: climbed, but not the most
    assert slugs(cast.sam) == []


# --- Charts -------------------------------------------------------------------------------------


def test_it_draws_an_accessible_stacked_chart():
    spans = [(ago(2), ago(2)), (ago(1), ago(1)), (ago(0), ago(0))]
    svg = str(charts.stacked_bars(
        spans, {"anthropic": [10, 0, 30], "openai": [5, 5, 0]}, title="Tokens per day", description="Tokens: 50",
        fmt=display.compact, colours=charts.colours_for(["anthropic", "openai"], by="vendor"), y_label="Tokens",
        labels={"openai": "OpenAI"},
    ))
    assert 'role="img"' in svg and "<title id=" in svg and "<desc id=" in svg
    assert "Tokens per day" in svg and ">Day (UTC)<" in svg and ">Tokens<" in svg
    # Coloured by class (static/css/boards.css), never a style attribute: the CSP allows none.
    assert 'class="c-anthropic"' in svg and 'class="c-openai"' in svg and "style=" not in svg
    assert svg.count("<rect") == 4  # empty segments are not drawn
    assert "Show the numbers" in svg and ">OpenAI<" in svg and "<td class=\"num\">30</td>" in svg


def test_it_escapes_what_it_draws():
    svg = str(charts.stacked_bars(
        [(ago(0), ago(0))], {"<script>": [1]}, title="<b>", description="&", fmt=str, colours={}, y_label="y",
    ))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "<b>" not in svg


def test_it_draws_sparklines_and_rank_lines_with_words():
    spark = str(charts.sparkline([0, 5, 10], label="Erin: 15 tokens"))
    assert 'aria-label="Erin: 15 tokens"' in spark and "<polyline" in spark
    assert "<polyline" in str(charts.sparkline([], label="nothing"))
    line = str(charts.rank_line([(ago(14), 3), (ago(7), None), (ago(0), 1)], title="Rank", description="Best #1"))
    assert line.count("<polyline") == 2  # a week without a rank breaks the line
    assert "Week of" in line and "#1" in line and "Rank (1 = most tokens)" in line
    assert charts.describe_series("tokens", [0, 1000, 3000], display.compact) == (
        "4.0K tokens in total, at most 3.0K in one day; 2 of 3 days with usage."
    )


def test_it_picks_round_axis_steps():
    assert charts.nice_ceiling(8734) == (10000, 2500)
    assert charts.nice_ceiling(0) == (1.0, 0.25)
