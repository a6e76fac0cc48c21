"""Notifications (leaderboard/notifications.py, leaderboard/tasks.py): an email per new
high-severity flag, digests by each manager's choice, Slack per team, and each exactly once."""

import json
import smtplib
import threading
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail

from accounts.models import Person
from leaderboard import notifications, tasks
from leaderboard.models import Flag, Notification
from tests.test_flags import AS_OF, day_spend, fresh, only_rules, usage
from tests.test_review_views import make_flag

MONDAY = date(2025, 3, 31)
TUESDAY = date(2025, 4, 1)


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = "https://tokens.example.com"


@pytest.fixture
def sent_now(monkeypatch):
    """Tasks run in-process instead of going through the broker."""
    monkeypatch.setattr(tasks.send_notification, "delay", lambda pk: notifications.send(pk))


# --- new high-severity flags --------------------------------------------------------------------


def test_it_emails_the_manager_about_a_new_high_severity_flag(cast, sent_now):
    flag = make_flag(cast.lee, kind="runaway", severity="high")
    tasks.send_notifications(notifications.queue_new_flags([flag]))
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["sam@example.com"]
    assert message.subject == "New high-severity flag: Runaway spend — Lee Report"
    assert f"https://tokens.example.com/review/{flag.pk}/" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and f'href="https://tokens.example.com/review/{flag.pk}/"' in html
    assert "used 1.2% of the budget" in message.body
    assert Notification.objects.get().status == "sent"


def test_it_does_not_email_about_lower_severity_flags(cast):
    assert notifications.queue_new_flags([make_flag(cast.lee, severity="medium")]) == []
    assert not Notification.objects.exists()


def test_it_emails_admins_when_the_person_has_no_manager(cast, sent_now):
    tasks.send_notifications(notifications.queue_new_flags([make_flag(cast.otto, kind="runaway", severity="high")]))
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]


def test_it_emails_the_manager_a_flag_was_handed_to(cast, sent_now):
    flag = make_flag(cast.lee, kind="runaway", severity="high", assignee=cast.maria)
    tasks.send_notifications(notifications.queue_new_flags([flag]))
    assert [m.to for m in mail.outbox] == [["maria@example.com"]]


def test_queueing_writes_rows_and_leaves_sending_to_the_caller(cast, sent_tasks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        ids = notifications.queue_new_flags([make_flag(cast.lee, kind="runaway", severity="high")])
    assert ids == [Notification.objects.get().pk]
    assert callbacks == [] and sent_tasks == [] and mail.outbox == []


@pytest.fixture
def runaway_day(cast):
    """Lee spent $900 on a day: the evaluation opens a high-severity flag."""
    fresh()
    usage(cast.lee, date(2025, 1, 1), date(2025, 3, 31))
    only_rules("runaway")
    day_spend(cast.lee, date(2025, 3, 28), "900")
    return cast


def test_the_evaluation_task_sends_the_notifications_of_the_flags_it_opens(runaway_day, sent_now):
    tasks.evaluate_flags(as_of=AS_OF.isoformat())
    tasks.evaluate_flags(as_of=AS_OF.isoformat())  # the same flag, updated: no second email
    assert len(mail.outbox) == 1 and "Runaway" in mail.outbox[0].subject


def test_the_evaluation_task_enqueues_one_send_per_notification(runaway_day, sent_tasks):
    tasks.evaluate_flags(as_of=AS_OF.isoformat())
    pk = Notification.objects.get().pk
    assert sent_tasks == [("leaderboard.tasks.send_notification", (pk,), {})]


def test_a_broker_outage_leaves_the_row_for_the_digest_run(runaway_day, monkeypatch, caplog):
    def broker_down(pk):
        raise OSError("Connection refused")

    monkeypatch.setattr(tasks.send_notification, "delay", broker_down)
    tasks.evaluate_flags(as_of=AS_OF.isoformat())  # does not raise
    row = Notification.objects.get()
    assert row.status == "pending" and f"Could not queue leaderboard.tasks.send_notification({row.pk},)" in caplog.text
    monkeypatch.setattr(tasks.send_notification, "delay", lambda pk: notifications.send(pk))
    Person.objects.update(digest="none")  # whatever the weekday: only the row left pending goes out
    tasks.send_digests()
    assert Notification.objects.get().status == "sent" and len(mail.outbox) == 1


# --- exactly once -------------------------------------------------------------------------------


def test_a_notification_is_claimed_once(cast):
    notifications.queue_new_flags([make_flag(cast.lee, kind="runaway", severity="high")])
    pk = Notification.objects.get().pk
    assert notifications.claim(pk) is not None
    assert notifications.claim(pk) is None


def test_sending_twice_sends_one_email(cast):
    notifications.queue_new_flags([make_flag(cast.lee, kind="runaway", severity="high")])
    pk = Notification.objects.get().pk
    assert notifications.send(pk) is True
    assert notifications.send(pk) is False
    tasks.send_notification(pk)  # the task, redelivered
    assert len(mail.outbox) == 1


def test_queueing_the_same_flag_twice_makes_one_row(cast):
    flag = make_flag(cast.lee, kind="runaway", severity="high")
    notifications.queue_new_flags([flag])
    notifications.queue_new_flags([flag])
    assert Notification.objects.count() == 1


def test_a_mail_server_failure_gives_the_row_back_for_a_retry(cast, monkeypatch):
    notifications.queue_new_flags([make_flag(cast.lee, kind="runaway", severity="high")])
    pk = Notification.objects.get().pk

    def broken(self, fail_silently=False):
        raise smtplib.SMTPServerDisconnected("gone")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", broken)
    with pytest.raises(notifications.TransientSendError):
        notifications.send(pk)
    row = Notification.objects.get()
    assert (row.status, row.attempts) == ("pending", 1) and "gone" in row.error
    monkeypatch.undo()
    assert notifications.send(pk) is True and len(mail.outbox) == 1


def test_it_gives_up_after_the_last_attempt(cast, monkeypatch):
    notifications.queue_new_flags([make_flag(cast.lee, kind="runaway", severity="high")])
    Notification.objects.update(attempts=notifications.MAX_ATTEMPTS - 1)

    def broken(self, fail_silently=False):
        raise smtplib.SMTPServerDisconnected("gone")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", broken)
    assert notifications.send(Notification.objects.get().pk) is False
    assert Notification.objects.get().status == "failed"


# --- digests ------------------------------------------------------------------------------------


@pytest.fixture
def open_flags(cast):
    return {
        "erin": make_flag(cast.erin),
        "lee": make_flag(cast.lee, kind="inactive"),
        "snoozed": make_flag(cast.sam, status="snoozed", snoozed_until=TUESDAY + timedelta(days=5)),
        "otto": make_flag(cast.otto),
    }


def _digests(today):
    for pk in notifications.queue_digests(today=today):
        notifications.send(pk)


def test_a_weekly_digest_goes_out_on_mondays_only(cast, open_flags):
    _digests(TUESDAY)
    assert mail.outbox == []
    _digests(MONDAY)
    # Maria (weekly by default) gets Erin's and Lee's flags; Sam gets Lee's. Sam's own snoozed flag waits.
    by_person = {m.to[0]: m for m in mail.outbox}
    assert set(by_person) == {"maria@example.com", "sam@example.com"}
    maria = by_person["maria@example.com"]
    assert maria.subject == "2 open flags in your team"
    assert "Erin Employee" in maria.body and "Lee Report" in maria.body and "Sam Lead" not in maria.body
    assert "weekly digest" in maria.body
    assert "https://tokens.example.com/review/" in maria.alternatives[0][0]


def test_a_daily_digest_goes_out_every_day_once(cast, open_flags):
    Person.objects.filter(pk=cast.maria.pk).update(digest="daily")
    Person.objects.filter(pk=cast.sam.pk).update(digest="none")
    _digests(TUESDAY)
    _digests(TUESDAY)
    assert [m.to for m in mail.outbox] == [["maria@example.com"]]
    assert "daily digest" in mail.outbox[0].body
    _digests(TUESDAY + timedelta(days=1))
    assert len(mail.outbox) == 2


def test_no_digest_without_open_flags(cast):
    make_flag(cast.erin, status="resolved")
    Person.objects.filter(pk=cast.maria.pk).update(digest="daily")
    _digests(TUESDAY)
    assert mail.outbox == []


def test_the_digest_task_sends_what_is_due(cast, open_flags, sent_now, monkeypatch):
    Person.objects.filter(pk=cast.maria.pk).update(digest="daily")
    monkeypatch.setattr("django.utils.timezone.now", lambda: datetime(2025, 4, 1, 7, tzinfo=UTC))
    tasks.send_digests()
    assert [m.to for m in mail.outbox] == [["maria@example.com"]]


# --- Slack --------------------------------------------------------------------------------------


class _Hook(BaseHTTPRequestHandler):
    received: list = []
    status = 200

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append({"path": self.path, "type": self.headers["Content-Type"], "json": json.loads(body)})
        self.send_response(type(self).status)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def slack():
    """A real HTTP server on 127.0.0.1 standing in for Slack's incoming webhook."""
    _Hook.received, _Hook.status = [], 200
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield _Hook, f"http://127.0.0.1:{server.server_port}/services/T000/B000/XXX"
    server.shutdown()
    server.server_close()


def test_it_posts_new_high_flags_to_the_teams_slack_webhook(cast, slack):
    hook, url = slack
    cast.engineering.slack_webhook_url = url  # Platform has none: its parent's webhook is used
    cast.engineering.save()
    flag = make_flag(cast.lee, kind="runaway", severity="high")
    notifications.queue_new_flags([flag])
    row = Notification.objects.get(channel="slack")
    assert row.team == cast.engineering
    assert notifications.send(row.pk) is True
    assert notifications.send(row.pk) is False
    assert len(hook.received) == 1
    posted = hook.received[0]
    assert posted["path"] == "/services/T000/B000/XXX" and posted["type"] == "application/json"
    assert "Runaway spend" in posted["json"]["text"] and "Lee Report" in posted["json"]["text"]
    assert f"https://tokens.example.com/review/{flag.pk}/" in posted["json"]["text"]


def test_no_slack_message_without_a_webhook(cast):
    notifications.queue_new_flags([make_flag(cast.lee, kind="runaway", severity="high")])
    assert not Notification.objects.filter(channel="slack").exists()


def test_a_slack_server_error_is_retried_and_a_refusal_is_not(cast, slack):
    hook, url = slack
    cast.platform.slack_webhook_url = url
    cast.platform.save()
    notifications.queue_new_flags([make_flag(cast.lee, kind="runaway", severity="high")])
    row = Notification.objects.get(channel="slack")
    hook.status = 503
    with pytest.raises(notifications.TransientSendError):
        notifications.send(row.pk)
    assert Notification.objects.get(pk=row.pk).status == "pending"
    hook.status = 404
    assert notifications.send(row.pk) is False
    row.refresh_from_db()
    assert row.status == "failed" and "404" in row.error


def test_an_unreachable_slack_is_transient(cast):
    cast.platform.slack_webhook_url = "http://127.0.0.1:9/nothing-listens-here"
    cast.platform.save()
    notifications.queue_new_flags([make_flag(cast.lee, kind="runaway", severity="high")])
    with pytest.raises(notifications.TransientSendError):
        notifications.send(Notification.objects.get(channel="slack").pk)


def test_flags_survive_their_notifications(cast):
    flag = make_flag(cast.lee, kind="runaway", severity="high")
    notifications.queue_new_flags([flag])
    Notification.objects.all().delete()
    assert Flag.objects.filter(pk=flag.pk).exists()
