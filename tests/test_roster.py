"""The roster import (leaderboard/roster.py), ``manage.py import_people`` and the upload page:
design.md §3, "Roster CSV"."""

from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models.signals import pre_save
from django.utils import timezone

from accounts import org
from accounts.models import Person, Team
from leaderboard.ingestion.rows import ImportRefused
from leaderboard.roster import MAX_PROBLEMS, import_roster
from tests.test_imports import csv as usage_csv
from tests.test_imports import run as run_usage
from tests.test_imports import tokens

HEADER = "email,name,team,manager_email,title,start_date,status,annual_base_salary,github_login"


def write(tmp_path, text, name="roster.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def run(path):
    return import_roster(path=path, name=path.name)


def refuse(path) -> list[tuple[str, str, str]]:
    with pytest.raises(ImportRefused) as refused:
        run(path)
    return [(p.where, p.field, p.message) for p in refused.value.problems]


def snapshot():
    return (
        list(Person.objects.order_by("pk").values()),
        list(Team.objects.order_by("pk").values()),
    )


@pytest.fixture
def saves():
    """Every Person and Team save, as (model name, email or team name)."""
    seen = []

    def record(sender, instance, **kwargs):
        seen.append((sender.__name__, getattr(instance, "email", None) or instance.name))

    pre_save.connect(record, sender=Person)
    pre_save.connect(record, sender=Team)
    yield seen
    pre_save.disconnect(record, sender=Person)
    pre_save.disconnect(record, sender=Team)


def by_email(email):
    return Person.objects.select_related("team", "manager").get(email=email)


# --- the sample org -----------------------------------------------------------------------------


def test_it_creates_the_sample_org(db, samples):
    result = run(samples / "roster.csv")

    assert (result.created, result.updated, result.unchanged, result.deactivated) == (24, 0, 0, 0)
    assert result.teams_created == 7
    assert Person.objects.count() == 24
    assert set(Team.objects.values_list("name", flat=True)) == {
        "Engineering", "Data Science", "Mobile", "Finance Ops", "Support Engineering", "Security", "Platform",
    }
    assert not Team.objects.exclude(parent=None).exists()

    caleb = by_email("caleb.nguyen@acme.example")
    assert caleb.manager is None
    assert caleb.team.name == "Engineering"
    assert caleb.title == "VP Engineering"
    assert caleb.start_date == date(2026, 5, 25)
    assert caleb.annual_base_salary == Decimal("180000")
    assert caleb.github_login == "caleb-nguyen-nw"

    dana = by_email("dana.brooks@acme.example")
    assert (dana.name, dana.team.name, dana.manager, dana.title) == (
        "Dana Brooks", "Data Science", caleb, "Team Lead",
    )
    assert set(dana.direct_reports.values_list("email", flat=True)) == {
        "caleb.singh@acme.example", "priya.adeyemi@acme.example", "dana.khan@acme.example",
    }
    olga = by_email("olga.ortiz@acme.example")
    assert (olga.status, olga.is_active, olga.manager.email) == ("leave", True, "gus.larsen@acme.example")
    assert len(org.reports_of(caleb.pk, Person.objects.reporting_lines())) == 23


def test_it_gives_new_people_an_unusable_password_and_no_admin_rights(db, samples):
    run(samples / "roster.csv")

    assert not any(person.has_usable_password() for person in Person.objects.all())
    assert not Person.objects.filter(is_staff=True).exists()


def test_it_changes_nothing_when_the_same_roster_comes_again(db, samples, saves):
    run(samples / "roster.csv")
    before = snapshot()
    saves.clear()

    result = run(samples / "roster.csv")

    assert (result.created, result.updated, result.unchanged, result.deactivated, result.teams_created) == (
        0, 0, 24, 0, 0,
    )
    assert saves == []
    assert snapshot() == before
    assert result.summary() == (
        "roster.csv: 24 people, 0 created, 0 updated, 24 unchanged, 0 deactivated; 0 teams created"
    )


def test_it_updates_only_the_person_whose_row_changed(db, samples, saves, tmp_path):
    run(samples / "roster.csv")
    people_before, teams_before = snapshot()
    saves.clear()
    text = (samples / "roster.csv").read_text().replace(
        "ivan.ortiz@acme.example,Ivan Ortiz,Finance Ops,maya.murphy@acme.example,Engineer,",
        "ivan.ortiz@acme.example,Ivan Ortiz,Security,oscar.hassan@acme.example,Senior Engineer,",
    )

    result = run(write(tmp_path, text))

    assert (result.created, result.updated, result.unchanged, result.deactivated) == (0, 1, 23, 0)
    assert saves == [("Person", "ivan.ortiz@acme.example")]
    ivan = by_email("ivan.ortiz@acme.example")
    assert (ivan.team.name, ivan.manager.email, ivan.title) == (
        "Security", "oscar.hassan@acme.example", "Senior Engineer",
    )
    people_after, teams_after = snapshot()
    assert teams_after == teams_before
    changed = [after["email"] for before, after in zip(people_before, people_after, strict=True) if before != after]
    assert changed == ["ivan.ortiz@acme.example"]


# --- rows and columns ---------------------------------------------------------------------------


def test_it_resolves_managers_listed_after_their_reports(db, tmp_path):
    path = write(tmp_path, f"{HEADER}\nr@x.example,Report,,boss@x.example\nboss@x.example,Boss,,,,,,,\n")

    result = run(path)

    assert result.created == 2
    assert by_email("r@x.example").manager == by_email("boss@x.example")


def test_it_resolves_managers_already_in_the_database(cast, tmp_path):
    result = run(write(tmp_path, "email,name,manager_email\nnew@example.com,New Hire,MARIA@example.com\n"))

    assert result.created == 1
    assert by_email("new@example.com").manager == cast.maria


def test_it_matches_emails_and_headers_case_insensitively_with_bom_and_crlf(cast, tmp_path):
    text = "\ufeff EMAIL ,Name,MANAGER_EMAIL , Start_Date,Extra Column\r\n"
    text += "Erin@Example.COM,Erin Employee,Sam@Example.com,2024-01-08,ignored\r\n"

    result = run(write(tmp_path, text))

    assert (result.created, result.updated) == (0, 1)
    assert Person.objects.count() == 6
    erin = by_email("erin@example.com")
    assert erin.manager == cast.sam
    assert erin.team == cast.engineering  # no team column: left alone


def test_it_leaves_alone_the_fields_whose_column_is_absent(cast, tmp_path):
    run(write(tmp_path, "email,title\nlee@example.com,Staff Engineer\n"))

    lee = by_email("lee@example.com")
    assert lee.title == "Staff Engineer"
    assert (lee.name, lee.team, lee.manager, lee.start_date) == ("Lee Report", cast.platform, cast.sam, date(2024, 1, 8))


def test_it_clears_fields_whose_cell_is_empty(cast, tmp_path):
    run(write(tmp_path, f"{HEADER}\nlee@example.com,Lee Report,,,,,,,\n"))

    lee = by_email("lee@example.com")
    assert (lee.team, lee.manager, lee.title, lee.start_date, lee.status) == (None, None, "", None, "active")


def test_it_leaves_people_outside_the_file_and_admin_rights_alone(cast, tmp_path, saves):
    run(write(tmp_path, "email,name,team\nada@example.com,Ada Lovelace,engineering\n"))

    ada = by_email("ada@example.com")
    assert (ada.name, ada.is_staff, ada.is_active, ada.team) == ("Ada Lovelace", True, True, cast.engineering)
    assert ada.check_password("correct horse battery staple")
    assert saves == [("Person", "ada@example.com")]


def test_it_matches_teams_by_name_case_insensitively_and_keeps_their_parent(cast, tmp_path):
    result = run(write(tmp_path, "email,team\nnew@example.com,  PLATFORM \nother@example.com,Data  Science\n"))

    assert result.teams_created == 1
    assert by_email("new@example.com").team == cast.platform
    assert Team.objects.get(pk=cast.platform.pk).parent == cast.engineering
    assert by_email("other@example.com").team.name == "Data Science"


def test_it_deactivates_terminated_people_and_brings_them_back(cast, tmp_path):
    result = run(write(tmp_path, "email,status\nerin@example.com,terminated\nlee@example.com,Leave\n"))

    assert (result.deactivated, result.updated) == (1, 1)
    erin = by_email("erin@example.com")
    assert (erin.status, erin.is_active) == ("terminated", False)
    assert erin.manager == cast.maria  # still there, history and reporting line intact
    assert by_email("lee@example.com").status == "leave"

    result = run(write(tmp_path, "email,status\nerin@example.com,\n"))

    assert (result.deactivated, result.updated) == (0, 1)
    erin = by_email("erin@example.com")
    assert (erin.status, erin.is_active) == ("active", True)


def test_it_accepts_salaries_written_as_currency(db, tmp_path):
    run(write(tmp_path, 'email,annual_base_salary\na@x.example,"$180,000.50"\nb@x.example, 95000 \nc@x.example,\n'))

    salaries = dict(Person.objects.values_list("email", "annual_base_salary"))
    assert salaries == {"a@x.example": Decimal("180000.50"), "b@x.example": Decimal("95000"), "c@x.example": None}


def test_it_lets_two_people_swap_github_logins(cast, tmp_path):
    Person.objects.filter(pk=cast.erin.pk).update(github_login="erin-gh")
    Person.objects.filter(pk=cast.lee.pk).update(github_login="lee-gh")

    result = run(write(tmp_path, "email,github_login\nerin@example.com,lee-gh\nlee@example.com,erin-gh\n"))

    assert result.updated == 2
    assert by_email("erin@example.com").github_login == "lee-gh"
    assert by_email("lee@example.com").github_login == "erin-gh"


# --- refusals -----------------------------------------------------------------------------------


REFUSALS = {
    "missing email column": (
        "name,team\nErin,Engineering\n",
        [("roster.csv line 1", "email", "required column missing")],
    ),
    "empty email": (
        "email,name\n,Nobody\n",
        [("roster.csv line 2", "email", "is required")],
    ),
    "invalid email": (
        "email,name\nnot-an-email,Nobody\n",
        [("roster.csv line 2", "email", "must be an email address, got 'not-an-email'")],
    ),
    "same email twice": (
        "email,name\nnew@example.com,A\nother@example.com,B\nNEW@example.com,C\n",
        [("roster.csv line 4", "email", "new@example.com is also on line 2")],
    ),
    "unknown manager": (
        "email,manager_email\nnew@example.com,ghost@example.com\n",
        [("roster.csv line 2", "manager_email", "ghost@example.com is neither in this file nor an existing person")],
    ),
    "invalid manager email": (
        "email,manager_email\nnew@example.com,ghost\n",
        [("roster.csv line 2", "manager_email", "must be an email address, got 'ghost'")],
    ),
    "managing themselves": (
        "email,manager_email\nnew@example.com,New@Example.com\n",
        [("roster.csv line 2", "manager_email", "new@example.com cannot manage themselves")],
    ),
    "cycle in the file": (
        "email,manager_email\nx@example.com,maria@example.com\na@example.com,b@example.com\n"
        "b@example.com,c@example.com\nc@example.com,a@example.com\n",
        [(
            "roster.csv line 3", "manager_email",
            "reporting lines form a cycle: a@example.com (line 3) -> b@example.com (line 4) "
            "-> c@example.com (line 5) -> a@example.com",
        )],
    ),
    "cycle through people outside the file": (
        # Lee reports to Sam, who reports to Maria: Maria cannot report to Lee.
        "email,manager_email\nmaria@example.com,lee@example.com\n",
        [(
            "roster.csv line 2", "manager_email",
            "reporting lines form a cycle: maria@example.com (line 2) -> lee@example.com (not in this file) "
            "-> sam@example.com (not in this file) -> maria@example.com",
        )],
    ),
    "bad dates": (
        "email,start_date\nnew@example.com,2024-02-30\nother@example.com,01/02/2024\nthird@example.com,20240108\n",
        [
            ("roster.csv line 2", "start_date", "must be a date as YYYY-MM-DD, got '2024-02-30'"),
            ("roster.csv line 3", "start_date", "must be a date as YYYY-MM-DD, got '01/02/2024'"),
            ("roster.csv line 4", "start_date", "must be a date as YYYY-MM-DD, got '20240108'"),
        ],
    ),
    "bad status": (
        "email,status\nnew@example.com,fired\n",
        [("roster.csv line 2", "status", "must be one of active, leave, terminated, got 'fired'")],
    ),
    "bad salaries": (
        'email,annual_base_salary\na@example.com,lots\nb@example.com,-5\nc@example.com,"1.000,50"\n',
        [
            ("roster.csv line 2", "annual_base_salary", "must be an amount in dollars, got 'lots'"),
            ("roster.csv line 3", "annual_base_salary", "must not be negative, got '-5'"),
            ("roster.csv line 4", "annual_base_salary", "must have at most 2 decimal places, got '1.000,50'"),
        ],
    ),
    "github login twice in the file": (
        "email,github_login\na@example.com,octo\nb@example.com,other\nc@example.com,OCTO\n",
        [("roster.csv line 4", "github_login", "'OCTO' is also the github_login of a@example.com on line 2")],
    ),
    "github login of someone outside the file": (
        "email,github_login\nnew@example.com,otto-gh\n",
        [("roster.csv line 2", "github_login", "'otto-gh' already belongs to otto@example.com, who is not in this file")],
    ),
    "a name too long": (
        "email,team\nnew@example.com," + "x" * 121 + "\n",
        [("roster.csv line 2", "team", "is longer than 120 characters")],
    ),
    "no people": (
        HEADER + "\n",
        [("roster.csv line 1", "", "the roster has a header but nobody in it")],
    ),
}


@pytest.mark.parametrize("case", REFUSALS, ids=list(REFUSALS))
def test_it_refuses_bad_files_naming_the_rows_and_changes_nothing(cast, tmp_path, case):
    Person.objects.filter(pk=cast.otto.pk).update(github_login="otto-gh")
    text, expected = REFUSALS[case]
    path = write(tmp_path, text)
    before = snapshot()

    assert refuse(path) == expected
    assert snapshot() == before


def test_it_refuses_a_file_that_would_be_fine_but_for_one_row(cast, tmp_path):
    before = snapshot()
    text = f"{HEADER}\nnew@example.com,New,Brand New Team,maria@example.com\nerin@example.com,Erin,,,,,gone\n"

    assert refuse(write(tmp_path, text)) == [("roster.csv line 3", "status", "must be one of active, leave, terminated, got 'gone'")]
    assert snapshot() == before
    assert not Team.objects.filter(name="Brand New Team").exists()


def test_it_reports_every_problem_of_a_row_and_does_not_invent_more(db, tmp_path):
    # The boss's row is bad, but the report still finds the boss: one problem per bad cell, no "unknown manager".
    text = "email,manager_email,start_date,status\nr@x.example,boss@x.example,,\nboss@x.example,,yesterday,gone\n"

    assert [(where, field) for where, field, _ in refuse(write(tmp_path, text))] == [
        ("roster.csv line 3", "start_date"), ("roster.csv line 3", "status"),
    ]


def test_it_lists_at_most_the_first_fifty_problems(db, tmp_path):
    text = "email,status\n" + "".join(f"p{n}@x.example,bad\n" for n in range(60))

    problems = refuse(write(tmp_path, text))

    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[0][0] == "roster.csv line 2"
    assert problems[MAX_PROBLEMS - 1][0] == "roster.csv line 51"
    assert problems[-1] == ("roster.csv", "", "and 10 more problems not listed")


def test_it_refuses_json_and_empty_files(db, tmp_path):
    assert refuse(write(tmp_path, '[{"email": "a@x.example"}]')) == [
        ("roster.csv", "", "a roster must be a CSV file with a header row"),
    ]
    assert refuse(write(tmp_path, "")) == [("roster.csv", "", "the file is empty")]


def test_it_lists_problems_in_file_order(db, tmp_path):
    text = "email,manager_email,status\na@x.example,b@x.example,\nb@x.example,a@x.example,nope\n"

    assert [(where, field) for where, field, _ in refuse(write(tmp_path, text))] == [
        ("roster.csv line 2", "manager_email"), ("roster.csv line 3", "status"),
    ]


# --- the command --------------------------------------------------------------------------------


def test_the_command_imports_and_prints_the_summary(db, samples):
    out = StringIO()

    call_command("import_people", str(samples / "roster.csv"), stdout=out)

    assert out.getvalue().strip() == (
        "roster.csv: 24 people, 24 created, 0 updated, 0 unchanged, 0 deactivated; 7 teams created"
    )
    assert Person.objects.count() == 24


def test_the_command_fails_listing_every_problem(cast, tmp_path):
    path = write(tmp_path, "email,start_date,status\nnew@example.com,2024-13-01,\nerin@example.com,,fired\n")
    before = snapshot()

    with pytest.raises(CommandError) as failed:
        call_command("import_people", str(path))

    assert failed.value.returncode != 0
    assert str(failed.value).splitlines() == [
        "roster.csv refused, nothing was imported:",
        "  roster.csv line 2: start_date: must be a date as YYYY-MM-DD, got '2024-13-01'",
        "  roster.csv line 3: status: must be one of active, leave, terminated, got 'fired'",
    ]
    assert snapshot() == before


def test_the_command_fails_on_a_missing_file(db, tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_people", str(tmp_path / "nope.csv"))



# --- what an import leaves behind ---------------------------------------------------------------


@pytest.fixture
def platform_policies(cast):
    """A budget policy and a flag rule scoped to Platform (Sam and Lee)."""
    from leaderboard.models import BudgetPolicy, FlagRule

    BudgetPolicy.objects.create(scope="team", team=cast.platform, kind="day", amount_usd=Decimal(300),
                                effective_from=date(2025, 1, 1))
    rule = FlagRule.objects.order_by("pk").first()
    rule.scope_team = cast.platform
    rule.save()
    return cast


RENAMED = "email,team\nsam@example.com,Platform Engineering\nlee@example.com,Platform Engineering\n"


def test_it_says_which_team_a_rename_left_empty_with_its_policies(platform_policies, tmp_path):
    result = run(write(tmp_path, RENAMED))

    assert (result.updated, result.teams_created) == (2, 1)
    assert result.left_behind == (
        "Team Platform now has nobody in it (its people are now in Platform Engineering) but still has "
        "1 budget policy, 1 flag rule scoped to it: move them to the team that replaces it, or next time rename "
        "the team in the admin before importing.",
    )
    # The policy is where it was: the import does not guess that the new name is the old team.
    assert Team.objects.get(name="Platform").budget_policies.count() == 1


def test_renaming_the_team_in_the_admin_first_leaves_nothing_behind(platform_policies, tmp_path):
    Team.objects.filter(pk=platform_policies.platform.pk).update(name="Platform Engineering")

    result = run(write(tmp_path, RENAMED))

    assert result.left_behind == () and result.teams_created == 0
    assert by_email("sam@example.com").team.budget_policies.count() == 1


def test_it_says_nothing_of_an_emptied_team_with_nothing_scoped_to_it(cast, tmp_path):
    result = run(write(tmp_path, "email,team\notto@example.com,Field Sales\n"))

    assert result.teams_created == 1 and result.left_behind == ()


def test_a_team_whose_sub_team_still_has_people_is_not_empty(cast, tmp_path):
    from leaderboard.models import BudgetPolicy

    BudgetPolicy.objects.create(scope="team", team=cast.engineering, kind="day", amount_usd=Decimal(300),
                                effective_from=date(2025, 1, 1))

    # Maria and Erin leave Engineering; Platform's Sam and Lee are still under it, and so is its policy.
    result = run(write(tmp_path, "email,team\nmaria@example.com,Sales\nerin@example.com,Sales\n"))

    assert result.left_behind == ()


def test_a_team_emptied_by_terminations_is_reported_too(platform_policies, tmp_path):
    result = run(write(tmp_path, "email,status\nsam@example.com,terminated\nlee@example.com,terminated\n"))

    assert [sentence.split(" but ")[0] for sentence in result.left_behind] == ["Team Platform now has nobody in it"]


def test_the_command_prints_what_the_import_left_behind(platform_policies, tmp_path):
    out = StringIO()

    call_command("import_people", str(write(tmp_path, RENAMED)), stdout=out)

    summary, warning = out.getvalue().strip().splitlines()
    assert summary.startswith("roster.csv: 2 people")
    assert warning.startswith("warning: Team Platform now has nobody in it (its people are now in Platform Engineering)")


def test_it_records_who_deactivated_whom_through_the_roster(cast, tmp_path):
    from accounts.models import AuditEvent

    import_roster(path=write(tmp_path, "email,status\nerin@example.com,terminated\n"), name="roster.csv",
                  by=cast.ada, address="203.0.113.9")

    event = AuditEvent.objects.get()
    assert (event.actor, event.action, event.target_id, event.address) == (
        cast.ada, "person.deactivate", str(cast.erin.pk), "203.0.113.9")
    assert event.before == {"status": "active", "is_active": True}
    assert event.after == {"status": "terminated", "is_active": False, "roster": "roster.csv"}


# --- the upload page ----------------------------------------------------------------------------


def upload(client, text: bytes, **options):
    return client.post("/people/import/", {"file": SimpleUploadedFile("roster.csv", text)}, **options)


def test_it_shows_the_roster_upload_to_admins_only(login, cast):
    assert login(cast.erin).get("/people/import/").status_code == 404
    assert login(cast.ada).get("/people/import/").status_code == 200


def test_it_imports_a_roster_uploaded_by_an_admin(login, cast):
    roster = b"email,name,team,manager_email\nnew.person@example.com,New Person,Sales,otto@example.com\n"
    response = upload(login(cast.ada), roster, follow=True)
    assert "1 created" in response.content.decode()
    assert Person.objects.get(email="new.person@example.com").manager == cast.otto


def test_it_shows_why_a_roster_was_refused_and_changes_nothing(login, cast):
    roster = b"email,name,manager_email\nnew.person@example.com,New Person,nobody@example.com\n"
    page = upload(login(cast.ada), roster).content.decode()
    assert "roster.csv line 2" in page and "nobody@example.com" in page
    assert not Person.objects.filter(email="new.person@example.com").exists()


def test_the_roster_upload_says_what_the_import_left_behind(login, cast):
    from leaderboard.models import BudgetPolicy

    BudgetPolicy.objects.create(scope="team", team=cast.sales, kind="day", amount_usd=Decimal(300),
                                effective_from=timezone.now().date())
    page = upload(login(cast.ada), b"email,team\notto@example.com,Field Sales\n", follow=True).content.decode()
    assert "1 updated" in page
    assert "Team Sales now has nobody in it (its people are now in Field Sales) but still has 1 budget policy" in page


# --- what follows an import ---------------------------------------------------------------------


NEWCOMER = "email,name\nnewcomer@example.com,New Comer\n"


@pytest.fixture
def unmatched(cast, settings, tmp_path, sent_tasks):
    """Usage of someone the roster does not name yet (kept, nobody's), and the tasks enqueued after it."""
    settings.MEDIA_ROOT = tmp_path / "media"
    run_usage(usage_csv("2026-10-01,newcomer@example.com,mistral,m,10,5,0,0,1,"))
    sent_tasks.clear()
    return sent_tasks


def follow_up(sent_tasks) -> dict:
    return {name: kwargs for name, _args, kwargs in sent_tasks}


def test_it_says_whose_usage_moved_and_enqueues_nothing_itself(unmatched, tmp_path, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        result = run(write(tmp_path, NEWCOMER))

    newcomer = by_email("newcomer@example.com")
    assert result.usage_moved == {newcomer.pk}
    assert tokens(newcomer) == 15
    assert unmatched == []


def test_the_command_re_evaluates_the_people_whose_usage_moved(unmatched, tmp_path, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_people", str(write(tmp_path, NEWCOMER)), stdout=StringIO())

    sent = follow_up(unmatched)
    assert set(sent) == {"leaderboard.tasks.warm_boards", "leaderboard.tasks.evaluate_flags"}
    assert sent["leaderboard.tasks.evaluate_flags"] == {"person_ids": [by_email("newcomer@example.com").pk]}


def test_the_upload_re_evaluates_the_people_whose_usage_moved(unmatched, login, cast,
                                                              django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(login(cast.ada), NEWCOMER.encode())

    assert response.status_code == 302
    sent = follow_up(unmatched)
    assert set(sent) == {"leaderboard.tasks.warm_boards", "leaderboard.tasks.evaluate_flags"}
    assert sent["leaderboard.tasks.evaluate_flags"] == {"person_ids": [by_email("newcomer@example.com").pk]}


def test_nothing_follows_a_roster_that_moved_no_usage(unmatched, login, cast, tmp_path,
                                                      django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_people", str(write(tmp_path, "email,title\nerin@example.com,Staff Engineer\n")),
                     stdout=StringIO())
        upload(login(cast.ada), b"email,title\nlee@example.com,Staff Engineer\n")

    assert unmatched == []
