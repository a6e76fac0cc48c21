"""Admins mapping identities by hand (leaderboard/identities.py): a mapping moves the identity's whole
history and the API keys hanging off it, its reverse puts everything back, and the audit trail says
who did what.

The rows are real: Anthropic's usage report for two API keys, its key list (both keys created by the
account ``user_erin``) and its user list (that account is erin@example.com), imported the way an
upload is."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.db.models import Count, Sum

from accounts.models import AuditEvent, ProviderIdentity
from leaderboard import identities
from leaderboard.models import DailyUsage, PersonDay
from tests.test_imports import run

KEYS = ("apikey_1", "apikey_2")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def usage_report(day: str = "2026-10-01") -> dict:
    """A day of usage on each key: 1,000,000 uncached input and 100,000 output tokens."""
    return {"data": [{"starting_at": f"{day}T00:00:00Z", "ending_at": "2026-10-02T00:00:00Z", "results": [
        {"account_id": None, "api_key_id": key, "model": "claude-sonnet-4-5-20250929",
         "uncached_input_tokens": 1_000_000, "cache_read_input_tokens": 0, "output_tokens": 100_000,
         "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}}
        for key in KEYS
    ]}], "has_more": False, "next_page": None}


@pytest.fixture
def erins_keys(cast):
    """Erin's account and the two API keys she created, with their usage, all hers."""
    run(json.dumps(usage_report()).encode(), name="usage.json")
    run(json.dumps({"data": [{"id": key, "type": "api_key", "name": f"erin-{key}", "status": "active",
                              "created_by": {"id": "user_erin", "type": "user"}} for key in KEYS],
                    "has_more": False}).encode(), name="keys.json")
    run(json.dumps({"data": [{"id": "user_erin", "type": "user", "email": "erin@example.com", "name": "Erin"}],
                    "has_more": False}).encode(), name="users.json")
    account = ProviderIdentity.objects.get(vendor="anthropic", kind="account_id", value="user_erin")
    assert set(account.linked_identities.filter(kind="api_key").values_list("value", flat=True)) == set(KEYS)
    return cast, account


def owners() -> dict[tuple[str, str], int | None]:
    return {(i.kind, i.value): i.person_id for i in ProviderIdentity.objects.all()}


def totals() -> dict:
    """Per person: the rollups the boards read, DailyUsage and PersonDay."""
    daily = DailyUsage.objects.values("person_id").annotate(
        tokens=Sum("total_tokens"), cost=Sum("cost_usd"), rows=Count("pk")).order_by("person_id")
    days = PersonDay.objects.values("person_id").annotate(
        tokens=Sum("total_tokens"), cost=Sum("cost_usd"), rows=Count("pk")).order_by("person_id")
    return {"daily": list(daily), "days": list(days)}


def test_it_moves_the_account_and_its_keys_with_their_history_to_another_person(erins_keys):
    cast, account = erins_keys
    identities.assign_identity(identity=account, person=cast.lee, by=cast.ada)

    assert set(owners().values()) == {cast.lee.pk}
    assert not PersonDay.objects.filter(person=cast.erin).exists()
    assert PersonDay.objects.get(person=cast.lee).total_tokens == 2 * 1_100_000


def test_mapping_an_account_to_the_wrong_person_and_back_restores_exactly_what_was(erins_keys):
    cast, account = erins_keys
    before_owners, before_totals = owners(), totals()
    assert set(before_owners.values()) == {cast.erin.pk}

    identities.assign_identity(identity=account, person=cast.lee, by=cast.ada)
    identities.assign_identity(identity=account, person=cast.erin, by=cast.ada)

    # The keys followed the account there and back: nothing (no tokens, no dollars) stays with Lee.
    assert owners() == before_owners
    assert totals() == before_totals
    assert not DailyUsage.objects.filter(person=cast.lee).exists()
    # Only the account carries the admin's name; the keys still just follow it.
    keys = ProviderIdentity.objects.filter(kind="api_key")
    assert ProviderIdentity.objects.get(pk=account.pk).mapped_by == cast.ada
    assert list(keys.values_list("mapped_by", flat=True)) == [None, None]


def test_an_admins_own_mapping_of_a_key_still_wins_over_its_account(erins_keys):
    cast, account = erins_keys
    key = ProviderIdentity.objects.get(kind="api_key", value=KEYS[0])
    identities.assign_identity(identity=key, person=cast.otto, by=cast.ada)  # a shared key, say

    identities.assign_identity(identity=account, person=cast.lee, by=cast.ada)
    identities.assign_identity(identity=account, person=cast.erin, by=cast.ada)

    assert ProviderIdentity.objects.get(pk=key.pk).person == cast.otto
    assert ProviderIdentity.objects.get(kind="api_key", value=KEYS[1]).person == cast.erin


def test_a_later_identity_list_still_moves_keys_that_followed_an_admins_mapping(erins_keys):
    from leaderboard.ingestion.rows import IdentityKey, IdentityRow

    cast, account = erins_keys
    identities.assign_identity(identity=account, person=cast.lee, by=cast.ada)
    # The provider's key list now says the first key was made by Sam's account.
    ProviderIdentity.objects.create(vendor="anthropic", kind="account_id", value="user_sam", person=cast.sam)
    identities.apply_identity_rows([IdentityRow(IdentityKey("anthropic", "api_key", KEYS[0]),
                                                linked_to=IdentityKey("anthropic", "account_id", "user_sam"))])

    assert ProviderIdentity.objects.get(kind="api_key", value=KEYS[0]).person == cast.sam
    assert ProviderIdentity.objects.get(kind="api_key", value=KEYS[1]).person == cast.lee


def test_it_records_who_mapped_which_identity_from_whom_to_whom(erins_keys):
    cast, account = erins_keys
    identities.assign_identity(identity=account, person=cast.lee, by=cast.ada, address="192.0.2.7")
    identities.mark_service_account(identity=account, by=cast.ada)

    mapped, service = AuditEvent.objects.order_by("pk")
    assert (mapped.actor, mapped.action, mapped.target_type, mapped.target_id, mapped.address) == (
        cast.ada, "identity.map", "accounts.provideridentity", str(account.pk), "192.0.2.7")
    assert (mapped.before["person"], mapped.after["person"]) == ("erin@example.com", "lee@example.com")
    assert len(mapped.after["linked_identities_moved"]) == 4  # two keys, by id and by name
    assert (service.action, service.before["person"], service.after["person"]) == (
        "identity.service_account", "lee@example.com", None)
    assert service.after["service_account"] is True


def test_the_cost_of_the_keys_moves_with_them(erins_keys):
    cast, account = erins_keys
    cost = PersonDay.objects.get(person=cast.erin).cost_usd
    assert cost > Decimal(0)
    identities.assign_identity(identity=account, person=cast.lee, by=cast.ada)
    assert PersonDay.objects.get(person=cast.lee).cost_usd == cost
    identities.assign_identity(identity=account, person=cast.erin, by=cast.ada)
    assert PersonDay.objects.get(person=cast.erin).cost_usd == cost
