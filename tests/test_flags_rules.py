"""The flag rules (leaderboard/flags/rules.py): defaults, the days each rule looks at, and the admins'
writes on rules and exemptions."""

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from leaderboard.budgets import Calendar
from leaderboard.flags import rules
from leaderboard.models import BudgetPolicy, Exemption, FlagRule

AS_OF = date(2025, 4, 1)  # a Tuesday: windows end on Monday March 31
END = date(2025, 3, 31)


def windows(**changes) -> rules.Windows:
    defaults = {kind: FlagRule(kind=kind, **params) for kind, params in rules.DEFAULT_RULES.items()}
    for kind, fields in changes.items():
        for name, value in fields.items():
            setattr(defaults[kind], name, value)
    return rules.Windows(AS_OF, END, defaults, Calendar.from_weekdays(None))


# --- defaults -----------------------------------------------------------------------------------


def test_it_has_the_default_rules_and_budget_on_a_fresh_install(db):
    found = {rule.kind: rule for rule in FlagRule.objects.all()}
    assert set(found) == {"underuse", "inactive", "drop", "runaway", "unattributed"}
    assert found["underuse"].window_days == 30 and found["underuse"].threshold == 10
    assert found["underuse"].severe_threshold == 2
    assert found["inactive"].window_days == 10
    assert found["drop"].window_days == 14 and found["drop"].baseline_days == 56 and found["drop"].threshold == 70
    assert found["runaway"].threshold == 5
    org = BudgetPolicy.objects.get(scope="org")
    assert org.kind == "day" and org.amount_usd == 100


def test_it_recreates_missing_rules(db):
    FlagRule.objects.filter(kind="drop").delete()
    assert "drop" in rules.ensure_rules()


def test_it_describes_every_parameter_of_every_kind():
    assert set(rules.PARAMETERS) == set(FlagRule.Kind.values)
    for kind, parameters in rules.PARAMETERS.items():
        assert all(hasattr(FlagRule, name) for name, _, _ in parameters), kind


# --- windows ------------------------------------------------------------------------------------


def test_it_ends_every_window_the_day_before_the_run():
    assert windows().start("underuse") == date(2025, 3, 2)  # 30 days through March 31
    assert windows().start("runaway") == date(2025, 3, 25)  # 7 days


def test_it_counts_the_inactive_window_in_working_days():
    # Ten working days back from Monday March 31: Tuesday March 18.
    assert windows().start("inactive") == date(2025, 3, 18)
    assert windows(inactive={"window_days": 1}).start("inactive") == END


def test_it_puts_the_drop_baseline_before_the_recent_days():
    w = windows()
    assert w.start("drop") == date(2025, 3, 18)
    assert w.baseline_start() == date(2025, 1, 21)  # 56 days before


def test_it_reads_back_as_far_as_the_earliest_rule_or_chart_needs():
    assert windows().earliest() == date(2025, 1, 21)  # the drop baseline
    without_drop = windows()
    del without_drop.rules["drop"]
    assert without_drop.earliest() == date(2025, 3, 1)  # the month, for the forecast


# --- admin writes -------------------------------------------------------------------------------


def test_it_saves_only_the_editable_fields_of_a_rule(cast):
    rule = rules.ensure_rules()["underuse"]
    changed = rules.update_rules(changes={rule.pk: {"threshold": Decimal(15), "kind": "drop"}}, by=cast.ada)
    rule.refresh_from_db()
    assert changed == 1 and (rule.kind, rule.threshold, rule.updated_by) == ("underuse", 15, cast.ada)


def test_it_creates_an_exemption_from_today(cast):
    exemption = rules.create_exemption(person=cast.erin, reason="Sabbatical", expires_on=date(2099, 1, 1), by=cast.ada)
    assert exemption.rule is None and exemption.created_by == cast.ada and exemption.starts_on == timezone.now().date()


def test_it_ends_an_exemption_yesterday_or_drops_one_not_started(cast):
    today = date(2025, 4, 10)
    running = Exemption.objects.create(person=cast.erin, reason="x", starts_on=date(2025, 4, 1), expires_on=date(2025, 5, 1))
    planned = Exemption.objects.create(person=cast.lee, reason="y", starts_on=today, expires_on=date(2025, 5, 1))
    rules.end_exemption(exemption=running, today=today)
    rules.end_exemption(exemption=planned, today=today)
    running.refresh_from_db()
    assert running.expires_on == today - timedelta(days=1)
    assert not Exemption.objects.filter(pk=planned.pk).exists()
