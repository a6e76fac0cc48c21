"""What django-axes is told about logins: whose account an attempt was for, which requests it leaves
alone, and the page a locked-out person sees (saying until when)."""

from __future__ import annotations

from datetime import timedelta

from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max, Q
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from .audit import client_address


def username_of(request, credentials: dict | None) -> str:
    """The account an attempt was for, as the login form and the database know it: "ERIN@example.com"
    and "erin@example.com " are one account, so varying the case gets no extra tries."""
    value = (credentials or {}).get(settings.AXES_USERNAME_FORM_FIELD)
    if value is None and request is not None:
        value = request.POST.get(settings.AXES_USERNAME_FORM_FIELD)
    return (value or "").strip().lower()


def is_single_sign_on(request, credentials: dict | None) -> bool:
    """The OpenID Connect callback is no password guess (the provider checked the person): its
    refusals (not on the roster, an unverified email) must not lock an office's address out."""
    return request is not None and request.path == reverse("oidc_authentication_callback")


def locked_until(request, credentials: dict | None = None):
    """When the lock on this account or this address lifts: the cool-off after the last failure."""
    username = username_of(request, credentials)
    ip = client_address(request)
    who = Q(ip_address=ip) if ip else Q(pk__in=[])
    if username:
        who |= Q(username=username)
    last = AccessAttempt.objects.filter(who, failures_since_start__gte=settings.AXES_FAILURE_LIMIT).aggregate(
        last=Max("attempt_time"))["last"]
    cool_off = get_cool_off(request) or timedelta(0)
    return (last or timezone.now()) + cool_off


def lockout_response(request, original_response=None, credentials=None):
    until = locked_until(request, credentials)
    minutes = max(1, round((until - timezone.now()).total_seconds() / 60))
    response = render(request, "registration/locked_out.html", {
        "until": until, "minutes": minutes, "failure_limit": settings.AXES_FAILURE_LIMIT,
    }, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response
