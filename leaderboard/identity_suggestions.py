"""Who an unmatched identity probably is, for the admin mapping it: a suggestion, never applied alone.

A provider names people in ways the roster does not know: a personal or contractor address with the
same local part ("caleb.smith@gmail.com"), a display name ("Caleb Smith"), a key named after its owner
("caleb-laptop", "Caleb's key"). Each of those points at one person; a hint that fits several people
(two Calebs) suggests nobody.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from accounts.models import Person

_WORD = re.compile(r"[a-z0-9]+")
# Words that name no one: parts of key and account names.
_NOISE = {"key", "api", "the", "laptop", "desktop", "dev", "prod", "ci", "bot", "test", "admin", "user", "s", "my"}


@dataclass(frozen=True)
class Suggestion:
    person: Person
    reason: str


def _words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _NOISE]


def _squash(text: str) -> str:
    return "".join(_WORD.findall(text.lower()))


class _Roster:
    """The roster indexed by the hints that name a person."""

    def __init__(self, people: Iterable[Person]):
        self.by_local: dict[str, set[Person]] = {}
        self.by_name: dict[str, set[Person]] = {}
        self.by_first: dict[str, set[Person]] = {}
        self.by_login: dict[str, set[Person]] = {}
        for person in people:
            local = person.email.split("@", 1)[0].lower()
            self.by_local.setdefault(_squash(local), set()).add(person)
            if person.name:
                self.by_name.setdefault(_squash(person.name), set()).add(person)
                words = _words(person.name)
                if words:
                    self.by_first.setdefault(words[0], set()).add(person)
                    if len(words) > 1:
                        # "csmith", "smithc": how addresses abbreviate a name.
                        self.by_local.setdefault(words[0][0] + words[-1], set()).add(person)
            if person.github_login:
                self.by_login.setdefault(_squash(person.github_login), set()).add(person)

    def suggest(self, value: str, label: str) -> Suggestion | None:
        texts = [t for t in (value, label) if t]
        for text in texts:
            if "@" in text:
                local = _squash(text.split("@", 1)[0].split("+", 1)[0])
                if found := _one(self.by_local.get(local)):
                    return Suggestion(found, "same name before the @")
        for text in texts:
            squashed = _squash(text)
            if found := _one(self.by_name.get(squashed)) or _one(self.by_login.get(squashed)):
                return Suggestion(found, "same name")
        for text in texts:
            words = _words(text.split("@", 1)[0])
            # A name inside a longer one: "Caleb Smith's laptop", "caleb-smith-ci".
            for size in (3, 2):
                for start in range(len(words) - size + 1):
                    if found := _one(self.by_name.get("".join(words[start:start + size]))):
                        return Suggestion(found, "name in the key's name")
            for word in words:
                candidates = self.by_first.get(word, set()) | self.by_local.get(word, set())
                if len(word) >= 3 and (found := _one(candidates)):
                    return Suggestion(found, "name in the key's name")
        return None


def _one(people: set[Person] | None) -> Person | None:
    return next(iter(people)) if people and len(people) == 1 else None


def suggest_people(identities: Iterable, people: Iterable[Person]) -> dict[int, Suggestion]:
    """The likely person of each identity that has one, by identity id."""
    roster = _Roster(people)
    found = {}
    for identity in identities:
        if identity.person_id or identity.is_service_account:
            continue
        suggestion = roster.suggest(identity.value, identity.label)
        if suggestion:
            found[identity.pk] = suggestion
    return found
