"""The policy simulator: who a rule change would flag, before an admin saves it.

``preview`` runs today's evaluation twice in memory, through the very functions a real run uses
(``reading``, ``deciding``, ``reconciling.plan``), once with the rules as saved and once as proposed,
and writes nothing. So what it says is what saving the rules and evaluating today then flags: new
flags, flags that stay, coverage by a stronger flag and dismissals still holding included.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.utils import timezone

from accounts.models import Person

from ..models import FlagRule
from . import deciding, reading, reconciling
from .rules import PERSON_RULES, ensure_rules


@dataclass
class TeamPreview:
    team: str
    current: list[str] = field(default_factory=list)  # names flagged under the saved rules
    proposed: list[str] = field(default_factory=list)  # ... and under the proposed ones

    @property
    def added(self) -> list[str]:
        return [name for name in self.proposed if name not in self.current]

    @property
    def removed(self) -> list[str]:
        return [name for name in self.current if name not in self.proposed]


@dataclass
class RulePreview:
    kind: str
    label: str
    current: set[int]
    proposed: set[int]
    teams: list[TeamPreview]


@dataclass
class Preview:
    as_of: date
    rules: list[RulePreview]  # the rules whose flagged people the change moves, or that it changed


def flagged(*, rules: dict[str, FlagRule], as_of: date) -> dict[str, set[int]]:
    """Kind -> the people with a live flag of it after an evaluation as of ``as_of`` under ``rules``."""
    facts = reading.read(as_of=as_of, rules=rules)
    judgement = deciding.judge(facts)
    live = reading.read_live(as_of=as_of)
    plan = reconciling.plan(facts, judgement, live, now=timezone.now())
    resolved = {id(outcome.flag) for outcome in plan.resolved}
    found: dict[str, set[int]] = {kind: set() for kind in PERSON_RULES}
    for (subject, kind), flag in live.current.items():
        if kind in found and id(flag) not in resolved and kind in facts.rules:
            found[kind].add(subject)
    for flag in plan.new:
        kind = flag.rule.kind
        if kind in found and flag.person_id:
            found[kind].add(flag.person_id)
    return found


def preview(*, proposed: dict[str, FlagRule], as_of: date | None = None) -> Preview:
    """Who the saved rules and the ``proposed`` ones (unsaved instances, by kind) flag as of today."""
    as_of = as_of or timezone.now().date()
    saved = ensure_rules()
    before = flagged(rules=saved, as_of=as_of)
    after = flagged(rules={**saved, **proposed}, as_of=as_of)
    changed = {kind for kind, rule in proposed.items() if _differs(rule, saved.get(kind))}
    kinds = [kind for kind in PERSON_RULES if kind in changed or before[kind] != after[kind]]
    people = {pk: (name or email, team or "No team") for pk, name, email, team in Person.objects.filter(
        pk__in=set().union(*before.values(), *after.values())).values_list("pk", "name", "email", "team__name")}
    return Preview(as_of, [_rule_preview(kind, before[kind], after[kind], people) for kind in kinds])


def _rule_preview(kind: str, before: set[int], after: set[int], people: dict) -> RulePreview:
    teams: dict[str, TeamPreview] = {}
    for side, pks in (("current", before), ("proposed", after)):
        for pk in pks:
            name, team = people[pk]
            getattr(teams.setdefault(team, TeamPreview(team)), side).append(name)
    for row in teams.values():
        row.current.sort()
        row.proposed.sort()
    return RulePreview(kind, FlagRule.Kind(kind).label, before, after, sorted(teams.values(), key=lambda t: t.team))


EDITABLE = ("enabled", "severity", "window_days", "baseline_days", "threshold", "severe_threshold", "amount_usd",
            "cap_usd", "scope_team_id", "employee_first_days")


def _differs(rule: FlagRule, saved: FlagRule | None) -> bool:
    return saved is None or any(getattr(rule, name) != getattr(saved, name) for name in EDITABLE)
