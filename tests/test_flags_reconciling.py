"""Reconciling (leaderboard/flags/reconciling.py): findings against the flags already there, planned
without a database, then written in one transaction."""

from datetime import UTC, date, datetime, timedelta
from itertools import count

import pytest

from leaderboard.flags import reading, reconciling
from leaderboard.flags.deciding import Finding, Judgement
from leaderboard.flags.reading import LiveFlags, key_of
from leaderboard.models import Flag, FlagEvaluation, FlagEvent, Notification
from tests.test_flags import AS_OF, END, fresh, usage
from tests.test_flags_deciding import ERIN, LEE, make_facts, make_rules

NOW = datetime(2025, 4, 1, 6, tzinfo=UTC)
RULES = make_rules()
_ids = count(100)


def finding(kind="inactive", severity="medium", text="Gone quiet.") -> Finding:
    return Finding(kind, severity, text, {"rule": kind}, f"{text}\nData: anthropic through Mar 31, 2025.")


def flag(kind="inactive", person=ERIN, status="open", severity="medium", text="Gone quiet.", **fields) -> Flag:
    """A flag already there (in memory only)."""
    return Flag(pk=next(_ids), rule=RULES[kind], person_id=person, severity=severity, status=status,
                explanation=finding(kind, severity, text).explanation, numbers={}, opened_on=AS_OF - timedelta(days=5),
                updated_on=AS_OF - timedelta(days=5), **fields)


def live(*flags: Flag, suppressed=()) -> LiveFlags:
    return LiveFlags({key_of(f): f for f in flags}, set(suppressed))


def plan(findings=None, current=(), suppressed=(), **judgement):
    facts = make_facts(rules=RULES, people={ERIN: reading.PersonRow(ERIN), LEE: reading.PersonRow(LEE)})
    return reconciling.plan(facts, Judgement(findings=findings or {}, **judgement), live(*current, suppressed=suppressed),
                            now=NOW)


# --- the plan -----------------------------------------------------------------------------------


def test_it_opens_a_flag_for_a_new_finding():
    result = plan({(ERIN, "inactive"): finding()})
    [new] = result.new
    assert (new.person_id, new.rule.kind, new.status, new.severity, new.opened_on) == (ERIN, "inactive", "open",
                                                                                        "medium", AS_OF)
    assert new.explanation == finding().explanation and new.numbers == {"rule": "inactive"}
    [event] = result.events
    assert (event.flag, event.action, event.after, event.message) == (
        new, "opened", {"status": "open", "severity": "medium"}, "Gone quiet.")
    assert [(o.action, o.flag, o.text) for o in result.opened] == [("opened", new, "Gone quiet.")]
    assert result.changed == result.updated == result.resolved == []


def test_it_opens_a_flag_about_an_identity():
    result = plan(unattributed={7: finding("unattributed")})
    assert (result.new[0].identity_id, result.new[0].person_id) == (7, None)


def test_it_keeps_a_live_flag_that_says_the_same():
    result = plan({(ERIN, "inactive"): finding()}, [flag(status="acknowledged")])
    assert result.new == result.changed == result.events == [] and result.updated == []


def test_it_updates_a_live_flag_whose_numbers_changed():
    current = flag(status="acknowledged", text="Quiet for 10 days.")
    result = plan({(ERIN, "inactive"): finding(text="Quiet for 12 days.")}, [current])
    assert result.changed == [current] and result.events == []
    assert (current.status, current.explanation, current.updated_on) == (
        "acknowledged", finding(text="Quiet for 12 days.").explanation, AS_OF)
    assert [(o.action, o.text) for o in result.updated] == [("updated", "Quiet for 12 days.")]


def test_it_records_a_change_of_severity():
    current = flag("underuse", text="Used little.")
    result = plan({(ERIN, "underuse"): finding("underuse", "high", "Used almost nothing.")}, [current])
    [event] = result.events
    assert (event.action, event.before, event.after, event.message) == (
        "updated", {"severity": "medium"}, {"severity": "high"}, "Used almost nothing.")
    assert current.severity == "high"


def test_it_wakes_a_snoozed_flag_whose_snooze_ended():
    ended = flag(status="snoozed", snoozed_until=AS_OF - timedelta(days=1))
    running = flag(person=LEE, status="snoozed", snoozed_until=AS_OF)
    result = plan({(ERIN, "inactive"): finding(), (LEE, "inactive"): finding()}, [ended, running])
    assert (ended.status, ended.snoozed_until, running.status) == ("open", None, "snoozed")
    [event] = result.events
    assert (event.flag, event.action, event.before, event.after) == (
        ended, "woke", {"severity": "medium", "status": "snoozed"}, {"status": "open"})
    assert result.changed == [ended]


@pytest.mark.parametrize("kind,judgement,why", [
    ("inactive", {}, "The condition cleared on re-evaluation."),
    ("inactive", {"excluded": {(ERIN, "inactive"): "on leave"}}, "No longer judged: on leave."),
    ("drop", {}, "The rule was turned off."),
])
def test_it_resolves_a_flag_whose_finding_is_gone(kind, judgement, why):
    rules = make_rules(drop=None)
    facts = make_facts(rules=rules, people={ERIN: reading.PersonRow(ERIN)})
    current = flag(kind, status="snoozed", snoozed_until=AS_OF + timedelta(days=3))
    result = reconciling.plan(facts, Judgement(**judgement), live(current), now=NOW)
    assert (current.status, current.closed_on, current.snoozed_until, current.resolution) == (
        "resolved", AS_OF, None, why)
    [event] = result.events
    assert (event.action, event.before, event.after, event.message) == (
        "auto_resolved", {"status": "snoozed", "severity": "medium"}, {"status": "resolved"}, why)
    assert [(o.action, o.flag, o.text) for o in result.resolved] == [("resolved", current, why)]


def test_it_resolves_an_identitys_flag_once_nobody_is_behind_the_usage():
    current = Flag(pk=next(_ids), rule=RULES["unattributed"], identity_id=7, severity="medium", status="open",
                   explanation="x", opened_on=AS_OF, updated_on=AS_OF)
    result = plan(current=[current])
    assert result.resolved[0].text.startswith("The condition cleared: the identity was mapped")


def test_it_keeps_a_flag_the_data_can_not_judge_though_its_snooze_ends():
    stale = flag(status="snoozed", snoozed_until=AS_OF - timedelta(days=1))
    result = plan(current=[stale], unjudged={(ERIN, "inactive")})
    assert (stale.status, stale.updated_on) == ("open", AS_OF) and result.resolved == []
    assert [e.action for e in result.events] == ["woke"] and result.events[0].before == {"status": "snoozed"}


def test_it_leaves_the_flags_of_people_not_evaluated_alone():
    someone_else = flag(person=99)
    result = plan(current=[someone_else])
    assert result.changed == result.events == [] and someone_else.status == "open"


def test_it_opens_nothing_a_recent_dismissal_keeps_quiet():
    result = plan({(ERIN, "inactive"): finding()}, suppressed={(ERIN, "inactive")})
    assert result.new == [] and result.dismissed == 1


def test_it_opens_nothing_a_stronger_flag_already_explains():
    findings = {(ERIN, "underuse"): finding("underuse"), (LEE, "drop"): finding("drop")}
    result = plan(findings, [flag(person=LEE, kind="underuse")] + [flag(kind="inactive")])
    # Erin's inactive flag covers her underuse; Lee's underuse flag covers his drop (and resolves: no finding).
    assert result.new == [] and [o.flag.rule.kind for o in result.resolved] == ["underuse", "inactive"]
    assert [f.rule.kind for f in plan({(ERIN, "drop"): finding("drop")}).new] == ["drop"]


def test_it_lists_the_events_of_new_flags_last():
    result = plan({(ERIN, "inactive"): finding(), (LEE, "runaway"): finding("runaway", "high")},
                  [flag(person=LEE, kind="underuse")])
    assert [e.action for e in result.events] == ["auto_resolved", "opened", "opened"]


# --- writing ------------------------------------------------------------------------------------


@pytest.fixture
def facts(cast):
    fresh()
    usage(cast.lee, date(2025, 3, 3), END)
    return reading.read(as_of=AS_OF)


def test_it_writes_a_plan_and_records_the_run(cast, facts):
    Flag.objects.create(rule=facts.rules["inactive"], person=cast.erin, severity="medium", explanation="x",
                        opened_on=AS_OF, updated_on=AS_OF)
    judgement = Judgement(findings={(cast.lee.pk, "runaway"): finding("runaway", "high", "Spent a lot.")},
                          skipped={"grace": 2})
    changes = reconciling.plan(facts, judgement, reading.read_live(as_of=AS_OF), now=NOW)
    changes.dismissed = 1
    result = reconciling.write(changes, facts=facts, judgement=judgement, trigger="command", started=0)
    assert set(Flag.objects.values_list("person__email", "rule__kind", "status")) == {
        ("lee@example.com", "runaway", "open"), ("erin@example.com", "inactive", "resolved")}
    assert list(FlagEvent.objects.order_by("pk").values_list("flag__person__email", "action")) == [
        ("erin@example.com", "auto_resolved"), ("lee@example.com", "opened")]
    evaluation = FlagEvaluation.objects.get()
    assert result.evaluation == evaluation and (evaluation.trigger, evaluation.people) == ("command", 6)
    assert (evaluation.opened, evaluation.updated, evaluation.resolved) == (1, 0, 1)
    assert evaluation.skipped == result.skipped == {"grace": 2, "dismissed": 1}


def test_it_queues_notifications_for_new_high_flags_and_leaves_sending_to_the_caller(cast, facts, sent_tasks):
    judgement = Judgement(findings={(cast.lee.pk, "runaway"): finding("runaway", "high", "Spent a lot."),
                                    (cast.erin.pk, "inactive"): finding()})
    changes = reconciling.plan(facts, judgement, reading.read_live(as_of=AS_OF), now=NOW)
    result = reconciling.write(changes, facts=facts, judgement=judgement, trigger="beat", started=0)
    notification = Notification.objects.get()
    assert result.notifications == [notification.pk]
    assert (notification.flag.person, notification.recipient, notification.status) == (cast.lee, cast.sam, "pending")
    assert sent_tasks == []


def test_it_writes_all_or_nothing(cast, facts, monkeypatch):
    judgement = Judgement(findings={(cast.erin.pk, "inactive"): finding()})
    changes = reconciling.plan(facts, judgement, reading.read_live(as_of=AS_OF), now=NOW)

    def broken(**fields):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(FlagEvaluation.objects, "create", broken)
    with pytest.raises(RuntimeError):
        reconciling.write(changes, facts=facts, judgement=judgement, trigger="beat", started=0)
    assert not Flag.objects.exists() and not FlagEvent.objects.exists()
