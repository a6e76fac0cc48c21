"""Logging in with email and password: Django's ModelBackend, with the query that loads the person
of every request compiled once per connection.

``get_user`` runs on every authenticated request. On a warm page ("my usage" reads everything else
from the cache) building that query through the ORM (the person has some twenty columns) cost twice
as long as PostgreSQL took to answer it. The query is still the one the ORM builds, columns,
quoting and value converters included; only the building is done once. Everything else about
authentication, including the session hash that logs out a changed password and the refusal of an
inactive person, stays Django's. (Sessions opened when Django's own ModelBackend was configured
log in once more: Django accepts a session only from a backend that is still configured.)
"""

from __future__ import annotations

import threading

from asgiref.sync import sync_to_async
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.db import connections, router

from .models import Person


class _CompiledLookup:
    """``Person.objects.filter(pk=...)`` as SQL for one connection: its text, column names and
    converters, ready for any pk."""

    def __init__(self, connection):
        self.connection = connection
        queryset = Person._default_manager.using(connection.alias).filter(pk=0).order_by()
        self.compiler = queryset.query.get_compiler(connection=connection)
        self.sql, params = self.compiler.as_sql()
        if list(params) != [0]:
            # A manager that adds conditions of its own would need its parameters kept.
            raise RuntimeError(f"Unexpected parameters in the person lookup: {params!r}")
        columns = [column for column, _sql, _alias in self.compiler.select]
        self.names = [column.target.attname for column in columns]
        self.converters = self.compiler.get_converters(columns)
        # An id the column cannot hold finds nobody without asking (what the ORM does too).
        self.lowest, self.highest = connection.ops.integer_field_range(Person._meta.pk.get_internal_type())

    def fetch(self, pk: int) -> Person | None:
        if (self.lowest is not None and pk < self.lowest) or (self.highest is not None and pk > self.highest):
            return None
        with self.connection.cursor() as cursor:
            cursor.execute(self.sql, [pk])
            row = cursor.fetchone()
        if row is None:
            return None
        if self.converters:
            row = next(iter(self.compiler.apply_converters([row], self.converters)))
        return Person.from_db(self.connection.alias, self.names, row)


class PersonBackend(ModelBackend):
    # Per thread, like the connections the lookups were compiled for (their converters are bound to
    # them): a thread that ends lets both go.
    _compiled = threading.local()

    def get_user(self, user_id):
        try:
            pk = Person._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        connection = connections[router.db_for_read(Person)]
        lookup = getattr(self._compiled, connection.alias, None)
        if lookup is None or lookup.connection is not connection:
            lookup = _CompiledLookup(connection)
            setattr(self._compiled, connection.alias, lookup)
        person = lookup.fetch(pk)
        return person if person is not None and self.user_can_authenticate(person) else None

    async def aget_user(self, user_id):
        return await sync_to_async(self.get_user)(user_id)
