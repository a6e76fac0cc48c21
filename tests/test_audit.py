"""The audit trail: who changed budgets, rules, exemptions, identities, roles and privacy, from what to
what and from where; an admin page to read and filter it; nothing can edit or delete it, the database
included."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.utils import timezone

from accounts import audit
from accounts.models import AuditEvent, AuditIsAppendOnly, Person
from leaderboard import flags
from leaderboard.models import FlagRule
from tests import security_world

ADDRESS = "192.0.2.44"
LATER = (timezone.now().date() + timedelta(days=45)).isoformat()


@pytest.fixture
def world(cast, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    found = security_world.build(cast)
    AuditEvent.objects.all()  # the world's own events stay; each test looks at what it adds
    return found


@pytest.fixture
def admin(world):
    client = Client(REMOTE_ADDR=ADDRESS)
    client.force_login(world.cast.ada)
    return client


def latest(action: str) -> AuditEvent:
    return AuditEvent.objects.filter(action=action).latest("pk")


def test_budget_changes_are_recorded_with_before_after_who_and_where(world, admin):
    admin.post("/budgets/", {"scope": "team", "team": world.cast.platform.pk, "kind": "day", "amount_usd": "150",
                             "effective_from": LATER})
    event = latest("budget_policy.create")
    assert (event.actor, event.address, event.after["amount_usd"]) == (world.cast.ada, ADDRESS, "150")

    admin.post(f"/budgets/{world.policy.pk}/delete/")
    event = latest("budget_policy.delete")
    assert event.before["amount_usd"] == "120.00" and event.after is None and event.address == ADDRESS

    admin.post("/budgets/settings/", {"working_weekdays": [1, 2, 3, 4], "grace_days": 10, "max_data_lag_days": 3})
    event = latest("org_settings.update")
    assert event.before["working_weekdays"] == [1, 2, 3, 4, 5] and event.after["working_weekdays"] == [1, 2, 3, 4]

    admin.post("/budgets/part-time/", {"person": world.cast.erin.pk, "percent": 60})
    event = latest("person.work_percent")
    assert (event.before, event.after, event.target_id) == ({"work_percent": 100}, {"work_percent": 60},
                                                             str(world.cast.erin.pk))


def test_rule_changes_are_recorded_field_by_field(world, cast):
    rule = flags.ensure_rules()[FlagRule.Kind.UNDERUSE]
    flags.update_rules(changes={rule.pk: {"threshold": 15, "enabled": rule.enabled}}, by=cast.ada, address=ADDRESS)
    event = latest("flag_rule.update")
    assert event.before == {"threshold": "10.00"} and event.after == {"threshold": 15}
    assert event.address == ADDRESS and event.target_label == str(rule)


def test_exemptions_are_recorded_when_made_and_ended(world, admin):
    admin.post("/budgets/exemptions/", {"person": world.cast.otto.pk, "reason": "Sabbatical", "expires_on": LATER})
    made = latest("exemption.create")
    assert made.after["reason"] == "Sabbatical" and made.address == ADDRESS
    admin.post(f"/budgets/exemptions/{world.exemption.pk}/end/")
    assert latest("exemption.end").before["person_id"] == world.cast.erin.pk


def test_role_changes_in_the_django_admin_are_recorded(world, admin):
    page = admin.get(f"/admin/accounts/person/{world.cast.otto.pk}/change/")
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "password"}
    data.update({"is_staff": "on", "groups": [], "user_permissions": [], "team": world.cast.sales.pk,
                 "privacy": "anonymous", "start_date": "2024-01-08", "date_joined_0": "2024-01-01",
                 "date_joined_1": "00:00:00", "identities-TOTAL_FORMS": 0, "identities-INITIAL_FORMS": 0})
    data.pop("manager", None)
    data.pop("last_login", None)
    data.pop("date_joined", None)
    response = admin.post(f"/admin/accounts/person/{world.cast.otto.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    roles = latest("person.roles")
    assert (roles.before, roles.after, roles.address) == ({"is_staff": False}, {"is_staff": True}, ADDRESS)
    assert latest("person.settings").after == {"privacy": "anonymous"}


def test_my_own_privacy_change_is_recorded(world):
    client = Client(REMOTE_ADDR=ADDRESS)
    client.force_login(world.cast.erin)
    client.post("/settings/", {"privacy": "hidden", "digest": "weekly"})
    event = latest("person.settings")
    assert (event.actor, event.before["privacy"], event.after["privacy"]) == (world.cast.erin, "named", "hidden")


def test_identity_mappings_are_recorded(world, admin):
    admin.post(f"/identities/{world.identity.pk}/map/", {"person": "erin@example.com", "action": "map"})
    assert latest("identity.map").address == ADDRESS


def test_admins_read_and_filter_the_trail(world, admin):
    admin.post("/budgets/part-time/", {"person": world.cast.erin.pk, "percent": 60})
    page = admin.get("/audit/").content.decode()
    assert "person.work_percent" in page and "exemption.create" in page and ADDRESS in page
    by_action = admin.get("/audit/", {"action": "person.work_percent"}).content.decode()
    assert "person.work_percent" in by_action and "<code>exemption.create</code>" not in by_action
    by_target = admin.get("/audit/", {"target": f"person {world.cast.erin.pk}"}).content.decode()
    assert "<code>person.work_percent</code>" in by_target
    by_actor = admin.get("/audit/", {"actor": "nobody-like-this"}).content.decode()
    assert "No events match" in by_actor
    today = timezone.now().date()
    assert "<code>person.work_percent</code>" not in admin.get(
        "/audit/", {"end": (today - timedelta(days=1)).isoformat()}).content.decode()


def test_nobody_can_change_or_delete_an_event_in_the_app(world):
    event = AuditEvent.objects.first()
    with pytest.raises(AuditIsAppendOnly):
        event.save()
    with pytest.raises(AuditIsAppendOnly):
        event.delete()
    with pytest.raises(AuditIsAppendOnly):
        AuditEvent.objects.all().update(action="x")
    with pytest.raises(AuditIsAppendOnly):
        AuditEvent.objects.all().delete()


def test_the_database_refuses_to_change_or_delete_an_event(world):
    event = AuditEvent.objects.first()
    table = AuditEvent._meta.db_table
    for statement in (f"UPDATE {table} SET action = 'forged' WHERE id = %s", f"DELETE FROM {table} WHERE id = %s"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == event.action


def test_the_guard_can_be_installed_again_after_a_table_rebuild(world):
    audit.install_guard(connection=connection)  # idempotent, as a later migration would run it
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {AuditEvent._meta.db_table}")


def test_erasure_is_recorded_without_what_was_erased(world, admin):
    name, email = world.left.name, world.left.email
    admin.post(f"/people/{world.left.pk}/erase/", {"confirm": "on"})
    event = latest("person.erase")
    assert event.before is None and event.after is None and event.address == ADDRESS
    assert name not in event.target_label and email not in event.target_label
    assert Person.objects.get(pk=world.left.pk).name == "Former employee"
