"""The policy simulator (leaderboard/flags/simulating.py, the Rules page's Preview): who a rule change
would flag today, without saving, and exactly what saving it then flags."""

from __future__ import annotations

import copy
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from leaderboard import flags
from leaderboard.models import Flag, FlagRule
from tests.test_flags import activity, fresh, live, only_rules, usage


@pytest.fixture
def spenders(cast):
    """Over the last 20 days: Erin $10 a day, Lee $30, Sam $3, each covered by a source that reports
    output and none reported; Maria $50 a day with commits."""
    today = timezone.now().date()
    only_rules("burn_without_output", "underuse")
    fresh(last_day=today - timedelta(days=1))
    for person, cost in ((cast.erin, "10"), (cast.lee, "30"), (cast.sam, "3"), (cast.maria, "50")):
        usage(person, today - timedelta(days=20), today - timedelta(days=1), cost=cost, working_days_only=False)
        activity(person, today - timedelta(days=60), sessions=1)
    activity(cast.maria, today - timedelta(days=2), commits=4)
    return cast


def proposal(**fields) -> dict[str, FlagRule]:
    rule = copy.copy(FlagRule.objects.get(kind="burn_without_output"))
    for name, value in fields.items():
        setattr(rule, name, value)
    return {rule.kind: rule}


def test_the_preview_says_who_the_change_flags_per_team_and_saves_nothing(spenders):
    preview = flags.preview(proposed=proposal(amount_usd=Decimal(100)))
    [burn] = preview.rules
    assert burn.kind == "burn_without_output"
    assert burn.current == {spenders.lee.pk} and burn.proposed == {spenders.lee.pk, spenders.erin.pk}
    teams = {row.team: (row.current, row.proposed, row.added) for row in burn.teams}
    assert teams == {"Engineering": ([], ["Erin Employee"], ["Erin Employee"]),
                     "Platform": (["Lee Report"], ["Lee Report"], [])}
    assert FlagRule.objects.get(kind="burn_without_output").amount_usd == Decimal(200)
    assert not Flag.objects.exists()


def test_the_preview_matches_what_saving_the_rule_then_flags(spenders):
    rule = FlagRule.objects.get(kind="burn_without_output")
    preview = flags.preview(proposed=proposal(amount_usd=Decimal(100)))
    flags.update_rules(changes={rule.pk: {"amount_usd": Decimal(100)}}, by=spenders.ada)
    flags.evaluate(as_of=timezone.now().date())
    for previewed in preview.rules:
        assert set(live(kind=previewed.kind).values_list("person_id", flat=True)) == previewed.proposed
    # And the rules the change did not touch are as the preview left them: unchanged.
    assert set(live(kind="underuse").values_list("person_id", flat=True)) == set(
        flags.simulating.flagged(rules=flags.ensure_rules(), as_of=timezone.now().date())["underuse"])


def test_the_preview_counts_flags_already_open_that_would_stay(spenders):
    flags.evaluate(as_of=timezone.now().date())
    preview = flags.preview(proposed=proposal(amount_usd=Decimal(100)))
    assert preview.rules[0].current == {spenders.lee.pk}


def test_turning_a_rule_off_previews_nobody_flagged(spenders):
    [burn] = flags.preview(proposed=proposal(enabled=False)).rules
    assert burn.current == {spenders.lee.pk} and burn.proposed == set()
    assert burn.teams[0].removed == ["Lee Report"]


def test_the_rules_page_previews_without_saving(spenders, login):
    client = login(spenders.ada)
    page = client.get(reverse("flag_rules"))
    form = page.context["forms"]
    data = {}
    for rule_form in form:
        for field in rule_form:
            value = rule_form.initial.get(field.name)
            if field.name == "enabled":
                if value:
                    data[field.html_name] = "on"
            elif value is not None:
                data[field.html_name] = value
    data["burn_without_output-amount_usd"] = "100"
    response = client.post(reverse("flag_rules"), {**data, "preview": "1"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Preview: who would be flagged" in html and "Burn without output: 1 flagged now, 2 with the change" in html
    assert "Erin Employee" in html
    assert FlagRule.objects.get(kind="burn_without_output").amount_usd == Decimal(200)

    saved = client.post(reverse("flag_rules"), data)
    assert saved.status_code == 302
    assert FlagRule.objects.get(kind="burn_without_output").amount_usd == Decimal(100)
