"""The cache's promise: what the pages cache is keyed by data versions, and every write to what they
read moves a version (leaderboard/cache.py declares which; these tests hold the database to it)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from django.apps import apps
from django.db import connection, models

from accounts.models import Person, ProviderIdentity, Team
from leaderboard import boards, budgets, cache, freshness
from leaderboard.models import BudgetPolicy, UsageExport


def test_the_database_has_exactly_the_version_triggers_cache_declares(db):
    """Fails when VERSIONS or a watched table changed without a migration ending in
    ``RunPython(cache.install_triggers)``, or when SQLite rebuilt a table and lost its triggers."""
    expected = cache.triggers(apps, connection.vendor, connection.ops.quote_name)
    installed = cache.installed_triggers(connection)
    assert sorted(installed) == sorted(expected)
    for name, statement in expected.items():
        definition = installed[name][1]
        if connection.vendor == "sqlite":
            assert " ".join(definition.split()) == " ".join(statement.split()), name
        elif " OF " in statement:
            # PostgreSQL writes the definition its own way: compare the columns watched.
            def columns(text):
                return text.split(" OF ", 1)[1].split(" ON ", 1)[0].replace('"', "").split(", ")

            assert columns(definition) == columns(statement), name


def _models_read_by(module) -> set[str]:
    return {
        value._meta.label for value in vars(module).values()
        if inspect.isclass(value) and issubclass(value, models.Model) and not value._meta.abstract
    }


def test_every_model_the_cached_pages_read_has_a_declared_version():
    """A model read by the boards, budgets or freshness, whose writes moved no version, would leave
    pages stale: declaring it in cache.VERSIONS (or MOVED_BY_CODE) is what keeps them fresh."""
    modules = [budgets, freshness] + [
        importlib.import_module(f"leaderboard.boards.{info.name}") for info in pkgutil.iter_modules(boards.__path__)
    ]
    read = set().union(*(_models_read_by(module) for module in modules))
    assert read  # the check looks at something
    assert read <= cache.declared_models(), sorted(read - cache.declared_models())


def moved(change) -> set[str]:
    """Which data versions a change moves."""
    before = cache.current()
    change()
    after = cache.current()
    return {name for name in cache.VERSIONS if getattr(before, name) != getattr(after, name)}


@pytest.mark.parametrize(("what", "change", "versions"), [
    ("a name", lambda cast: Person.objects.filter(pk=cast.erin.pk).update(name="Erin E."), {"people"}),
    ("a privacy choice", lambda cast: Person.objects.filter(pk=cast.erin.pk).update(privacy="hidden"), {"people"}),
    ("a login", lambda cast: Person.objects.filter(pk=cast.erin.pk).update(last_login=cast.erin.date_joined),
     set()),
    ("a salary", lambda cast: Person.objects.filter(pk=cast.erin.pk).update(annual_base_salary=100),
     {"people", "budgets"}),
    ("a team's parent", lambda cast: Team.objects.filter(pk=cast.platform.pk).update(parent=None), {"people"}),
    ("a budget policy", lambda cast: BudgetPolicy.objects.create(
        scope="org", kind="day", amount_usd=1, effective_from=cast.erin.start_date), {"budgets"}),
    ("an identity mapped", lambda cast: ProviderIdentity.objects.create(
        vendor="openai", kind="user_id", value="u-1", person=cast.erin), {"personal"}),
    ("an own upload", lambda cast: UsageExport.objects.create(
        file="x", original_name="x", size=1, sha256="a", origin="self", attributed_to=cast.erin), {"personal"}),
    ("an admin's upload", lambda cast: UsageExport.objects.create(
        file="x", original_name="x", size=1, sha256="b", origin="upload"), set()),
])
def test_each_write_moves_the_versions_of_what_it_changes_and_no_other(cast, what, change, versions):
    assert moved(lambda: change(cast)) == versions, what


def test_the_rollups_version_is_moved_by_the_code_that_rebuilds_them(db):
    assert moved(lambda: cache.bump(cache.ROLLUPS)) == {"rollups"}


def test_a_value_is_cached_under_the_versions_it_depends_on_only(cast):
    computed = []
    versions = cache.current()

    def compute():
        computed.append(1)
        return "value"

    cache.cached(versions, "spec", (1,), compute, on=(cache.BUDGETS,))
    Person.objects.filter(pk=cast.erin.pk).update(title="Staff Engineer")  # moves people, not budgets
    cache.cached(cache.current(), "spec", (1,), compute, on=(cache.BUDGETS,))
    assert computed == [1]
    BudgetPolicy.objects.create(scope="org", kind="day", amount_usd=1, effective_from=cast.erin.start_date)
    cache.cached(cache.current(), "spec", (1,), compute, on=(cache.BUDGETS,))
    assert computed == [1, 1]
