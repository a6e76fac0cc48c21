"""A person's own data: everything the app holds about them, as JSON to download, and the erasure of
someone who has left.

Erasure anonymises, it does not delete (``Person.delete()`` refuses, design.md §3): the person's
usage stays in team and company totals under "Former employee"; their name, email, identities'
values, HR fields, login history, flags, notes and exemptions about them go. The audit trail records
that an erasure happened, by whom and from where, and nothing of what was erased (its earlier events
are append-only and keep the labels they had: README, "Security").
"""

from __future__ import annotations

from datetime import datetime

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts import audit
from accounts.models import AuditEvent, Person, ProviderIdentity

from .models import (
    BudgetPolicy,
    DailyUsage,
    Exemption,
    Flag,
    FlagEvent,
    FlagNote,
    Notification,
    PersonDay,
    UsageExport,
)

FORMER = "Former employee"
# Reviewers' internal notes are never shown to the person in the app, and not in their download either;
# replies, the person's own answers and the flags' public history are.
PERSON_FIELDS = ("email", "name", "title", "start_date", "status", "work_percent", "annual_base_salary",
                 "github_login", "privacy", "digest", "is_staff", "is_superuser", "is_active", "date_joined",
                 "last_login")


class NotLeft(Exception):
    """Only someone who has left (terminated and deactivated) is erased."""


def _values(rows, *fields) -> list[dict]:
    return [dict(row) for row in rows.values(*fields)]


def export(person: Person) -> dict:
    """Everything about ``person``, as JSON-able plain data (dates and decimals for DjangoJSONEncoder)."""
    flags = Flag.objects.filter(person=person).select_related("rule").order_by("opened_on", "pk")
    notes = FlagNote.objects.filter(flag__person=person).exclude(kind=FlagNote.Kind.INTERNAL).order_by("created_at")
    events = FlagEvent.objects.filter(flag__person=person, internal=False).order_by("at", "pk")
    by_flag: dict[int, dict] = {}
    for flag in flags:
        by_flag[flag.pk] = {
            "id": flag.pk, "rule": flag.rule.kind, "severity": flag.severity, "status": flag.status,
            "opened_on": flag.opened_on, "updated_on": flag.updated_on, "closed_on": flag.closed_on,
            "explanation": flag.explanation, "numbers": flag.numbers, "dismiss_reason": flag.dismiss_reason,
            "resolution": flag.resolution, "notes": [], "history": [],
        }
    for note in notes.select_related("author"):
        by_flag[note.flag_id]["notes"].append({"kind": note.kind, "at": note.created_at, "text": note.text,
                                               "author": str(note.author) if note.author_id else None})
    for event in events:
        by_flag[event.flag_id]["history"].append({"action": event.action, "at": event.at, "message": event.message})
    logins = Q(username=person.email)
    return {
        "generated_at": timezone.now(),
        "person": {
            **{name: getattr(person, name) for name in PERSON_FIELDS},
            "team": person.team.name if person.team_id else None,
            "manager": person.manager.email if person.manager_id else None,
        },
        "identities": _values(person.identities.order_by("vendor", "kind", "value"), "vendor", "kind", "value",
                              "label", "is_service_account", "created_at", "mapped_at"),
        "usage_by_day_vendor_model": _values(
            DailyUsage.objects.filter(person=person).order_by("day", "vendor", "model"), "day", "vendor", "model",
            "source", "input_tokens", "cache_write_tokens", "cache_read_tokens", "output_tokens", "total_tokens",
            "requests", "cost_usd"),
        "days": _values(PersonDay.objects.filter(person=person).order_by("day"), "day", "total_tokens",
                        "output_tokens", "requests", "cost_usd", "active"),
        "budget_policies": _values(BudgetPolicy.objects.filter(person=person).order_by("effective_from"), "kind",
                                   "amount_usd", "salary_percent", "effective_from", "note"),
        "exemptions": _values(Exemption.objects.filter(person=person).order_by("starts_on"), "rule__kind", "reason",
                              "starts_on", "expires_on"),
        "flags": list(by_flag.values()),
        "uploads": _values(UsageExport.objects.filter(Q(uploaded_by=person) | Q(attributed_to=person)).order_by(
            "created_at"), "original_name", "origin", "format", "status", "size", "sha256", "created_at"),
        "notifications": _values(Notification.objects.filter(recipient=person).order_by("pk"), "kind", "channel",
                                 "status", "sent_at"),
        "audit_trail": _values(AuditEvent.objects.filter(
            Q(target_type="accounts.person", target_id=str(person.pk)) | Q(actor=person)).order_by("at", "pk"),
            "at", "action", "target_type", "target_label", "before", "after", "address"),
        "logins": _values(AccessLog.objects.filter(logins).order_by("attempt_time"), "attempt_time", "ip_address",
                          "user_agent", "logout_time"),
        "failed_logins": _values(AccessAttempt.objects.filter(logins).order_by("attempt_time"), "attempt_time",
                                 "ip_address", "user_agent", "failures_since_start"),
    }


def erase(*, person: Person, by: Person, address: str | None = None, now: datetime | None = None) -> Person:
    """Anonymise someone who has left (``NotLeft`` otherwise); returns the anonymised person."""
    with transaction.atomic():
        person = Person.objects.select_for_update().get(pk=person.pk)
        if person.is_active or person.status != Person.Status.TERMINATED:
            raise NotLeft(f"{person} has not left: set their status to terminated (which deactivates them) first.")
        old_email = person.email
        # About them: their flags (with their notes, history and notifications), exemptions, emails to them.
        Flag.objects.filter(person=person).delete()
        Exemption.objects.filter(person=person).delete()
        Notification.objects.filter(recipient=person).delete()
        BudgetPolicy.objects.filter(person=person).exclude(note="").update(note="")
        for identity in ProviderIdentity.objects.select_for_update().filter(person=person):
            # Still theirs, so their usage stays in the totals; no longer saying who they were.
            identity.value, identity.label = f"erased-{identity.pk}", ""
            identity.save(update_fields=["value", "label"])
        UsageExport.objects.filter(attributed_to=person, origin=UsageExport.Origin.SELF_SERVICE).update(
            original_name="erased.json")
        for model in (AccessAttempt, AccessFailureLog, AccessLog):
            model.objects.filter(username=old_email).delete()
        person.name = FORMER
        person.email = f"former-{person.pk}@erased.invalid"
        person.title = person.github_login = ""
        person.start_date = person.annual_base_salary = person.last_login = None
        person.privacy, person.digest = Person.Privacy.HIDDEN, Person.Digest.NONE
        person.is_staff = person.is_superuser = False
        person.set_unusable_password()
        person.save()
        person.groups.clear()
        person.user_permissions.clear()
        audit.record(actor=by, action="person.erase", target=person, address=address)
        return person
