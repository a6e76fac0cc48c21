"""Telling managers: an email for each new high-severity flag, a daily or weekly digest of open flags
(each manager's choice), and an optional Slack incoming webhook per team.

Each message is a Notification row whose ``key`` says what makes it the same message, so queueing
it twice makes one row (the unique constraint). A worker sends a row only after claiming it with a
conditional UPDATE from pending to sending, so two workers handed the same task send it once.
A worker that dies after sending and before marking the row sent leaves it "sending": it is never
sent again (a missed email is better than a duplicate one) and the row shows what happened.
"""

from __future__ import annotations

import json
import logging
import smtplib
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import Person, Team
from accounts.org import managers_above, team_and_above

from . import runway
from .models import SEVERITY_RANK, Flag, Notification, Severity

log = logging.getLogger(__name__)

Status = Notification.Status
MAX_ATTEMPTS = 5
SLACK_TIMEOUT = 10  # seconds


class TransientSendError(Exception):
    """The mail server or Slack failed in a way worth trying again (the row was given back)."""


def absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


# --- Queueing -----------------------------------------------------------------------------------
# Queueing writes rows and returns the ids of those pending: the caller (a task) sends them, once
# its transaction has committed.


def queue_new_flags(flags: Iterable[Flag]) -> list[int]:
    """Rows for the new high-severity flags: an email to whoever reviews each, and a Slack message to
    the nearest team with a webhook."""
    flags = [f for f in flags if f.severity == Severity.HIGH]
    if not flags:
        return []
    people = {
        p.pk: p for p in Person.objects.select_related("manager").filter(pk__in=[f.person_id for f in flags if f.person_id])
    }
    admins = [p.pk for p in Person.objects.active().filter(is_staff=True)]
    teams = {pk: (parent, url) for pk, parent, url in Team.objects.values_list("pk", "parent_id", "slack_webhook_url")}
    parents = {pk: parent for pk, (parent, _) in teams.items()}
    rows = []
    for flag in flags:
        person = people.get(flag.person_id)
        if flag.assignee_id:
            recipients = [flag.assignee_id]
        elif person and person.manager_id and person.manager.is_active:
            recipients = [person.manager_id]
        else:
            recipients = admins
        for recipient in recipients:
            rows.append(Notification(key=f"flag:{flag.pk}:email:{recipient}", kind=Notification.Kind.NEW_FLAG,
                                     recipient_id=recipient, flag=flag))
        # The person's team, or the nearest parent team, that has a Slack webhook.
        chain = team_and_above(person.team_id, parents) if person else []
        team = next((pk for pk in chain if teams.get(pk, (None, ""))[1]), None)
        if team:
            rows.append(Notification(key=f"flag:{flag.pk}:slack:{team}", kind=Notification.Kind.NEW_FLAG,
                                     channel=Notification.Channel.SLACK, team_id=team, flag=flag))
    return _store(rows)


def _store(rows: list[Notification]) -> list[int]:
    """Write the rows (one per key, whatever was written before); the ids of those still pending."""
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return list(Notification.objects.filter(key__in=[r.key for r in rows], status=Status.PENDING)
                .values_list("pk", flat=True))


def digest_period(person: Person, today: date) -> str | None:
    """The period key of the digest due today for this person, or None when none is due."""
    if person.digest == Person.Digest.DAILY:
        return today.isoformat()
    if person.digest == Person.Digest.WEEKLY and today.isoweekday() == 1:
        year, week, _ = today.isocalendar()
        return f"{year}-W{week:02d}"
    return None


def digest_flags() -> dict[int, list[int]]:
    """Manager id -> ids of the live, not snoozed flags in their reporting line or handed to them.

    Walks the reporting tree in memory: two queries whatever the number of people."""
    managers = Person.objects.reporting_lines()
    found: dict[int, list[int]] = defaultdict(list)
    flags = Flag.objects.filter(status__in=[Flag.Status.OPEN, Flag.Status.ACKNOWLEDGED], person__isnull=False)
    flags = flags.shown_to_managers(timezone.now().date())
    for pk, person_id, assignee_id in flags.values_list("pk", "person_id", "assignee_id"):
        above = managers_above(person_id, managers)
        for boss in above:
            found[boss].append(pk)
        if assignee_id and assignee_id != person_id and assignee_id not in above:
            found[assignee_id].append(pk)
    return found


def queue_digests(*, today: date | None = None) -> list[int]:
    """Digest rows due today (one per manager and period, however often this runs); returns their ids
    and those of every row still pending (left so by a broker outage) for the caller to send."""
    today = today or timezone.now().date()
    per_manager = digest_flags()
    rows = []
    for person in Person.objects.active().filter(pk__in=list(per_manager)).exclude(digest=Person.Digest.NONE):
        period = digest_period(person, today)
        if period:
            rows.append(Notification(key=f"digest:{person.pk}:{period}", kind=Notification.Kind.DIGEST,
                                     recipient=person))
    pending = list(Notification.objects.filter(status=Status.PENDING).values_list("pk", flat=True))
    ids = _store(rows) if rows else []
    # Rows left pending by a broker outage go out with this run.
    return sorted(set(ids) | set(pending))


# --- Sending ------------------------------------------------------------------------------------


def claim(notification_id: int) -> Notification | None:
    """Take the row for this worker (pending -> sending), or None if someone else has or had it."""
    claimed = Notification.objects.filter(pk=notification_id, status=Status.PENDING).update(
        status=Status.SENDING, claimed_at=timezone.now(), attempts=F("attempts") + 1
    )
    if not claimed:
        return None
    return Notification.objects.select_related("recipient", "team", "flag__rule", "flag__person").get(pk=notification_id)


def send(notification_id: int) -> bool:
    """Claim and send one notification; True if this call sent it. Transient failures give the row
    back (until MAX_ATTEMPTS) and raise TransientSendError for the task to retry."""
    notification = claim(notification_id)
    if notification is None:
        return False
    try:
        if notification.channel == Notification.Channel.SLACK:
            post_to_slack(notification)
        elif notification.kind == Notification.Kind.DIGEST:
            if not send_digest_email(notification):
                _finish(notification, Status.SENT, error="Nothing open any more; no email sent.")
                return False
        else:
            send_flag_email(notification)
    except TransientSendError as exc:
        status = Status.FAILED if notification.attempts >= MAX_ATTEMPTS else Status.PENDING
        _finish(notification, status, error=str(exc))
        if status == Status.PENDING:
            raise
        return False
    except Exception as exc:
        log.exception("Notification %s failed", notification.pk)
        _finish(notification, Status.FAILED, error=f"{type(exc).__name__}: {exc}")
        return False
    _finish(notification, Status.SENT)
    return True


def _finish(notification: Notification, status: str, *, error: str = "") -> None:
    Notification.objects.filter(pk=notification.pk, status=Status.SENDING).update(
        status=status, error=error[:500], sent_at=timezone.now() if status == Status.SENT else None
    )


def _email(*, to: Person, subject: str, template: str, context: dict) -> None:
    context = {**context, "recipient": to, "site_url": settings.SITE_URL.rstrip("/")}
    text = render_to_string(f"emails/{template}.txt", context)
    html = render_to_string(f"emails/{template}.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [to.email])
    message.attach_alternative(html, "text/html")
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as exc:
        raise TransientSendError(f"mail server: {exc}") from exc


def send_flag_email(notification: Notification) -> None:
    flag = notification.flag
    subject = f"New {flag.get_severity_display().lower()}-severity flag: {flag.rule} — {flag.subject_label}"
    _email(to=notification.recipient, subject=subject, template="new_flag",
           context={"flag": flag, "flag_url": absolute(flag.get_absolute_url())})


def send_digest_email(notification: Notification) -> bool:
    """The digest as it stands when sent; False (nothing sent) if nothing is open any more."""
    ids = digest_flags().get(notification.recipient_id, [])
    flags = sorted(
        Flag.objects.filter(pk__in=ids).select_related("rule", "person", "person__team"),
        key=lambda f: (-SEVERITY_RANK[f.severity], f.opened_on, f.pk),
    )
    if not flags:
        return False
    counts = defaultdict(int)
    for flag in flags:
        counts[flag.get_severity_display()] += 1
    rows = [{"flag": f, "url": absolute(f.get_absolute_url())} for f in flags]
    subject = f"{len(flags)} open flag{'s' if len(flags) != 1 else ''} in your team"
    team_runway = runway.for_manager(notification.recipient, today=timezone.now().date())
    _email(to=notification.recipient, subject=subject, template="digest", context={
        "rows": rows, "counts": dict(counts), "queue_url": absolute(reverse("review")),
        "weekly": "-W" in notification.key, "runway": team_runway.text if team_runway else "",
    })
    return True


def post_to_slack(notification: Notification) -> None:
    """POST the flag's headline to the team's incoming webhook (JSON ``{"text": ...}``)."""
    flag, url = notification.flag, notification.team.slack_webhook_url
    if not url:
        raise ValueError("the team has no Slack webhook any more")
    headline = flag.explanation.split("\n", 1)[0]
    text = (
        f"*New {flag.get_severity_display().lower()}-severity flag: {flag.rule}* — {flag.subject_label}\n"
        f"{headline}\n<{absolute(flag.get_absolute_url())}|Open the flag>"
    )
    request = urllib.request.Request(
        url, data=json.dumps({"text": text}).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=SLACK_TIMEOUT) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        if exc.code >= 500 or exc.code == 429:
            raise TransientSendError(f"Slack answered {exc.code}") from exc
        raise ValueError(f"Slack refused the message ({exc.code}): check the team's webhook URL") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise TransientSendError(f"Slack unreachable: {exc}") from exc
