"""Who an unmatched identity probably is (leaderboard/identity_suggestions.py): a suggestion an admin
confirms, from the same name before the @, the same name, or a name inside a key's name; never a
guess between two people."""

from dataclasses import dataclass

from accounts.models import Person
from leaderboard.identity_suggestions import suggest_people


@dataclass
class Identity:
    pk: int
    value: str
    label: str = ""
    person_id: int | None = None
    is_service_account: bool = False


def suggested(cast, *identities):
    found = suggest_people(identities, Person.objects.all())
    return {pk: (s.person.email, s.reason) for pk, s in found.items()}


def test_it_suggests_the_person_with_the_same_name_before_the_at(cast):
    assert suggested(cast, Identity(1, "erin+ci@personal.example")) == {
        1: ("erin@example.com", "same name before the @")}


def test_it_suggests_by_the_name_a_provider_shows(cast):
    assert suggested(cast, Identity(1, "user_01ABC", label="Maria Manager")) == {
        1: ("maria@example.com", "same name")}


def test_it_suggests_by_a_name_inside_a_keys_name(cast):
    assert suggested(cast, Identity(1, "apikey_01", label="sam-lead-laptop")) == {
        1: ("sam@example.com", "name in the key's name")}
    assert suggested(cast, Identity(2, "apikey_02", label="Otto's key")) == {
        2: ("otto@example.com", "name in the key's name")}


def test_it_suggests_nobody_when_a_hint_fits_two_people(cast):
    Person.objects.create_user("erin.other@example.com", None, name="Erin Other")
    assert suggested(cast, Identity(1, "apikey_01", label="erin-laptop")) == {}


def test_it_leaves_mapped_identities_and_service_accounts_alone(cast):
    assert suggested(cast, Identity(1, "erin@personal.example", person_id=cast.erin.pk),
                     Identity(2, "erin@ci.example", is_service_account=True)) == {}
