"""Who a provider's identity belongs to: matching, identity lists, and admins mapping by hand.

Usage rows point at identities, not people. An identity is matched to a person when the provider
names them in a way the roster knows (an email; a GitHub login), when an identity list says so
(an account's email; the account that created an API key), or when an admin maps it. Whenever an
identity changes hands, the rollups of everything it ever reported are rebuilt, so history moves
with it and nothing is imported again.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts import audit
from accounts.models import Person, ProviderIdentity

from . import rollups
from .ingestion.rows import IdentityKey, IdentityRow

Kind = ProviderIdentity.Kind


def _normalized(key: IdentityKey) -> IdentityKey:
    value = ProviderIdentity.normalize_value(key.kind, key.value)
    return key if value == key.value else IdentityKey(key.vendor, key.kind, value)


def _people_by_email(emails: Iterable[str]) -> dict[str, int]:
    emails = sorted({e.lower() for e in emails})
    found = {}
    for offset in range(0, len(emails), IdentityCache.CHUNK):
        chunk = emails[offset: offset + IdentityCache.CHUNK]
        found.update(Person.objects.filter(email__in=chunk).values_list("email", "pk"))
    return found


def _people_by_login(logins: Iterable[str]) -> dict[str, int]:
    logins = {login.lower() for login in logins}
    if not logins:
        return {}
    matches = Person.objects.exclude(github_login="").filter(
        Q.create([("github_login__iexact", login) for login in logins], connector=Q.OR)
    )
    return {login.lower(): pk for login, pk in matches.values_list("github_login", "pk")}


def _automatic_person(keys: list[IdentityKey]) -> dict[IdentityKey, int]:
    """People that identities name directly: an email the roster has, a GitHub login on the roster."""
    emails = _people_by_email(k.value for k in keys if k.kind == Kind.EMAIL)
    logins = _people_by_login(k.value for k in keys if k.kind == Kind.LOGIN and k.vendor == "github")
    found = {}
    for key in keys:
        if key.kind == Kind.EMAIL and key.value in emails:
            found[key] = emails[key.value]
        elif key.kind == Kind.LOGIN and key.value in logins:
            found[key] = logins[key.value]
    return found


class IdentityCache:
    """Identity ids for the keys an import meets, creating (and auto-matching) new ones in bulk."""

    # Values per query: well under SQLite's limit on parameters.
    CHUNK = 900

    def __init__(self):
        self._ids: dict[IdentityKey, int] = {}
        self._person: dict[int, int | None] = {}
        self._service: set[int] = set()

    def ids(self, keys: Iterable[IdentityKey]) -> dict[IdentityKey, int]:
        # Most keys of a batch were seen in the batch before: look those up as they are.
        unseen = {k for k in keys if k not in self._ids}
        normalized = {_normalized(k) if k.kind in ProviderIdentity.CASE_INSENSITIVE_KINDS else k for k in unseen}
        missing = [k for k in normalized if k not in self._ids]
        if missing:
            found = self._fetch(missing)
            new = [k for k in missing if k not in found]
            if new:
                self._create(new)
        return self._ids

    def get(self, key: IdentityKey) -> int:
        if key.kind in ProviderIdentity.CASE_INSENSITIVE_KINDS:
            key = _normalized(key)
        return self._ids[key]

    def person_of(self, identity_id: int) -> int | None:
        return self._person.get(identity_id)

    def is_service(self, identity_id: int) -> bool:
        return identity_id in self._service

    def _create(self, keys: list[IdentityKey]) -> None:
        people = _automatic_person(keys)
        ProviderIdentity.objects.bulk_create(
            [
                ProviderIdentity(vendor=k.vendor, kind=k.kind, value=k.value, person_id=people.get(k),
                                 label=k.value if k.kind != Kind.UNATTRIBUTED else "")
                for k in keys
            ],
            batch_size=self.CHUNK,
            ignore_conflicts=True,  # Another import may have created it a moment ago.
        )
        self._fetch(keys)

    def _fetch(self, keys: list[IdentityKey]) -> dict[IdentityKey, int]:
        # One query per (vendor, kind) and chunk of values: an import meets thousands of keys, and a
        # lookup OR-ing three conditions per key costs Django more to build than the database to run.
        values: dict[tuple[str, str], list[str]] = {}
        for key in keys:
            values.setdefault((key.vendor, key.kind), []).append(key.value)
        found = {}
        for (vendor, kind), names in values.items():
            for offset in range(0, len(names), self.CHUNK):
                rows = ProviderIdentity.objects.filter(
                    vendor=vendor, kind=kind, value__in=names[offset: offset + self.CHUNK]
                ).values_list("pk", "value", "person_id", "is_service_account")
                for pk, value, person_id, is_service in rows:
                    key = IdentityKey(vendor, kind, value)
                    found[key] = pk
                    self._ids[key] = pk
                    self._person[pk] = person_id
                    if is_service:
                        self._service.add(pk)
        return found


def _set_person(identities: list[ProviderIdentity], person_id: int | None, *, by: Person) -> tuple[set[int], set[int]]:
    """An admin gives identities (and the identities linked to them) to a person, or to nobody;
    returns the previous owners and the identities that changed hands. Links are followed even from
    an identity that already was theirs: what the admin sees mapped is what counts. One identity at a
    time, so one row at a time.

    Only the identities the admin chose get the admin's name (``mapped_by``). Those that follow a
    link only inherit the person, and stay unmapped: an admin's mapping of an identity wins over the
    one it inherits, so naming the followers too would pin them where they landed, and mapping the
    account back (undoing a mistake) would leave its API keys and their history with the wrong person."""
    previous: set[int] = set()
    moved: set[int] = set()
    chosen = {identity.pk for identity in identities}
    pending, seen = list(identities), set()
    while pending:
        identity = pending.pop()
        if identity.pk in seen:
            continue
        seen.add(identity.pk)
        if identity.person_id != person_id:
            if identity.person_id:
                previous.add(identity.person_id)
            identity.person_id = person_id
            moved.add(identity.pk)
            if identity.pk in chosen:
                identity.mapped_by, identity.mapped_at = by, timezone.now()
                identity.save(update_fields=["person", "mapped_by", "mapped_at"])
            else:
                identity.save(update_fields=["person"])
        # An admin's own mapping of a linked identity wins over the one it inherits.
        pending.extend(identity.linked_identities.filter(mapped_by__isnull=True))
    return previous, moved


def apply_identity_rows(rows: list[IdentityRow]) -> tuple[int, set[int]]:
    """Record what identity lists say, moving history to the people they name.

    In bulk, whatever the list's length: a 10,000-person organisation's user list is one import.
    Accounts take the person their email names; identities linked to an account (API keys) take the
    account's person, and so do the identities linked to those, all the way down. A list never
    overrides an admin's mapping. Returns how many identities changed hands, and the people whose
    totals changed with them."""
    cache = IdentityCache()
    cache.ids([r.identity for r in rows] + [r.linked_to for r in rows if r.linked_to])
    identities = ProviderIdentity.objects.in_bulk({cache.get(r.identity) for r in rows}
                                                  | {cache.get(r.linked_to) for r in rows if r.linked_to})
    by_email = _people_by_email(r.email for r in rows if r.email)
    edited: dict[int, ProviderIdentity] = {}
    owners: dict[int, int | None] = {}  # identity -> the person the list says it is
    for row in rows:
        identity = identities[cache.get(row.identity)]
        if row.label and identity.label != row.label:
            identity.label = row.label
            edited[identity.pk] = identity
        if row.is_service_account and not identity.is_service_account:
            identity.is_service_account = True
            edited[identity.pk] = identity
        if row.linked_to:
            linked_id = cache.get(row.linked_to)
            if identity.linked_to_id != linked_id:
                identity.linked_to_id = linked_id
                edited[identity.pk] = identity
        if row.email and row.email.lower() in by_email:
            owners[identity.pk] = by_email[row.email.lower()]
    _update_each(edited.values(), ["label", "is_service_account", "linked_to_id"])

    # Accounts take the person the list names; a key the list links takes its account's person as
    # the list leaves it, through any chain of listed keys (keys the list does not name follow when
    # _hand_over walks the links).
    parents = {
        cache.get(row.identity): cache.get(row.linked_to)
        for row in rows if row.linked_to and cache.get(row.identity) not in owners
    }

    def listed_person(pk: int, seen: frozenset[int] = frozenset()) -> int | None:
        """Whose the identity is once the list is applied (never over an admin's mapping)."""
        identity = identities[pk]
        if identity.mapped_by_id is not None:
            return identity.person_id
        if pk in owners:
            return owners[pk]
        if pk in parents and parents[pk] not in seen:
            return listed_person(parents[pk], seen | {pk}) or identity.person_id
        return identity.person_id

    changed, previous = _hand_over({identities[pk]: listed_person(pk) for pk in {*owners, *parents}})
    return len(changed), previous | {identity.person_id for identity in changed.values() if identity.person_id}


def _hand_over(given: dict[ProviderIdentity, int | None]) -> tuple[dict[int, ProviderIdentity], set[int]]:
    """Give identities to people, unless an admin mapped them, and with each identity that changes
    hands the identities linked to it, level by level; then rebuild the rollups they feed. In bulk:
    a query per level of links and one batch of updates, however many identities. Returns the
    identities that changed hands, by id, and their previous owners."""
    changed: dict[int, ProviderIdentity] = {}
    previous: set[int] = set()

    def give(identity: ProviderIdentity, person_id: int | None) -> None:
        if identity.mapped_by_id is None and identity.person_id != person_id:
            if identity.person_id:
                previous.add(identity.person_id)
            identity.person_id = person_id
            changed[identity.pk] = identity

    for identity, person_id in given.items():
        give(identity, person_id)
    # Whatever hangs off an identity that changed hands follows it, level by level.
    frontier = {pk: identity.person_id for pk, identity in changed.items()}
    while frontier:
        followers = ProviderIdentity.objects.filter(linked_to__in=list(frontier), mapped_by__isnull=True)
        before = set(changed)
        for follower in followers:
            give(changed.get(follower.pk, follower), frontier[follower.linked_to_id])
        frontier = {pk: changed[pk].person_id for pk in set(changed) - before}
    if changed:
        _update_each(changed.values(), ["person_id"])
        rollups.recompute_for_identities(set(changed), also_people=previous)
    return changed, previous


def _update_each(identities: Iterable[ProviderIdentity], columns: list[str]) -> None:
    """One UPDATE per identity, run by the driver in a loop: bulk_update's CASE expressions cost
    Django seconds to build for a few thousand rows."""
    params = [[getattr(identity, column) for column in columns] + [identity.pk] for identity in identities]
    if params:
        assignments = ", ".join(f"{column} = %s" for column in columns)
        with connection.cursor() as cursor:
            cursor.executemany(f"UPDATE {ProviderIdentity._meta.db_table} SET {assignments} WHERE id = %s", params)


def _mapping(identity: ProviderIdentity) -> dict:
    """An identity's owner as the audit trail keeps it: who, by id and as they read then."""
    person = Person.objects.filter(pk=identity.person_id).values_list("email", flat=True).first()
    return {"person_id": identity.person_id, "person": person, "service_account": identity.is_service_account,
            "mapped_by_id": identity.mapped_by_id}


@transaction.atomic
def assign_identity(*, identity: ProviderIdentity, person: Person | None, by: Person,
                    address: str | None = None) -> set[int]:
    """An admin says whose this identity is (or that it is nobody's): all its history moves at once.
    ``address``: where the admin's request came from, for the audit trail. Returns the people whose
    numbers moved (the caller queues what follows)."""
    identity = ProviderIdentity.objects.select_for_update().get(pk=identity.pk)
    before = _mapping(identity)
    affected = [identity, *identity.linked_identities.filter(mapped_by__isnull=True)]
    previous, moved = _set_person([identity], person.pk if person else None, by=by)
    if person is not None and identity.is_service_account:
        identity.is_service_account = False
        identity.save(update_fields=["is_service_account"])
    linked = _with_linked(affected)
    audit.record(actor=by, action="identity.map", target=identity, before=before,
                 after={**_mapping(identity), "linked_identities_moved": sorted(moved - {identity.pk})}, address=address)
    rollups.recompute_for_identities(linked, also_people=previous)
    return previous | ({person.pk} if person else set())


@transaction.atomic
def assign_identities(*, identities: Iterable[ProviderIdentity], person: Person | None, by: Person,
                      address: str | None = None) -> set[int]:
    """Several identities to one person at once (one person commonly has one per vendor and tool),
    all or none, each recorded in the audit trail as if mapped alone. Returns the people whose
    numbers moved."""
    moved: set[int] = set()
    for identity in identities:
        moved |= assign_identity(identity=identity, person=person, by=by, address=address)
    return moved


@transaction.atomic
def mark_service_accounts(*, identities: Iterable[ProviderIdentity], by: Person, address: str | None = None) -> set[int]:
    moved: set[int] = set()
    for identity in identities:
        moved |= mark_service_account(identity=identity, by=by, address=address)
    return moved


@transaction.atomic
def mark_service_account(*, identity: ProviderIdentity, by: Person, address: str | None = None) -> set[int]:
    """Usage that belongs to no person (a CI bot, a shared key): kept, shown to admins, on no board.
    Returns the people whose numbers lost it."""
    identity = ProviderIdentity.objects.select_for_update().get(pk=identity.pk)
    before = _mapping(identity)
    previous, moved = _set_person([identity], None, by=by)
    identity.is_service_account = True
    identity.mapped_by, identity.mapped_at = by, timezone.now()
    identity.save(update_fields=["is_service_account", "mapped_by", "mapped_at"])
    linked = _with_linked([identity])
    audit.record(actor=by, action="identity.service_account", target=identity, before=before,
                 after={**_mapping(identity), "linked_identities_moved": sorted(moved - {identity.pk})}, address=address)
    rollups.recompute_for_identities(linked, also_people=previous)
    return previous


def _with_linked(identities: list[ProviderIdentity]) -> set[int]:
    ids = {i.pk for i in identities}
    frontier = set(ids)
    while frontier:
        frontier = set(ProviderIdentity.objects.filter(linked_to__in=frontier).values_list("pk", flat=True)) - ids
        ids |= frontier
    return ids


@transaction.atomic
def match_people(person_ids: Iterable[int]) -> set[int]:
    """After the roster changes: give these people the unmatched identities that name them (in bulk:
    a roster of thousands arriving after their usage is one hand-over). Returns the people whose
    usage moved (to them, or away with a linked identity): the caller enqueues what follows."""
    people = Person.objects.filter(pk__in=list(person_ids))
    emails = {p.email: p.pk for p in people}
    logins = {p.github_login.lower(): p.pk for p in people if p.github_login}
    unmatched = ProviderIdentity.objects.filter(person__isnull=True, mapped_by__isnull=True, is_service_account=False)
    email_list, login_list, candidates = list(emails), list(logins), []
    for offset in range(0, max(len(email_list), len(login_list)), IdentityCache.CHUNK):
        some_emails = email_list[offset: offset + IdentityCache.CHUNK]
        some_logins = login_list[offset: offset + IdentityCache.CHUNK]
        candidates += unmatched.filter(
            Q(kind=Kind.EMAIL, value__in=some_emails) | Q(kind=Kind.LOGIN, vendor="github", value__in=some_logins)
        )
    changed, previous = _hand_over({
        identity: emails.get(identity.value) if identity.kind == Kind.EMAIL else logins.get(identity.value)
        for identity in candidates
    })
    return previous | {identity.person_id for identity in changed.values() if identity.person_id}
