"""The permission matrix: every URL pattern of the URL configuration, requested as each role, with
GET and with each POST action (htmx too), against one declared table of outcomes.

The patterns are walked from the resolver, so a view added tomorrow is in this test the moment it
exists, and fails it until the table says who may open it. A refused request changes nothing (rows,
the audit trail, emails, queued tasks); an id that is someone else's answers exactly like an id that
does not exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.apps import apps
from django.core import mail
from django.core.cache import cache as django_cache
from django.db import transaction
from django.test import Client
from django.urls import URLResolver, get_resolver
from django.utils import timezone

from leaderboard import cache
from tests import security_world

ROLES = ("anonymous", "employee", "other_team", "manager", "other_manager", "admin")
WHO = {"anonymous": None, "employee": "erin", "other_team": "otto", "manager": "maria", "other_manager": "sam",
       "admin": "ada"}
# Outcomes: "ok" (2xx), "redirect" (done, sent on), "login" (sent to log in), "admin_login", or the status.
L, OK, R, N, NA, F = "login", "ok", "redirect", "404", "405", "403"
EVERYONE = (L, OK, OK, OK, OK, OK)
ADMINS = (L, N, N, N, N, OK)
ADMINS_DO = (L, N, N, N, N, R)
REVIEWERS = (L, N, N, OK, OK, OK)  # anyone with reports, and admins
POST_ONLY = (L, NA, NA, NA, NA, NA)
ADMIN_POST_ONLY = (L, N, N, N, N, NA)
PUBLIC = (OK, OK, OK, OK, OK, OK)
HTMX = {"HTTP_HX_REQUEST": "true"}
TOMORROW = (timezone.now().date() + timedelta(days=1)).isoformat()
LATER = (timezone.now().date() + timedelta(days=50)).isoformat()


@dataclass
class Req:
    expect: tuple
    method: str = "GET"
    data: dict | None = None
    htmx: bool = False
    ids: dict = field(default_factory=dict)  # path parameters (callables of the world)
    label: str = ""


def ids(**found):
    return found


ERIN = ids(pk=lambda w: w.cast.erin.pk)
FLAG = ids(pk=lambda w: w.flag.pk)
EXPORT = ids(pk=lambda w: w.export.pk)
CONNECTION = ids(pk=lambda w: w.connection.pk)


def flag_action(action: str, data: dict, expect: tuple) -> list[Req]:
    path = {**FLAG, "action": lambda w: action}
    return [Req(expect, "POST", data, ids=path, label=action),
            Req(tuple(OK if e == R else e for e in expect), "POST", data, htmx=True, ids=path, label=f"{action}, htmx")]


REVIEWER_ACTS = (L, N, N, R, N, R)  # Maria is above Erin; Sam manages Lee, not Erin
ANSWERS = (L, R, N, N, N, N)  # only the person the flag is about answers it

TABLE: dict[str, list[Req]] = {
    "": [Req(EVERYONE), Req(EVERYONE, htmx=True, data={"period": "7d"}), Req(POST_ONLY[:1] + (OK,) * 5, "POST")],
    "board.csv": [Req(EVERYONE)],
    "board/models/": [Req(EVERYONE, htmx=True)],
    "teams/": [Req(EVERYONE), Req(EVERYONE, htmx=True)],
    "teams.csv": [Req(EVERYONE)],
    "teams/<int:pk>/": [Req(EVERYONE, ids=ids(pk=lambda w: w.cast.engineering.pk)),
                        Req((L, N, N, N, N, N), ids=ids(pk=lambda w: 999_999), label="no such team")],
    "me/": [Req(EVERYONE), Req(EVERYONE, htmx=True)],
    "me/ccusage/": [Req(POST_ONLY), Req((L, R, R, R, R, R), "POST", {})],
    "me/data.json": [Req(EVERYONE)],
    "people/<int:pk>/": [
        Req(EVERYONE, ids=ERIN),  # a named colleague: board numbers for everyone, the whole page for some
        Req((L, N, N, OK, OK, OK), ids=ids(pk=lambda w: w.hidden.pk), label="hidden Lee"),
        Req((L, N, N, OK, OK, OK), htmx=True, ids=ids(pk=lambda w: w.hidden.pk), label="hidden Lee, htmx"),
        Req((L, N, N, N, N, OK), ids=ids(pk=lambda w: w.left.pk), label="someone who left"),
    ],
    "people/<int:pk>/erase/": [
        Req(ADMINS, ids=ids(pk=lambda w: w.left.pk)),
        Req(ADMINS_DO, "POST", {"confirm": "on"}, ids=ids(pk=lambda w: w.left.pk)),
        Req((L, N, N, N, N, "409"), "POST", {"confirm": "on"}, ids=ERIN, label="someone still here"),
    ],
    "people/import/": [Req(ADMINS), Req(ADMINS, "POST", {})],
    "people/roster-template.csv": [Req(ADMINS)],
    "imports/": [Req(ADMINS), Req(ADMINS, "POST", {})],
    "imports/<int:pk>/": [Req(ADMINS, ids=EXPORT), Req(ADMINS, ids=ids(pk=lambda w: w.own_upload.pk), label="own")],
    "imports/<int:pk>/progress/": [Req(ADMINS, htmx=True, ids=EXPORT)],
    "imports/<int:pk>/retry/": [Req(ADMIN_POST_ONLY, ids=EXPORT), Req(ADMINS_DO, "POST", {}, ids=EXPORT)],
    "imports/held/": [Req(ADMINS)],
    "imports/<int:pk>/review/": [Req(ADMIN_POST_ONLY, ids=EXPORT),
                                 Req(ADMINS_DO, "POST", {"decision": "reject", "reason": "matrix"}, ids=EXPORT)],
    "imports/<int:pk>/download/": [Req(ADMINS, ids=EXPORT),
                                   Req(ADMINS, ids=ids(pk=lambda w: w.own_upload.pk), label="own upload")],
    "identities/": [Req(ADMINS)],
    "identities/<int:pk>/map/": [
        Req(ADMIN_POST_ONLY, ids=ids(pk=lambda w: w.identity.pk)),
        Req(ADMINS_DO, "POST", {"person": "erin@example.com", "action": "map"}, ids=ids(pk=lambda w: w.identity.pk)),
        Req(ADMINS, "POST", {"action": "service"}, htmx=True, ids=ids(pk=lambda w: w.identity.pk), label="htmx"),
    ],
    "identities/map/": [
        Req(ADMIN_POST_ONLY),
        Req(ADMINS, "POST", {"ids": [lambda w: w.identity.pk], "person": "erin@example.com", "action": "map"},
            label="asks to confirm"),
        Req(ADMINS_DO, "POST", {"ids": [lambda w: w.identity.pk], "person": "erin@example.com", "action": "map",
                                "confirm": "on"}, label="confirmed"),
    ],
    "review/": [Req(REVIEWERS), Req(REVIEWERS, htmx=True)],
    "review.csv": [Req(REVIEWERS)],
    "review/bulk/": [Req((L, NA, NA, NA, NA, NA)),
                     Req((L, N, N, R, N, R), "POST", {"ids": [lambda w: w.flag.pk], "action": "acknowledge"}),
                     Req((L, N, N, OK, N, OK), "POST", {"ids": [lambda w: w.flag.pk], "action": "acknowledge"},
                         htmx=True, label="htmx")],
    "review/<int:pk>/": [Req((L, OK, N, OK, N, OK), ids=FLAG),
                         Req((L, OK, N, OK, N, OK), htmx=True, ids=FLAG, label="a queue row's menu")],
    "review/<int:pk>/<slug:action>/": [
        Req(POST_ONLY, ids={**FLAG, "action": lambda w: "acknowledge"}),
        Req((L, N, N, N, N, N), "POST", {}, ids={**FLAG, "action": lambda w: "frobnicate"}, label="unknown action"),
        *flag_action("acknowledge", {}, REVIEWER_ACTS),
        *flag_action("snooze", {"until": TOMORROW}, REVIEWER_ACTS),
        *flag_action("dismiss", {"reason": "other", "text": "fine"}, REVIEWER_ACTS),
        *flag_action("resolve", {"text": "done"}, REVIEWER_ACTS),
        *flag_action("note", {"text": "a note"}, REVIEWER_ACTS),
        *flag_action("reassign", {"to": "PLACEHOLDER"}, REVIEWER_ACTS),
        *flag_action("answer", {"text": "my answer"}, ANSWERS),
        # The world's flag is open: reopening it is refused, shown on its page (200) with the reason.
        *flag_action("reopen", {}, (L, N, N, OK, N, OK)),
    ],
    "budgets/": [Req(ADMINS),
                 Req(ADMINS_DO, "POST", {"scope": "team", "team": lambda w: w.cast.platform.pk, "kind": "day",
                                         "amount_usd": "150", "effective_from": LATER})],
    "budgets/preview/": [Req(ADMINS, htmx=True, data={"scope": "org", "kind": "day", "amount_usd": "90",
                                                      "effective_from": LATER})],
    "budgets/<int:pk>/delete/": [Req(ADMIN_POST_ONLY, ids=ids(pk=lambda w: w.policy.pk)),
                                 Req(ADMINS_DO, "POST", {}, ids=ids(pk=lambda w: w.policy.pk))],
    "budgets/settings/": [Req(ADMIN_POST_ONLY),
                          Req(ADMINS_DO, "POST", {"working_weekdays": [1, 2, 3, 4], "grace_days": 10,
                                                  "max_data_lag_days": 3})],
    "budgets/part-time/": [Req(ADMIN_POST_ONLY),
                           Req(ADMINS_DO, "POST", {"person": lambda w: w.cast.erin.pk, "percent": 60})],
    "budgets/rules/": [Req(ADMINS), Req(ADMINS, "POST", {})],
    "budgets/exemptions/": [Req(ADMINS),
                            Req(ADMINS_DO, "POST", {"person": lambda w: w.cast.otto.pk, "reason": "Sabbatical",
                                                    "expires_on": LATER})],
    "budgets/exemptions/<int:pk>/end/": [Req(ADMIN_POST_ONLY, ids=ids(pk=lambda w: w.exemption.pk)),
                                         Req(ADMINS_DO, "POST", {}, ids=ids(pk=lambda w: w.exemption.pk))],
    "audit/": [Req(ADMINS), Req(ADMINS, data={"action": "exemption.create", "actor": "ada"})],
    "healthz": [Req(PUBLIC)],
    "health/": [Req(ADMINS)],
    "connections/": [Req(ADMINS)],
    "connections/add/": [Req(ADMINS), Req(ADMINS, "POST", {}, label="an empty form comes back")],
    "connections/<int:pk>/": [Req(ADMINS, ids=CONNECTION)],
    "connections/<int:pk>/edit/": [Req(ADMINS, ids=CONNECTION), Req(ADMINS, "POST", {}, ids=CONNECTION)],
    "connections/<int:pk>/progress/": [Req(ADMINS, htmx=True, ids=CONNECTION)],
    "connections/<int:pk>/test/": [Req(ADMIN_POST_ONLY, ids=CONNECTION), Req(ADMINS_DO, "POST", {}, ids=CONNECTION)],
    "connections/<int:pk>/sync/": [Req(ADMIN_POST_ONLY, ids=CONNECTION), Req(ADMINS_DO, "POST", {}, ids=CONNECTION)],
    # The OTLP receiver answers to its bearer token alone, never to a session.
    "otlp/v1/metrics": [Req((NA,) * 6), Req(("401",) * 6, "POST", {}, label="no bearer token")],
    "otlp/v1/logs": [Req((NA,) * 6), Req(("401",) * 6, "POST", {}, label="no bearer token")],
    "telemetry/tokens/": [Req(ADMINS), Req((L, N, N, N, N, "400"), "POST", {}, label="a token needs a name")],
    "telemetry/tokens/<int:pk>/revoke/": [Req(ADMIN_POST_ONLY, ids=ids(pk=lambda w: w.ingest_token.pk)),
                                          Req(ADMINS_DO, "POST", {}, ids=ids(pk=lambda w: w.ingest_token.pk))],
    "reconciliation/": [Req(ADMINS), Req(ADMINS, data={"vendor": "openai", "month": "2026-10"})],
    "settings/": [Req(EVERYONE), Req((L, R, R, R, R, R), "POST", {"privacy": "anonymous", "digest": "none"})],
    "login/": [Req((OK, R, R, R, R, R)),
               Req((R, R, R, R, R, R), "POST", {"username": "otto@example.com",
                                               "password": "correct horse battery staple"})],
    "login/sso/": [Req((N,) * 6, label="single sign-on not configured")],
    "login/sso/callback/": [Req((N,) * 6, data={"code": "x", "state": "y"})],
    "login/sso/refused/": [Req((F,) * 6)],
    "logout/": [Req((L, NA, NA, NA, NA, NA)), Req((L,) * 6, "POST", {}, label="back to the login page")],
    "password/change/": [Req(EVERYONE), Req(EVERYONE, "POST", {"old_password": "wrong"})],
    "password/change/done/": [Req(EVERYONE)],
    "password/reset/": [Req(PUBLIC), Req((R,) * 6, "POST", {"email": "erin@example.com"})],
    "password/reset/sent/": [Req(PUBLIC)],
    # Erin's link: on to the form for anyone holding it, except Erin logged in since it was sent (her
    # login moved last_login, which the token signs: the link is dead).
    "password/reset/<uidb64>/<token>/": [Req((R, OK, R, R, R, R), ids=ids(uidb64=lambda w: w.reset_path.split("/")[3],
                                                               token=lambda w: w.reset_path.split("/")[4]))],
    "password/reset/done/": [Req(PUBLIC)],
}


def routes() -> list[tuple[str, str]]:
    """Every URL pattern (route, name), found by walking the resolver."""
    def walk(patterns, prefix="", namespace=None):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), pattern.namespace or namespace)
            else:
                yield prefix + str(pattern.pattern), f"{namespace + ':' if namespace else ''}{pattern.name or ''}"
    return list(walk(get_resolver().url_patterns))


APP_ROUTES = [route for route, _ in routes() if not route.startswith("admin/")]
ADMIN_ROUTES = [route for route, _ in routes() if route.startswith("admin/")]


def path_of(route: str, world, params: dict) -> str:
    found = {name: value(world) for name, value in params.items()}
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(found[m.group(1)]), route)


def outcome(response) -> str:
    if response.status_code in (301, 302, 303):
        location = response["Location"]
        if location.startswith("/login/?") or location == "/login/":
            return L
        return "admin_login" if location.startswith("/admin/login/") else R
    return OK if 200 <= response.status_code < 300 else str(response.status_code)


def client_for(world, role: str) -> Client:
    client = Client(raise_request_exception=False)
    if WHO[role]:
        client.force_login(getattr(world.cast, WHO[role]))
    return client


def send(client, world, route: str, req: Req, params: dict | None = None):
    path = path_of(route, world, params or req.ids)
    data = {k: ([v(world) if callable(v) else v for v in value] if isinstance(value, list)
                else value(world) if callable(value) else value) for k, value in (req.data or {}).items()}
    if data.get("to") == "PLACEHOLDER":
        data["to"] = world.cast.sam.pk
    extra = HTMX if req.htmx else {}
    if req.method == "POST":
        return client.post(path, data, **extra)
    return client.get(path, data, **extra)


MODELS_WATCHED = ["accounts.Person", "accounts.Team", "accounts.ProviderIdentity", "accounts.AuditEvent",
                  "leaderboard.Flag", "leaderboard.FlagNote", "leaderboard.FlagEvent", "leaderboard.FlagRule",
                  "leaderboard.BudgetPolicy", "leaderboard.Exemption", "leaderboard.OrgSettings",
                  "leaderboard.UsageExport", "leaderboard.Notification", "leaderboard.DailyUsage",
                  "leaderboard.Connection", "leaderboard.SyncRun", "leaderboard.IngestToken"]


def snapshot(sent_tasks) -> tuple:
    rows = []
    for label in MODELS_WATCHED:
        model = apps.get_model(label)
        values = list(model.objects.order_by("pk").values())
        for row in values:
            row.pop("last_login", None)
        rows.append((label, repr(values)))
    return tuple(rows), len(mail.outbox), len(sent_tasks)


CSRF = re.compile(r'(csrfmiddlewaretoken" value="|"X-CSRFToken": ")[^"]+')


def normalised(response, path: str) -> str:
    return CSRF.sub(r"\1…", response.content.decode(errors="replace")).replace(path, "PATH")


def cases():
    for route in APP_ROUTES:
        for n, req in enumerate(TABLE.get(route, [None])):
            label = req.label if req and req.label else f"{req.method if req else 'GET'}{' htmx' if req and req.htmx else ''}"
            yield pytest.param(route, n, id=f"/{route} {label} #{n}")


def test_every_url_pattern_is_in_the_table():
    missing = [route for route in APP_ROUTES if route not in TABLE]
    assert not missing, f"Declare who may open these in tests/test_permission_matrix.py TABLE: {missing}"
    gone = [route for route in TABLE if route not in APP_ROUTES]
    assert not gone, f"The table names patterns that no longer exist: {gone}"


@pytest.mark.parametrize(("route", "index"), list(cases()))
def test_each_role_gets_what_the_table_says(cast, settings, tmp_path, sent_tasks, route, index):
    assert route in TABLE, f"/{route} is not in the table: declare who may open it"
    settings.MEDIA_ROOT = tmp_path / "media"
    req = TABLE[route][index]
    world = security_world.build(cast)
    found = {}
    for role, expected in zip(ROLES, req.expect, strict=True):
        with transaction.atomic():
            django_cache.clear()
            cache.forget_in_process()
            mail.outbox.clear()
            client = client_for(world, role)
            before = snapshot(sent_tasks)
            response = send(client, world, route, req)
            found[role] = outcome(response)
            if found[role] in (L, N, F, NA, "401", "admin_login") and found[role] == expected:
                assert snapshot(sent_tasks) == before, f"{role}'s refused {req.method} /{route} changed something"
            if found[role] == N == expected and "pk" in req.ids:
                _assert_same_as_missing(client, world, route, req, response)
            transaction.set_rollback(True)
    assert found == dict(zip(ROLES, req.expect, strict=True))


def _assert_same_as_missing(client, world, route, req, response):
    """Someone else's id answers exactly as an id that exists nowhere: same status, same page."""
    missing = {**req.ids, "pk": lambda w: 999_999}
    other = send(client, world, route, req, missing)
    assert other.status_code == response.status_code == 404
    assert normalised(other, path_of(route, world, missing)) == normalised(response, path_of(route, world, req.ids))


ADMIN_EXCEPTIONS = {
    "admin/login/": {"anonymous": OK, "employee": OK, "other_team": OK, "manager": OK, "other_manager": OK,
                     "admin": R},
    # Without a model and field to look up, the autocomplete refuses even an admin.
    "admin/autocomplete/": {**dict.fromkeys(ROLES, "admin_login"), "admin": F},
    # Logging out is a POST; a non-admin is sent to the admin's index, which sends them to its login.
    "admin/logout/": {**dict.fromkeys(ROLES, R), "anonymous": "admin_login", "admin": NA},
}


@pytest.mark.parametrize("role", ROLES)
def test_the_django_admin_is_for_admins_only(cast, settings, tmp_path, role):
    """Every pattern of the Django admin (the table's "admin/*" row): everyone but an admin is sent to
    the admin's login; an admin gets an answer (test_admin_pages.py opens each page in detail)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    world = security_world.build(cast)
    client = client_for(world, role)
    for route in ADMIN_ROUTES:
        path = "/" + route.replace("^(?P<app_label>auth|accounts|leaderboard|axes)/$", "accounts/")
        path = path.replace("(?P<url>.*)$", "no-such-page/")
        path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "1" if m.group(1) in ("content_type_id",) else "999999", path)
        path = path.replace("^", "").replace("$", "")
        found = outcome(client.get(path))
        expected = ADMIN_EXCEPTIONS.get(route, {}).get(role) or ("admin_login" if role != "admin" else None)
        if role == "anonymous" and expected == "admin_login":
            assert found in (L, expected), f"anonymous GET {path}: {found}"  # one login page or the other
        elif expected:
            assert found == expected, f"{role} GET {path}: {found}, not {expected}"
        else:
            # 403: what no one may do even here (deleting a person, adding an audit event).
            assert found in (OK, R, N, F), f"admin GET {path}: {found}"
