"""A person's own data: the download of everything the app holds about them, and the erasure of
someone who has left."""

from __future__ import annotations

import json

import pytest
from axes.models import AccessAttempt
from django.db.models import Sum
from django.test import Client

from accounts.models import Person, ProviderIdentity
from leaderboard import personal_data
from leaderboard.boards import catalog
from leaderboard.models import BudgetPolicy, DailyUsage, Exemption, Flag, FlagNote, PersonDay
from tests import security_world


@pytest.fixture
def world(cast, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return security_world.build(cast)


def download(person) -> dict:
    client = Client()
    client.force_login(person)
    response = client.get("/me/data.json")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    return json.loads(response.content)


def test_a_person_downloads_everything_the_app_holds_about_them(world):
    ProviderIdentity.objects.create(vendor="cursor", kind="email", value="erin@example.com", person=world.cast.erin)
    client = Client()
    client.force_login(world.cast.erin)
    client.post("/settings/", {"privacy": "anonymous", "digest": "weekly"})
    data = download(world.cast.erin)

    assert data["person"]["email"] == "erin@example.com" and data["person"]["team"] == "Engineering"
    assert data["person"]["manager"] == "maria@example.com"
    assert {(i["vendor"], i["value"]) for i in data["identities"]} == {("cursor", "erin@example.com"),
                                                                        ("mistral", "erin@example.com")}
    assert len(data["days"]) == 3 and data["usage_by_day_vendor_model"]
    assert data["budget_policies"][0]["amount_usd"] == "120.00"
    assert data["exemptions"][0]["reason"] == "Parental leave"
    assert [f["id"] for f in data["flags"]] == [world.flag.pk]
    assert [n["kind"] for n in data["flags"][0]["notes"]] == ["answer"]  # her answer; never the internal note
    assert [u["original_name"] for u in data["uploads"]] == ["ccusage.json"]
    assert [e["action"] for e in data["audit_trail"]] == ["person.settings"]


def test_the_download_has_only_my_data(world):
    data = json.dumps(download(world.cast.otto))
    assert "erin@example.com" not in data and "Parental leave" not in data and "Internal: talk" not in data


def test_an_admin_erases_someone_who_left_keeping_their_usage_in_the_totals(world, sent_tasks):
    erin = world.cast.erin
    ProviderIdentity.objects.create(vendor="anthropic", kind="email", value="erin@example.com", person=erin,
                                    label="Erin Employee")
    AccessAttempt.objects.create(username="erin@example.com", ip_address="192.0.2.1", user_agent="x",
                                 http_accept="x", path_info="/login/", get_data="", post_data="",
                                 failures_since_start=1)
    team_total = PersonDay.objects.filter(person__team=erin.team).aggregate(t=Sum("total_tokens"))["t"]
    tokens = DailyUsage.objects.filter(person=erin).aggregate(t=Sum("total_tokens"))["t"]
    Person.objects.filter(pk=erin.pk).update(status=Person.Status.TERMINATED, is_active=False)
    admin = Client()
    admin.force_login(world.cast.ada)
    assert admin.get(f"/people/{erin.pk}/erase/").status_code == 200

    response = admin.post(f"/people/{erin.pk}/erase/", {"confirm": "on"})

    assert response.status_code == 302
    erin.refresh_from_db()
    assert (erin.name, erin.title, erin.github_login, erin.annual_base_salary) == ("Former employee", "", "", None)
    assert erin.email.endswith("@erased.invalid") and "erin" not in erin.email
    assert not erin.has_usable_password() and not erin.is_active
    assert erin.privacy == Person.Privacy.HIDDEN
    values = list(ProviderIdentity.objects.filter(person=erin).values_list("value", "label"))
    assert values and all(v.startswith("erased-") and label == "" for v, label in values)
    # Usage stays, in her team's totals and her rows.
    assert DailyUsage.objects.filter(person=erin).aggregate(t=Sum("total_tokens"))["t"] == tokens
    assert PersonDay.objects.filter(person__team=erin.team).aggregate(t=Sum("total_tokens"))["t"] == team_total
    # What was about her is gone.
    assert not Flag.objects.filter(person=erin).exists() and not FlagNote.objects.filter(flag=world.flag.pk).exists()
    assert not Exemption.objects.filter(person=erin).exists()
    assert BudgetPolicy.objects.get(person=erin).note == ""
    assert not AccessAttempt.objects.filter(username="erin@example.com").exists()
    # The board names her as nobody.
    assert "Erin" not in str(catalog.load(None).people.get(erin.pk))


def test_nobody_who_has_not_left_is_erased(world):
    with pytest.raises(personal_data.NotLeft):
        personal_data.erase(person=world.cast.erin, by=world.cast.ada)
    admin = Client()
    admin.force_login(world.cast.ada)
    assert admin.post(f"/people/{world.cast.erin.pk}/erase/", {"confirm": "on"}).status_code == 409
    world.cast.erin.refresh_from_db()
    assert world.cast.erin.name == "Erin Employee"


def test_erasure_needs_the_confirmation(world):
    admin = Client()
    admin.force_login(world.cast.ada)
    assert admin.post(f"/people/{world.left.pk}/erase/", {}).status_code == 200
    world.left.refresh_from_db()
    assert world.left.name == "Tess Left"


def test_people_are_still_never_deleted(world):
    from accounts.models import PersonNotDeletable

    personal_data.erase(person=world.left, by=world.cast.ada)
    with pytest.raises(PersonNotDeletable):
        world.left.delete()
