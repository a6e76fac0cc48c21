"""Budgets: which policy applies to whom on which day, and what that makes a period's budget.

A person's budget on a day comes from the most specific policy in effect that day: their own, else
their team's, else the nearest parent team's, else the organisation default. Policies are never
edited once in effect (a change is a new row with a later ``effective_from``), so a past period is
judged by the budget of its time. Fixed amounts per month or year and salary shares are spread over
the working days of that month or year; non-working days have no budget, but spend on them counts.
Part-time people get their percentage of fixed amounts; a salary already reflects part-time work.

Everything here works on many people at once: ``BudgetBook.load`` reads people, teams, policies and
the calendar in four queries, then budgets are arithmetic. The pages (boards, my usage, person and team
pages) need none of those four: ``BudgetBook.from_tables`` takes the policies and the working week from
the cache (``policy_tables``, under the budgets data version, leaderboard/cache.py) and people and
teams from what the page has already read.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from django.db import transaction
from django.db.models import Q, Subquery
from django.utils import timezone

from accounts import audit, org
from accounts.models import Person, Team

from . import cache
from .cache import BUDGETS, Versions
from .display import CENT, day, money, ordinal
from .models import BudgetPolicy, OrgSettings

Kind = BudgetPolicy.Kind
Scope = BudgetPolicy.Scope
DEFAULT_DAILY_BUDGET = Decimal("100.00")  # The low end of "generous" (issue 5): what a fresh install starts with.


# --- Calendar -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Calendar:
    weekdays: frozenset[int]  # ISO weekdays that are working days

    @classmethod
    def from_settings(cls, settings: OrgSettings) -> Calendar:
        return cls.from_weekdays(settings.working_weekdays)

    @classmethod
    def from_weekdays(cls, weekdays: Iterable[int] | None) -> Calendar:
        return cls(frozenset(int(d) for d in weekdays or ()) or frozenset({1, 2, 3, 4, 5}))

    def is_working(self, day: date) -> bool:
        return day.isoweekday() in self.weekdays

    def working_days(self, start: date, end: date) -> int:
        """Working days in [start, end], both inclusive, without walking the days."""
        return _working_days(self.weekdays, start, end)

    def working_days_of_month(self, day: date) -> int:
        first = day.replace(day=1)
        return self.working_days(first, month_end(first))

    def working_days_of_year(self, day: date) -> int:
        return self.working_days(date(day.year, 1, 1), date(day.year, 12, 31))


@lru_cache(maxsize=65536)
def _working_days(weekdays: frozenset[int], start: date, end: date) -> int:
    if end < start:
        return 0
    weeks, rest = divmod((end - start).days + 1, 7)
    count = weeks * len(weekdays)
    first = start.isoweekday()
    count += sum(1 for offset in range(rest) if (first - 1 + offset) % 7 + 1 in weekdays)
    return count


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


# --- Policies -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """A BudgetPolicy row as plain data."""

    id: int | None
    scope: str
    team_id: int | None
    person_id: int | None
    kind: str
    amount: Decimal | None
    salary_percent: Decimal | None
    effective_from: date
    label: str
    description: str

    @classmethod
    def from_row(cls, row: BudgetPolicy, team_names: dict[int, str], person_names: dict[int, str]) -> Policy:
        if row.scope == Scope.TEAM:
            label = f"team {team_names.get(row.team_id, row.team_id)}"
        elif row.scope == Scope.PERSON:
            label = f"personal policy of {person_names.get(row.person_id, row.person_id)}"
        else:
            label = "organisation default"
        return cls(
            row.pk, row.scope, row.team_id, row.person_id, row.kind, row.amount_usd, row.salary_percent,
            row.effective_from, label, row.describe(),
        )


@dataclass(frozen=True)
class PersonFacts:
    id: int
    name: str
    team_id: int | None
    salary: Decimal | None
    work_percent: int
    start_date: date | None

    @classmethod
    def of(cls, person: Person) -> PersonFacts:
        """What a budget needs of a person already loaded (the viewer, the person a page is about)."""
        return cls(person.pk, person.name or person.email, person.team_id, person.annual_base_salary,
                   person.work_percent or 100, person.start_date)


@dataclass
class Segment:
    start: date
    end: date
    policy: Policy | None
    working_days: int = 0
    amount: Decimal | None = None
    skipped: str = ""  # why a more specific policy did not apply (salary share, no salary on file)


@dataclass
class Budget:
    """A person's budget over a period and how it was derived."""

    amount: Decimal | None
    working_days: int
    segments: list[Segment] = field(default_factory=list)
    per_day: Decimal | None = None  # one working day's budget at the end of the period
    work_percent: int = 100

    def explain(self) -> str:
        if not self.segments or all(s.policy is None for s in self.segments):
            return "No budget policy applies (no organisation default is set)."
        parts = []
        for seg in self.segments:
            if seg.policy is None:
                parts.append(f"{seg.start:%b %-d}–{seg.end:%b %-d}: no policy")
                continue
            span = "" if len(self.segments) == 1 else f"{seg.start:%b %-d}–{seg.end:%b %-d}: "
            # When a policy started matters only when it started within the period.
            since = f", from {day(seg.policy.effective_from)}" if seg.policy.effective_from > seg.start else ""
            text = (
                f"{span}{seg.policy.description} ({seg.policy.label}{since}), "
                f"{seg.working_days} working day{'s' if seg.working_days != 1 else ''}"
            )
            if seg.policy.kind != Kind.SALARY_SHARE and self.work_percent != 100:
                text += f" at {self.work_percent}% part-time"
            if seg.skipped:
                text += f"; {seg.skipped}"
            parts.append(f"{text} = {money(seg.amount)}")
        return "; ".join(parts) + "."

    def as_dict(self) -> dict:
        return {
            "amount": None if self.amount is None else str(self.amount),
            "per_day": None if self.per_day is None else str(self.per_day),
            "working_days": self.working_days,
            "work_percent": self.work_percent,
            "derived": self.explain(),
        }


class BudgetBook:
    """People, teams, policies and the calendar, loaded once; budgets for any of them by arithmetic."""

    def __init__(self, *, calendar: Calendar, people: dict[int, PersonFacts], parents: dict[int, int | None],
                 policies: Iterable[Policy]):
        self.calendar = calendar
        self.people = people
        self.parents = parents
        self.org: list[Policy] = []
        self.by_team: dict[int, list[Policy]] = defaultdict(list)
        self.by_person: dict[int, list[Policy]] = defaultdict(list)
        for policy in sorted(policies, key=lambda p: p.effective_from):
            if policy.scope == Scope.PERSON:
                self.by_person[policy.person_id].append(policy)
            elif policy.scope == Scope.TEAM:
                self.by_team[policy.team_id].append(policy)
            else:
                self.org.append(policy)
        self._chains: dict[int | None, list[int]] = {}

    @classmethod
    def load(cls, person_ids: Iterable[int] | None = None, *, settings: OrgSettings | None = None) -> BudgetBook:
        """Four queries whatever the number of people (``None``: everyone)."""
        people_qs = Person.objects.all()
        if person_ids is not None:
            people_qs = people_qs.filter(pk__in=list(person_ids))
        rows = people_qs.values_list("pk", "name", "email", "team_id", "annual_base_salary", "work_percent",
                                     "start_date")
        people = {
            pk: PersonFacts(pk, name or email, team_id, salary, percent or 100, start)
            for pk, name, email, team_id, salary, percent, start in rows
        }
        teams = list(Team.objects.values_list("pk", "name", "parent_id"))
        parents = {pk: parent for pk, _, parent in teams}
        team_names = {pk: name for pk, name, _ in teams}
        person_names = {pk: facts.name for pk, facts in people.items()}
        policy_rows = BudgetPolicy.objects.filter(
            Q(scope__in=[Scope.ORG, Scope.TEAM]) | Q(person_id__in=list(people)) if person_ids is not None else Q()
        )
        policies = [Policy.from_row(row, team_names, person_names) for row in policy_rows]
        calendar = Calendar.from_settings(settings or OrgSettings.load())
        return cls(calendar=calendar, people=people, parents=parents, policies=policies)

    @classmethod
    def from_tables(cls, tables: PolicyTables, *, people: dict[int, PersonFacts],
                    teams: dict[int, tuple[str, int | None]]) -> BudgetBook:
        """A book without a query: policies and the working week from ``policy_tables``, the people
        and the teams (id -> (name, parent id)) from what the caller has already read."""
        team_names = {pk: name for pk, (name, _) in teams.items()}
        person_names = {pk: facts.name for pk, facts in people.items()}
        policies = [
            Policy.from_row(BudgetPolicy(**dict(zip(POLICY_COLUMNS, row, strict=True))), team_names, person_names)
            for row in tables.rows
            if row[POLICY_COLUMNS.index("scope")] != Scope.PERSON or row[POLICY_COLUMNS.index("person_id")] in people
        ]
        return cls(calendar=Calendar.from_weekdays(tables.weekdays), people=people,
                   parents={pk: parent for pk, (_, parent) in teams.items()}, policies=policies)

    def with_policy(self, policy: Policy) -> BudgetBook:
        """The same book with one more (unsaved) policy: what a preview compares against."""
        everything = [*self.org, *(p for ps in self.by_team.values() for p in ps),
                      *(p for ps in self.by_person.values() for p in ps)]
        same_slot = [
            p for p in everything
            if (p.scope, p.team_id, p.person_id, p.effective_from)
            == (policy.scope, policy.team_id, policy.person_id, policy.effective_from)
        ]
        kept = [p for p in everything if p not in same_slot]
        return BudgetBook(calendar=self.calendar, people=self.people, parents=self.parents, policies=[*kept, policy])

    # --- resolution ---

    def team_chain(self, team_id: int | None) -> list[int]:
        """The team and its parents, nearest first."""
        if team_id not in self._chains:
            self._chains[team_id] = org.team_and_above(team_id, self.parents)
        return self._chains[team_id]

    def _levels(self, person: PersonFacts) -> list[list[Policy]]:
        levels = [self.by_person.get(person.id, [])]
        levels += [self.by_team.get(team, []) for team in self.team_chain(person.team_id)]
        levels.append(self.org)
        return [level for level in levels if level]

    def policy_on(self, person: PersonFacts, day: date) -> tuple[Policy | None, str]:
        """The policy that sets this person's budget on ``day``, and a note on any policy skipped."""
        skipped = ""
        for level in self._levels(person):
            current = None
            for policy in level:
                if policy.effective_from <= day:
                    current = policy
                else:
                    break
            if current is None:
                continue
            if current.kind == Kind.SALARY_SHARE and not person.salary:
                skipped = f"the {current.label} ({current.description}) needs a salary, and none is on file"
                continue
            return current, skipped
        return None, skipped

    def _change_days(self, person: PersonFacts, start: date, end: date) -> list[date]:
        days = {start}
        for level in self._levels(person):
            days.update(p.effective_from for p in level if start < p.effective_from <= end)
        return sorted(days)

    # --- amounts ---

    def budget(self, person_id: int, start: date, end: date) -> Budget:
        person = self.people[person_id]
        if person.start_date and person.start_date > start:
            # Nobody has a budget before their first day.
            start = person.start_date
        budget = Budget(amount=None, working_days=0, work_percent=person.work_percent)
        if end < start:
            budget.amount = Decimal(0)
            return budget
        changes = self._change_days(person, start, end)
        total: Decimal | None = Decimal(0)
        for index, seg_start in enumerate(changes):
            seg_end = changes[index + 1] - timedelta(days=1) if index + 1 < len(changes) else end
            policy, skipped = self.policy_on(person, seg_start)
            segment = Segment(seg_start, seg_end, policy, self.calendar.working_days(seg_start, seg_end),
                              skipped=skipped)
            if policy is not None:
                segment.amount = self._amount(policy, person, seg_start, seg_end).quantize(CENT, ROUND_HALF_UP)
            budget.segments.append(segment)
            budget.working_days += segment.working_days
            total = None if total is None or segment.amount is None else total + segment.amount
        budget.amount = total
        budget.per_day = self.daily_budget(person_id, end)
        return budget

    def daily_budget(self, person_id: int, day: date) -> Decimal | None:
        """What one working day around ``day`` is worth to this person (the runaway rule's yardstick)."""
        person = self.people[person_id]
        policy, _ = self.policy_on(person, day)
        if policy is None:
            return None
        if policy.kind == Kind.PER_WORKING_DAY:
            value = policy.amount * person.work_percent / 100
        elif policy.kind == Kind.PER_MONTH:
            value = _per_day(policy.amount * person.work_percent / 100, self.calendar.working_days_of_month(day))
        elif policy.kind == Kind.PER_YEAR:
            value = _per_day(policy.amount * person.work_percent / 100, self.calendar.working_days_of_year(day))
        else:
            value = _per_day(person.salary * policy.salary_percent / 100, self.calendar.working_days_of_year(day))
        return Decimal(value).quantize(CENT, ROUND_HALF_UP)

    def _amount(self, policy: Policy, person: PersonFacts, start: date, end: date) -> Decimal:
        cal = self.calendar
        part = Decimal(person.work_percent) / 100
        if policy.kind == Kind.PER_WORKING_DAY:
            return policy.amount * part * cal.working_days(start, end)
        if policy.kind == Kind.PER_MONTH:
            return sum(
                (policy.amount * part * _fraction(cal.working_days(a, b), cal.working_days_of_month(a))
                 for a, b in _split(start, end, by="month")),
                Decimal(0),
            )
        yearly = policy.amount * part if policy.kind == Kind.PER_YEAR else person.salary * policy.salary_percent / 100
        return sum(
            (yearly * _fraction(cal.working_days(a, b), cal.working_days_of_year(a)) for a, b in _split(start, end, by="year")),
            Decimal(0),
        )


def _per_day(amount: Decimal, days: int) -> Decimal:
    return amount / days if days else Decimal(0)


def _fraction(part: int, whole: int) -> Decimal:
    return Decimal(part) / Decimal(whole) if whole else Decimal(0)


def _split(start: date, end: date, *, by: str) -> list[tuple[date, date]]:
    """[start, end] cut at month (or year) boundaries."""
    pieces, current = [], start
    while current <= end:
        last = month_end(current) if by == "month" else date(current.year, 12, 31)
        pieces.append((current, min(last, end)))
        current = min(last, end) + timedelta(days=1)
    return pieces


# --- Spend and forecasts ------------------------------------------------------------------------


@dataclass
class Forecast:
    month_budget: Decimal | None
    spent: Decimal
    projected: Decimal | None
    share: float | None  # projected / month budget
    exceed_on: date | None
    text: str


def forecast_month(book: BudgetBook, person_id: int, *, last_day: date, daily_spend: dict[date, Decimal] | None = None,
                   spent: Decimal | None = None) -> Forecast:
    """The month of ``last_day`` at the pace of its working days so far (data through ``last_day``).

    ``daily_spend`` (day -> cost) lets the text say on which day the budget was exceeded; without it
    ``spent`` (the month's total so far) is enough for the projection.
    """
    cal = book.calendar
    first = last_day.replace(day=1)
    end = month_end(first)
    month_budget = book.budget(person_id, first, end).amount
    if daily_spend is not None:
        spent = sum((v for d, v in daily_spend.items() if first <= d <= last_day), Decimal(0))
    spent = spent or Decimal(0)
    elapsed = cal.working_days(first, last_day)
    remaining = cal.working_days(last_day + timedelta(days=1), end)
    if not month_budget:
        return Forecast(month_budget, spent, None, None, None, "No budget this month, so no forecast.")
    if daily_spend is not None:
        running = Decimal(0)
        for offset in range((last_day - first).days + 1):
            day = first + timedelta(days=offset)
            running += daily_spend.get(day, Decimal(0))
            if running > month_budget:
                return Forecast(month_budget, spent, spent, float(spent / month_budget), day,
                                f"Exceeded this month's budget ({money(month_budget)}) on the {ordinal(day.day)}.")
    if elapsed == 0:
        return Forecast(month_budget, spent, None, None, None, "Too early in the month to forecast.")
    pace = spent / elapsed
    projected = spent + pace * remaining
    share = float(projected / month_budget)
    exceed_on = None
    if spent > month_budget:
        exceed_on = last_day
    elif projected > month_budget and pace > 0:
        running, day = spent, last_day
        while running <= month_budget and day < end:
            day += timedelta(days=1)
            if cal.is_working(day):
                running += pace
        exceed_on = day
    if exceed_on and exceed_on <= last_day:
        text = f"Already over this month's budget of {money(month_budget)}."
    elif exceed_on:
        text = f"On track to exceed this month's budget ({money(month_budget)}) on the {ordinal(exceed_on.day)}."
    else:
        text = f"At this pace: {share:.0%} of this month's budget ({money(month_budget)})."
    return Forecast(month_budget, spent, projected.quantize(CENT, ROUND_HALF_UP), share, exceed_on, text)


def forecast_this_month(book: BudgetBook, person_id: int, *, today: date,
                        daily_spend: dict[date, Decimal]) -> Forecast:
    """This month at the pace of its working days so far, from the data through yesterday (today's
    is still arriving). On the 1st there is nothing of the month yet to go by."""
    yesterday = today - timedelta(days=1)
    if yesterday.month != today.month:
        return Forecast(None, Decimal(0), None, None, None, "Too early in the month to forecast.")
    return forecast_month(book, person_id, last_day=yesterday, daily_spend=daily_spend)


# --- Admin: previews and writes -----------------------------------------------------------------


@dataclass
class PreviewRow:
    person: PersonFacts
    before: Decimal | None
    after: Decimal | None
    before_text: str
    after_text: str

    @property
    def change(self) -> Decimal | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


def affected_people(book: BudgetBook, policy: Policy) -> list[int]:
    if policy.scope == Scope.PERSON:
        return [policy.person_id] if policy.person_id in book.people else []
    if policy.scope == Scope.TEAM:
        return [pk for pk, p in book.people.items() if policy.team_id in book.team_chain(p.team_id)]
    return list(book.people)


def preview_policy(policy: Policy, *, limit: int = 200) -> tuple[list[PreviewRow], int]:
    """Whose budget this (unsaved) policy would change, for the month it takes effect: (rows, total)."""
    employed = Person.objects.employed().values_list("pk", flat=True)
    book = BudgetBook.load(employed)
    after_book = book.with_policy(policy)
    first = policy.effective_from.replace(day=1)
    last = month_end(first)
    rows = []
    for pk in affected_people(book, policy):
        before = book.budget(pk, first, last)
        after = after_book.budget(pk, first, last)
        if before.amount == after.amount and before.explain() == after.explain():
            continue
        rows.append(PreviewRow(book.people[pk], before.amount, after.amount, before.explain(), after.explain()))
    rows.sort(key=lambda r: r.person.name.lower())
    return rows[:limit], len(rows)


class PolicyInEffect(Exception):
    """A policy already in effect is history: it is superseded by a new one, never deleted."""


class PolicyBackdated(Exception):
    """A policy starting before today rewrites budgets already reported for past periods (and a
    policy in effect can never be deleted): only with the admin's explicit confirmation."""


def create_policy(*, scope: str, kind: str, effective_from: date, amount_usd: Decimal | None = None,
                  salary_percent: Decimal | None = None, team: Team | None = None, person: Person | None = None,
                  note: str = "", by: Person | None = None, backdate: bool = False, address: str | None = None,
                  today: date | None = None) -> BudgetPolicy:
    """A new policy from ``effective_from`` on. One that starts before today changes past budgets:
    refused (PolicyBackdated) unless ``backdate`` says the admin confirmed it, and then recorded in
    the audit trail with who (``by``) and from where (``address``)."""
    today = today or timezone.now().date()
    backdated = effective_from < today
    if backdated and not backdate:
        raise PolicyBackdated(
            f"The policy would start on {effective_from:%Y-%m-%d}, before today: it would change budgets already "
            "reported for past periods. Start it today or later, or confirm the backdate."
        )
    with transaction.atomic():
        policy = BudgetPolicy.objects.create(
            scope=scope, kind=kind, effective_from=effective_from, amount_usd=amount_usd,
            salary_percent=salary_percent, team=team if scope == Scope.TEAM else None,
            person=person if scope == Scope.PERSON else None, note=note, created_by=by,
        )
        after = _policy_fields(policy)
        if backdated:
            after["days_before_today"] = (today - effective_from).days
        audit.record(actor=by, action="budget_policy.backdate" if backdated else "budget_policy.create",
                     target=policy, before=None, after=after, address=address)
        return policy


def _policy_fields(policy: BudgetPolicy) -> dict:
    return {
        "scope": policy.scope, "team_id": policy.team_id, "person_id": policy.person_id, "kind": policy.kind,
        "amount_usd": policy.amount_usd, "salary_percent": policy.salary_percent,
        "effective_from": policy.effective_from, "note": policy.note,
    }


def delete_future_policy(*, policy: BudgetPolicy, today: date | None = None, by: Person | None = None,
                         address: str | None = None) -> None:
    today = today or timezone.now().date()
    with transaction.atomic():
        if policy.effective_from <= today:
            raise PolicyInEffect("This policy is already in effect; add a new one to change it from a later date.")
        audit.record(actor=by, action="budget_policy.delete", target=policy, before=_policy_fields(policy),
                     after=None, address=address)
        policy.delete()


def set_work_percent(*, person: Person, percent: int, by: Person | None = None, address: str | None = None) -> None:
    with transaction.atomic():
        before = Person.objects.select_for_update().values_list("work_percent", flat=True).get(pk=person.pk)
        Person.objects.filter(pk=person.pk).update(work_percent=percent)
        if before != percent:
            audit.record(actor=by, action="person.work_percent", target=person, before={"work_percent": before},
                         after={"work_percent": percent}, address=address)


def update_org_settings(*, working_weekdays: list[int], grace_days: int, max_data_lag_days: int,
                        by: Person | None = None, address: str | None = None) -> OrgSettings:
    fields = ("working_weekdays", "grace_days", "max_data_lag_days")
    with transaction.atomic():
        settings, _ = OrgSettings.objects.select_for_update().get_or_create(pk=1)
        before = {name: getattr(settings, name) for name in fields}
        settings.working_weekdays = sorted(working_weekdays)
        settings.grace_days = grace_days
        settings.max_data_lag_days = max_data_lag_days
        settings.save()
        after = {name: getattr(settings, name) for name in fields}
        if after != before:
            audit.record(actor=by, action="org_settings.update", target=settings, before=before, after=after,
                         address=address)
        return settings


# --- The pages' cache ---------------------------------------------------------------------------
#
# Budgets depend on the policies, the working week and a few facts of each person (salary, working
# time, start date, team). The pages cache what they derive from them under the budgets data version
# (leaderboard/cache.py says which writes move it).

POLICY_COLUMNS = ("id", "scope", "team_id", "person_id", "kind", "amount_usd", "salary_percent", "effective_from")


@dataclass(frozen=True)
class PolicyTables:
    """Every policy (as plain tuples of POLICY_COLUMNS) and the working week: all a book needs
    besides people and teams, small enough to cache whole."""

    rows: tuple[tuple, ...]
    weekdays: tuple[int, ...]


def _load_tables() -> PolicyTables:
    """One query: the policies, the working week riding along as a subquery (a second query only
    when there is no policy at all)."""
    week = OrgSettings.objects.filter(pk=1).values("working_weekdays")[:1]
    rows = list(
        BudgetPolicy.objects.order_by().annotate(week=Subquery(week)).values_list(*POLICY_COLUMNS, "week")
    )
    if rows:
        weekdays = rows[0][-1]
    else:
        weekdays = OrgSettings.objects.filter(pk=1).values_list("working_weekdays", flat=True).first()
    return PolicyTables(tuple(tuple(row[:-1]) for row in rows), tuple(weekdays or ()))


def policy_tables(versions: Versions | None) -> PolicyTables:
    """The policies and the working week, from the cache under the budgets version (``None``: read now)."""
    return cache.cached(versions, "policy-tables", (), _load_tables, on=(BUDGETS,))
