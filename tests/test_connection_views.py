"""The Connections and Reconciliation pages: admins only, adding and editing (audited, the credential
never shown), testing, "Sync now" (one run), the run's progress, and the reconciliation's numbers."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from leaderboard.connections import setup, sync
from leaderboard.models import Connection, SyncRun
from tests.fake_providers import KEYS


@pytest.fixture(autouse=True)
def quick(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CONNECTION_BACKOFF_SECONDS = 0.01
    settings.CONNECTION_READ_TIMEOUT = 2.0


def add(providers, vendor="anthropic", **extra):
    start = sync.today() - timedelta(days=3)
    return setup.create_connection(vendor=vendor, name=f"{vendor} main", credential=KEYS[vendor],
                                   base_url=providers.base_url(vendor),
                                   options=setup.clean_options(vendor, start=start, **extra))


@pytest.mark.parametrize("name, args", [
    ("connections", []), ("connection_add", []), ("reconciliation", []),
])
def test_the_pages_are_for_admins_only(login, cast, name, args):
    assert login(cast.erin).get(reverse(name, args=args)).status_code == 404
    assert login(cast.ada).get(reverse(name, args=args)).status_code == 200


def test_an_admin_adds_a_connection_and_the_credential_is_never_shown(login, cast, providers):
    client = login(cast.ada)
    response = client.post(reverse("connection_add"), {
        "vendor": "anthropic", "name": "Anthropic", "credential": KEYS["anthropic"],
        "base_url": providers.base_url("anthropic"), "sync_interval": 60, "start": "2026-01-05",
    }, follow=True)

    connection = Connection.objects.get()
    assert response.redirect_chain[-1][0] == connection.get_absolute_url()
    page = response.content.decode()
    assert KEYS["anthropic"] not in page and connection.credential_hint == "0001" and "0001" in page
    assert connection.credential != KEYS["anthropic"] and connection.options == {"start": "2026-01-05"}
    event = AuditEvent.objects.get(action="connection.create")
    assert event.actor == cast.ada and KEYS["anthropic"] not in str(event.after) and event.after["name"] == "Anthropic"
    for name in ("connections", "connection_edit"):
        url = reverse(name, args=[connection.pk] if name != "connections" else [])
        assert KEYS["anthropic"] not in client.get(url).content.decode()


def test_github_needs_its_organisation(login, cast):
    response = login(cast.ada).post(reverse("connection_add"), {
        "vendor": "github", "name": "Copilot", "credential": KEYS["github"], "sync_interval": 60,
    })
    assert response.status_code == 200 and "needs the organisation" in response.content.decode()
    assert not Connection.objects.exists()


def test_replacing_the_credential_is_audited_without_it(login, cast, providers):
    connection = add(providers)
    new = "sk-ant-admin01-ANOTHERkeyANOTHERkey77"
    login(cast.ada).post(reverse("connection_edit", args=[connection.pk]), {
        "name": "Renamed", "credential": new, "base_url": connection.base_url, "sync_interval": 120,
        "enabled": "on",
    })
    connection.refresh_from_db()
    assert connection.name == "Renamed" and connection.credential_hint == "ey77"
    assert connection.sync_interval == timedelta(hours=2)
    replaced = AuditEvent.objects.get(action="connection.credential_replace")
    assert replaced.before == {"credential_hint": "0001"} and replaced.after == {"credential_hint": "ey77"}
    edited = AuditEvent.objects.get(action="connection.edit")
    assert edited.before["name"] == "anthropic main" and edited.after["name"] == "Renamed"
    assert all(new not in str(e.before) + str(e.after) for e in AuditEvent.objects.all())


def test_testing_a_connection_says_what_it_found(login, cast, providers):
    connection = add(providers)
    client = login(cast.ada)
    response = client.post(reverse("connection_test", args=[connection.pk]), HTTP_HX_REQUEST="true")
    assert "Connected: the organisation has 2 users." in response.content.decode()
    response = client.post(reverse("connection_test", args=[connection.pk]), follow=True)
    assert "Connected" in response.content.decode()


def test_sync_now_queues_one_run_and_none_while_one_runs(login, cast, providers, sent_tasks,
                                                          django_capture_on_commit_callbacks):
    connection = add(providers)
    client = login(cast.ada)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("connection_sync", args=[connection.pk]))
    assert sent_tasks == [("leaderboard.tasks.sync_connection", (connection.pk,), {})]

    sent_tasks.clear()
    sync.claim(connection.pk, force=True)  # a worker is running it
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("connection_sync", args=[connection.pk]), follow=True)
    assert "is syncing already" in response.content.decode() and sent_tasks == []


def test_the_progress_block_polls_until_the_run_is_done(login, cast, providers):
    connection = add(providers)
    client = login(cast.ada)
    claimed = sync.claim(connection.pk, force=True)
    SyncRun.objects.create(connection=connection, days_total=4, days_done=1, window_start=sync.today(),
                           window_end=sync.today())
    running = client.get(reverse("connection_progress", args=[connection.pk]))
    assert running.status_code == 200 and "hx-trigger=\"every 1s\"" in running.content.decode()
    assert "25%" in running.content.decode()

    Connection.objects.filter(pk=connection.pk, lease_owner=claimed[1]).update(lease_owner="", lease_expires_at=None)
    SyncRun.objects.update(status=SyncRun.Status.SUCCEEDED, days_done=4)
    done = client.get(reverse("connection_progress", args=[connection.pk]))
    assert done.status_code == 286 and "hx-trigger" not in done.content.decode()


def test_the_import_history_names_the_connection_and_run(login, cast, providers):
    providers.seed([sync.today() - timedelta(days=1)])
    connection = add(providers)
    run = sync.run(connection.pk, force=True).run
    page = login(cast.ada).get(reverse("imports") + f"?sync_run={run.pk}").content.decode()
    assert f"run #{run.pk}" in page and connection.name in page


def test_reconciliation_explains_the_difference(login, cast, providers):
    today = sync.today()
    days = [today - timedelta(days=n) for n in (3, 2, 1)]
    providers.seed(days)
    connection = add(providers)
    assert sync.run(connection.pk, force=True).ok
    # The provider also charged for a day before the connection's start: not synced here.
    from leaderboard.models import ProviderCost, UsageExport

    export = UsageExport.objects.first()
    early = today - timedelta(days=20)
    ProviderCost.objects.create(vendor="anthropic", source="anthropic_cost_report", day=early, dims="x",
                                amount_usd=Decimal("4.00"), export=export)

    from leaderboard.reconciliation import reconcile

    month = early if early.month == today.month else today
    result = reconcile("anthropic", month, today=today)
    if early.month == today.month:
        assert result.unsynced_days == [early] and result.unsynced == Decimal("4.00")
    assert result.unattributed > 0  # the Playground rows
    assert result.unsynced + result.unattributed + result.estimates == result.difference
    page = login(cast.ada).get(reverse("reconciliation"), {"vendor": "anthropic", "month": f"{month:%Y-%m}"})
    text = page.content.decode()
    assert "days not yet synced" in text and "unattributed usage" in text and "estimates versus reported" in text
