"""The review workflow: who may see and act on which flag, and the actions themselves.

Reviewers of a flag about a person are admins, everyone above the person in the reporting line
(transitively), and a manager the flag was handed to. The person sees their own flags, can answer
them, and reads the replies addressed to them, never the reviewers' internal notes. Flags about
unattributed usage are for admins only.

Every action is a plain function that locks the flag, checks the transition, changes it, and records
a FlagEvent with the fields before and after, all in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import Person
from accounts.org import is_above, reports_of

from . import cache
from .boards.catalog import reporting_line
from .cache import PEOPLE, Versions
from .models import Flag, FlagEvaluation, FlagEvent, FlagNote

Status = Flag.Status
Action = FlagEvent.Action


class ActionRefused(Exception):
    """The action does not apply to the flag as it is now (say, acknowledging a resolved flag)."""


# --- Access -------------------------------------------------------------------------------------


def reports_below(viewer: Person, versions: Versions | None = None) -> frozenset[int]:
    """Everyone below ``viewer`` in the reporting line. Cached under the people's version alone, which
    no flag action moves: a manager's queue would otherwise read the whole roster's managers for it."""
    return cache.cached(versions, "review-reports-below", (viewer.pk,),
                        lambda: frozenset(reports_of(viewer.pk, reporting_line(versions))), on=(PEOPLE,), per_person=True)


def reviewable_flags(viewer: Person, *, today: date | None = None, versions: Versions | None = None) -> QuerySet[Flag]:
    """Flags ``viewer`` may see in the queue and act on: none still in its employee-first days."""
    flags = Flag.objects.select_related("rule", "person", "person__team", "identity", "assignee")
    flags = flags.shown_to_managers(today or timezone.now().date())
    if viewer.is_staff:
        return flags
    reports = reports_below(viewer, versions)
    return flags.filter(person__isnull=False).filter(Q(person_id__in=reports) | Q(assignee=viewer)).exclude(person=viewer)


def may_review(viewer: Person) -> bool:
    """Whether the queue is for this person at all: admins, managers, and anyone handed a flag."""
    return viewer.is_staff or viewer.direct_reports.exists() or Flag.objects.filter(assignee=viewer).exists()


def role_for(viewer: Person, flag: Flag, versions: Versions | None = None) -> str | None:
    """"reviewer", "subject" (the flag is about the viewer), or None: the viewer may not see it (a
    reviewer sees nothing of a flag still in its employee-first days)."""
    hidden = not flag.is_shown_to_managers(timezone.now().date())
    if viewer.is_staff and not hidden:
        return "reviewer"
    if flag.person_id == viewer.pk:
        return "subject"
    if hidden:
        return None
    if flag.person_id and (flag.assignee_id == viewer.pk or is_above(viewer.pk, flag.person_id, reporting_line(versions))):
        return "reviewer"
    return None


def notes_for(flag: Flag, role: str) -> list[FlagNote]:
    notes = flag.notes.select_related("author")
    if role != "reviewer":
        notes = notes.exclude(kind=FlagNote.Kind.INTERNAL)
    return list(notes)


def events_for(flag: Flag, role: str) -> list[FlagEvent]:
    events = flag.events.select_related("actor")
    if role != "reviewer":
        events = events.filter(internal=False)
    return list(events)


def reassign_choices(flag: Flag | None = None) -> QuerySet[Person]:
    """Managers (anyone with reports) and admins, active, other than the flagged person."""
    # "Has a report" as a semi-join on the managers' ids: a join on the reports with DISTINCT over
    # whole rows cost 56 ms of every queue page with 10,000 people.
    managers = Person.objects.filter(manager__isnull=False).values("manager_id")
    people = Person.objects.active().filter(Q(pk__in=managers) | Q(is_staff=True))
    if flag is not None and flag.person_id:
        people = people.exclude(pk=flag.person_id)
    if flag is not None and flag.identity_id:
        people = people.filter(is_staff=True)
    return people.order_by("name", "email")


def status_counts(flags: QuerySet[Flag]) -> dict[str, int]:
    counts = {status: 0 for status in Status.values}
    for row in flags.order_by().values("status").annotate(n=Count("pk")):
        counts[row["status"]] = row["n"]
    return counts


@dataclass
class EvaluationSummary:
    """The last evaluation as one viewer may read it: counts of the flags they can see only."""

    as_of: date
    people: int
    opened: int
    updated: int
    resolved: int
    skipped: dict
    stale_vendors: list
    everyone: bool  # an admin's summary covers the whole company


def evaluation_summary(viewer: Person, evaluation: FlagEvaluation | None,
                       versions: Versions | None = None) -> EvaluationSummary | None:
    """What the last run did among the flags ``viewer`` reviews. An evaluation writes all its events
    with one timestamp before it records itself, so its events are the evaluation's own ones in the
    seconds its run took."""
    if evaluation is None:
        return None
    if viewer.is_staff:
        return EvaluationSummary(evaluation.as_of, evaluation.people, evaluation.opened, evaluation.updated,
                                 evaluation.resolved, evaluation.skipped, evaluation.stale_vendors, True)
    window = (evaluation.started_at - timedelta(seconds=evaluation.duration + 5), evaluation.started_at)
    visible = reviewable_flags(viewer, versions=versions).order_by()
    run = FlagEvent.objects.filter(actor__isnull=True, at__range=window, flag__in=visible.values("pk"),
                                   action__in=(Action.OPENED, Action.AUTO_RESOLVED))
    opened, resolved = set(), set()
    for action, flag_id in run.values_list("action", "flag_id"):
        (opened if action == Action.OPENED else resolved).add(flag_id)
    updated = visible.filter(updated_at__range=window).exclude(pk__in=opened | resolved).count()
    people = len(reports_below(viewer, versions))
    return EvaluationSummary(evaluation.as_of, people, len(opened), updated, len(resolved), {},
                             evaluation.stale_vendors, False)


# --- Actions ------------------------------------------------------------------------------------


def _snapshot(flag: Flag) -> dict:
    return {
        "status": flag.status,
        "severity": flag.severity,
        "assignee": flag.assignee_id,
        "snoozed_until": flag.snoozed_until.isoformat() if flag.snoozed_until else None,
        "dismiss_reason": flag.dismiss_reason,
    }


def _changes(before: dict, after: dict) -> tuple[dict, dict]:
    keys = [k for k in after if before.get(k) != after[k]]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def _locked(flag: Flag) -> Flag:
    return Flag.objects.select_for_update(of=("self",)).select_related("rule", "person").get(pk=flag.pk)


def _save(flag: Flag, *, by: Person | None, action: str, before: dict, message: str = "", internal: bool = False,
          extra: dict | None = None) -> FlagEvent:
    flag.updated_on = timezone.now().date()
    flag.save()
    old, new = _changes(before, _snapshot(flag))
    if extra:
        new.update(extra)
    return FlagEvent.objects.create(flag=flag, actor=by, action=action, before=old, after=new, message=message,
                                    internal=internal)


def _require(flag: Flag, allowed: Iterable[str], verb: str) -> None:
    if flag.status not in allowed:
        raise ActionRefused(f"Can't {verb} a flag that is {flag.get_status_display().lower()}.")


def acknowledge(*, flag: Flag, by: Person) -> Flag:
    with transaction.atomic():
        flag = _locked(flag)
        _require(flag, (Status.OPEN, Status.SNOOZED), "acknowledge")
        before = _snapshot(flag)
        flag.status, flag.snoozed_until = Status.ACKNOWLEDGED, None
        _save(flag, by=by, action=Action.ACKNOWLEDGED, before=before)
        return flag


def snooze(*, flag: Flag, by: Person, until: date, today: date | None = None) -> Flag:
    today = today or timezone.now().date()
    if until <= today:
        raise ActionRefused("Snooze until a day after today.")
    with transaction.atomic():
        flag = _locked(flag)
        _require(flag, Flag.LIVE, "snooze")
        before = _snapshot(flag)
        flag.status, flag.snoozed_until = Status.SNOOZED, until
        _save(flag, by=by, action=Action.SNOOZED, before=before, message=f"Snoozed until {until:%Y-%m-%d}.")
        return flag


def dismiss(*, flag: Flag, by: Person, reason: str, text: str = "", today: date | None = None) -> Flag:
    """Close the flag as not needing action. The rule then stays quiet about the person for one whole
    window, so the next flag (if any) is judged on entirely new data."""
    today = today or timezone.now().date()
    if reason not in Flag.DismissReason.values:
        raise ActionRefused("Choose a reason.")
    text = text.strip()
    if reason == Flag.DismissReason.OTHER and not text:
        raise ActionRefused("Say why, in a few words, when the reason is “other”.")
    with transaction.atomic():
        flag = _locked(flag)
        _require(flag, Flag.LIVE, "dismiss")
        before = _snapshot(flag)
        flag.status, flag.snoozed_until, flag.closed_on = Status.DISMISSED, None, today
        flag.dismiss_reason, flag.dismiss_text = reason, text
        flag.suppressed_until = today + timedelta(days=flag.rule.window_days)
        label = Flag.DismissReason(reason).label
        _save(flag, by=by, action=Action.DISMISSED, before=before, message=f"{label}{': ' + text if text else ''}",
              extra={"dismiss_text": text} if text else None)
        return flag


def resolve(*, flag: Flag, by: Person, text: str = "", today: date | None = None) -> Flag:
    today = today or timezone.now().date()
    with transaction.atomic():
        flag = _locked(flag)
        _require(flag, Flag.LIVE, "resolve")
        before = _snapshot(flag)
        flag.status, flag.snoozed_until, flag.closed_on = Status.RESOLVED, None, today
        flag.resolution = text.strip() or f"Resolved by {by}."
        _save(flag, by=by, action=Action.RESOLVED, before=before, message=text.strip())
        return flag


def reassign(*, flag: Flag, by: Person, to: Person) -> Flag:
    if not reassign_choices(flag).filter(pk=to.pk).exists():
        raise ActionRefused(f"{to} is not a manager or admin who can take this flag.")
    with transaction.atomic():
        flag = _locked(flag)
        _require(flag, Flag.LIVE, "reassign")
        if flag.assignee_id == to.pk:
            raise ActionRefused(f"The flag is already with {to}.")
        before = _snapshot(flag)
        flag.assignee = to
        _save(flag, by=by, action=Action.REASSIGNED, before=before, message=f"Handed to {to}.")
        return flag


def add_note(*, flag: Flag, by: Person, text: str, to_employee: bool = False) -> FlagNote:
    """A reviewer's note: internal (reviewers only) or a reply the flagged person reads too."""
    text = text.strip()
    if not text:
        raise ActionRefused("Write something first.")
    if to_employee and not flag.person_id:
        raise ActionRefused("Nobody to reply to: this flag is about an unmatched identity.")
    with transaction.atomic():
        flag = _locked(flag)
        kind = FlagNote.Kind.REPLY if to_employee else FlagNote.Kind.INTERNAL
        note = FlagNote.objects.create(flag=flag, author=by, kind=kind, text=text)
        before = _snapshot(flag)
        _save(flag, by=by, action=Action.NOTED, before=before, internal=not to_employee,
              extra={"note": note.pk, "kind": kind})
        return note


def reopen(*, flag: Flag, by: Person, today: date | None = None) -> Flag:
    """Undo a dismissal or a resolution: the flag is open again, its history kept, and the rule judges
    the person again from the next evaluation (a dismissal's quiet window ends)."""
    today = today or timezone.now().date()
    with transaction.atomic():
        flag = _locked(flag)
        _require(flag, (Status.DISMISSED, Status.RESOLVED), "reopen")
        newer = Flag.objects.live().filter(rule_id=flag.rule_id).exclude(pk=flag.pk)
        newer = newer.filter(person_id=flag.person_id) if flag.person_id else newer.filter(identity_id=flag.identity_id)
        if newer.exists():
            raise ActionRefused(f"A newer flag of this rule is open about {flag.subject_label}: see #{newer[0].pk}.")
        before = _snapshot(flag)
        flag.status, flag.closed_on, flag.suppressed_until = Status.OPEN, None, None
        flag.dismiss_reason, flag.dismiss_text, flag.resolution = "", "", ""
        _save(flag, by=by, action=Action.REOPENED, before=before, message="Reopened.")
        return flag


def answer(*, flag: Flag, by: Person, text: str) -> FlagNote:
    """The flagged person's own words, shown to the reviewers with the flag."""
    text = text.strip()
    if not text:
        raise ActionRefused("Write your answer first.")
    if flag.person_id != by.pk:
        raise ActionRefused("Only the person a flag is about can answer it.")
    with transaction.atomic():
        flag = _locked(flag)
        note = FlagNote.objects.create(flag=flag, author=by, kind=FlagNote.Kind.ANSWER, text=text)
        before = _snapshot(flag)
        _save(flag, by=by, action=Action.ANSWERED, before=before, extra={"note": note.pk, "kind": note.kind})
        return note


ACTIONS = {
    "acknowledge": acknowledge,
    "snooze": snooze,
    "dismiss": dismiss,
    "resolve": resolve,
    "reassign": reassign,
    "note": add_note,
    "answer": answer,
    "reopen": reopen,
}
BULK_ACTIONS = ("acknowledge", "snooze", "dismiss", "resolve", "reassign")


@dataclass
class BulkResult:
    done: list[Flag]
    refused: list[tuple[Flag, str]]

    def summary(self, verb: str) -> str:
        text = f"{verb.capitalize()}: {len(self.done)} flag{'s' if len(self.done) != 1 else ''}."
        if self.refused:
            text += f" Skipped {len(self.refused)}: " + "; ".join(f"#{f.pk} {why}" for f, why in self.refused[:5])
        return text


def apply_bulk(*, flags: Iterable[Flag], by: Person, action: str, **params) -> BulkResult:
    """One action on several flags in one transaction; flags it does not apply to are skipped, not failed."""
    if action not in BULK_ACTIONS:
        raise ActionRefused(f"“{action}” can't be done in bulk.")
    result = BulkResult([], [])
    with transaction.atomic():
        for flag in flags:
            try:
                with transaction.atomic():
                    result.done.append(ACTIONS[action](flag=flag, by=by, **params))
            except ActionRefused as refused:
                result.refused.append((flag, str(refused)))
    return result
