"""Logging in with email and password: Django's ModelBackend, with the query that loads the person
of every request compiled once per connection.

``get_user`` runs on every authenticated request. On a warm page ("my usage" reads everything else
from the cache) building that query through the ORM (the person has some twenty columns) cost twice
as long as PostgreSQL took to answer it. The query is still the one the ORM builds, columns,
quoting and value converters included; only the building is done once. Everything else about
authentication, including the session hash that logs out a changed password and the refusal of an
inactive person, stays Django's.
"""

from __future__ import annotations

import threading
import weakref

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.db import connections, router

from .models import Person


class _CompiledLookup:
    """``Person.objects.filter(pk=...)`` as SQL for one connection: its text, column names and
    converters, ready for any pk."""

    def __init__(self, connection):
        queryset = Person._default_manager.using(connection.alias).filter(pk=0).order_by()
        self.compiler = queryset.query.get_compiler(connection=connection)
        self.sql, params = self.compiler.as_sql()
        if list(params) != [0]:
            # A manager that adds conditions of its own would need its parameters kept.
            raise RuntimeError(f"Unexpected parameters in the person lookup: {params!r}")
        columns = [column for column, _sql, _alias in self.compiler.select]
        self.names = [column.target.attname for column in columns]
        self.converters = self.compiler.get_converters(columns)

    def fetch(self, pk) -> Person | None:
        connection = self.compiler.connection
        with connection.cursor() as cursor:
            cursor.execute(self.sql, [pk])
            row = cursor.fetchone()
        if row is None:
            return None
        if self.converters:
            row = next(iter(self.compiler.apply_converters([row], self.converters)))
        return Person.from_db(connection.alias, self.names, row)


class PersonBackend(ModelBackend):
    # Connections are per thread; so is what was compiled for one (its converters are bound to it).
    _compiled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
    _lock = threading.Lock()

    def get_user(self, user_id):
        try:
            pk = Person._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        connection = connections[router.db_for_read(Person)]
        lookup = self._compiled.get(connection)
        if lookup is None:
            with self._lock:
                lookup = self._compiled.setdefault(connection, _CompiledLookup(connection))
        person = lookup.fetch(pk)
        return person if person is not None and self.user_can_authenticate(person) else None
