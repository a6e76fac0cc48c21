"""Reconciling what the rules found with the flags already there, then writing it.

``plan`` compares the findings with the live flags (and the dismissals still keeping a rule quiet)
and says, without writing anything, which flags to open, update and resolve, with the events that
record each change. ``write`` applies a plan in one transaction with bulk statements, records the
run (FlagEvaluation) and queues the notification rows of new high-severity flags; sending them is
the caller's business.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import transaction

from .. import notifications
from ..models import Flag, FlagEvaluation, FlagEvent, Severity
from .deciding import Finding, Judgement
from .reading import Facts, Key, LiveFlags
from .rules import COVERED_BY, Kind

Status = Flag.Status
Action = FlagEvent.Action
WRITTEN_FIELDS = ["status", "severity", "explanation", "numbers", "updated_on", "updated_at", "closed_on",
                  "snoozed_until", "resolution"]


@dataclass
class Outcome:
    """What happened to one flag in a run, for the command's report."""

    action: str  # opened, updated, resolved
    flag: Flag
    text: str


@dataclass
class Plan:
    new: list[Flag] = field(default_factory=list)  # to open
    changed: list[Flag] = field(default_factory=list)  # live flags updated, woken or resolved
    events: list[FlagEvent] = field(default_factory=list)  # for every change, the opened ones last
    opened: list[Outcome] = field(default_factory=list)
    updated: list[Outcome] = field(default_factory=list)
    resolved: list[Outcome] = field(default_factory=list)
    dismissed: int = 0  # findings a recent dismissal keeps quiet


@dataclass
class Result:
    as_of: date
    opened: list[Outcome] = field(default_factory=list)
    updated: list[Outcome] = field(default_factory=list)
    resolved: list[Outcome] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    stale_vendors: list[dict] = field(default_factory=list)
    people: int = 0
    evaluation: FlagEvaluation | None = None
    notifications: list[int] = field(default_factory=list)  # pending rows for the caller to send


def plan(facts: Facts, judgement: Judgement, live: LiveFlags, *, now: datetime) -> Plan:
    """What to open, update and resolve. Changes the live flags in memory only."""
    findings = judgement.all_findings()
    result = Plan()

    def covered(pk: int, kind: str) -> bool:
        """A flag about a person that an already-raised stronger flag explains is not opened."""
        return any((pk, other) in judgement.findings or (pk, other) in live.current for other in COVERED_BY[kind])

    for key, finding in findings.items():
        flag = live.current.get(key)
        if flag is not None:
            _update(result, flag, finding, as_of=facts.as_of, now=now)
        elif key in live.suppressed:
            result.dismissed += 1
        elif not (key[1] in COVERED_BY and covered(*key)):
            _open(result, facts, key, finding, now=now)
    for key, flag in live.current.items():
        if key in findings:
            continue
        subject, kind = key
        if kind not in facts.rules:
            why = "The rule was turned off."
        elif key in judgement.unjudged:
            # Stale data: can't tell, so the flag stays as it is (though a snooze still ends).
            if _snooze_over(flag, facts.as_of):
                result.events.append(_wake(flag, {"status": flag.status}, now=now))
                flag.updated_on, flag.updated_at = facts.as_of, now
                result.changed.append(flag)
            continue
        elif key in judgement.excluded:
            why = f"No longer judged: {judgement.excluded[key]}."
        elif kind == Kind.UNATTRIBUTED:
            why = "The condition cleared: the identity was mapped, or its usage fell below the amount."
        elif subject not in facts.people:
            continue
        else:
            why = "The condition cleared on re-evaluation."
        _resolve(result, flag, why, as_of=facts.as_of, now=now)
    opened_events = [
        FlagEvent(flag=flag, at=now, action=Action.OPENED, after={"status": Status.OPEN, "severity": flag.severity},
                  message=flag.headline)
        for flag in result.new
    ]
    result.events += opened_events
    return result


def _open(result: Plan, facts: Facts, key: Key, finding: Finding, *, now: datetime) -> None:
    subject, kind = key
    flag = Flag(
        rule=facts.rules[kind], severity=finding.severity, status=Status.OPEN, explanation=finding.explanation,
        numbers=finding.numbers, opened_on=facts.as_of, updated_on=facts.as_of,
    )
    if kind == Kind.UNATTRIBUTED:
        flag.identity_id = subject[1]
    else:
        flag.person_id = subject
        # Employee first: the person sees it at once, and has these days to answer before their managers do.
        days = facts.rules[kind].employee_first_days
        if days:
            flag.shown_to_managers_on = facts.as_of + timedelta(days=days)
    result.new.append(flag)
    result.opened.append(Outcome("opened", flag, flag.headline))


def _update(result: Plan, flag: Flag, finding: Finding, *, as_of: date, now: datetime) -> None:
    before = {"severity": flag.severity, "status": flag.status}
    touched = flag.explanation != finding.explanation or flag.severity != finding.severity
    if _snooze_over(flag, as_of):
        result.events.append(_wake(flag, before, now=now))
        touched = True
    if flag.severity != finding.severity:
        result.events.append(FlagEvent(
            flag=flag, at=now, action=Action.UPDATED, before={"severity": flag.severity},
            after={"severity": finding.severity}, message=finding.headline,
        ))
    if touched:
        flag.severity, flag.explanation, flag.numbers = finding.severity, finding.explanation, finding.numbers
        flag.updated_on, flag.updated_at = as_of, now
        result.changed.append(flag)
        result.updated.append(Outcome("updated", flag, finding.headline))


def _resolve(result: Plan, flag: Flag, why: str, *, as_of: date, now: datetime) -> None:
    before = {"status": flag.status, "severity": flag.severity}
    flag.status, flag.closed_on, flag.updated_on, flag.updated_at = Status.RESOLVED, as_of, as_of, now
    flag.snoozed_until, flag.resolution = None, why
    result.changed.append(flag)
    result.events.append(FlagEvent(flag=flag, at=now, action=Action.AUTO_RESOLVED, before=before,
                                   after={"status": Status.RESOLVED}, message=why))
    result.resolved.append(Outcome("resolved", flag, why))


def _snooze_over(flag: Flag, as_of: date) -> bool:
    return flag.status == Status.SNOOZED and bool(flag.snoozed_until) and flag.snoozed_until < as_of


def _wake(flag: Flag, before: dict, *, now: datetime) -> FlagEvent:
    flag.status, flag.snoozed_until = Status.OPEN, None
    return FlagEvent(flag=flag, at=now, action=Action.WOKE, before=before, after={"status": Status.OPEN},
                     message="The snooze ended.")


def _shown_today(facts: Facts) -> list[Flag]:
    """Live flags whose employee-first days ended by today (a notification key sends each once)."""
    flags = Flag.objects.live().filter(shown_to_managers_on__lte=facts.as_of,
                                       shown_to_managers_on__gt=facts.as_of - timedelta(days=7))
    if facts.person_filter is not None:
        flags = flags.filter(person_id__in=facts.person_filter)
    return list(flags)


def write(plan: Plan, *, facts: Facts, judgement: Judgement, trigger: str, started: float) -> Result:
    """Apply the plan and record the run, all or nothing; ``started`` is the run's ``time.monotonic()``."""
    skipped = Counter(judgement.skipped)
    if plan.dismissed:
        skipped["dismissed"] += plan.dismissed
    result = Result(
        as_of=facts.as_of, opened=plan.opened, updated=plan.updated, resolved=plan.resolved, skipped=dict(skipped),
        stale_vendors=[{"vendor": v, "last_day": d.isoformat()} for v, d in sorted(facts.stale.items())],
        people=len(facts.people),
    )
    with transaction.atomic():
        Flag.objects.bulk_create(plan.new)
        if plan.changed:
            Flag.objects.bulk_update(plan.changed, WRITTEN_FIELDS)
        FlagEvent.objects.bulk_create(plan.events)
        result.evaluation = FlagEvaluation.objects.create(
            as_of=facts.as_of, trigger=trigger, duration=time.monotonic() - started, people=result.people,
            opened=len(result.opened), updated=len(result.updated), resolved=len(result.resolved),
            skipped=result.skipped, stale_vendors=result.stale_vendors,
        )
        # A new flag kept for the person alone is told to their managers the day it is shown to them.
        shown = [f for f in plan.new if f.is_shown_to_managers(facts.as_of)]
        result.notifications = notifications.queue_new_flags(
            [f for f in shown + _shown_today(facts) if f.severity == Severity.HIGH])
    return result
