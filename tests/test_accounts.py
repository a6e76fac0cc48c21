"""People, identities and the pages every person has: login and settings (the roster's are in test_roster.py)."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import org
from accounts.models import Person, ProviderIdentity, Team
from tests.conftest import PASSWORD


def test_it_logs_people_in_by_email_whatever_the_case(client, cast):
    response = client.post("/login/", {"username": "ERIN@Example.COM", "password": PASSWORD})
    assert response.status_code == 302 and int(client.session["_auth_user_id"]) == cast.erin.pk


def test_a_deactivated_person_or_a_changed_password_ends_open_sessions(client, cast):
    client.force_login(cast.erin)
    assert client.get("/me/").status_code == 200
    cast.erin.set_password("a new and longer passphrase")
    cast.erin.save()
    assert client.get("/me/").url.startswith("/login/")
    client.force_login(cast.otto)
    Person.objects.filter(pk=cast.otto.pk).update(is_active=False)
    assert client.get("/me/").url.startswith("/login/")


def test_it_stores_emails_lower_cased_and_unique(cast):
    with pytest.raises(IntegrityError), transaction.atomic():
        Person.objects.create_user("Erin@Example.com", PASSWORD)


def test_it_keeps_one_identity_per_vendor_kind_and_value(cast):
    ProviderIdentity.objects.create(vendor="openai", kind="user_id", value="user-abc", person=cast.erin)
    # The same value may exist for another vendor or kind...
    ProviderIdentity.objects.create(vendor="cursor", kind="user_id", value="user-abc")
    ProviderIdentity.objects.create(vendor="openai", kind="api_key", value="user-abc")
    # ...but not twice for the same one.
    with pytest.raises(IntegrityError), transaction.atomic():
        ProviderIdentity.objects.create(vendor="openai", kind="user_id", value="user-abc", person=cast.otto)


def test_it_treats_github_logins_case_insensitively(cast):
    Person.objects.filter(pk=cast.erin.pk).update(github_login="Erin-GH")
    with pytest.raises(IntegrityError), transaction.atomic():
        Person.objects.filter(pk=cast.otto.pk).update(github_login="erin-gh")


def test_it_knows_everyone_below_a_manager_and_above_a_person(cast):
    lines = Person.objects.reporting_lines()
    assert org.reports_of(cast.maria.pk, lines) == {cast.erin.pk, cast.sam.pk, cast.lee.pk}
    assert org.reports_of(cast.sam.pk, lines) == {cast.lee.pk}
    assert org.managers_above(cast.lee.pk, lines) == [cast.sam.pk, cast.maria.pk]
    assert org.is_above(cast.maria.pk, cast.lee.pk, lines) and not org.is_above(cast.sam.pk, cast.erin.pk, lines)


def test_a_team_includes_its_sub_teams(cast):
    assert cast.engineering.with_descendants() == {cast.engineering.pk, cast.platform.pk}
    assert cast.platform.with_descendants() == {cast.platform.pk}


def test_it_saves_my_privacy_choice(login, cast):
    client = login(cast.erin)
    response = client.post("/settings/", {"privacy": "hidden", "digest": "weekly"})
    assert response.status_code == 302
    cast.erin.refresh_from_db()
    assert cast.erin.privacy == "hidden"


@pytest.mark.parametrize("path", ["/admin/accounts/person/", "/admin/accounts/provideridentity/",
                                  "/admin/accounts/team/", "/admin/leaderboard/usageexport/",
                                  "/admin/leaderboard/usagerecord/", "/admin/leaderboard/dailyusage/",
                                  "/admin/leaderboard/flag/", "/admin/leaderboard/budgetpolicy/",
                                  "/admin/leaderboard/notification/", "/admin/leaderboard/exemption/"])
def test_it_lists_every_model_in_the_django_admin(login, cast, path):
    cast.ada.is_superuser = True
    cast.ada.save()
    assert login(cast.ada).get(path + "?q=erin").status_code == 200


# --- People are deactivated, never deleted ------------------------------------------------------------


def test_it_refuses_to_delete_a_person_one_at_a_time_or_in_bulk(cast):
    from accounts.models import PersonNotDeletable
    from tests.test_boards import save, usage

    save([usage(cast.erin, 1, tokens=1000, cost="1.00")])
    with pytest.raises(PersonNotDeletable, match="deactivate"):
        cast.erin.delete()
    with pytest.raises(PersonNotDeletable):
        Person.objects.filter(team=cast.engineering).delete()
    with pytest.raises(PersonNotDeletable):
        Person.objects.all().delete()
    # Nobody went, and neither did their history.
    assert Person.objects.count() == 6
    assert cast.erin.days.count() == 1 and cast.erin.daily_usage.count() == 1


def superuser(cast):
    cast.ada.is_superuser = True
    cast.ada.save()
    return cast.ada


def test_the_admin_offers_no_way_to_delete_a_person(login, cast):
    client = login(superuser(cast))
    listing = client.get("/admin/accounts/person/").content.decode()
    assert 'value="delete_selected"' not in listing and 'value="deactivate_selected"' in listing
    assert "Deactivate selected people" in listing
    assert client.get(f"/admin/accounts/person/{cast.erin.pk}/delete/").status_code == 403
    response = client.post(f"/admin/accounts/person/{cast.erin.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403 and Person.objects.filter(pk=cast.erin.pk).exists()
    # Nor a "delete selected" posted by hand.
    client.post("/admin/accounts/person/", {"action": "delete_selected", "_selected_action": [cast.erin.pk],
                                            "post": "yes"})
    assert Person.objects.filter(pk=cast.erin.pk).exists()


def test_the_admin_deactivates_selected_people_and_records_it(login, cast):
    from accounts.models import AuditEvent

    client = login(superuser(cast))
    response = client.post("/admin/accounts/person/", {
        "action": "deactivate_selected", "_selected_action": [cast.erin.pk, cast.lee.pk],
    }, follow=True, REMOTE_ADDR="198.51.100.4")
    assert "Deactivated 2 people" in response.content.decode()
    for person in (cast.erin, cast.lee):
        person.refresh_from_db()
        assert (person.status, person.is_active) == (Person.Status.TERMINATED, False)
        assert person.manager is not None  # the reporting line and history stay
    events = AuditEvent.objects.filter(action="person.deactivate").order_by("target_id")
    assert [(e.actor, e.target_id, e.address) for e in events] == [
        (cast.ada, str(cast.erin.pk), "198.51.100.4"), (cast.ada, str(cast.lee.pk), "198.51.100.4"),
    ]
    assert events[0].before == {"status": "active", "is_active": True}
    assert events[0].after == {"status": "terminated", "is_active": False}


def test_deactivating_someone_in_their_admin_page_is_recorded(login, cast):
    from accounts.models import AuditEvent

    client = login(superuser(cast))
    page = client.get(f"/admin/accounts/person/{cast.otto.pk}/change/")
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "password"}
    data.update({"status": "terminated", "is_active": "", "groups": [], "user_permissions": [],
                 "last_login_0": "", "last_login_1": "", "date_joined_0": "2024-01-08", "date_joined_1": "00:00:00",
                 "identities-TOTAL_FORMS": "0", "identities-INITIAL_FORMS": "0"})
    data = {k: v for k, v in data.items() if v is not False}
    response = client.post(f"/admin/accounts/person/{cast.otto.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    event = AuditEvent.objects.get(action="person.deactivate")
    assert (event.actor, event.target_id, event.after["status"]) == (cast.ada, str(cast.otto.pk), "terminated")


def test_the_admin_refuses_to_delete_a_team_with_people_sub_teams_or_policies(login, cast):
    from leaderboard import budgets

    client = login(superuser(cast))
    ghost = Team.objects.create(name="Ghost")
    budgets.create_policy(scope="team", team=ghost, kind="day", amount_usd=Decimal(200),
                          effective_from=timezone.now().date())
    empty = Team.objects.create(name="Empty")
    for team in (cast.sales, cast.engineering, ghost):  # people; a sub-team and people; a budget policy
        assert client.get(f"/admin/accounts/team/{team.pk}/delete/").status_code == 403
        client.post(f"/admin/accounts/team/{team.pk}/delete/", {"post": "yes"})
        assert Team.objects.filter(pk=team.pk).exists()
    # "Delete selected" with one such team among them deletes none, and says why.
    response = client.post("/admin/accounts/team/", {"action": "delete_selected",
                                                     "_selected_action": [ghost.pk, empty.pk], "post": "yes"})
    page = response.content.decode()
    assert "Cannot delete teams" in page and "budget polic" in page
    assert Team.objects.filter(pk__in=[ghost.pk, empty.pk]).count() == 2
    assert ghost.budget_policies.count() == 1
    # A team with nothing in it goes.
    client.post(f"/admin/accounts/team/{empty.pk}/delete/", {"post": "yes"})
    assert not Team.objects.filter(pk=empty.pk).exists()


# --- The audit trail --------------------------------------------------------------------------------


def test_an_audit_event_says_who_did_what_to_what_from_where(cast):
    from accounts import audit

    event = audit.record(actor=cast.ada, action="person.deactivate", target=cast.otto,
                         before={"status": "active", "since": timezone.now().date(), "salary": Decimal("1.50")},
                         after={"status": "terminated"}, address="2001:db8::1")
    event.refresh_from_db()
    assert (event.actor, event.action, event.target_type, event.target_id, event.target_label) == (
        cast.ada, "person.deactivate", "accounts.person", str(cast.otto.pk), "Otto Outsider")
    assert event.before["salary"] == "1.50" and event.address == "2001:db8::1"


def test_the_audit_trail_is_append_only(cast):
    from accounts import audit
    from accounts.models import AuditEvent, AuditIsAppendOnly

    event = audit.record(actor=cast.ada, action="person.deactivate", target=cast.otto)
    event.action = "nothing.happened"
    with pytest.raises(AuditIsAppendOnly):
        event.save()
    with pytest.raises(AuditIsAppendOnly):
        event.delete()
    with pytest.raises(AuditIsAppendOnly):
        AuditEvent.objects.filter(pk=event.pk).update(action="nothing.happened")
    with pytest.raises(AuditIsAppendOnly):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get().action == "person.deactivate"


def test_the_admin_shows_the_audit_trail_read_only(login, cast):
    from accounts import audit

    event = audit.record(actor=cast.ada, action="person.deactivate", target=cast.otto, address="192.0.2.1")
    client = login(superuser(cast))
    listing = client.get("/admin/accounts/auditevent/")
    assert listing.status_code == 200 and "person.deactivate" in listing.content.decode()
    assert 'value="delete_selected"' not in listing.content.decode()
    assert client.get("/admin/accounts/auditevent/add/").status_code == 403
    page = client.get(f"/admin/accounts/auditevent/{event.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert client.post(f"/admin/accounts/auditevent/{event.pk}/change/", {"action": "x"}).status_code == 403
    assert client.get(f"/admin/accounts/auditevent/{event.pk}/delete/").status_code == 403
