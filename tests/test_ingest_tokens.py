"""Ingest tokens (leaderboard/telemetry/tokens.py): ``manage.py create_ingest_token`` (a contract), the
admins' Ingest tokens page, revocation, the audit trail, and "last used" without a write per batch."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from leaderboard.models import IngestToken
from leaderboard.telemetry import tokens
from tests import telemetry_bodies as bodies


def export_with(token: str) -> int:
    end = bodies.now_ns()
    body = bodies.as_protobuf(bodies.claude_code_metrics(start=end - bodies.MINUTE, end=end))
    return Client().post("/otlp/v1/metrics", data=body, content_type="application/x-protobuf",
                         headers={"Authorization": f"Bearer {token}"}).status_code


def test_the_command_prints_a_working_token_as_the_last_word(cast, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    out = io.StringIO()
    call_command("create_ingest_token", "CI runners", stdout=out)
    token = out.getvalue().split()[-1]
    assert token.startswith("tbi_") and len(token) > 40
    stored = IngestToken.objects.get()
    assert stored.name == "CI runners" and token not in (stored.secret_sha256, stored.prefix)
    assert export_with(token) == 200
    event = AuditEvent.objects.get(action="ingest_token.create")
    assert token not in str(event.after) and stored.secret_sha256 not in str(event.after)


def test_an_admin_creates_a_token_that_is_shown_once(cast, login, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    admin = login(cast.ada)
    response = admin.post(reverse("ingest_tokens"), {"name": "Engineering laptops"})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    token = response.context["new_token"]
    assert token in response.content.decode()
    assert export_with(token) == 200
    again = admin.get(reverse("ingest_tokens")).content.decode()
    assert token not in again and "Engineering laptops" in again and "Ingest tokens" in again
    event = AuditEvent.objects.get(action="ingest_token.create")
    assert event.actor == cast.ada and event.address == "127.0.0.1"


def test_an_admin_revokes_a_token_and_it_fails_from_then_on(cast, login, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    row, token = tokens.create_token(name="old laptops", by=cast.ada)
    assert export_with(token) == 200
    response = login(cast.ada).post(reverse("ingest_token_revoke", args=[row.pk]), follow=True)
    assert "is revoked" in response.content.decode()
    assert export_with(token) == 401
    revoked = AuditEvent.objects.get(action="ingest_token.revoke")
    assert revoked.before["revoked"] is False and revoked.after["revoked"] is True
    # Revoking twice changes nothing and records nothing more.
    assert tokens.revoke_token(token=row, by=cast.ada) is False
    assert AuditEvent.objects.filter(action="ingest_token.revoke").count() == 1


@pytest.mark.parametrize("who", ["erin", "maria"])
def test_only_admins_see_the_page(cast, login, who):
    client = login(getattr(cast, who))
    assert client.get(reverse("ingest_tokens")).status_code == 404
    assert client.post(reverse("ingest_tokens"), {"name": "mine"}).status_code == 404
    assert not IngestToken.objects.exists()


def test_a_token_needs_a_name(cast, login):
    response = login(cast.ada).post(reverse("ingest_tokens"), {"name": "  "})
    assert response.status_code == 400 and not IngestToken.objects.exists()


def test_last_used_is_written_at_most_once_a_minute(cast, django_assert_num_queries):
    row, token = tokens.create_token(name="laptops", by=None)
    header = f"Bearer {token}"
    with django_assert_num_queries(2):  # the lookup, and the first "last used"
        assert tokens.authenticate(header) == row
    with django_assert_num_queries(1):  # within the minute: the lookup alone
        assert tokens.authenticate(header) == row
    IngestToken.objects.filter(pk=row.pk).update(last_used_at=timezone.now() - timedelta(minutes=2))
    with django_assert_num_queries(2):
        tokens.authenticate(header)
    assert timezone.now() - IngestToken.objects.get().last_used_at < timedelta(seconds=5)
