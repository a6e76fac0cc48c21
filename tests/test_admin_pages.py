"""Every page of the Django admin answers: for each registered model, its list, its add page (where
adding is allowed) and the change page of one of its rows, as a superuser.

The rows come from the cast and from ``ROWS`` below, one small maker per model the cast has none of;
a model registered later without a maker fails ``test_every_registered_model_has_a_row_to_open``
rather than going untested."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from accounts import audit
from accounts.models import AuditEvent, Person, ProviderIdentity, Team
from leaderboard.models import (
    ActivityRecord,
    BudgetPolicy,
    DailyUsage,
    Exemption,
    Flag,
    FlagEvaluation,
    FlagRule,
    Notification,
    OrgSettings,
    PersonDay,
    UsageExport,
    UsageRecord,
)


def _export(cast) -> UsageExport:
    return UsageExport.objects.create(file="exports/2026/10/usage.csv", original_name="usage.csv", size=120,
                                      sha256="0" * 64, format="generic_csv", status=UsageExport.Status.SUCCEEDED,
                                      uploaded_by=cast.ada)


def _identity(cast) -> ProviderIdentity:
    return ProviderIdentity.objects.get_or_create(vendor="anthropic", kind="email", value=cast.erin.email,
                                                  defaults={"person": cast.erin})[0]


def _usage_record(cast) -> UsageRecord:
    return UsageRecord.objects.create(identity=_identity(cast), vendor="anthropic", source="generic",
                                      day=date(2026, 10, 1), model="claude-sonnet-4-5", input_tokens=10,
                                      export=_export(cast))


def _activity_record(cast) -> ActivityRecord:
    return ActivityRecord.objects.create(identity=_identity(cast), vendor="anthropic", source="claude_code_analytics",
                                         day=date(2026, 10, 1), export=_export(cast))


def _flag(cast) -> Flag:
    rule = FlagRule.objects.order_by("pk").first()
    return Flag.objects.create(rule=rule, person=cast.erin, severity=rule.severity, explanation="Quiet for 14 days.",
                               opened_on=date(2026, 10, 1), updated_on=date(2026, 10, 1))


def _access(model, cast, **fields):
    return model.objects.create(username=cast.erin.email, ip_address="192.0.2.7", user_agent="test",
                                http_accept="text/html", path_info="/login/", **fields)


ROWS = {
    AccessAttempt: lambda cast: _access(AccessAttempt, cast, get_data="", post_data="username=erin", failures_since_start=1),
    AccessFailureLog: lambda cast: _access(AccessFailureLog, cast),
    AccessLog: lambda cast: _access(AccessLog, cast),
    Person: lambda cast: cast.erin,
    Team: lambda cast: cast.platform,
    Group: lambda cast: Group.objects.create(name="Auditors"),
    ProviderIdentity: _identity,
    AuditEvent: lambda cast: audit.record(actor=cast.ada, action="person.deactivate", target=cast.otto,
                                          before={"is_active": True}, after={"is_active": False},
                                          address="192.0.2.1"),
    UsageExport: _export,
    UsageRecord: _usage_record,
    ActivityRecord: _activity_record,
    DailyUsage: lambda cast: DailyUsage.objects.create(person=cast.erin, day=date(2026, 10, 1), vendor="anthropic",
                                                       model="claude-sonnet-4-5", source="generic", total_tokens=10,
                                                       input_tokens=10),
    PersonDay: lambda cast: PersonDay.objects.create(person=cast.erin, day=date(2026, 10, 1), total_tokens=10),
    OrgSettings: lambda cast: OrgSettings.load(),
    BudgetPolicy: lambda cast: BudgetPolicy.objects.create(scope="team", team=cast.platform, kind="day",
                                                           amount_usd=Decimal(150),
                                                           effective_from=timezone.now().date() + timedelta(days=30)),
    FlagRule: lambda cast: FlagRule.objects.order_by("pk").first(),
    Flag: _flag,
    Exemption: lambda cast: Exemption.objects.create(person=cast.erin, reason="On a project without AI",
                                                     starts_on=date(2026, 10, 1), expires_on=date(2030, 1, 1),
                                                     created_by=cast.ada),
    FlagEvaluation: lambda cast: FlagEvaluation.objects.create(as_of=date(2026, 10, 1)),
    Notification: lambda cast: Notification.objects.create(key="digest:maria:2026-10-01", kind="digest",
                                                           recipient=cast.maria),
}


def registered():
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def superuser(cast, login):
    cast.ada.is_superuser = True
    cast.ada.save()
    return login(cast.ada)


def test_every_registered_model_has_a_row_to_open():
    assert {model for model, _ in registered()} <= set(ROWS)


@pytest.mark.parametrize("model", [model for model, _ in registered()], ids=lambda model: model._meta.label)
def test_it_opens_the_list_the_add_page_and_a_change_page_of_every_model(superuser, cast, rf, model):
    model_admin = admin.site._registry[model]
    row = ROWS[model](cast)
    request = rf.get("/")
    request.user = cast.ada

    pages = {"changelist": admin_url(model, "changelist"), "change": admin_url(model, "change", row.pk)}
    if model_admin.has_add_permission(request):
        pages["add"] = admin_url(model, "add")
    # Every page of the model asked, then compared at once: one broken page does not hide another.
    answers = {name: superuser.get(url).status_code for name, url in pages.items()}
    assert answers == dict.fromkeys(pages, 200)
