"""The cast every test shares, and the sample org.

    Engineering (team)             Ada Admin (staff, no team)
      └─ Platform (sub-team)       Otto Outsider (Sales, reports to nobody here)
    Maria Manager  (Engineering)
      ├─ Erin Employee (Engineering)
      └─ Sam Lead (Platform)
           └─ Lee Report (Platform)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from accounts.models import Person, Team
from leaderboard import cache
from tests.fake_providers import providers  # noqa: F401 - the connection tests' fake provider APIs
from tests.servers import own_postgres, own_redis  # noqa: F401 - the fault tests' own servers
from tests.workers import broker, workers  # noqa: F401 - fixtures shared by the worker and browser tests

SAMPLES = Path(__file__).parent / "samples" / "org-acme"
PASSWORD = "correct horse battery staple"


def pytest_configure(config):
    from django.conf import settings

    # Pages render in tests without `collectstatic`: serve static files from the source folders.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True


@pytest.fixture(autouse=True)
def exact_boards(request):
    """Boards show colleagues by band unless an organisation turns it off (leaderboard/boards/bands.py).
    Most specs are about ranks and figures, so they run with bands off; a test marked ``peer_bands``
    keeps the default."""
    if request.node.get_closest_marker("peer_bands"):
        return
    names = request.fixturenames
    if "transactional_db" in names or "live_server" in names:
        request.getfixturevalue("transactional_db")
    elif "db" in names:
        request.getfixturevalue("db")
    else:
        return
    from leaderboard.models import OrgSettings

    OrgSettings.objects.update_or_create(pk=1, defaults={"peer_bands": False})


@pytest.fixture(autouse=True, scope="session")
def audit_guard_lifted_while_flushing():
    """Tests that really commit (browser journeys, Celery workers) end with Django's ``flush``, which
    empties every table; the audit table's guard (accounts/audit.py) refuses that, as it should in
    production. Only around a test database's flush is it lifted."""
    from django.core.management.commands import flush
    from django.db import connections

    from accounts import audit

    original = flush.Command.handle

    def handle(self, **options):
        connection = connections[options.get("database") or "default"]
        audit.remove_guard(connection=connection)
        try:
            return original(self, **options)
        finally:
            audit.install_guard(connection=connection)

    flush.Command.handle = handle
    yield
    flush.Command.handle = original


@dataclass
class Cast:
    engineering: Team
    platform: Team
    sales: Team
    ada: Person
    maria: Person
    erin: Person
    sam: Person
    lee: Person
    otto: Person


@pytest.fixture
def samples() -> Path:
    return SAMPLES


@pytest.fixture
def cast(db) -> Cast:
    engineering = Team.objects.create(name="Engineering")
    platform = Team.objects.create(name="Platform", parent=engineering)
    sales = Team.objects.create(name="Sales")

    def person(email, name, **fields):
        fields.setdefault("start_date", date(2024, 1, 8))
        return Person.objects.create_user(email, PASSWORD, name=name, **fields)

    ada = person("ada@example.com", "Ada Admin", is_staff=True, title="IT")
    maria = person("maria@example.com", "Maria Manager", team=engineering, title="Engineering Manager")
    erin = person("erin@example.com", "Erin Employee", team=engineering, manager=maria, title="Engineer")
    sam = person("sam@example.com", "Sam Lead", team=platform, manager=maria, title="Team Lead")
    lee = person("lee@example.com", "Lee Report", team=platform, manager=sam, title="Engineer")
    otto = person("otto@example.com", "Otto Outsider", team=sales, title="Account Executive")
    return Cast(engineering, platform, sales, ada, maria, erin, sam, lee, otto)


@pytest.fixture
def login(client):
    """Log the test client in as someone: ``login(cast.erin)``."""

    def _login(person: Person):
        client.force_login(person)
        return client

    return _login


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Real hashing costs a second per cast; tests check who may log in, not the hash's strength.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def sent_tasks(request, monkeypatch):
    """The tasks the code under test enqueued, kept here instead of sent to a broker that nobody reads
    in this test. Tests marked ``celery`` send for real, to a real worker."""
    sent = []
    if request.node.get_closest_marker("celery") is None:
        from celery.app.task import Task

        def record(task, args=None, kwargs=None, **options):
            sent.append((task.name, args, kwargs))

        monkeypatch.setattr(Task, "apply_async", record)
    return sent


@pytest.fixture(autouse=True)
def private_cache(request, settings):
    """A fresh in-memory cache for every test: boards, budgets and import progress are cached, and a
    test must not see another's (nor another run's, through a shared Redis). Tests marked ``celery``
    keep the configured cache, which their worker processes write to."""
    if request.node.get_closest_marker("celery") is None:
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                       "LOCATION": request.node.nodeid}}
    # And no values this process kept from another test's cache: a fresh database starts again at
    # the same data versions.
    cache.forget_in_process()
    yield


@pytest.fixture(autouse=True)
def data_versions_move_after_each_statement(request):
    """On PostgreSQL the data versions move when a transaction commits (deferred triggers,
    leaderboard/cache.py); a test runs in one transaction that never commits. Made IMMEDIATE, the
    triggers move them after each statement, as every autocommitted statement would: a page read
    after a change in a test sees it. (SQLite's triggers are immediate already.)"""
    marker = request.node.get_closest_marker("django_db")
    if "db" not in request.fixturenames and (marker is None or marker.kwargs.get("transaction")):
        return  # no database, or real commits (transactional_db): the triggers fire as in production
    request.getfixturevalue("db")
    from django.db import connection

    triggers = cache.deferred_triggers(connection)
    if triggers:
        with connection.cursor() as cursor:
            cursor.execute(f"SET CONSTRAINTS {', '.join(triggers)} IMMEDIATE")
