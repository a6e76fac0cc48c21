"""Flag evaluation end to end (leaderboard/flags/: read, decide, reconcile), its commands
``evaluate_flags`` and ``flags`` (design.md §3). Each step has its own specs: test_flags_rules,
test_flags_reading, test_flags_deciding, test_flags_reconciling.

Rollups are built directly: PersonDay and DailyUsage rows, and one succeeded UsageExport per vendor
that says how fresh its data is. The evaluation runs "as of" Tuesday April 1, 2025, so windows end on
Monday March 31; March 2025 has 21 working days, so the $100 default makes $2,100 over 30 days.
"""

import csv
import io
import json
from datetime import date, timedelta
from decimal import Decimal
from itertools import count

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import Person, ProviderIdentity, Team
from leaderboard import flags
from leaderboard.flags import reconciling
from leaderboard.models import (
    ActivityRecord,
    BudgetPolicy,
    DailyUsage,
    Exemption,
    Flag,
    FlagEvaluation,
    FlagEvent,
    FlagRule,
    Notification,
    PersonDay,
    UsageExport,
    UsageRecord,
)

AS_OF = date(2025, 4, 1)
END = date(2025, 3, 31)
_sha = count()


def fresh(vendors=("anthropic",), last_day=END) -> UsageExport:
    """A succeeded import whose data reaches ``last_day``: what the freshness check reads."""
    n = next(_sha)
    return UsageExport.objects.create(
        file=f"exports/test-{n}.json", original_name=f"test-{n}.json", size=1, sha256=f"{n:064d}",
        status=UsageExport.Status.SUCCEEDED, vendors=list(vendors), first_day=last_day - timedelta(days=90),
        last_day=last_day,
    )


def usage(person, start, end, *, cost="20", tokens=100_000, vendor="anthropic", working_days_only=True,
          source="anthropic_usage_report"):
    """One PersonDay and one DailyUsage row per day of [start, end] (Monday to Friday by default)."""
    days, rows, daily = start, [], []
    while days <= end:
        if not working_days_only or days.isoweekday() <= 5:
            rows.append(PersonDay(person=person, day=days, total_tokens=tokens, cost_usd=Decimal(cost), active=True))
            daily.append(DailyUsage(person=person, day=days, vendor=vendor, model="claude-sonnet-4", source=source,
                                    input_tokens=tokens, total_tokens=tokens, cost_usd=Decimal(cost)))
        days += timedelta(days=1)
    PersonDay.objects.bulk_create(rows)
    DailyUsage.objects.bulk_create(daily)


def day_spend(person, day, cost, tokens=1_000_000, vendor="anthropic"):
    PersonDay.objects.update_or_create(person=person, day=day, defaults={
        "cost_usd": Decimal(cost), "total_tokens": tokens, "active": True})
    DailyUsage.objects.update_or_create(person=person, day=day, vendor=vendor, model="claude-opus-4", defaults={
        "source": "anthropic_usage_report", "cost_usd": Decimal(cost), "total_tokens": tokens,
        "input_tokens": tokens})


def activity(person, day, *, source="claude_code_analytics", **output) -> ActivityRecord:
    """What a source that reports output said of ``person`` on ``day`` (commits=2, sessions=1, ...)."""
    identity, _ = ProviderIdentity.objects.get_or_create(
        vendor="anthropic", kind="email", value=person.email, defaults={"person": person})
    return ActivityRecord.objects.create(vendor="anthropic", source=source, identity=identity, day=day, active=True,
                                         export=fresh(), **output)


def covered_without_output(*people):
    """A source that reports output covers them (a session in February), and reports none in March:
    low spend is then underuse, not thrift."""
    for person in people:
        activity(person, date(2025, 2, 3), sessions=1)


@pytest.fixture
def steady(cast):
    """Everyone on the cast used $20 a working day since January: no rule has anything to say."""
    fresh()
    for person in (cast.ada, cast.maria, cast.erin, cast.sam, cast.lee, cast.otto):
        usage(person, date(2025, 1, 1), END)
    return cast


def only_rules(*kinds):
    flags.ensure_rules()
    FlagRule.objects.exclude(kind__in=kinds).update(enabled=False)


def live(person=None, kind=None):
    qs = Flag.objects.live()
    if person is not None:
        qs = qs.filter(person=person)
    if kind is not None:
        qs = qs.filter(rule__kind=kind)
    return qs


# --- the rules, one by one -----------------------------------------------------------------------


def test_it_flags_nobody_when_everyone_uses_their_budget(steady):
    result = flags.evaluate(as_of=AS_OF)
    assert result.opened == [] and Flag.objects.count() == 0


# --- underuse -----------------------------------------------------------------------------------


def test_it_flags_underuse_below_ten_percent(steady):
    only_rules("underuse")
    covered_without_output(steady.erin)
    PersonDay.objects.filter(person=steady.erin, day__gte=date(2025, 3, 2)).update(cost_usd=Decimal("9"))
    # 21 working days x $9 = $189 of $2,100 = 9%.
    flags.evaluate(as_of=AS_OF)
    flag = live(steady.erin, "underuse").get()
    assert flag.severity == "medium"
    assert flag.numbers["share"] == pytest.approx(0.09)
    assert flag.numbers["budget"]["amount"] == "2100.00"
    assert flag.explanation.startswith("Used $189.00 of a $2,100 budget over the 30 days Mar 2 – 31, 2025 (9%)")
    assert "organisation default" in flag.explanation
    assert "Anthropic through Mar 31, 2025" in flag.explanation
    assert len(flag.numbers["series"]) == 30
    assert flag.numbers["spend_by_source"][0]["vendor"] == "anthropic"
    assert live().count() == 1


def test_it_does_not_flag_underuse_at_ten_percent(steady):
    only_rules("underuse")
    PersonDay.objects.filter(person=steady.erin, day__gte=date(2025, 3, 2)).update(cost_usd=Decimal("10"))
    flags.evaluate(as_of=AS_OF)
    assert not live(steady.erin).exists()


def test_it_raises_underuse_to_high_below_two_percent(steady):
    only_rules("underuse")
    covered_without_output(steady.erin)
    PersonDay.objects.filter(person=steady.erin, day__gte=date(2025, 3, 2)).update(cost_usd=Decimal("1"))
    flags.evaluate(as_of=AS_OF)
    flag = live(steady.erin, "underuse").get()
    assert flag.severity == "high"
    assert "below the 2% threshold" in flag.explanation


def test_it_judges_underuse_against_the_persons_own_budget(steady):
    only_rules("underuse")
    BudgetPolicy.objects.create(scope="team", team=steady.platform, kind="day", amount_usd=Decimal(500),
                                effective_from=date(2025, 1, 1))
    covered_without_output(steady.erin, steady.sam, steady.lee)
    flags.evaluate(as_of=AS_OF)
    # $20 of $500 a day is 4%: Sam and Lee (Platform) are flagged, Erin (Engineering) is not.
    assert set(live().values_list("person__email", flat=True)) == {"sam@example.com", "lee@example.com"}
    assert "team Platform" in live(steady.lee).get().explanation


# --- inactive -----------------------------------------------------------------------------------


def test_it_flags_ten_working_days_without_usage(steady):
    only_rules("inactive")
    PersonDay.objects.filter(person=steady.erin, day__gte=date(2025, 3, 18)).delete()
    flags.evaluate(as_of=AS_OF)
    flag = live(steady.erin, "inactive").get()
    assert flag.numbers["last_active"] == "2025-03-17"
    assert "last 10 working days" in flag.explanation


def test_it_does_not_flag_nine_working_days_without_usage(steady):
    only_rules("inactive")
    PersonDay.objects.filter(person=steady.erin, day__gte=date(2025, 3, 19)).delete()
    flags.evaluate(as_of=AS_OF)
    assert not live(steady.erin).exists()


def test_it_counts_activity_without_tokens_as_usage(steady):
    only_rules("inactive")
    PersonDay.objects.filter(person=steady.erin, day__gte=date(2025, 3, 10)).delete()
    PersonDay.objects.create(person=steady.erin, day=date(2025, 3, 28), active=True)  # sessions, no tokens
    flags.evaluate(as_of=AS_OF)
    assert not live(steady.erin).exists()


def test_it_opens_only_the_inactive_flag_for_someone_with_no_usage(steady):
    PersonDay.objects.filter(person=steady.erin, day__gte=date(2025, 3, 1)).delete()
    flags.evaluate(as_of=AS_OF)
    assert list(live(steady.erin).values_list("rule__kind", flat=True)) == ["inactive"]


# --- drop ---------------------------------------------------------------------------------------


def test_it_flags_a_drop_of_more_than_seventy_percent(steady):
    only_rules("drop")
    PersonDay.objects.filter(person=steady.erin, day__gte=date(2025, 3, 18)).update(total_tokens=25_000)
    flags.evaluate(as_of=AS_OF)
    flag = live(steady.erin, "drop").get()
    assert flag.severity == "low"
    assert flag.numbers["baseline"] == {"start": "2025-01-21", "end": "2025-03-17", "days": 56}
    assert flag.numbers["drop"] == pytest.approx(0.75)
    assert "down 75%" in flag.explanation


def test_it_does_not_flag_a_drop_of_seventy_percent_or_less(steady):
    only_rules("drop")
    PersonDay.objects.filter(person=steady.erin, day__gte=date(2025, 3, 18)).update(total_tokens=31_000)
    flags.evaluate(as_of=AS_OF)
    assert not live(steady.erin).exists()


def test_it_needs_a_baseline_of_ten_active_days_for_a_drop(cast):
    only_rules("drop")
    fresh()
    usage(cast.erin, date(2025, 3, 3), date(2025, 3, 14))  # 10 working days, then nothing
    usage(cast.lee, date(2025, 3, 4), date(2025, 3, 14))  # 9 working days
    flags.evaluate(as_of=AS_OF)
    assert list(live().values_list("person__email", flat=True)) == ["erin@example.com"]


# --- runaway ------------------------------------------------------------------------------------


def test_it_flags_a_day_above_five_times_the_daily_budget(steady):
    only_rules("runaway")
    day_spend(steady.lee, date(2025, 3, 27), "501")
    day_spend(steady.erin, date(2025, 3, 27), "500")
    flags.evaluate(as_of=AS_OF)
    flag = live(steady.lee, "runaway").get()
    assert flag.severity == "high"
    assert flag.numbers["spike_day"] == "2025-03-27"
    assert "5.0× the daily budget of $100.00" in flag.explanation
    assert not live(steady.erin).exists()


def test_it_scales_the_runaway_limit_with_a_part_time_budget(steady):
    only_rules("runaway")
    Person.objects.filter(pk=steady.erin.pk).update(work_percent=50)
    day_spend(steady.erin, date(2025, 3, 27), "260")
    flags.evaluate(as_of=AS_OF)
    assert "daily budget of $50.00" in live(steady.erin).get().explanation


def test_it_flags_a_day_above_the_absolute_amount(steady):
    only_rules("runaway")
    BudgetPolicy.objects.create(scope="person", person=steady.sam, kind="day", amount_usd=Decimal(400),
                                effective_from=date(2025, 1, 1))
    day_spend(steady.sam, date(2025, 3, 31), "1500")
    flags.evaluate(as_of=AS_OF)
    assert "a day's spend of $1,500 is above the $1,000 day limit" in live(steady.sam).get().explanation


def test_it_flags_a_month_forecast_above_the_cap(steady):
    only_rules("runaway")
    FlagRule.objects.filter(kind="runaway").update(threshold=None, amount_usd=None, cap_usd=Decimal(5000))
    PersonDay.objects.filter(person=steady.otto, day__gte=date(2025, 3, 1)).update(cost_usd=Decimal(300))
    flags.evaluate(as_of=AS_OF)
    flag = live(steady.otto).get()
    assert flag.numbers["forecast"]["projected"] == "6300.00"  # 21 working days x $300
    assert "forecast of $6,300 is above the cap of $5,000" in flag.explanation


def test_it_lets_a_runaway_flag_resolve_once_the_spike_leaves_the_window(steady):
    only_rules("runaway")
    day_spend(steady.lee, date(2025, 3, 27), "900")
    flags.evaluate(as_of=AS_OF)
    flags.evaluate(as_of=AS_OF + timedelta(days=7))
    flag = Flag.objects.get(person=steady.lee)
    assert flag.status == "resolved"


# --- unattributed -------------------------------------------------------------------------------


def test_it_flags_unattributed_usage_above_the_amount(steady):
    only_rules("unattributed")
    export = fresh()
    nobody = ProviderIdentity.objects.create(vendor="openai", kind="api_key", value="key-1", label="old key")
    service = ProviderIdentity.objects.create(vendor="openai", kind="api_key", value="key-2", is_service_account=True)
    small = ProviderIdentity.objects.create(vendor="openai", kind="api_key", value="key-3")
    for identity, cost in ((nobody, "60"), (service, "500"), (small, "40")):
        UsageRecord.objects.create(vendor="openai", source="openai_usage", identity=identity, day=date(2025, 3, 20),
                                   model="gpt-4.1", input_tokens=1000, cost_usd=Decimal(cost), export=export)
    flags.evaluate(as_of=AS_OF)
    flag = Flag.objects.get()
    assert flag.identity == nobody and flag.person is None
    assert "belongs to nobody" in flag.explanation and "$60.00" in flag.explanation
    nobody.person = steady.erin
    nobody.save()
    flags.evaluate(as_of=AS_OF)
    flag.refresh_from_db()
    assert flag.status == "resolved" and "mapped" in flag.resolution


# --- exclusions ---------------------------------------------------------------------------------


@pytest.fixture
def idle(cast):
    """Nobody used anything in March: everyone would be flagged inactive."""
    fresh()
    for person in (cast.ada, cast.maria, cast.erin, cast.sam, cast.lee, cast.otto):
        usage(person, date(2025, 1, 1), date(2025, 2, 28))
    only_rules("inactive")
    return cast


def test_it_gives_new_joiners_a_grace_period(idle):
    Person.objects.filter(pk=idle.erin.pk).update(start_date=AS_OF - timedelta(days=29))
    Person.objects.filter(pk=idle.lee.pk).update(start_date=AS_OF - timedelta(days=30))
    result = flags.evaluate(as_of=AS_OF)
    assert not live(idle.erin).exists()
    assert live(idle.lee).exists()
    assert result.skipped["grace"] == 1


def test_it_does_not_flag_people_on_leave_or_terminated(idle):
    Person.objects.filter(pk=idle.erin.pk).update(status="leave")
    Person.objects.filter(pk=idle.lee.pk).update(status="terminated", is_active=False)
    result = flags.evaluate(as_of=AS_OF)
    assert not live(idle.erin).exists() and not live(idle.lee).exists()
    assert result.skipped["leave"] == 1 and result.skipped["terminated"] == 1


def test_it_resolves_a_live_flag_when_the_person_goes_on_leave(idle):
    flags.evaluate(as_of=AS_OF)
    Person.objects.filter(pk=idle.erin.pk).update(status="leave")
    flags.evaluate(as_of=AS_OF)
    flag = Flag.objects.get(person=idle.erin)
    assert flag.status == "resolved" and "on leave" in flag.resolution
    assert flag.events.filter(action="auto_resolved").exists()


def test_it_respects_exemptions_until_they_expire(idle):
    Exemption.objects.create(person=idle.erin, reason="Sales engineer, no coding", starts_on=date(2025, 3, 1),
                             expires_on=AS_OF)
    Exemption.objects.create(person=idle.lee, rule=FlagRule.objects.get(kind="underuse"), reason="only underuse",
                             starts_on=date(2025, 3, 1), expires_on=date(2025, 12, 31))
    result = flags.evaluate(as_of=AS_OF)
    assert not live(idle.erin).exists()
    assert live(idle.lee, "inactive").exists()  # exempt from underuse only
    assert result.skipped["exempt"] == 1
    flags.evaluate(as_of=AS_OF + timedelta(days=1))
    assert live(idle.erin).exists()


def test_it_does_not_judge_low_usage_on_stale_vendor_data(idle):
    fresh(vendors=["cursor"], last_day=date(2025, 3, 20))
    PersonDay.objects.filter(person=idle.erin).delete()
    DailyUsage.objects.filter(person=idle.erin).delete()
    usage(idle.erin, date(2025, 1, 1), date(2025, 2, 28), vendor="cursor", source="cursor_events")
    result = flags.evaluate(as_of=AS_OF)
    # Erin used Cursor, whose data ends on March 20: her silence may be missing data.
    assert not live(idle.erin).exists()
    assert live(idle.lee).exists()
    assert result.skipped["stale"] == 1
    assert result.stale_vendors == [{"vendor": "cursor", "last_day": "2025-03-20"}]
    assert FlagEvaluation.objects.get().stale_vendors == result.stale_vendors


def test_it_keeps_a_live_flag_as_it_is_while_the_data_is_stale(idle):
    flags.evaluate(as_of=AS_OF)
    UsageExport.objects.update(last_day=date(2025, 3, 1))
    result = flags.evaluate(as_of=AS_OF + timedelta(days=1))
    assert result.resolved == [] and live(idle.erin).exists()


def test_it_judges_nothing_about_low_usage_before_any_data_is_imported(cast):
    result = flags.evaluate(as_of=AS_OF)
    assert Flag.objects.count() == 0
    assert result.skipped["no_data"] == 6


# --- one live flag, updates, auto-resolve -------------------------------------------------------


def test_it_never_duplicates_a_live_flag(idle):
    first = flags.evaluate(as_of=AS_OF)
    second = flags.evaluate(as_of=AS_OF)
    assert len(first.opened) == 6 and second.opened == [] and second.updated == []
    assert Flag.objects.count() == 6


def test_the_database_refuses_a_second_live_flag(idle):
    flags.evaluate(as_of=AS_OF)
    flag = Flag.objects.first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Flag.objects.create(rule=flag.rule, person=flag.person, severity="low", explanation="x",
                            opened_on=AS_OF, updated_on=AS_OF, status="acknowledged")


def test_it_updates_numbers_and_severity_on_re_evaluation(steady):
    only_rules("underuse")
    covered_without_output(steady.erin)
    PersonDay.objects.filter(person=steady.erin, day__gte=date(2025, 3, 2)).update(cost_usd=Decimal("9"))
    flags.evaluate(as_of=AS_OF)
    PersonDay.objects.filter(person=steady.erin, day__gte=date(2025, 3, 2)).update(cost_usd=Decimal("1"))
    result = flags.evaluate(as_of=AS_OF)
    flag = live(steady.erin).get()
    assert [o.flag.pk for o in result.updated] == [flag.pk]
    assert flag.severity == "high" and flag.numbers["share"] == pytest.approx(0.01)
    event = flag.events.get(action="updated")
    assert (event.before, event.after) == ({"severity": "medium"}, {"severity": "high"})
    assert Flag.objects.count() == 1


def test_it_resolves_a_flag_when_the_condition_clears(idle):
    flags.evaluate(as_of=AS_OF)
    flag = Flag.objects.get(person=idle.erin)
    flag.status = "acknowledged"
    flag.save()
    usage(idle.erin, date(2025, 4, 1), date(2025, 4, 1))
    result = flags.evaluate(as_of=date(2025, 4, 2))
    flag.refresh_from_db()
    assert flag.status == "resolved" and flag.closed_on == date(2025, 4, 2)
    assert flag in [o.flag for o in result.resolved]
    event = flag.events.get(action="auto_resolved")
    assert event.actor is None
    assert event.before["status"] == "acknowledged" and event.after == {"status": "resolved"}


def test_it_opens_a_new_flag_when_the_condition_returns_after_resolving(idle):
    flags.evaluate(as_of=AS_OF)
    usage(idle.erin, date(2025, 4, 1), date(2025, 4, 1))
    flags.evaluate(as_of=date(2025, 4, 2))
    fresh(last_day=date(2025, 4, 16))
    flags.evaluate(as_of=date(2025, 4, 17))
    assert Flag.objects.filter(person=idle.erin).count() == 2
    assert live(idle.erin).count() == 1


def test_it_wakes_a_snoozed_flag_when_the_snooze_ends(idle):
    flags.evaluate(as_of=AS_OF)
    Flag.objects.filter(person=idle.erin).update(status="snoozed", snoozed_until=date(2025, 4, 3))
    flags.evaluate(as_of=date(2025, 4, 3))
    assert live(idle.erin).get().status == "snoozed"
    flags.evaluate(as_of=date(2025, 4, 4))
    flag = live(idle.erin).get()
    assert flag.status == "open" and flag.events.filter(action="woke").exists()


def test_a_dismissal_keeps_the_rule_quiet_for_a_window(idle):
    flags.evaluate(as_of=AS_OF)
    Flag.objects.filter(person=idle.erin).update(status="dismissed", suppressed_until=date(2025, 4, 11))
    fresh(last_day=date(2025, 4, 11))
    result = flags.evaluate(as_of=date(2025, 4, 11))
    assert not live(idle.erin).exists() and result.skipped["dismissed"] == 1
    flags.evaluate(as_of=date(2025, 4, 12))
    assert live(idle.erin).exists()


def test_it_resolves_flags_of_a_rule_an_admin_turned_off(idle):
    flags.evaluate(as_of=AS_OF)
    FlagRule.objects.filter(kind="inactive").update(enabled=False)
    flags.evaluate(as_of=AS_OF)
    assert not live().exists()
    assert set(Flag.objects.values_list("resolution", flat=True)) == {"The rule was turned off."}


def test_it_only_applies_a_team_scoped_rule_to_that_team(idle):
    FlagRule.objects.filter(kind="inactive").update(scope_team=idle.engineering)
    flags.evaluate(as_of=AS_OF)
    # Engineering includes its sub-team Platform; Ada (no team) and Otto (Sales) are not covered.
    assert set(live().values_list("person__email", flat=True)) == {
        "maria@example.com", "erin@example.com", "sam@example.com", "lee@example.com"}


def test_it_evaluates_only_the_people_an_import_touched(idle):
    result = flags.evaluate(as_of=AS_OF, people=[idle.erin.pk], trigger="import")
    assert [o.flag.person for o in result.opened] == [idle.erin]
    assert FlagEvaluation.objects.get().trigger == "import"


def test_it_records_each_action_of_the_evaluation(idle):
    flags.evaluate(as_of=AS_OF)
    flag = Flag.objects.get(person=idle.erin)
    event = FlagEvent.objects.get(flag=flag)
    assert event.action == "opened" and event.after == {"status": "open", "severity": "medium"}


def test_it_returns_the_notifications_it_queued_for_the_caller_to_send(steady, sent_tasks):
    only_rules("runaway")
    day_spend(steady.lee, date(2025, 3, 27), "900")
    result = flags.evaluate(as_of=AS_OF)
    assert result.notifications == list(Notification.objects.filter(flag__person=steady.lee).values_list("pk", flat=True))
    assert result.notifications and sent_tasks == []


def test_it_evaluates_again_once_when_another_run_opened_the_same_flag_first(idle, monkeypatch):
    write, calls = reconciling.write, []

    def racing(plan, **kwargs):
        calls.append(plan)
        if len(calls) == 1:
            raise IntegrityError("flag_one_live_per_person_rule")
        return write(plan, **kwargs)

    monkeypatch.setattr(reconciling, "write", racing)
    assert len(flags.evaluate(as_of=AS_OF).opened) == 6 and len(calls) == 2


# --- speed --------------------------------------------------------------------------------------


def _company(size):
    team = Team.objects.create(name=f"Team of {size}")
    boss = Person.objects.create_user(f"boss{size}@example.com", name="Boss", team=team, start_date=date(2024, 1, 1))
    people = [
        Person(email=f"p{size}-{i}@example.com", name=f"P {i}", team=team, manager=boss, start_date=date(2024, 1, 1))
        for i in range(size)
    ]
    Person.objects.bulk_create(people)
    people = list(Person.objects.filter(team=team).exclude(pk=boss.pk))
    for index, person in enumerate(people):
        # Every other person idles in March: plenty of flags to open, update and resolve.
        usage(person, date(2025, 1, 1), END if index % 2 else date(2025, 2, 28))
        if index % 5 == 0:
            day_spend(person, date(2025, 3, 28), "900")
    return [boss.pk] + [p.pk for p in people]


def _queries(run):
    with CaptureQueriesContext(connection) as ctx:
        run()
    return len(ctx.captured_queries)


def test_its_query_count_does_not_grow_with_the_number_of_people(db):
    fresh()
    small, large = _company(5), _company(50)
    counts = {}
    for name, ids in (("small", small), ("large", large)):
        counts[name] = [
            _queries(lambda ids=ids: flags.evaluate(as_of=AS_OF, people=ids)),  # opens
            _queries(lambda ids=ids: flags.evaluate(as_of=AS_OF, people=ids)),  # updates nothing
            _queries(lambda ids=ids: flags.evaluate(as_of=date(2025, 4, 20), people=ids)),  # resolves, updates
        ]
    assert counts["small"] == counts["large"], counts
    assert max(counts["large"]) < 34
    assert Flag.objects.filter(person_id__in=large).count() > 25


# --- commands -----------------------------------------------------------------------------------


def test_evaluate_flags_prints_what_it_opened_updated_and_resolved(idle):
    out = io.StringIO()
    call_command("evaluate_flags", "--as-of", "2025-04-01", stdout=out)
    text = out.getvalue()
    assert "Opened 6" in text and "erin@example.com" in text and "inactive" in text
    usage(idle.erin, date(2025, 4, 1), date(2025, 4, 1))
    out = io.StringIO()
    call_command("evaluate_flags", "--as-of", "2025-04-02", stdout=out)
    assert "Resolved 1" in out.getvalue() and "Opened 0" in out.getvalue()


def test_evaluate_flags_has_the_notifications_of_new_high_flags_sent(steady, sent_tasks):
    only_rules("runaway")
    day_spend(steady.lee, date(2025, 3, 27), "900")
    call_command("evaluate_flags", "--as-of", "2025-04-01", stdout=io.StringIO())
    pk = Notification.objects.get().pk
    assert sent_tasks == [("leaderboard.tasks.send_notification", (pk,), {})]


def test_evaluate_flags_says_what_it_could_not_judge(cast):
    out = io.StringIO()
    call_command("evaluate_flags", "--as-of", "2025-04-01", stdout=out)
    assert "no usage data imported yet: 6" in out.getvalue()


def test_flags_lists_json_with_the_contract_fields(idle):
    flags.evaluate(as_of=AS_OF)
    out = io.StringIO()
    call_command("flags", "--format", "json", stdout=out)
    rows = json.loads(out.getvalue())
    assert len(rows) == 6
    assert set(rows[0]) == {"id", "person_email", "rule", "severity", "status", "opened_on", "updated_on",
                            "explanation"}
    erin = next(r for r in rows if r["person_email"] == "erin@example.com")
    assert erin["rule"] == "inactive" and erin["status"] == "open" and erin["opened_on"] == "2025-04-01"
    assert "working days" in erin["explanation"]


def test_flags_filters_by_status(idle):
    flags.evaluate(as_of=AS_OF)
    Flag.objects.filter(person=idle.erin).update(status="dismissed")
    out = io.StringIO()
    call_command("flags", "--status", "dismissed", "--format", "json", stdout=out)
    assert [r["person_email"] for r in json.loads(out.getvalue())] == ["erin@example.com"]


def test_flags_prints_a_table(idle):
    flags.evaluate(as_of=AS_OF)
    out = io.StringIO()
    call_command("flags", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].split()[:4] == ["ID", "PERSON", "RULE", "SEVERITY"]
    assert len(lines) == 7


def test_flags_csv_is_safe_from_formula_injection(idle):
    flags.evaluate(as_of=AS_OF)
    Flag.objects.filter(person=idle.erin).update(explanation="=HYPERLINK(\"http://evil\")")
    Person.objects.filter(pk=idle.lee.pk).update(email="+lee@example.com")
    out = io.StringIO()
    call_command("flags", "--format", "csv", stdout=out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    erin = next(r for r in rows if r["person_email"] == "erin@example.com")
    assert erin["explanation"] == "'=HYPERLINK(\"http://evil\")"
    assert any(r["person_email"] == "'+lee@example.com" for r in rows)
