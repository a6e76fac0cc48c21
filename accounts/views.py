"""The pages of ``accounts``: settings, logging in (password and single sign-on), password resets
within limits, and the audit trail for admins."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator

from . import audit, sso, throttle
from .access import admin_required
from .forms import AuditFilterForm, SettingsForm
from .models import AuditEvent


def settings_view(request):
    person = request.user
    before = {"privacy": person.privacy, "digest": person.digest}
    form = SettingsForm(request.POST or None, instance=person)
    if request.method == "POST" and form.is_valid():
        form.save()
        after = {"privacy": person.privacy, "digest": person.digest}
        if after != before:
            audit.record(actor=person, action="person.settings", target=person, before=before, after=after,
                         address=audit.client_address(request))
        messages.success(request, "Saved. The boards show you accordingly from now on.")
        return redirect("settings")
    return render(request, "accounts/settings.html", {"form": form})


# --- Logging in ---------------------------------------------------------------------------------


def _login_context() -> dict:
    return {"sso_enabled": sso.enabled(), "sso_name": settings.OIDC_PROVIDER_NAME,
            "password_login": settings.PASSWORD_LOGIN}


class LoginView(auth_views.LoginView):
    """Password login beside the single sign-on button; with ``PASSWORD_LOGIN=false`` only the button."""

    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **_login_context()}

    def post(self, request, *args, **kwargs):
        if not settings.PASSWORD_LOGIN:
            raise Http404
        return super().post(request, *args, **kwargs)


def password_login_only(view):
    """Password reset and change exist only while password login does."""

    def wrapper(request, *args, **kwargs):
        if not settings.PASSWORD_LOGIN:
            raise Http404
        return view(request, *args, **kwargs)

    wrapper.__dict__.update(view.__dict__)  # keeps login_not_required and csrf markers
    return wrapper


@method_decorator(password_login_only, name="dispatch")
class PasswordResetView(auth_views.PasswordResetView):
    """At most ``PASSWORD_RESET_PER_ADDRESS`` requests from one address an hour (then a page saying
    until when), and ``PASSWORD_RESET_PER_ACCOUNT`` emails to one account an hour (beyond that the
    same "on its way" page, and no email: nobody learns whether an address is on the roster)."""

    def form_valid(self, form):
        window = settings.PASSWORD_RESET_WINDOW_SECONDS
        address = audit.client_address(self.request) or "unknown"
        by_address = throttle.hit("reset-address", address, limit=settings.PASSWORD_RESET_PER_ADDRESS, window=window)
        if not by_address.allowed:
            return render(self.request, "registration/password_reset_throttled.html",
                          {"retry_at": by_address.retry_at}, status=429)
        by_account = throttle.hit("reset-account", form.cleaned_data["email"],
                                  limit=settings.PASSWORD_RESET_PER_ACCOUNT, window=window)
        if not by_account.allowed:
            return redirect(self.get_success_url())
        return super().form_valid(form)


def sso_refused(request):
    """Where a refused single sign-on lands: why, in words, and no account."""
    refusal = request.session.pop(sso.REFUSAL, None) or {"reason": "cancelled", "email": ""}
    text = sso.REASONS.get(refusal["reason"], sso.REASONS["cancelled"]).format(
        email=refusal.get("email") or "That address", domains=", ".join(settings.OIDC_ALLOWED_DOMAINS))
    return render(request, "registration/sso_refused.html", {"text": text, **_login_context()}, status=403)


# --- The audit trail (admins) -------------------------------------------------------------------

PER_PAGE = 100


@admin_required
def audit_log(request):
    form = AuditFilterForm(request.GET)
    events = form.apply(AuditEvent.objects.select_related("actor"))
    page = Paginator(events, PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "accounts/audit.html", {"form": form, "page": page, "query": query.urlencode()})
