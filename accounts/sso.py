"""Single sign-on with OpenID Connect, on mozilla-django-oidc (README "Security" says why that one).

Configured from the environment (settings: ``OIDC_ISSUER`` for discovery, or the endpoints one by one;
``OIDC_CLIENT_ID``, ``OIDC_CLIENT_SECRET``, ``OIDC_ALLOWED_DOMAINS``). What this module adds to the
library:

- discovery (``/.well-known/openid-configuration``), fetched on first use and kept for an hour;
- the ID token checked in full: signature and algorithm, audience (the library skips it), issuer,
  expiry, issue time, nonce;
- people matched to the roster by a *verified* email of an allowed domain; nobody is ever created,
  and someone not on the roster (or deactivated) gets a page saying so instead of an account.
"""

from __future__ import annotations

import logging
import time

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.http import Http404, HttpResponseRedirect
from django.views.generic import View
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

log = logging.getLogger(__name__)

DISCOVERY_TTL = 60 * 60
LEEWAY_SECONDS = 60
REFUSAL = "sso_refusal"

# Why a sign-in was refused, as the refusal page says it (accounts/views.py).
REASONS = {
    "not_on_roster": "Your sign-in worked, but {email} is not on the company roster, so there is no account "
                     "for it here. Ask an admin to add you to the roster (or to correct your email there).",
    "deactivated": "{email} belongs to someone who has left or whose access was switched off.",
    "unverified_email": "Your identity provider has not verified the email {email}, so it cannot be matched to "
                        "the roster. Verify it with your provider, then sign in again.",
    "domain": "{email} is not an address of the organisation (allowed: {domains}).",
    "no_email": "Your identity provider sent no email address, so you cannot be matched to the roster.",
    "token": "The identity provider's answer could not be trusted (its token was not meant for this app, "
             "was expired, or was not signed by the provider). Try again; if it keeps happening, tell an admin.",
    "provider": "The identity provider could not be reached or refused the sign-in. Try again in a minute.",
    "cancelled": "The sign-in was cancelled or refused at the identity provider.",
}

_discovered: dict[str, tuple[float, dict]] = {}


def enabled() -> bool:
    return bool(settings.OIDC_RP_CLIENT_ID and (settings.OIDC_ISSUER or settings.OIDC_OP_AUTHORIZATION_ENDPOINT))


def _discovery(issuer: str) -> dict:
    fetched = _discovered.get(issuer)
    if fetched and time.monotonic() - fetched[0] < DISCOVERY_TTL:
        return fetched[1]
    response = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=settings.OIDC_TIMEOUT)
    response.raise_for_status()
    config = response.json()
    # OpenID Connect Discovery §4.3: the document must name the issuer it was fetched from.
    if config.get("issuer", "").rstrip("/") != issuer:
        raise ImproperlyConfigured(f"The discovery document of {issuer} names another issuer: {config.get('issuer')!r}")
    _discovered[issuer] = (time.monotonic(), config)
    return config


def endpoint(name: str) -> str:
    """An endpoint of the provider: the explicit setting, else discovery ("token_endpoint", ...)."""
    explicit = {
        "authorization_endpoint": settings.OIDC_OP_AUTHORIZATION_ENDPOINT, "token_endpoint": settings.OIDC_OP_TOKEN_ENDPOINT,
        "userinfo_endpoint": settings.OIDC_OP_USER_ENDPOINT, "jwks_uri": settings.OIDC_OP_JWKS_ENDPOINT,
    }[name]
    if explicit or not settings.OIDC_ISSUER:
        return explicit
    return _discovery(settings.OIDC_ISSUER).get(name, "")


def forget_discovery() -> None:
    _discovered.clear()


class Refused(Exception):
    def __init__(self, reason: str, email: str = ""):
        super().__init__(reason)
        self.reason, self.email = reason, email


class RosterOIDCBackend(OIDCAuthenticationBackend):
    """Authenticates the OpenID Connect code flow's answer; inert while SSO is not configured."""

    def __init__(self, *args, **kwargs):
        # The library reads every setting here and refuses to start without them; ours are read
        # when a sign-in happens, so an install without SSO needs none of them.
        self.UserModel = get_user_model()

    OIDC_OP_TOKEN_ENDPOINT = property(lambda self: endpoint("token_endpoint"))
    OIDC_OP_USER_ENDPOINT = property(lambda self: endpoint("userinfo_endpoint"))
    OIDC_OP_JWKS_ENDPOINT = property(lambda self: endpoint("jwks_uri"))
    OIDC_RP_CLIENT_ID = property(lambda self: settings.OIDC_RP_CLIENT_ID)
    OIDC_RP_CLIENT_SECRET = property(lambda self: settings.OIDC_RP_CLIENT_SECRET)
    OIDC_RP_SIGN_ALGO = property(lambda self: settings.OIDC_RP_SIGN_ALGO)
    OIDC_RP_IDP_SIGN_KEY = None

    def get_user(self, user_id):
        # Django's check, which the library's own get_user skips: a person deactivated after signing in
        # is logged out at their next request.
        return ModelBackend.get_user(self, user_id)

    def authenticate(self, request, **kwargs):
        if not enabled() or request is None:
            return None
        try:
            return super().authenticate(request, **kwargs)
        except Refused as refused:
            self._refuse(request, refused)
        except (SuspiciousOperation, jwt.InvalidTokenError) as error:
            log.warning("Single sign-on refused: %s", error)
            self._refuse(request, Refused("token"))
        except (requests.RequestException, ValueError, KeyError) as error:
            log.warning("Single sign-on failed at the provider: %s", type(error).__name__)
            self._refuse(request, Refused("provider"))
        return None

    @staticmethod
    def _refuse(request, refused: Refused) -> None:
        request.session[REFUSAL] = {"reason": refused.reason, "email": refused.email}

    def _verify_jws(self, payload, key):
        """The ID token, verified in full (the library leaves the audience unchecked)."""
        header = jwt.get_unverified_header(payload)
        if header.get("alg") != self.OIDC_RP_SIGN_ALGO:
            raise SuspiciousOperation(f"ID token signed with {header.get('alg')!r}, not {self.OIDC_RP_SIGN_ALGO}")
        claims = jwt.decode(
            payload, key, algorithms=[self.OIDC_RP_SIGN_ALGO], audience=self.OIDC_RP_CLIENT_ID,
            issuer=settings.OIDC_ISSUER or None, leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "aud", "sub"]},
        )
        audience = claims["aud"]
        if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != self.OIDC_RP_CLIENT_ID:
            raise SuspiciousOperation("ID token for several audiences without this app as its authorized party")
        return claims

    def get_userinfo(self, access_token, id_token, payload):
        """The verified ID token's claims; the userinfo endpoint only fills in an email it lacks (and
        must be about the same subject)."""
        claims = dict(payload)
        if not claims.get("email") and self.OIDC_OP_USER_ENDPOINT and access_token:
            extra = super().get_userinfo(access_token, id_token, payload)
            if extra.get("sub") != claims.get("sub"):
                raise SuspiciousOperation("The userinfo endpoint answered about another subject")
            claims = {**extra, **claims, "email": extra.get("email"), "email_verified": extra.get("email_verified")}
        return claims

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        email = (claims.get("email") or "").strip().lower()
        if not email:
            raise Refused("no_email")
        if claims.get("email_verified") not in (True, "true"):
            raise Refused("unverified_email", email)
        domain = email.rpartition("@")[2]
        if settings.OIDC_ALLOWED_DOMAINS and domain not in settings.OIDC_ALLOWED_DOMAINS:
            raise Refused("domain", email)
        person = self.UserModel.objects.filter(email__iexact=email).first()
        if person is None:
            raise Refused("not_on_roster", email)
        if not self.user_can_authenticate(person) or person.status == person.Status.TERMINATED:
            raise Refused("deactivated", email)
        return person


class LoginView(OIDCAuthenticationRequestView):
    """Sends the browser to the provider (with state, nonce and PKCE); a 404 while SSO is off."""

    def __init__(self, **kwargs):
        View.__init__(self, **kwargs)

    OIDC_OP_AUTH_ENDPOINT = property(lambda self: endpoint("authorization_endpoint"))
    OIDC_RP_CLIENT_ID = property(lambda self: settings.OIDC_RP_CLIENT_ID)

    def get(self, request):
        if not enabled():
            raise Http404
        try:
            return super().get(request)
        except (requests.RequestException, ValueError, ImproperlyConfigured) as error:
            log.warning("Single sign-on: the provider's discovery failed: %s", error)
            request.session[REFUSAL] = {"reason": "provider", "email": ""}
            return HttpResponseRedirect(settings.LOGIN_REDIRECT_URL_FAILURE)


class CallbackView(OIDCAuthenticationCallbackView):
    def get(self, request):
        if not enabled():
            raise Http404
        return super().get(request)

    def login_failure(self):
        session = self.request.session
        if REFUSAL not in session:
            session[REFUSAL] = {"reason": "cancelled" if self.request.GET.get("error") else "token", "email": ""}
        return super().login_failure()
