"""Flags that look for the right things (issue 16): underuse spares the efficient, burn without output,
outlier spend told without blame, and employee first (the person sees a new flag before their managers)."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import Person
from leaderboard import flags, notifications, review
from leaderboard.models import Exemption, FlagEvaluation, FlagRule, PersonDay
from tests.test_flags import (
    AS_OF,
    END,
    activity,
    covered_without_output,
    day_spend,
    fresh,
    live,
    only_rules,
    usage,
)


def skipped() -> dict:
    return FlagEvaluation.objects.first().skipped


# --- Underuse considers output ------------------------------------------------------------------


def test_low_spend_with_steady_commits_is_efficient_not_underuse(cast):
    """$0.06 a day with three commits and a pull request every working day: thrift, not disengagement."""
    only_rules("underuse")
    fresh()
    usage(cast.erin, date(2025, 1, 1), END, cost="0.06")
    day = date(2025, 3, 2)
    while day <= END:
        if day.isoweekday() <= 5:
            activity(cast.erin, day, commits=3, pull_requests=1)
        day += timedelta(days=1)
    flags.evaluate(as_of=AS_OF, people=[cast.erin.pk])
    assert not live(cast.erin).exists()
    assert skipped() == {"efficient": 1}


def test_low_spend_with_no_output_from_a_source_that_would_see_it_is_underuse(cast):
    only_rules("underuse")
    fresh()
    usage(cast.erin, date(2025, 1, 1), END, cost="0.06")
    covered_without_output(cast.erin)
    flags.evaluate(as_of=AS_OF, people=[cast.erin.pk])
    flag = live(cast.erin, "underuse").get()
    assert "no output (commits, pull requests, accepted lines or edits, sessions) reported by any source" in flag.explanation
    assert flag.numbers["output_days"] == 0 and flag.numbers["steady_output_days"] == 5


def test_output_on_too_few_days_is_still_underuse(cast):
    only_rules("underuse")
    fresh()
    usage(cast.erin, date(2025, 1, 1), END, cost="0.06")
    activity(cast.erin, date(2025, 3, 10), commits=1)
    flags.evaluate(as_of=AS_OF, people=[cast.erin.pk])
    assert "on only 1 of its days, fewer than 5" in live(cast.erin, "underuse").get().explanation


def test_a_person_active_most_days_whom_no_source_reports_output_for_is_not_flagged_for_thrift(cast):
    """The demo's case: active 28 of 30 days, 3.4% of the budget, no output source: not underuse."""
    only_rules("underuse")
    fresh()
    usage(cast.erin, date(2025, 3, 4), END, cost="3.4", working_days_only=False)
    flags.evaluate(as_of=AS_OF, people=[cast.erin.pk])
    assert not live(cast.erin).exists() and skipped() == {"efficient": 1}


def test_low_spend_with_no_activity_from_any_source_is_underuse(cast):
    only_rules("underuse")
    fresh()
    day_spend(cast.erin, date(2025, 3, 12), "5")
    usage(cast.maria, date(2025, 1, 1), END)  # the data is fresh
    flags.evaluate(as_of=AS_OF, people=[cast.erin.pk])
    flag = live(cast.erin, "underuse").get()
    assert "activity on only 1 of its days, fewer than 5 (no source reports their output)" in flag.explanation


# --- Burn without output ------------------------------------------------------------------------


@pytest.fixture
def burning(cast):
    """Erin spends $50 a working day through March; a source that reports output covers her."""
    only_rules("burn_without_output")
    fresh()
    usage(cast.erin, date(2025, 3, 1), END, cost="50")
    covered_without_output(cast.erin)
    return cast


def test_it_flags_spend_with_no_output_from_any_source(burning):
    flags.evaluate(as_of=AS_OF)
    flag = live(burning.erin, "burn_without_output").get()
    # 14 days Mar 18 - 31: 10 working days at $50.
    assert flag.numbers["spend_total"] == "500.00" and flag.severity == "medium"
    assert flag.explanation.startswith("Spent $500.00 over the 14 days Mar 18 – 31, 2025 (above $200.00) with no output")


def test_one_day_of_output_is_enough_not_to_burn_without_output(burning):
    activity(burning.erin, date(2025, 3, 25), lines_added=40, source="cursor_daily")
    flags.evaluate(as_of=AS_OF)
    assert not live(burning.erin).exists()


def test_nobody_is_judged_on_output_no_source_could_see(cast):
    only_rules("burn_without_output")
    fresh()
    usage(cast.erin, date(2025, 3, 1), END, cost="50")
    flags.evaluate(as_of=AS_OF)
    assert not live(cast.erin).exists() and skipped() == {"no_output_source": 1}


@pytest.mark.parametrize("status", ["leave", "exempt", "new"])
def test_leave_exemptions_and_new_joiners_keep_excluding(burning, status):
    if status == "leave":
        Person.objects.filter(pk=burning.erin.pk).update(status="leave")
    elif status == "exempt":
        Exemption.objects.create(person=burning.erin, reason="Research", starts_on=date(2025, 1, 1),
                                 expires_on=date(2025, 12, 31))
    else:
        Person.objects.filter(pk=burning.erin.pk).update(start_date=date(2025, 3, 20))
    flags.evaluate(as_of=AS_OF)
    assert not live(burning.erin).exists()


# --- Outlier spend ------------------------------------------------------------------------------


@pytest.fixture
def team_of_four(cast):
    """Engineering: Maria, Erin and two more, each $20 a working day."""
    only_rules("outlier")
    fresh()
    more = [Person.objects.create_user(f"eng{n}@example.com", name=f"Eng {n}", team=cast.engineering,
                                       start_date=date(2024, 1, 8)) for n in (1, 2)]
    for person in (cast.maria, cast.erin, *more):
        usage(person, date(2025, 3, 1), END)
    return cast


def test_a_day_far_above_the_teams_median_is_an_outlier_told_without_blame(team_of_four):
    day_spend(team_of_four.erin, date(2025, 3, 27), "400")
    flags.evaluate(as_of=AS_OF)
    flag = live(team_of_four.erin, "outlier").get()
    assert flag.severity == "low" and flag.numbers["team_median_day"] == "20.00"
    assert "Mar 27, 2025's spend of $400.00 is 20.0× the team's median day ($20.00)" in flag.explanation
    assert "usually a misconfigured agent" in flag.explanation
    assert live().count() == 1


def test_a_week_far_above_the_teams_median_is_an_outlier(team_of_four):
    PersonDay.objects.filter(person=team_of_four.erin, day__gte=date(2025, 3, 25)).update(cost_usd=Decimal(90))
    flags.evaluate(as_of=AS_OF)
    # Mar 25 - 31: 5 working days; $450 against the team's median of $100 is 4.5×, under the 5× limit.
    flags.evaluate(as_of=AS_OF)
    assert not live().exists()
    FlagRule.objects.filter(kind="outlier").update(threshold=Decimal(4))
    flags.evaluate(as_of=AS_OF)
    assert "the 7 days' spend of $450.00 is 4.5× the team's median ($100.00)" in live(
        team_of_four.erin, "outlier").get().explanation


def test_spend_in_line_with_the_team_or_below_the_floor_is_no_outlier(team_of_four):
    day_spend(team_of_four.erin, date(2025, 3, 27), "45")  # above 2× the median, below the $50 floor
    FlagRule.objects.filter(kind="outlier").update(threshold=Decimal(2))
    flags.evaluate(as_of=AS_OF)
    assert not live().exists()


def test_a_team_too_small_to_have_a_median_is_not_judged(cast):
    only_rules("outlier")
    fresh()
    usage(cast.erin, date(2025, 3, 1), END)
    day_spend(cast.erin, date(2025, 3, 27), "400")
    flags.evaluate(as_of=AS_OF)
    assert not live().exists() and skipped() == {"few_peers": 1}


def test_the_flags_command_names_the_new_rules(burning):
    FlagRule.objects.filter(kind="outlier").update(enabled=True)
    flags.evaluate(as_of=AS_OF)
    out = io.StringIO()
    call_command("flags", "--format", "json", stdout=out)
    assert {row["rule"] for row in json.loads(out.getvalue())} == {"burn_without_output"}


# --- Employee first -----------------------------------------------------------------------------


@pytest.fixture
def fresh_flag(cast):
    """A burn-without-output flag opened today about Erin (her manager is Maria)."""
    today = timezone.now().date()
    only_rules("burn_without_output")
    fresh(last_day=today - timedelta(days=1))
    usage(cast.erin, today - timedelta(days=20), today - timedelta(days=1), cost="50", working_days_only=False)
    covered_without_output(cast.erin)
    activity(cast.erin, today - timedelta(days=60), sessions=1)
    flags.evaluate(as_of=today)
    return live(cast.erin, "burn_without_output").get()


def test_a_new_flag_is_shown_to_the_person_three_days_before_their_manager(cast, fresh_flag, login):
    today = timezone.now().date()
    assert fresh_flag.shown_to_managers_on == today + timedelta(days=3)
    assert review.role_for(cast.erin, fresh_flag) == "subject"
    assert review.role_for(cast.maria, fresh_flag) is None and review.role_for(cast.ada, fresh_flag) is None
    assert not review.reviewable_flags(cast.maria).exists()
    assert fresh_flag.pk not in notifications.digest_flags().get(cast.maria.pk, [])
    assert login(cast.maria).get(reverse("flag", args=[fresh_flag.pk])).status_code == 404
    page = login(cast.erin).get(reverse("flag", args=[fresh_flag.pk])).content.decode()
    assert "your managers see this flag from" in page


def test_the_manager_then_sees_the_flag_with_the_persons_answer(cast, fresh_flag):
    review.answer(flag=fresh_flag, by=cast.erin, text="Load-testing the new agent; output lands next week.")
    later = timezone.now().date() + timedelta(days=3)
    assert list(review.reviewable_flags(cast.maria, today=later)) == [fresh_flag]
    assert [n.text for n in review.notes_for(fresh_flag, "reviewer")] == [
        "Load-testing the new agent; output lands next week."]


def test_a_rule_with_no_employee_first_days_shows_managers_at_once(cast):
    today = timezone.now().date()
    only_rules("burn_without_output")
    FlagRule.objects.filter(kind="burn_without_output").update(employee_first_days=0)
    fresh(last_day=today - timedelta(days=1))
    usage(cast.erin, today - timedelta(days=20), today - timedelta(days=1), cost="50", working_days_only=False)
    covered_without_output(cast.erin)
    activity(cast.erin, today - timedelta(days=60), sessions=1)
    flags.evaluate(as_of=today)
    flag = live(cast.erin).get()
    assert flag.shown_to_managers_on is None and list(review.reviewable_flags(cast.maria)) == [flag]


def test_a_high_flag_is_mailed_to_the_manager_the_day_it_is_shown_to_them(cast):
    only_rules("underuse")
    FlagRule.objects.filter(kind="underuse").update(employee_first_days=2)
    fresh(last_day=date(2025, 4, 5))
    usage(cast.maria, date(2025, 1, 1), date(2025, 4, 5))
    covered_without_output(cast.erin)
    day_spend(cast.erin, date(2025, 3, 12), "1")
    first = flags.evaluate(as_of=AS_OF, people=[cast.erin.pk])
    assert first.opened and first.opened[0].flag.severity == "high" and first.notifications == []
    shown = flags.evaluate(as_of=AS_OF + timedelta(days=2), people=[cast.erin.pk])
    assert len(shown.notifications) == 1
