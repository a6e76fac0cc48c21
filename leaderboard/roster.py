"""The roster import: who works here, on which team, reporting to whom (design.md §3, "Roster CSV").

    email,name,team,manager_email,title,start_date,status,annual_base_salary,github_login

One row per person, upserted by email (case-insensitive). Only ``email`` is required; a column
missing from the header leaves that field of existing people alone, while a present but empty cell
clears it (an empty ``status`` means active). Teams are created by name; their hierarchy is not in
the roster. Managers may be anywhere in the file or already in the database. A terminated person is
deactivated, never deleted, so their usage history stays; nobody is deactivated for being absent
from the file, because partial rosters (one department) are normal.

A file is read and checked whole before anything is written: a refused file changes nothing, and
says everything that is wrong with it at once (up to ``MAX_PROBLEMS``). Re-importing the same file
saves nothing.

Teams are names in the file, so renaming a team in the roster moves its people to a new team and
leaves the old one empty, with its budget policies and flag rules still pointing at it. The import
does not guess that this was a rename (a reorganisation or a merge into a new team look the same,
and moving a budget is an admin's decision): it says which teams it left empty with rows still
scoped to them (``RosterResult.left_behind``), and the upload page and the command show it.

Usage imported before its people were on the roster becomes theirs in the same transaction. The
import enqueues nothing: it says whose usage moved (``RosterResult.usage_moved``), and its callers
hand them to ``tasks.after_usage_changed`` once committed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from accounts import audit
from accounts.models import Person, Team

from .identities import match_people
from .ingestion.reading import Export
from .ingestion.rows import ImportRefused, Problem

# Enough to fix a file in one go without burying the first mistakes under a thousand copies.
MAX_PROBLEMS = 50

# The columns read into a Person field; any other column in the file is ignored.
COLUMNS = (
    "email", "name", "team", "manager_email", "title", "start_date", "status", "annual_base_salary",
    "github_login",
)

ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
# Person.annual_base_salary is DecimalField(max_digits=12, decimal_places=2).
SALARY_LIMIT = Decimal(10) ** 10


@dataclass(frozen=True, slots=True)
class RosterRow:
    """One person as the file describes them, already typed and checked on its own."""

    line: str  # "line 4", to point a person at the row
    email: str
    name: str = ""
    team: str = ""
    manager_email: str = ""
    title: str = ""
    start_date: date | None = None
    status: str = Person.Status.ACTIVE
    annual_base_salary: Decimal | None = None
    github_login: str = ""


@dataclass(slots=True)
class Roster:
    """A read roster: its rows, which of ``COLUMNS`` its header has, and what is wrong with it so far."""

    name: str
    columns: frozenset[str]
    rows: list[RosterRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def problem(self, line: str, column: str, message: str) -> None:
        self.problems.append(Problem(f"{self.name} {line}", column, message))


@dataclass(frozen=True, slots=True)
class RosterResult:
    """What an import did. Every row is exactly one of created, updated, unchanged or deactivated.

    ``deactivated`` counts people who were active and whom this file terminated (whatever else
    changed for them); someone new who arrives terminated counts as created.
    """

    name: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    teams_created: int = 0
    # Teams this import left with nobody in them but rows still scoped to them, one sentence each.
    left_behind: tuple[str, ...] = ()
    # The people whose usage history moved with this import (to them, or away from them with an
    # identity linked to one that named someone else), by id: whose flags follow once committed.
    usage_moved: frozenset[int] = frozenset()

    @property
    def people(self) -> int:
        return self.created + self.updated + self.unchanged + self.deactivated

    def summary(self) -> str:
        return (
            f"{self.name}: {self.people} people, {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.deactivated} deactivated; {self.teams_created} teams created"
        )


def import_roster(*, path: Path, name: str, by: Person | None = None, address: str | None = None) -> RosterResult:
    """Read, check and apply the roster at ``path`` (called ``name`` in problems), all or nothing.
    ``by`` and ``address``: who imports it and from where, for the audit trail of deactivations.

    Raises ImportRefused listing the problems (the first ``MAX_PROBLEMS``) when anything is wrong;
    the database is then untouched. Enqueues nothing: the caller hands ``usage_moved`` on after commit.
    """
    roster = read_roster(path=path, name=name)
    with transaction.atomic():
        people = {person.email.lower(): person for person in Person.objects.select_related("manager")}
        check_roster(roster=roster, people=people)
        if roster.problems:
            raise ImportRefused(_capped(roster.problems, name))
        result = apply_roster(roster=roster, people=people, by=by, address=address)
        # Usage imported before these people were on the roster becomes theirs now.
        moved = match_people(people[row.email].pk for row in roster.rows)
        return replace(result, usage_moved=frozenset(moved))


# --- reading ------------------------------------------------------------------------------------


def read_roster(*, path: Path, name: str) -> Roster:
    """The file's rows, typed, with problems for bad cells and repeated emails (no database reads)."""
    export = Export(path, name=name, limit=settings.IMPORT_MAX_BYTES)
    if export.kind != "csv":
        raise ImportRefused(Problem(name, "", "a roster must be a CSV file with a header row"))
    header = export.require_columns("email")
    roster = Roster(name=name, columns=frozenset(column for column in COLUMNS if column in header))
    first_line: dict[str, str] = {}
    try:
        for line, cells in export.rows():
            row = _read_row(roster, line, cells)
            if row is None:
                continue
            if row.email in first_line:
                roster.problem(line, "email", f"{row.email} is also on {first_line[row.email]}")
                continue
            first_line[row.email] = line
            roster.rows.append(row)
    except ImportRefused as refused:
        # Malformed CSV stops the reading; keep what was found before it, too.
        roster.problems.extend(refused.problems)
    if not roster.rows and not roster.problems:
        roster.problem("line 1", "", "the roster has a header but nobody in it")
    return roster


def _read_row(roster: Roster, line: str, cells: dict[str, str]) -> RosterRow | None:
    """One row, with every bad cell recorded (not just the first); None when it has no usable email.

    A row with other problems is still returned, so that the checks of the whole file (managers,
    cycles, repeated emails) see everyone and do not invent problems of their own.
    """

    def bad(column: str, message: str) -> None:
        roster.problem(line, column, message)

    def text(column: str, max_length: int) -> str:
        value = " ".join((cells.get(column) or "").split())
        if len(value) > max_length:
            bad(column, f"is longer than {max_length} characters")
        return value

    email = _email(cells.get("email"), required=True, report=lambda m: bad("email", m))
    manager_email = _email(cells.get("manager_email"), required=False, report=lambda m: bad("manager_email", m))
    if email and manager_email == email:
        bad("manager_email", f"{email} cannot manage themselves")
    row = RosterRow(
        line=line,
        email=email,
        name=text("name", 200),
        team=text("team", 120),
        manager_email=manager_email,
        title=text("title", 200),
        start_date=_start_date(cells.get("start_date"), report=lambda m: bad("start_date", m)),
        status=_status(cells.get("status"), report=lambda m: bad("status", m)),
        annual_base_salary=_salary(cells.get("annual_base_salary"), report=lambda m: bad("annual_base_salary", m)),
        github_login=_github_login(cells.get("github_login"), report=lambda m: bad("github_login", m)),
    )
    return row if email else None


def _show(value: str) -> str:
    return f"'{value}'" if len(value) <= 60 else f"'{value[:57]}...'"


def _email(cell: str | None, *, required: bool, report) -> str:
    value = (cell or "").strip()
    if not value:
        if required:
            report("is required")
        return ""
    try:
        validate_email(value)
    except ValidationError:
        report(f"must be an email address, got {_show(value)}")
        return ""
    if len(value) > 254:
        report("is longer than 254 characters")
    return value.lower()


def _start_date(cell: str | None, *, report) -> date | None:
    value = (cell or "").strip()
    if not value:
        return None
    # date.fromisoformat alone also takes "20240108" and week dates; the contract is YYYY-MM-DD.
    try:
        if ISO_DAY.fullmatch(value):
            return date.fromisoformat(value)
    except ValueError:
        pass
    report(f"must be a date as YYYY-MM-DD, got {_show(value)}")
    return None


def _status(cell: str | None, *, report) -> str:
    value = (cell or "").strip().lower()
    if not value:
        return Person.Status.ACTIVE
    if value not in Person.Status.values:
        report(f"must be one of {', '.join(Person.Status.values)}, got {_show(value)}")
        return Person.Status.ACTIVE
    return value


def _salary(cell: str | None, *, report) -> Decimal | None:
    """Dollars a year. "$180,000" is fine: that is how spreadsheets export a currency column."""
    value = (cell or "").strip()
    if not value:
        return None
    try:
        amount = Decimal(value.removeprefix("$").replace(",", "").strip())
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        report(f"must be an amount in dollars, got {_show(value)}")
    elif amount < 0:
        report(f"must not be negative, got {_show(value)}")
    elif amount >= SALARY_LIMIT:
        report(f"is implausibly large, got {_show(value)}")
    elif amount != amount.quantize(Decimal("0.01")):
        # Rounding silently would store a figure nobody wrote; "1.000,50" lands here too.
        report(f"must have at most 2 decimal places, got {_show(value)}")
    else:
        return amount
    return None


def _github_login(cell: str | None, *, report) -> str:
    value = (cell or "").strip()
    if any(character.isspace() for character in value):
        report(f"must not contain spaces, got {_show(value)}")
    elif len(value) > 100:
        report("is longer than 100 characters")
    return value


# --- checking against the database --------------------------------------------------------------


def check_roster(*, roster: Roster, people: dict[str, Person]) -> None:
    """Add the problems only the whole file plus the database can show: managers and github logins.

    ``people`` is everyone already in the database, by lower-cased email.
    """
    in_file = {row.email: row for row in roster.rows}
    if "manager_email" in roster.columns:
        for row in roster.rows:
            if row.manager_email and row.manager_email not in in_file and row.manager_email not in people:
                roster.problem(
                    row.line, "manager_email",
                    f"{row.manager_email} is neither in this file nor an existing person",
                )
        _check_cycles(roster, in_file, people)
    if "github_login" in roster.columns:
        _check_github_logins(roster, in_file, people)


def _check_cycles(roster: Roster, in_file: dict[str, RosterRow], people: dict[str, Person]) -> None:
    # The reporting lines as they will be after the import: the file's for its rows, the database's
    # for everyone else. A cycle through people outside the file is one too: it would be created here.
    boss: dict[str, str] = {
        email: person.manager.email.lower() for email, person in people.items() if person.manager is not None
    }
    for row in roster.rows:
        # Unknown managers and self-management are reported on their own; leave them out here.
        if row.manager_email and row.manager_email != row.email and (
            row.manager_email in in_file or row.manager_email in people
        ):
            boss[row.email] = row.manager_email
        else:
            boss.pop(row.email, None)

    order = {row.email: index for index, row in enumerate(roster.rows)}
    done: set[str] = set()
    for row in roster.rows:
        path: list[str] = []
        position: dict[str, int] = {}
        email: str | None = row.email
        while email is not None and email not in done and email not in position:
            position[email] = len(path)
            path.append(email)
            email = boss.get(email)
        done.update(path)
        if email is None or email not in position:
            continue
        cycle = path[position[email]:]
        file_members = [member for member in cycle if member in order]
        if not file_members:
            continue  # already so in the database; this file does not touch it
        # Start at the member highest in the file so the message reads from where the problem is reported.
        start = cycle.index(min(file_members, key=order.__getitem__))
        cycle = cycle[start:] + cycle[:start]
        steps = [
            f"{member} ({in_file[member].line})" if member in in_file else f"{member} (not in this file)"
            for member in cycle
        ]
        roster.problem(
            in_file[cycle[0]].line, "manager_email",
            "reporting lines form a cycle: " + " -> ".join([*steps, cycle[0]]),
        )


def _check_github_logins(roster: Roster, in_file: dict[str, RosterRow], people: dict[str, Person]) -> None:
    # The database allows a github login once (case-insensitively); check the logins as they will be.
    owners: dict[str, list[str]] = {}
    for row in roster.rows:
        if row.github_login:
            owners.setdefault(row.github_login.lower(), []).append(row.email)
    for email, person in people.items():
        if person.github_login and email not in in_file:
            owners.setdefault(person.github_login.lower(), []).append(email)
    for emails in owners.values():
        rows = [in_file[email] for email in emails if email in in_file]
        outside = [email for email in emails if email not in in_file]
        if len(emails) < 2 or not rows:
            continue
        for row in rows[1:]:
            first = rows[0]
            roster.problem(
                row.line, "github_login",
                f"{_show(row.github_login)} is also the github_login of {first.email} on {first.line}",
            )
        if outside:
            roster.problem(
                rows[0].line, "github_login",
                f"{_show(rows[0].github_login)} already belongs to {', '.join(outside)}, who is not in this file",
            )


def _capped(problems: list[Problem], name: str) -> list[Problem]:
    """The problems in file order (cells are checked before the whole file), the first MAX_PROBLEMS."""
    problems = sorted(problems, key=_line_number)
    if len(problems) <= MAX_PROBLEMS:
        return problems
    more = len(problems) - MAX_PROBLEMS
    return [*problems[:MAX_PROBLEMS], Problem(name, "", f"and {more} more problems not listed")]


def _line_number(problem: Problem) -> int:
    _, _, number = problem.where.rpartition(" line ")
    return int(number) if number.isdigit() else 0


# --- applying -----------------------------------------------------------------------------------


def apply_roster(*, roster: Roster, people: dict[str, Person], by: Person | None = None,
                 address: str | None = None) -> RosterResult:
    """Write a checked roster. Call inside the transaction that loaded ``people``; it is updated in place."""
    teams = {team.name.lower(): team for team in Team.objects.all()}
    occupied_before = _occupied_teams(people.values(), teams.values())
    team_before = {email: person.team_id for email, person in people.items()}
    teams_created = 0
    if "team" in roster.columns:
        for row in roster.rows:
            if row.team and row.team.lower() not in teams:
                # The first spelling in the file names the team; "platform" later on is the same team.
                teams[row.team.lower()] = Team.objects.create(name=row.team)
                teams_created += 1

    existing = {row.email for row in roster.rows if row.email in people}
    if "github_login" in roster.columns:
        # Logins may move between people in one file (a swap, a fix); free the moving ones first so
        # the unique constraint never sees two holders in between.
        moving = [
            people[row.email].pk for row in roster.rows
            if row.email in existing and people[row.email].github_login
            and people[row.email].github_login != row.github_login
        ]
        Person.objects.filter(pk__in=moving).update(github_login="")

    for row in roster.rows:
        if row.email not in existing:
            # Managers come in a second pass: they may be further down the file.
            fields = _wanted(row, roster.columns, teams, people)
            fields.pop("manager_id", None)
            person = Person(email=row.email, **fields)
            # New people sign in through password reset.
            person.set_unusable_password()
            person.save()
            people[row.email] = person

    created = updated = unchanged = deactivated = 0
    for row in roster.rows:
        person = people[row.email]
        wanted = _wanted(row, roster.columns, teams, people)
        changed = [name for name, value in wanted.items() if getattr(person, name) != value]
        was_active = person.is_active
        was = {name: getattr(person, name) for name in changed}
        if changed:
            for name in changed:
                setattr(person, name, wanted[name])
            person.save(update_fields=changed)
        if row.email not in existing:
            created += 1
        elif not changed:
            unchanged += 1
        elif was_active and not person.is_active:
            deactivated += 1
            # Everything the row changed for them, and which file did it.
            audit.record(actor=by, action="person.deactivate", target=person, before=was,
                         after={**{name: wanted[name] for name in changed}, "roster": roster.name}, address=address)
        else:
            updated += 1
    return RosterResult(
        name=roster.name, created=created, updated=updated, unchanged=unchanged, deactivated=deactivated,
        teams_created=teams_created,
        left_behind=_left_behind(occupied_before, people, team_before, teams),
    )


def _occupied_teams(people, teams) -> set[int]:
    """Teams with someone employed in them or in a team below them (a parent team's policy covers
    its sub-teams' people, so it is not empty while they have someone)."""
    parents = {team.pk: team.parent_id for team in teams}
    occupied: set[int] = set()
    for person in people:
        team_id = person.team_id if person.status != Person.Status.TERMINATED else None
        while team_id is not None and team_id not in occupied:
            occupied.add(team_id)
            team_id = parents.get(team_id)
    return occupied


def _left_behind(occupied_before: set[int], people: dict[str, Person], team_before: dict[str, int | None],
                 teams: dict[str, Team]) -> tuple[str, ...]:
    """One sentence per team this import emptied that still has rows scoped to it (budget policies,
    flag rules), naming where its people went when they all went to one team."""
    emptied = occupied_before - _occupied_teams(people.values(), teams.values())
    if not emptied:
        return ()
    by_id = {team.pk: team for team in teams.values()}
    found = []
    for team_id in sorted(emptied, key=lambda pk: by_id[pk].name.lower()):
        team = by_id[team_id]
        attached = team.attachments()
        if not attached:
            continue
        went = {by_id[person.team_id].name for email, person in people.items()
                if team_before.get(email) == team_id and person.team_id not in (None, team_id)}
        where = f" (its people are now in {went.pop()})" if len(went) == 1 else ""
        things = ", ".join(f"{count} {label}" for label, count in attached)
        found.append(
            f"Team {team.name} now has nobody in it{where} but still has {things} scoped to it: move them to "
            f"the team that replaces it, or next time rename the team in the admin before importing."
        )
    return tuple(found)


def _wanted(row: RosterRow, columns: frozenset[str], teams: dict[str, Team], people: dict[str, Person]) -> dict:
    """The Person fields (by attname) the row sets: only those whose column the file has."""
    wanted: dict = {}
    if "name" in columns:
        wanted["name"] = row.name
    if "team" in columns:
        wanted["team_id"] = teams[row.team.lower()].pk if row.team else None
    if "manager_email" in columns:
        manager = people.get(row.manager_email) if row.manager_email else None
        wanted["manager_id"] = manager.pk if manager is not None else None
    if "title" in columns:
        wanted["title"] = row.title
    if "start_date" in columns:
        wanted["start_date"] = row.start_date
    if "status" in columns:
        wanted["status"] = row.status
        # is_active follows the status both ways: someone rehired after termination can sign in again.
        wanted["is_active"] = row.status != Person.Status.TERMINATED
    if "annual_base_salary" in columns:
        wanted["annual_base_salary"] = row.annual_base_salary
    if "github_login" in columns:
        wanted["github_login"] = row.github_login
    return wanted
