"""Budget runway (leaderboard/runway.py): this month's pooled budget, spend so far and the day it runs
out, for the organisation and each team; on the team page and in the managers' digest."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import Person
from leaderboard import notifications, runway
from leaderboard.models import Flag, FlagRule, PersonDay

# Wednesday April 16, 2025: the data runs through Tuesday the 15th.
TODAY = date(2025, 4, 16)


def spend(person, cost, start=date(2025, 4, 1), end=date(2025, 4, 15)):
    """``cost`` on every working day from ``start`` to ``end``."""
    day = start
    while day <= end:
        if day.isoweekday() <= 5:
            PersonDay.objects.create(person=person, day=day, cost_usd=Decimal(cost), total_tokens=1, active=True)
        day += timedelta(days=1)


def test_the_runway_date_matches_a_hand_computation(cast):
    # Platform is Sam and Lee. April 2025 has 22 working days; at the $100 a working day organisation
    # default each has $2,200, so the team $4,400. Through the 15th (11 working days: 1-4, 7-11,
    # 14-15) each spent $150 a working day: $3,300, a pace of $300 a working day. Going on: Wed 16th
    # $3,600, Thu 17th $3,900, Fri 18th $4,200, (the weekend adds nothing), Mon 21st $4,500 > $4,400.
    spend(cast.sam, "150")
    spend(cast.lee, "150")
    found = runway.for_team(cast.platform.pk, today=TODAY)
    assert (found.budget, found.spent, found.through) == (Decimal(4400), Decimal(3300), date(2025, 4, 15))
    assert found.pace == Decimal(300)
    assert found.runs_out_on == date(2025, 4, 21)
    assert found.text == "Platform: $3,300 of $4,400 spent this month; at this pace it runs out on Apr 21, 2025."


def test_at_a_slow_pace_it_says_the_share_left_unused(cast):
    # $50 a working day each: $1,100 so far, $100 a working day, $2,200 by the 30th: half unused.
    spend(cast.sam, "50")
    spend(cast.lee, "50")
    found = runway.for_team(cast.platform.pk, today=TODAY)
    assert found.runs_out_on is None and found.projected == Decimal(2200) and found.unused_share == 0.5
    assert found.text.endswith("at this pace 50% of it is left unused at the month's end.")


def test_a_budget_already_spent_says_the_day_it_ran_out(cast):
    spend(cast.lee, "1000", end=date(2025, 4, 7))  # $1,000 a day: over $4,400 on the 7th (5th working day)
    found = runway.for_team(cast.platform.pk, today=TODAY)
    assert found.runs_out_on == date(2025, 4, 7) and "the budget ran out on Apr 7, 2025" in found.text


def test_a_team_includes_its_sub_teams_and_the_organisation_everyone(cast):
    spend(cast.lee, "100")
    engineering = runway.for_team(cast.engineering.pk, today=TODAY)  # Maria, Erin, and Platform's Sam and Lee
    assert engineering.budget == Decimal(4 * 2200) and engineering.spent == Decimal(1100)
    organisation = runway.for_organisation(today=TODAY)
    assert organisation.budget == Decimal(6 * 2200) and organisation.label == "The organisation"


def test_on_the_first_of_the_month_it_is_too_early_to_project(cast):
    found = runway.for_team(cast.platform.pk, today=date(2025, 4, 1))
    assert found.through is None and found.text.endswith("too early in the month to project.")


def test_the_team_page_shows_the_runway_to_those_who_see_its_budgets(cast, login):
    today = timezone.now().date()
    spend(cast.lee, "100", start=today.replace(day=1), end=today - timedelta(days=1))
    url = reverse("team", args=[cast.platform.pk])
    admin_page = login(cast.ada).get(url).content.decode()
    assert "Budget runway this month" in admin_page and "Platform: " in admin_page
    assert "The organisation: " in admin_page
    manager_page = login(cast.maria).get(url).content.decode()
    assert "Budget runway this month" in manager_page and "The organisation: " not in manager_page
    assert "Budget runway this month" not in login(cast.otto).get(url).content.decode()


def test_the_managers_digest_has_a_runway_line(cast):
    FlagRule.objects.get_or_create(kind="inactive")
    Person.objects.filter(pk=cast.maria.pk).update(digest="daily")
    today = timezone.now().date()
    Flag.objects.create(rule=FlagRule.objects.get(kind="inactive"), person=cast.erin, severity="medium",
                        explanation="No usage.", opened_on=today, updated_on=today)
    ids = notifications.queue_digests(today=today)
    for pk in ids:
        notifications.send(pk)
    [message] = [m for m in mail.outbox if "maria@example.com" in m.to]
    assert "Budget runway: Engineering: $0.00 of" in message.body
