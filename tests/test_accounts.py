"""People, identities and the pages every person has: login, settings, the roster upload."""

import gc
import threading
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from accounts import backends
from accounts.backends import PersonBackend
from accounts.models import Person, ProviderIdentity
from tests.conftest import PASSWORD


def test_it_logs_people_in_by_email_whatever_the_case(client, cast):
    assert client.login(username="ERIN@Example.COM", password=PASSWORD)


def test_each_request_loads_the_person_the_orm_would(cast):
    # Every column through the compiled lookup, converters included: a decimal, dates, a timestamp.
    erin = cast.erin
    erin.annual_base_salary, erin.work_percent, erin.last_login = Decimal("182500.10"), 80, timezone.now()
    erin.save()
    loaded = PersonBackend().get_user(str(erin.pk))
    expected = Person.objects.get(pk=erin.pk)
    names = [field.attname for field in Person._meta.concrete_fields]
    assert [getattr(loaded, name) for name in names] == [getattr(expected, name) for name in names]
    assert loaded._state.adding is False and loaded._state.db == "default"


def test_no_one_is_loaded_for_an_unknown_a_malformed_an_impossible_or_a_deactivated_id(cast):
    backend = PersonBackend()
    Person.objects.filter(pk=cast.otto.pk).update(is_active=False)
    assert backend.get_user(str(cast.erin.pk)) == cast.erin
    assert backend.get_user("999999") is None
    assert backend.get_user("not a number") is None
    assert backend.get_user(str(2**63)) is None  # more than the column holds: nobody, as with the ORM
    assert backend.get_user(str(cast.otto.pk)) is None


def test_requests_load_their_person_through_a_lookup_compiled_once(client, cast, monkeypatch):
    compiled, original = [], backends._CompiledLookup

    class Counted(original):
        def __init__(self, connection):
            compiled.append(connection.alias)
            super().__init__(connection)

    monkeypatch.setattr(backends, "_CompiledLookup", Counted)
    monkeypatch.setattr(PersonBackend, "_compiled", threading.local())
    client.force_login(cast.erin)
    for _ in range(3):
        assert client.get("/me/").context["person"] == cast.erin
    assert compiled == ["default"]


def test_a_thread_that_ends_lets_its_compiled_lookup_and_connection_go(cast):
    def ask():
        PersonBackend().get_user(str(cast.erin.pk))
        connections.close_all()

    threads = [threading.Thread(target=ask) for _ in range(5)]
    for thread in threads:
        thread.start()
        thread.join()
    gc.collect()
    assert not [kept for kept in gc.get_objects() if isinstance(kept, backends._CompiledLookup)
                and kept.compiler.connection is not connections["default"]]


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


def test_it_knows_everyone_below_a_manager(cast):
    assert set(cast.maria.report_ids()) == {cast.erin.pk, cast.sam.pk, cast.lee.pk}
    assert cast.sam.report_ids() == [cast.lee.pk]
    assert cast.maria.can_see_person(cast.lee)
    assert not cast.sam.can_see_person(cast.erin)
    assert cast.ada.can_see_person(cast.otto)


def test_it_saves_my_privacy_choice(login, cast):
    client = login(cast.erin)
    response = client.post("/settings/", {"privacy": "hidden", "digest": "weekly"})
    assert response.status_code == 302
    cast.erin.refresh_from_db()
    assert cast.erin.privacy == "hidden"


def test_it_shows_the_roster_upload_to_admins_only(login, cast):
    assert login(cast.erin).get("/people/import/").status_code == 404
    assert login(cast.ada).get("/people/import/").status_code == 200


def test_it_imports_a_roster_uploaded_by_an_admin(login, cast):
    roster = b"email,name,team,manager_email\nnew.person@example.com,New Person,Sales,otto@example.com\n"
    response = login(cast.ada).post(
        "/people/import/", {"file": SimpleUploadedFile("roster.csv", roster)}, follow=True
    )
    assert "1 created" in response.content.decode()
    assert Person.objects.get(email="new.person@example.com").manager == cast.otto


def test_it_shows_why_a_roster_was_refused_and_changes_nothing(login, cast):
    roster = b"email,name,manager_email\nnew.person@example.com,New Person,nobody@example.com\n"
    response = login(cast.ada).post("/people/import/", {"file": SimpleUploadedFile("roster.csv", roster)})
    page = response.content.decode()
    assert "roster.csv line 2" in page and "nobody@example.com" in page
    assert not Person.objects.filter(email="new.person@example.com").exists()


@pytest.mark.parametrize("path", ["/admin/accounts/person/", "/admin/accounts/provideridentity/",
                                  "/admin/accounts/team/", "/admin/leaderboard/usageexport/",
                                  "/admin/leaderboard/usagerecord/", "/admin/leaderboard/dailyusage/",
                                  "/admin/leaderboard/flag/", "/admin/leaderboard/budgetpolicy/",
                                  "/admin/leaderboard/notification/", "/admin/leaderboard/exemption/"])
def test_it_lists_every_model_in_the_django_admin(login, cast, path):
    cast.ada.is_superuser = True
    cast.ada.save()
    assert login(cast.ada).get(path + "?q=erin").status_code == 200
