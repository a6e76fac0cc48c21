"""Budgets and flags on the employee-facing pages: the board's "share of budget used" metric, the
budget on my usage, person and team pages, my own flags on my usage, a person's flags on their page,
what colleagues do not see, query counts, and the cache following a policy change.

Who sees a budget figure (leaderboard/boards.py, "Who may see budgets"): admins all of them; a
manager those made only of themself and people in their reporting line (Maria: herself, Erin, Sam
and Lee, so Engineering and Platform; Sam: himself and Lee, so Platform); anyone else none but their
own, on their own page, and the metric is not offered to them.

The cast's budgets, unless a test sets others: the fresh install's organisation default of $100 per
working day, so over the last 7 days (five working days, whatever today is) $500 each."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache as shared_cache
from django.core.management import call_command
from django.urls import reverse

from accounts.models import Person
from leaderboard import budgets, cache, review
from leaderboard.boards import budget_use, catalog, ranking, warming
from leaderboard.boards import filters as board_filters
from leaderboard.models import BudgetPolicy, Flag
from tests.test_board_views import HTMX, MAX_QUERIES, board_rows, text
from tests.test_board_views import big_company as big_company  # noqa: F401 - a fixture
from tests.test_boards import TODAY, board_for, save, standard_week, usage, week
from tests.test_review_views import make_flag

WEEK = {"period": "7d"}


@pytest.fixture
def week_of_usage(cast):
    """Last 7 days' cost: Lee $5 · Erin $3 · Otto $2 · Sam $1 · Maria $0.50; Ada nothing."""
    standard_week(cast)
    return cast


def shares(board) -> list[tuple[int, str, str]]:
    return [(row.rank, row.name, row.value_display) for row in board.rows]


def org_policy(amount: str, days_ago: int = 30) -> BudgetPolicy:
    return budgets.create_policy(scope="org", kind="day", amount_usd=Decimal(amount),
                                 effective_from=TODAY - timedelta(days=days_ago), backdate=True)


# --- The board's metric ---------------------------------------------------------------------------


def test_it_ranks_people_by_the_share_of_their_budget_they_used(week_of_usage):
    cast = week_of_usage
    board = board_for(cast.ada, week("budget"))
    assert shares(board) == [
        (1, "Lee Report", "1%"), (2, "Erin Employee", "0.6%"), (3, "Otto Outsider", "0.4%"),
        (4, "Sam Lead", "0.2%"), (5, "Maria Manager", "0.1%"),
    ]
    # The bar is the share of the leader's, like every metric's.
    assert [round(row.share, 2) for row in board.rows] == [1.0, 0.6, 0.4, 0.2, 0.1]
    # Rank change compares with the share of the previous period's budget: Erin led it ($4 of $500).
    assert board.rows[1].change == -1


def test_it_ranks_by_budget_not_by_cost(week_of_usage):
    cast = week_of_usage
    # Lee's team gets ten times the default: $5 of $5,000 is 0.1%.
    budgets.create_policy(scope="team", kind="day", amount_usd=Decimal(1000), team=cast.platform,
                          effective_from=TODAY - timedelta(days=60), backdate=True)
    names = [name for _, name, _ in shares(board_for(cast.ada, week("budget")))]
    assert names == ["Erin Employee", "Otto Outsider", "Maria Manager", "Lee Report", "Sam Lead"]


def test_it_leaves_people_without_a_budget_off_the_ranking(week_of_usage):
    cast = week_of_usage
    BudgetPolicy.objects.filter(scope=BudgetPolicy.Scope.ORG).delete()
    budgets.create_policy(scope="team", kind="day", amount_usd=Decimal(100), team=cast.platform,
                          effective_from=TODAY - timedelta(days=60), backdate=True)
    board = board_for(cast.ada, week("budget"))
    assert shares(board) == [(1, "Lee Report", "1%"), (2, "Sam Lead", "0.2%")]
    # I have spend but no budget: not ranked, and told why.
    mine = board_for(cast.maria, week("budget"))
    assert mine.me is None and mine.me_unranked
    # Nobody starts with a budget before their first day.
    Person.objects.filter(pk=cast.lee.pk).update(start_date=TODAY + timedelta(days=3))
    assert [name for _, name, _ in shares(board_for(cast.ada, week("budget")))] == ["Sam Lead"]


def test_it_shows_the_budget_board_as_a_page_with_percentages(week_of_usage, login):
    client = login(week_of_usage.ada)
    response = client.get(reverse("board"), {**WEEK, "metric": "budget"})
    body = text(response)
    assert board_rows(response) == ["Lee Report", "Erin Employee", "Otto Outsider", "Sam Lead", "Maria Manager"]
    assert "ranked by share of budget used" in body and ">0.6%<" in body and ">0.4%<" in body
    assert 'value="budget" selected' in body
    unranked = text(login(week_of_usage.ada).get(reverse("board"), {**WEEK, "metric": "budget"}))
    assert "You have no budget or no spend in the last 7 days, so you are not ranked." in unranked


def test_it_ranks_teams_by_their_members_share_of_budget(week_of_usage, login):
    body = text(login(week_of_usage.ada).get(reverse("teams"), {**WEEK, "metric": "budget"}))
    # Platform $6 of $1,000 · Sales $2 of $500 · Engineering's own members $3.50 of $1,000.
    assert body.index(">Platform<") < body.index(">Sales<") < body.index(">Engineering<")
    assert ">0.6%<" in body and ">0.35%<" in body
    # The company: $11.50 of six people's $3,000.
    assert "0.38% of the company's budget used" in body


def test_it_gives_the_same_ranking_on_the_command_line_and_in_the_csv(week_of_usage, login):
    out = io.StringIO()
    start, end = (TODAY - timedelta(days=6)).isoformat(), TODAY.isoformat()
    call_command("leaderboard", "--start", start, "--end", end, "--metric", "budget", "--format", "json", stdout=out)
    command = [row["email"] for row in json.loads(out.getvalue())]
    assert command == ["lee@example.com", "erin@example.com", "otto@example.com", "sam@example.com",
                       "maria@example.com"]
    params = {"period": "custom", "start": start, "end": end, "metric": "budget"}
    page = csv.DictReader(io.StringIO(text(login(week_of_usage.ada).get(reverse("board_csv"), params))))
    assert [row["email"] for row in page] == command


# --- Who sees budget figures -------------------------------------------------------------------------
#
# The issue: the teams board by share of budget showed a one-person team's share (the CTO's), and a
# parent team's budget minus its sub-teams' gave the budget of its direct members; with a salary
# share policy, that is a salary. Now a budget aggregate shows only to someone who may see every
# budget inside it, so no difference of two of them tells anyone a budget they may not see.

BUDGET_FIGURES = re.compile(
    r'budget used|Share of budget|team-budget-heading|<dd>\$[\d,.]+</dd>|<dd>[\d,.]+%</dd>|class="value">[\d,.]+%'
    r'|<dd class="month">'
)


def budget_figures(body: str) -> list[str]:
    """Any budget figure on a page: a share of budget, a budget amount, the budget block or metric."""
    return BUDGET_FIGURES.findall(body)


def team_names(body: str) -> list[str]:
    return re.findall(r'<td class="who"><a href="/teams/\d+/">([^<]+)</a>', body)


def test_an_employee_asking_for_the_teams_by_budget_gets_them_by_tokens_without_a_budget_figure(week_of_usage, login):
    client = login(week_of_usage.erin)
    body = text(client.get(reverse("teams"), {**WEEK, "metric": "budget"}))
    assert budget_figures(body) == []
    assert 'value="budget"' not in body  # not offered either
    # Ranked by tokens (Sales 10K, Platform 4.5K, Engineering 3.5K), not by share of budget (Platform first).
    assert team_names(body) == ["Sales", "Platform", "Engineering"]
    assert "Tokens by team" in body and "18.0K in total" in body


def test_an_employee_sees_no_team_budget_and_is_ranked_by_the_default_on_a_team_page(week_of_usage, login):
    cast = week_of_usage
    client = login(cast.erin)
    for team in (cast.engineering, cast.platform, cast.sales):
        for params in (WEEK, {**WEEK, "metric": "budget"}):
            response = client.get(reverse("team", args=[team.pk]), params)
            body = text(response)
            assert response.status_code == 200
            assert budget_figures(body) == [] and "budget-use" not in body and "$500" not in body, team
            assert 'value="budget"' not in body
    # Engineering by tokens: Sam 4,000, Erin 3,000, Maria and Lee 500.
    response = client.get(reverse("team", args=[cast.engineering.pk]), {**WEEK, "metric": "budget"})
    assert board_rows(response) == ["Sam Lead", "Erin Employee", "Maria Manager", "Lee Report"]
    assert "ranked by total tokens" in text(response)


def test_an_employee_asking_for_the_board_or_csv_by_budget_gets_them_by_tokens(week_of_usage, login):
    client = login(week_of_usage.erin)
    response = client.get(reverse("board"), {**WEEK, "metric": "budget"})
    assert board_rows(response) == ["Otto Outsider", "Sam Lead", "Erin Employee", "Maria Manager", "Lee Report"]
    assert budget_figures(text(response)) == [] and 'value="budget"' not in text(response)
    page = csv.DictReader(io.StringIO(text(client.get(reverse("board_csv"), {**WEEK, "metric": "budget"}))))
    assert [row["email"] for row in page][:2] == ["otto@example.com", "sam@example.com"]


def test_a_manager_sees_the_budget_of_her_own_teams_but_not_of_another(week_of_usage, login):
    cast = week_of_usage
    client = login(cast.maria)
    engineering = text(client.get(reverse("team", args=[cast.engineering.pk]), WEEK))
    assert "<dd>$2,000</dd>" in engineering and 'value="budget"' in engineering
    # Sales is Otto, who is not in her reporting line: nothing budget-derived, not even the metric.
    for params in (WEEK, {**WEEK, "metric": "budget"}):
        sales = text(client.get(reverse("team", args=[cast.sales.pk]), params))
        assert budget_figures(sales) == [] and "$500" not in sales and 'value="budget"' not in sales
    # On the teams board by share of budget: her two teams, ranked between themselves, and their total.
    body = text(client.get(reverse("teams"), {**WEEK, "metric": "budget"}))
    assert team_names(body) == ["Platform", "Engineering"]
    assert ">0.6%<" in body and ">0.35%<" in body
    # $9.50 of the four people's $2,000; never the company's share, which adds up Otto's budget too.
    assert "0.47% of these teams' budget used" in body and "company's budget" not in body


def test_a_lead_sees_the_budget_of_the_sub_team_he_leads_but_not_of_its_parent(week_of_usage, login):
    cast = week_of_usage
    client = login(cast.sam)
    assert "<dd>$1,000</dd>" in text(client.get(reverse("team", args=[cast.platform.pk]), WEEK))
    # Engineering minus Platform would be Maria's and Erin's budgets: Sam sees neither figure.
    assert budget_figures(text(client.get(reverse("team", args=[cast.engineering.pk]), WEEK))) == []
    assert team_names(text(client.get(reverse("teams"), {**WEEK, "metric": "budget"}))) == ["Platform"]


def test_an_admin_sees_every_budget_figure(week_of_usage, login):
    cast = week_of_usage
    client = login(cast.ada)
    body = text(client.get(reverse("teams"), {**WEEK, "metric": "budget"}))
    assert team_names(body) == ["Platform", "Sales", "Engineering"]
    assert "0.38% of the company's budget used" in body
    # A team of one: its budget is Otto's, and an admin may see it.
    sales = text(client.get(reverse("team", args=[cast.sales.pk]), WEEK))
    assert "<dd>$500.00</dd>" in sales and "<dd>0.4%</dd>" in sales


def test_a_board_cached_for_more_rights_is_never_served_to_fewer(week_of_usage, login):
    cast = week_of_usage
    teams_url, board_url = reverse("teams") + "?period=7d&metric=budget", reverse("board") + "?period=7d&metric=budget"
    # The admin's boards are computed and cached first, under the same data version.
    assert "Sales" in team_names(text(login(cast.ada).get(teams_url)))
    assert "Otto Outsider" in board_rows(login(cast.ada).get(board_url))
    assert team_names(text(login(cast.maria).get(teams_url))) == ["Platform", "Engineering"]
    assert board_rows(login(cast.maria).get(board_url)) == ["Lee Report", "Erin Employee", "Sam Lead", "Maria Manager"]
    assert team_names(text(login(cast.sam).get(teams_url))) == ["Platform"]
    assert board_rows(login(cast.sam).get(board_url)) == ["Lee Report", "Sam Lead"]
    assert budget_figures(text(login(cast.erin).get(teams_url))) == []
    assert board_rows(login(cast.erin).get(board_url))[0] == "Otto Outsider"  # by tokens


def test_the_salary_cannot_be_worked_out_by_differencing_team_budgets(week_of_usage, login):
    cast = week_of_usage
    # The case: a salary share policy; a parent team with one direct member and a sub-team.
    Person.objects.update(annual_base_salary=Decimal("320000"))
    budgets.create_policy(scope="org", kind="salary", salary_percent=Decimal(1),
                          effective_from=TODAY - timedelta(days=90), backdate=True)
    for viewer in (cast.erin, cast.lee, cast.otto):
        client = login(viewer)
        for team in (cast.engineering, cast.platform, cast.sales):
            for period in ("7d", "30d", "year"):
                for metric in ("tokens", "cost", "budget"):
                    body = text(client.get(reverse("team", args=[team.pk]), {"period": period, "metric": metric}))
                    assert budget_figures(body) == [], (viewer, team, period, metric)
        assert budget_figures(text(client.get(reverse("teams"), {"metric": "budget", "period": "year"}))) == []


# --- My usage, person and team pages ----------------------------------------------------------------


def test_it_shows_my_budget_spend_share_derivation_and_forecast_on_my_usage(week_of_usage, login):
    body = text(login(week_of_usage.erin).get(reverse("me"), WEEK))
    assert "My budget" in body
    assert "<dd>$500.00</dd>" in body and "<dd>$3.00</dd>" in body and "<dd>0.6%</dd>" in body
    assert "$100.00 a working day (organisation default), 5 working days = $500.00." in body
    # As people think of a budget: this month's, a month.
    assert re.search(r'<dd class="month">\$[\d,.]+ a month</dd>', body)
    # Which forecast it is depends on today's date (on the 1st no day of the month has data yet);
    # that it is there does not.
    forecast = re.search(r'<p class="forecast">([^<]*)</p>', body).group(1)
    assert forecast.startswith(("At this pace:", "On track to exceed this month", "Already over this month",
                                "Too early in the month to forecast."))
    # The budget follows the period: it is part of the section htmx swaps.
    partial = text(login(week_of_usage.erin).get(reverse("me"), {"period": "yesterday"}, **HTMX))
    assert "My budget" in partial and "<dd>$3.00</dd>" not in partial


def test_it_says_on_which_day_this_months_budget_was_exceeded(cast, login):
    if TODAY.day == 1:
        pytest.skip("on the first of a month there is nothing to forecast yet")
    # $100,000 on the first of the month: far above a month of $100 per working day.
    save([usage(cast.erin, TODAY.day - 1, tokens=1000, cost="100000")])
    body = text(login(cast.erin).get(reverse("me"), {"period": "month"}))
    assert "Exceeded this month" in body and "on the 1st." in body
    # A colleague sees no forecast: Erin is not in Otto's reporting line.
    assert "Exceeded this month" not in text(login(cast.otto).get(reverse("person", args=[cast.erin.pk])))


def test_it_adds_up_the_team_budget_on_the_team_page(week_of_usage, login):
    cast = week_of_usage
    # Engineering is Maria, Erin, and (in Platform, a sub-team) Sam and Lee: all Maria's to see.
    body = text(login(cast.maria).get(reverse("team", args=[cast.engineering.pk]), WEEK))
    assert "<dd>$2,000</dd>" in body and "<dd>$9.50</dd>" in body and "<dd>0.47%</dd>" in body
    assert "The budgets of 4 people (sub-teams included)" in body
    # However small the team: every budget in it is one she may see anyway.
    platform = text(login(cast.maria).get(reverse("team", args=[cast.platform.pk]), WEEK))
    assert "<dd>$1,000</dd>" in platform and "<dd>$6.00</dd>" in platform and "<dd>0.6%</dd>" in platform
    assert "<dd>$1,000</dd>" in text(login(cast.ada).get(reverse("team", args=[cast.platform.pk]), WEEK))


def test_a_manager_sees_their_reports_budget_and_flags(week_of_usage, login):
    cast = week_of_usage
    flag = make_flag(cast.lee, kind="inactive")
    resolved = make_flag(cast.lee, kind="drop", status="resolved")
    # Maria is above Lee (through Sam): the whole page.
    page = text(login(cast.maria).get(reverse("person", args=[cast.lee.pk]), WEEK))
    assert 'id="budget-heading">Budget<' in page and "<dd>$500.00</dd>" in page and "<dd>1%</dd>" in page
    assert reverse("flag", args=[flag.pk]) in page and "Review this flag" in page
    assert reverse("flag", args=[resolved.pk]) not in page
    # The link leads to the flag in her review queue.
    assert "Act on it" in text(login(cast.maria).get(reverse("flag", args=[flag.pk])))
    # An admin too.
    assert reverse("flag", args=[flag.pk]) in text(login(cast.ada).get(reverse("person", args=[cast.lee.pk])))


def test_a_colleague_sees_neither_budget_nor_flags(week_of_usage, login):
    cast = week_of_usage
    flag = make_flag(cast.otto)
    for viewer in (cast.erin, cast.lee):
        client = login(viewer)
        for response in (client.get(reverse("person", args=[cast.otto.pk]), WEEK),
                         client.get(reverse("person", args=[cast.otto.pk]), WEEK, **HTMX)):
            body = text(response)
            assert response.status_code == 200 and "Otto Outsider" in body
            assert "budget-use" not in body and "Budget" not in body and "$500" not in body
            assert reverse("flag", args=[flag.pk]) not in body and "flags-heading" not in body
            assert "used 1.2% of the budget" not in body


def test_my_own_person_page_has_my_budget_and_my_flags_to_answer(week_of_usage, login):
    cast = week_of_usage
    flag = make_flag(cast.erin)
    body = text(login(cast.erin).get(reverse("person", args=[cast.erin.pk]), WEEK))
    assert "My budget" in body and "<dd>$500.00</dd>" in body
    assert reverse("flag", args=[flag.pk]) in body and "Answer in your own words" in body


def test_salary_never_shows_even_behind_a_salary_budget(week_of_usage, login):
    cast = week_of_usage
    Person.objects.update(annual_base_salary=Decimal("987654.32"))
    budgets.create_policy(scope="org", kind="salary", salary_percent=Decimal(50),
                          effective_from=TODAY - timedelta(days=90), backdate=True)
    for viewer, urls in ((cast.erin, [reverse("me"), reverse("person", args=[cast.erin.pk])]),
                         (cast.maria, [reverse("person", args=[cast.lee.pk]), reverse("team", args=[cast.engineering.pk]),
                                       reverse("board") + "?metric=budget", reverse("teams") + "?metric=budget"])):
        client = login(viewer)
        for url in urls:
            for period in ("7d", "year"):
                body = text(client.get(url, {"period": period}))
                assert "987654" not in body and "987,654" not in body and "988K" not in body, url
                assert "Salary" not in body, url
    assert "50% of annual base salary" in text(login(cast.erin).get(reverse("me"), WEEK))


# --- My flags -------------------------------------------------------------------------------------


def test_an_employee_sees_their_own_open_flags_with_a_link_to_answer(week_of_usage, login):
    cast = week_of_usage
    mine = make_flag(cast.erin, severity="high")
    closed = make_flag(cast.erin, kind="inactive", status="dismissed")
    theirs = make_flag(cast.sam, kind="runaway")
    Flag.objects.filter(pk=theirs.pk).update(explanation="Sam Lead spent 40 times his budget.")
    review.add_note(flag=mine, by=cast.maria, text="Internal: check her project")
    review.add_note(flag=mine, by=cast.maria, text="Reply: how can I help?", to_employee=True)
    body = text(login(cast.erin).get(reverse("me")))
    assert "My flags" in body and "Underuse of budget" in body and "High severity" in body
    assert "Erin Employee used 1.2% of the budget." in body and f"{TODAY:%b} {TODAY.day}, {TODAY.year}" in body
    assert reverse("flag", args=[mine.pk]) in body and "Answer in your own words" in body and "1 reply to you" in body
    # Not a closed flag, not anyone else's, never an internal note.
    assert reverse("flag", args=[closed.pk]) not in body
    assert reverse("flag", args=[theirs.pk]) not in body and "Sam Lead spent" not in body
    assert "Internal: check her project" not in body
    # The flag's page: the reply addressed to her, no internal note, a form to answer.
    page = text(login(cast.erin).get(reverse("flag", args=[mine.pk])))
    assert "Reply: how can I help?" in page and "Internal: check her project" not in page and "Your answer" in page
    login(cast.erin).post(reverse("flag_action", args=[mine.pk, "answer"]), {"text": "Waiting for a license"})
    assert "See the conversation or answer again" in text(login(cast.erin).get(reverse("me")))


def test_an_employee_without_flags_is_told_so(week_of_usage, login):
    make_flag(week_of_usage.sam)
    body = text(login(week_of_usage.erin).get(reverse("me")))
    assert "My flags" in body and "No open flags." in body


# --- The cache follows budget changes ---------------------------------------------------------------


def test_a_policy_change_shows_on_the_next_request(week_of_usage, login):
    cast = week_of_usage
    client = login(cast.maria)
    board_url = reverse("board") + "?period=7d&metric=budget"
    assert board_rows(client.get(board_url))[0] == "Lee Report"
    assert "<dd>$500.00</dd>" in text(login(cast.erin).get(reverse("me"), WEEK))
    client = login(cast.maria)
    assert "<dd>$2,000</dd>" in text(client.get(reverse("team", args=[cast.engineering.pk]), WEEK))
    # A personal policy for Lee: $5 of $5,000.
    budgets.create_policy(scope="person", kind="day", amount_usd=Decimal(1000), person=cast.lee,
                          effective_from=TODAY - timedelta(days=60), backdate=True)
    assert board_rows(client.get(board_url))[0] == "Erin Employee"
    assert "<dd>$6,500</dd>" in text(client.get(reverse("team", args=[cast.engineering.pk]), WEEK))
    # A new organisation default.
    org_policy("200")
    assert "<dd>$1,000</dd>" in text(login(cast.erin).get(reverse("me"), WEEK))
    # Part time (an update() that sends no signal).
    budgets.set_work_percent(person=cast.erin, percent=50)
    cast.erin.refresh_from_db()
    body = text(login(cast.erin).get(reverse("me"), WEEK))
    assert "<dd>$500.00</dd>" in body and "at 50% part-time" in body
    assert board_rows(login(cast.maria).get(board_url))[0] == "Erin Employee"
    # The working week: Monday to Sunday makes seven working days of the last seven.
    budgets.update_org_settings(working_weekdays=[1, 2, 3, 4, 5, 6, 7], grace_days=30, max_data_lag_days=3)
    assert "<dd>$700.00</dd>" in text(login(cast.erin).get(reverse("me"), WEEK))


def test_my_budget_follows_my_row_however_it_was_written(week_of_usage, login):
    cast = week_of_usage
    client = login(cast.erin)
    assert "<dd>$500.00</dd>" in text(client.get(reverse("me"), WEEK))
    Person.objects.filter(pk=cast.erin.pk).update(work_percent=50)  # no signal, no budget version
    assert "<dd>$250.00</dd>" in text(client.get(reverse("me"), WEEK))


def test_a_salary_or_start_date_saved_on_the_person_shows_on_the_next_request(week_of_usage, login):
    cast = week_of_usage
    budgets.create_policy(scope="team", kind="salary", salary_percent=Decimal(1), team=cast.platform,
                          effective_from=TODAY - timedelta(days=60), backdate=True)
    client = login(cast.maria)
    board_url = reverse("board") + "?period=7d&metric=budget"
    # No salary on file: the team's salary share falls back to the default.
    assert board_rows(client.get(board_url))[0] == "Lee Report"
    cast.lee.annual_base_salary = Decimal("2610000")  # 1%: $26,100 a year, about $100 a working day
    cast.lee.save(update_fields=["annual_base_salary"])
    lee = next(row for row in ranking.leaderboard(week("budget"), viewer=cast.ada, catalog=catalog.load(),
                                                 versions=cache.current()).rows if row.person_id == cast.lee.pk)
    assert lee.value_display in ("0.99%", "1%", "0.98%", "0.97%", "0.96%")
    cast.lee.start_date = TODAY + timedelta(days=1)
    cast.lee.save()
    assert "Lee Report" not in board_rows(client.get(board_url))


def test_the_budget_version_moves_with_the_writes_that_change_budgets(cast):
    before = cache.current()
    Person.objects.filter(pk=cast.erin.pk).update(last_login=cast.erin.date_joined)
    cast.erin.save(update_fields=["last_login"])
    cast.erin.title = "Staff Engineer"
    cast.erin.save(update_fields=["title"])
    assert cache.current().budgets == before.budgets
    policy = org_policy("150")
    after_create = cache.current().budgets
    assert after_create != before.budgets
    BudgetPolicy.objects.filter(pk=policy.pk).first().delete()
    assert cache.current().budgets != after_create
    moved = cache.current().budgets
    budgets.update_org_settings(working_weekdays=[1, 2, 3, 4], grace_days=30, max_data_lag_days=3)
    assert cache.current().budgets != moved
    moved = cache.current().budgets
    cast.erin.work_percent = 80
    cast.erin.save(update_fields=["work_percent"])
    assert cache.current().budgets != moved
    # The rollups and the people versions are not the budgets'.
    assert cache.current().rollups == before.rollups


def test_it_reads_the_policies_and_the_working_week_in_one_query(cast, django_assert_num_queries):
    org_policy("150")
    versions = cache.current()
    with django_assert_num_queries(1):
        tables = budgets.policy_tables(versions)
    assert len(tables.rows) == 2 and tables.weekdays == (1, 2, 3, 4, 5)
    with django_assert_num_queries(0):
        assert budgets.policy_tables(versions) == tables


# --- Query counts -----------------------------------------------------------------------------------


def count(client, url, django_assert_max_num_queries, limit=MAX_QUERIES, **extra) -> int:
    with django_assert_max_num_queries(limit) as queries:
        response = client.get(url, **extra)
    assert response.status_code == 200, url
    return len(queries.captured_queries)


def after_an_import():
    """What a finished import does to the boards' cache (and what the worker warms after it)."""
    cache.bump(cache.ROLLUPS)
    warming.warm_cache()


@pytest.fixture
def flagged(big_company):
    cast = big_company
    for person in (cast.erin, cast.lee, cast.sam):
        make_flag(person)
    return cast


def test_the_budget_board_costs_one_query_more_cold_and_none_cached(flagged, login, django_assert_max_num_queries):
    client = login(flagged.maria)
    cost, budget = reverse("board") + "?metric=cost", reverse("board") + "?metric=budget"
    cold = {}
    for url in (cost, budget):
        shared_cache.clear()
        cache.forget_in_process()
        cold[url] = count(client, url, django_assert_max_num_queries, limit=MAX_QUERIES + 1)
    assert cold[budget] <= cold[cost] + 1
    for url in (cost, budget):  # the cost board went cold again with the budget board's cache.clear()
        client.get(url)
    assert count(client, budget, django_assert_max_num_queries) == count(client, cost, django_assert_max_num_queries)
    # However it went cold: a new import, a new policy.
    after_an_import()
    count(client, budget + "&period=7d", django_assert_max_num_queries)
    cache.bump(cache.ROLLUPS)
    count(client, budget, django_assert_max_num_queries)
    count(client, budget, django_assert_max_num_queries, **HTMX)
    org_policy("120")
    count(client, budget, django_assert_max_num_queries)
    count(client, reverse("teams") + "?metric=budget", django_assert_max_num_queries)


@pytest.mark.parametrize(("viewer", "page"), [
    ("erin", "me"), ("maria", "me"), ("erin", "self"), ("maria", "lee"), ("ada", "lee"), ("sam", "lee"),
    ("erin", "team"), ("erin", "otto"),
])
def test_the_pages_with_budgets_and_flags_stay_within_eight_queries(flagged, login, django_assert_max_num_queries,
                                                                      viewer, page):
    cast = flagged
    me = getattr(cast, viewer)
    url = {
        "me": reverse("me"), "self": reverse("person", args=[me.pk]), "lee": reverse("person", args=[cast.lee.pk]),
        "otto": reverse("person", args=[cast.otto.pk]), "team": reverse("team", args=[cast.engineering.pk]),
    }[page]
    client = login(me)
    # The morning: the night's import has run and its worker warmed the common boards.
    after_an_import()
    count(client, reverse("board"), django_assert_max_num_queries)  # the home page, first
    for params in ({}, {"period": "7d"}, {"period": "90d", "by": "model"}):
        for extra in ({}, HTMX):
            count(client, url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else ""),
                  django_assert_max_num_queries, **extra)
    after_an_import()
    count(client, url, django_assert_max_num_queries)
    org_policy("120")
    count(client, url, django_assert_max_num_queries)
    count(client, url, django_assert_max_num_queries, **HTMX)


def test_the_team_page_stays_within_eight_queries_after_an_import_without_warming(flagged, login,
                                                                                  django_assert_max_num_queries):
    client = login(flagged.erin)
    url = reverse("team", args=[flagged.engineering.pk])
    count(client, url, django_assert_max_num_queries)
    cache.bump(cache.ROLLUPS)
    count(client, url, django_assert_max_num_queries)
    count(client, url + "?metric=budget&period=90d", django_assert_max_num_queries)


def test_it_warms_the_budgets(week_of_usage, django_assert_max_num_queries):
    assert "budgets" in warming.warm_cache()
    version = cache.current()
    with django_assert_max_num_queries(0):
        budget_use.period_budgets(board_filters.resolve_period("30d", today=TODAY), catalog=catalog.load(version),
                              versions=version)


def test_a_manager_ranks_only_her_reporting_line_by_share_of_budget(week_of_usage):
    cast = week_of_usage
    # Otto is not in Maria's line: not a number, not even a place in her ranking.
    board = board_for(cast.maria, week("budget"))
    assert shares(board) == [
        (1, "Lee Report", "1%"), (2, "Erin Employee", "0.6%"), (3, "Sam Lead", "0.2%"), (4, "Maria Manager", "0.1%"),
    ]
    assert [name for _, name, _ in shares(board_for(cast.sam, week("budget")))] == ["Lee Report", "Sam Lead"]


def test_an_employee_ranks_nobody_by_share_of_budget(week_of_usage):
    # Even a ranking without numbers tells who overspends: the selector lists nobody for her.
    board = board_for(week_of_usage.erin, week("budget"))
    assert board.rows == [] and board.count == 0
