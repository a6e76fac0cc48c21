"""Single sign-on against a real OpenID Connect provider on 127.0.0.1 (tests/oidc_provider.py): the
whole code flow through HTTP, and each way a sign-in must be refused without an account."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from accounts import sso
from accounts.models import AuditEvent, Person
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider


@pytest.fixture
def provider(settings):
    running = Provider().start()
    settings.OIDC_ISSUER = running.issuer
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_ALLOWED_DOMAINS = ["example.com"]
    sso.forget_discovery()
    yield running
    running.stop()
    sso.forget_discovery()


def sign_in(client, provider: Provider, **claims):
    """A browser's round trip: our login redirects to the provider, the provider (the person signs in
    there) redirects back with a code, our callback exchanges it. Returns the callback's response."""
    provider.next_claims = claims
    start = client.get("/login/sso/?next=/me/")
    assert start.status_code == 302 and start.url.startswith(f"{provider.issuer}/authorize?")
    at_provider = requests.get(start.url, allow_redirects=False, timeout=10)
    assert at_provider.status_code == 302, at_provider.text
    back = urlparse(at_provider.headers["Location"])
    return client.get(f"{back.path}?{back.query}")


def signed_in_as(client) -> int | None:
    value = client.session.get("_auth_user_id")
    return int(value) if value else None


def test_it_signs_a_person_on_the_roster_in_by_their_verified_email(client, cast, provider):
    response = sign_in(client, provider, email="Erin@Example.com")

    assert response.status_code == 302 and response.url == "/me/"
    assert signed_in_as(client) == cast.erin.pk
    assert client.get("/me/").status_code == 200


def test_it_asks_the_provider_with_state_nonce_and_pkce_and_sends_the_secret_only_to_the_token_endpoint(
        client, cast, provider):
    start = client.get("/login/sso/")
    asked = {k: v[0] for k, v in parse_qs(urlparse(start.url).query).items()}
    assert asked["client_id"] == CLIENT_ID and asked["response_type"] == "code"
    assert len(asked["state"]) >= 32 and len(asked["nonce"]) >= 32
    assert asked["code_challenge_method"] == "S256" and asked["code_challenge"]
    assert CLIENT_SECRET not in start.url
    assert "openid" in asked["scope"].split() and "email" in asked["scope"].split()


def test_it_finds_the_provider_by_discovery_or_by_explicit_endpoints(client, cast, provider, settings):
    settings.OIDC_ISSUER = ""
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{provider.issuer}/authorize"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{provider.issuer}/token"
    settings.OIDC_OP_JWKS_ENDPOINT = f"{provider.issuer}/jwks"
    # Without an issuer to check the token against, every other check still holds.
    sign_in(client, provider, email="erin@example.com")
    assert signed_in_as(client) == cast.erin.pk


def test_it_rotates_the_session_key_when_signing_in(client, cast, provider):
    provider.next_claims = {"email": "erin@example.com"}
    start = client.get("/login/sso/")
    before = client.cookies["sessionid"].value  # the anonymous session holding the state and nonce
    back = urlparse(requests.get(start.url, allow_redirects=False, timeout=10).headers["Location"])
    client.get(f"{back.path}?{back.query}")
    assert signed_in_as(client) == cast.erin.pk
    assert client.cookies["sessionid"].value != before


@pytest.mark.parametrize(("claims", "reason"), [
    ({"email": "erin@example.com", "aud": "another-app"}, "not meant for this app"),
    ({"email": "erin@example.com", "iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600}, "was expired"),
    ({"email": "erin@example.com", "iss": "https://evil.example"}, "could not be trusted"),
    ({"email": "erin@example.com", "email_verified": False}, "has not verified the email"),
    ({"email": "erin@example.com", "email_verified": None}, "has not verified the email"),
    ({"email": "stranger@example.com"}, "is not on the company roster"),
    ({"email": None}, "sent no email address"),
], ids=["wrong-audience", "expired", "wrong-issuer", "unverified-email", "no-verified-claim", "not-on-roster",
        "no-email"])
def test_it_refuses_a_sign_in_with_a_page_saying_why_and_creates_nobody(client, cast, provider, claims, reason):
    people = Person.objects.count()
    response = sign_in(client, provider, **claims)

    assert response.status_code == 302 and response.url == "/login/sso/refused/"
    page = client.get(response.url)
    assert page.status_code == 403 and reason in page.content.decode()
    assert signed_in_as(client) is None
    assert Person.objects.count() == people
    assert client.get("/me/").status_code == 302


def test_the_userinfo_endpoint_fills_in_an_email_the_id_token_lacks_for_the_same_subject_only(
        client, cast, provider):
    provider.userinfo = {"sub": "subject-1", "email": "erin@example.com", "email_verified": True}
    sign_in(client, provider, email=None)
    assert signed_in_as(client) == cast.erin.pk
    client.post("/logout/")

    provider.userinfo = {"sub": "someone-else", "email": "erin@example.com", "email_verified": True}
    response = sign_in(client, provider, email=None)
    assert "could not be trusted" in client.get(response.url).content.decode()
    assert signed_in_as(client) is None


def test_it_refuses_an_email_of_a_domain_that_is_not_allowed_even_when_on_the_roster(client, cast, provider):
    Person.objects.create_user("pat@contractor.example", None, name="Pat Contractor")
    response = sign_in(client, provider, email="pat@contractor.example")
    page = client.get(response.url).content.decode()
    assert "is not an address of the organisation" in page and "example.com" in page
    assert signed_in_as(client) is None


def test_it_refuses_someone_who_has_left(client, cast, provider):
    Person.objects.filter(pk=cast.otto.pk).update(status=Person.Status.TERMINATED, is_active=False)
    response = sign_in(client, provider, email="otto@example.com")
    assert "has left" in client.get(response.url).content.decode()
    assert signed_in_as(client) is None


def test_it_refuses_a_token_signed_by_another_key(client, cast, provider):
    provider.sign_with = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    response = sign_in(client, provider, email="erin@example.com")
    assert "could not be trusted" in client.get(response.url).content.decode()
    assert signed_in_as(client) is None


def test_a_code_is_exchanged_once(client, cast, provider):
    provider.next_claims = {"email": "erin@example.com"}
    start = client.get("/login/sso/")
    back = urlparse(requests.get(start.url, allow_redirects=False, timeout=10).headers["Location"])
    client.get(f"{back.path}?{back.query}")
    client.post("/logout/")
    # The same answer again (a replay): the state was used up with the first.
    assert client.get(f"{back.path}?{back.query}").status_code in (302, 400)
    assert signed_in_as(client) is None


def test_refused_sign_ins_do_not_lock_the_address_out_of_password_login(client, cast, provider, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT + 2):
        sign_in(client, provider, email="stranger@example.com")
    response = client.post("/login/", {"username": "erin@example.com", "password": "correct horse battery staple"})
    assert response.status_code == 302


def test_password_login_can_be_switched_off(client, cast, provider, settings):
    settings.PASSWORD_LOGIN = False
    page = client.get("/login/").content.decode()
    assert "Sign in with" in page and 'name="password"' not in page
    assert client.post("/login/", {"username": "erin@example.com", "password": "correct horse battery staple"}
                       ).status_code == 404
    assert client.get("/password/reset/").status_code == 404
    assert signed_in_as(client) is None
    sign_in(client, provider, email="erin@example.com")
    assert signed_in_as(client) == cast.erin.pk
    assert client.get("/password/change/").status_code == 404


def test_single_sign_on_is_off_until_configured(client, cast, settings):
    settings.OIDC_RP_CLIENT_ID = ""
    assert "Sign in with" not in client.get("/login/").content.decode()
    assert client.get("/login/sso/").status_code == 404
    assert client.get("/login/sso/callback/?code=x&state=y").status_code == 404


def test_a_signed_in_person_who_is_deactivated_is_logged_out(client, cast, provider):
    sign_in(client, provider, email="erin@example.com")
    Person.objects.filter(pk=cast.erin.pk).update(is_active=False)
    assert client.get("/me/").status_code == 302
    assert not AuditEvent.objects.exists()
