"""Budgets (leaderboard/budgets.py): policies, inheritance, effective dates, working days, part-time,
salary shares, spend, share and the month's forecast.

March 2025 has 21 working days (Monday to Friday); 2025 has 261.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from accounts.models import AuditEvent, Person
from leaderboard import budgets
from leaderboard.budgets import BudgetBook, Calendar, Policy
from leaderboard.models import BudgetPolicy, OrgSettings, PersonDay

MARCH = (date(2025, 3, 1), date(2025, 3, 31))


def policy(**fields):
    fields.setdefault("kind", "day")
    fields.setdefault("effective_from", date(2025, 1, 1))
    if "team" in fields:
        fields.setdefault("scope", "team")
    elif "person" in fields:
        fields.setdefault("scope", "person")
    else:
        fields.setdefault("scope", "org")
    return BudgetPolicy.objects.create(**fields)


def budget(person, start=MARCH[0], end=MARCH[1]):
    return BudgetBook.load().budget(person.pk, start, end)


def spend(person, day, cost):
    PersonDay.objects.create(person=person, day=day, cost_usd=Decimal(cost), total_tokens=1000, active=True)


# --- calendar -----------------------------------------------------------------------------------


def test_it_counts_working_days_monday_to_friday():
    cal = Calendar(frozenset({1, 2, 3, 4, 5}))
    assert cal.working_days(*MARCH) == 21
    assert cal.working_days(date(2025, 1, 1), date(2025, 12, 31)) == 261
    assert cal.working_days(date(2025, 3, 1), date(2025, 3, 2)) == 0  # a weekend
    assert cal.working_days(date(2025, 3, 5), date(2025, 3, 4)) == 0


def test_it_counts_other_working_weeks():
    cal = Calendar(frozenset({7, 1, 2, 3, 4}))  # Sunday to Thursday
    assert cal.working_days(date(2025, 3, 1), date(2025, 3, 8)) == 5
    assert sum(cal.is_working(date(2025, 3, d)) for d in range(1, 32)) == cal.working_days(*MARCH)


def test_it_reads_the_working_week_from_the_org_settings(cast):
    OrgSettings.objects.filter(pk=1).update(working_weekdays=[1, 2, 3, 4])
    # Four-day weeks: 17 working days in March, $100 each.
    assert budget(cast.erin).amount == Decimal("1700.00")


# --- the default and inheritance ----------------------------------------------------------------


def test_a_fresh_install_gives_everyone_100_dollars_per_working_day(cast):
    result = budget(cast.erin)
    assert result.amount == Decimal("2100.00")
    assert result.working_days == 21 and result.per_day == Decimal("100.00")
    assert "$100.00 a working day (organisation default)" in result.explain()


def test_a_team_policy_overrides_the_default_and_is_inherited_by_sub_teams(cast):
    policy(team=cast.engineering, amount_usd=Decimal(200))
    assert budget(cast.erin).amount == Decimal("4200.00")  # Engineering
    assert budget(cast.lee).amount == Decimal("4200.00")  # Platform, a sub-team of Engineering
    assert budget(cast.otto).amount == Decimal("2100.00")  # Sales: the default
    assert "team Engineering" in budget(cast.lee).explain()


def test_the_nearest_team_wins(cast):
    policy(team=cast.engineering, amount_usd=Decimal(200))
    policy(team=cast.platform, amount_usd=Decimal(300))
    assert budget(cast.lee).amount == Decimal("6300.00")
    assert budget(cast.erin).amount == Decimal("4200.00")


def test_a_personal_policy_overrides_the_team(cast):
    policy(team=cast.platform, amount_usd=Decimal(300))
    policy(person=cast.lee, amount_usd=Decimal(50))
    assert budget(cast.lee).amount == Decimal("1050.00")
    assert budget(cast.sam).amount == Decimal("6300.00")


# --- effective dates ----------------------------------------------------------------------------


def test_a_new_policy_applies_from_its_date_and_the_past_keeps_its_budget(cast):
    policy(team=cast.engineering, amount_usd=Decimal(200), effective_from=date(2025, 3, 17))
    # March 3-14: 10 working days at the $100 default; March 17-31: 11 at $200.
    result = budget(cast.erin)
    assert result.amount == Decimal("3200.00")
    assert [s.working_days for s in result.segments] == [10, 11]
    assert budget(cast.erin, date(2025, 2, 1), date(2025, 2, 28)).amount == Decimal("2000.00")
    assert result.per_day == Decimal("200.00")


def test_a_later_org_policy_supersedes_the_earlier_one(cast):
    policy(amount_usd=Decimal(150), effective_from=date(2025, 3, 1))
    assert budget(cast.otto).amount == Decimal("3150.00")
    assert budget(cast.otto, date(2025, 2, 1), date(2025, 2, 28)).amount == Decimal("2000.00")


def test_a_team_policy_not_yet_in_effect_leaves_the_default(cast):
    policy(team=cast.engineering, amount_usd=Decimal(200), effective_from=date(2025, 4, 1))
    assert budget(cast.erin).amount == Decimal("2100.00")


def test_the_database_refuses_two_policies_for_one_target_and_day(cast):
    policy(team=cast.engineering, amount_usd=Decimal(200))
    with pytest.raises(IntegrityError), transaction.atomic():
        policy(team=cast.engineering, amount_usd=Decimal(300))


def test_the_database_refuses_a_team_policy_without_a_team(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        BudgetPolicy.objects.create(scope="team", kind="day", amount_usd=Decimal(1), effective_from=date(2025, 1, 1))


def test_the_database_refuses_a_policy_kind_the_pages_do_not_know(cast):
    # A "weekly" row once made every team, person and my-usage page answer 500 (migration 0008).
    with pytest.raises(IntegrityError), transaction.atomic():
        policy(team=cast.engineering, kind="weekly", amount_usd=Decimal(500))
    assert not BudgetPolicy.objects.filter(kind="weekly").exists()


# --- kinds --------------------------------------------------------------------------------------


def test_a_monthly_amount_is_spread_over_the_months_working_days(cast):
    policy(person=cast.erin, kind="month", amount_usd=Decimal(2100))
    assert budget(cast.erin).amount == Decimal("2100.00")
    # March 17-31 is 11 of March's 21 working days.
    assert budget(cast.erin, date(2025, 3, 17), date(2025, 3, 31)).amount == Decimal("1100.00")
    assert budget(cast.erin, date(2025, 3, 17), date(2025, 3, 31)).per_day == Decimal("100.00")


def test_a_yearly_amount_is_spread_over_the_years_working_days(cast):
    policy(person=cast.erin, kind="year", amount_usd=Decimal(26100))
    assert budget(cast.erin).amount == Decimal("2100.00")
    assert budget(cast.erin, date(2025, 1, 1), date(2025, 12, 31)).amount == Decimal("26100.00")


def test_a_salary_share_is_prorated_per_working_day(cast):
    Person.objects.filter(pk=cast.sam.pk).update(annual_base_salary=Decimal(500000))
    policy(team=cast.engineering, kind="salary", salary_percent=Decimal(50), amount_usd=None)
    result = budget(cast.sam)
    # Half of $500,000 is $250,000 a year, over 261 working days, times March's 21.
    assert result.amount == (Decimal(250000) * 21 / 261).quantize(Decimal("0.01"))
    assert result.per_day == Decimal("957.85")
    assert "50% of annual base salary" in result.explain()


def test_a_salary_share_without_a_salary_falls_back_to_the_next_policy(cast):
    policy(team=cast.platform, kind="salary", salary_percent=Decimal(50), amount_usd=None)
    result = budget(cast.lee)
    assert result.amount == Decimal("2100.00")
    assert "needs a salary, and none is on file" in result.explain()


def test_part_time_scales_fixed_budgets_but_not_salary_shares(cast):
    Person.objects.filter(pk=cast.erin.pk).update(work_percent=60)
    Person.objects.filter(pk=cast.sam.pk).update(work_percent=60, annual_base_salary=Decimal(261000))
    policy(person=cast.sam, kind="salary", salary_percent=Decimal(10), amount_usd=None)
    assert budget(cast.erin).amount == Decimal("1260.00")
    assert "60% part-time" in budget(cast.erin).explain()
    assert budget(cast.sam).amount == Decimal("2100.00")  # $26,100 a year, the salary already part-time


def test_nobody_has_a_budget_before_their_first_day(cast):
    Person.objects.filter(pk=cast.erin.pk).update(start_date=date(2025, 3, 17))
    assert budget(cast.erin).amount == Decimal("1100.00")


def test_there_is_no_budget_without_any_policy(cast):
    BudgetPolicy.objects.all().delete()
    result = budget(cast.erin)
    assert result.amount is None
    assert "No budget policy applies" in result.explain()


# --- spend, share, forecast ---------------------------------------------------------------------


def forecast(person, *, today: date) -> str:
    """This month's forecast as my usage writes it, from the days spent so far."""
    days = dict(PersonDay.objects.filter(person=person).values_list("day", "cost_usd"))
    return budgets.forecast_this_month(BudgetBook.load(), person.pk, today=today, daily_spend=days).text


def test_it_forecasts_the_month_at_the_current_pace(cast):
    # March 3-14: 10 working days at $8: $80 of $2,100; 11 more days at $8 make $168: 8%.
    for day in range(3, 15):
        if date(2025, 3, day).isoweekday() <= 5:
            spend(cast.erin, date(2025, 3, day), "8")
    assert forecast(cast.erin, today=date(2025, 3, 15)) == "At this pace: 8% of this month's budget ($2,100)."


def test_it_forecasts_the_day_the_budget_runs_out(cast):
    # $150 a working day: $1,500 after 10 days; $2,100 is passed on the 5th working day after (the 21st).
    for day in range(3, 15):
        if date(2025, 3, day).isoweekday() <= 5:
            spend(cast.erin, date(2025, 3, day), "150")
    assert forecast(cast.erin, today=date(2025, 3, 15)) == (
        "On track to exceed this month's budget ($2,100) on the 21st."
    )


def test_it_says_on_which_day_the_budget_was_exceeded(cast):
    spend(cast.erin, date(2025, 3, 3), "1000")
    spend(cast.erin, date(2025, 3, 12), "1200")
    assert forecast(cast.erin, today=date(2025, 3, 20)) == "Exceeded this month's budget ($2,100) on the 12th."


def test_it_does_not_forecast_on_the_first_of_the_month(cast):
    spend(cast.erin, date(2025, 2, 27), "1000")
    assert forecast(cast.erin, today=date(2025, 3, 1)) == "Too early in the month to forecast."


# --- previews and writes ------------------------------------------------------------------------


def test_the_preview_lists_who_is_affected_and_how(cast):
    proposed = Policy(None, "team", cast.platform.pk, None, "day", Decimal(150), None, date(2025, 3, 1),
                      "team Platform", "$150.00 per working day")
    rows, total = budgets.preview_policy(proposed)
    assert total == 2
    assert {r.person.name for r in rows} == {"Sam Lead", "Lee Report"}
    lee = next(r for r in rows if r.person.name == "Lee Report")
    assert (lee.before, lee.after, lee.change) == (Decimal("2100.00"), Decimal("3150.00"), Decimal("1050.00"))


def test_a_policy_in_effect_cannot_be_deleted_but_a_future_one_can(cast):
    past = policy(team=cast.engineering, amount_usd=Decimal(200), effective_from=date(2025, 1, 1))
    future = policy(team=cast.engineering, amount_usd=Decimal(300), effective_from=date(2025, 6, 1))
    with pytest.raises(budgets.PolicyInEffect):
        budgets.delete_future_policy(policy=past, today=date(2025, 3, 1))
    budgets.delete_future_policy(policy=future, today=date(2025, 3, 1))
    assert list(BudgetPolicy.objects.filter(scope="team")) == [past]


# --- backdating -----------------------------------------------------------------------------------

TODAY = date(2025, 3, 12)


def test_a_policy_starting_before_today_is_refused_without_confirmation(cast):
    with pytest.raises(budgets.PolicyBackdated, match="2020-01-01, before today"):
        budgets.create_policy(scope="team", team=cast.platform, kind="day", amount_usd=Decimal(1),
                              effective_from=date(2020, 1, 1), by=cast.ada, today=TODAY)
    assert not BudgetPolicy.objects.filter(scope="team").exists()
    assert not AuditEvent.objects.exists()


def test_a_policy_starting_today_or_later_needs_no_confirmation_and_is_recorded_as_created(cast):
    for start in (TODAY, date(2025, 4, 1)):
        budgets.create_policy(scope="team", team=cast.platform, kind="day", amount_usd=Decimal(1),
                              effective_from=start, by=cast.ada, today=TODAY)
    assert BudgetPolicy.objects.filter(scope="team").count() == 2
    # Every budget change is in the audit trail (issue 17); only a backdate is called one.
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["budget_policy.create"] * 2


def test_a_confirmed_backdate_is_applied_and_recorded_in_the_audit_trail(cast):
    created = budgets.create_policy(scope="team", team=cast.platform, kind="salary", salary_percent=Decimal(1),
                                    effective_from=date(2020, 1, 1), by=cast.ada, backdate=True,
                                    address="192.0.2.10", today=TODAY)
    event = AuditEvent.objects.get()
    assert (event.actor, event.action, event.target_type, event.target_id, event.address) == (
        cast.ada, "budget_policy.backdate", "leaderboard.budgetpolicy", str(created.pk), "192.0.2.10")
    assert event.after["effective_from"] == "2020-01-01" and event.after["salary_percent"] == "1"
    assert event.after["team_id"] == cast.platform.pk and event.after["days_before_today"] == 1897


def test_the_policy_form_asks_to_confirm_a_backdate(cast, client):
    from django.urls import reverse

    client.force_login(cast.ada)
    fields = {"scope": "team", "team": cast.platform.pk, "kind": "day", "amount_usd": "150",
              "effective_from": "2024-06-03"}
    page = client.get(reverse("budgets")).content.decode()
    assert "I understand this changes budgets already reported for past periods" in page

    # The preview shows whose budgets it would change before the admin confirms.
    preview = client.get(reverse("budget_preview"), fields, HTTP_HX_REQUEST="true").content.decode()
    assert "Sam Lead" in preview and "Lee Report" in preview
    refused = client.post(reverse("budgets"), fields)
    assert refused.status_code == 200 and set(refused.context["form"].errors) == {"backdate"}
    assert not BudgetPolicy.objects.filter(scope="team").exists()

    assert client.post(reverse("budgets"), {**fields, "backdate": "on"}, REMOTE_ADDR="192.0.2.20").status_code == 302
    event = AuditEvent.objects.get()
    assert (event.actor, event.action, event.address) == (cast.ada, "budget_policy.backdate", "192.0.2.20")
    assert BudgetPolicy.objects.get(scope="team").effective_from == date(2024, 6, 3)
