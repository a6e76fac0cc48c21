"""A third number in the boards' data version: ``personal``, what the cached personal part of "my usage"
and of a person's page is keyed by (leaderboard/boards.py, ``personal``): the provider identities
linked to a person, their own ccusage uploads and their live flags.

Set to a new random value by triggers whenever one of those rows changes, for the same reasons as
``people`` (migration 0004): identity lists, imports, the review queue, the admin and a SQL console
all write them. One number for everyone, not one per person: these tables change a few times a day
(an import, a review action), the pages are read all day.

On PostgreSQL the triggers are deferred constraint triggers that bump once per transaction, at its
commit: an import holding its transaction open for minutes never holds the version row, so nobody's
upload or flag answer waits for it. A reader sees the new number only with the rows it describes
(MVCC), so a value is never cached under a number newer than itself. SQLite has a single writer,
so its plain triggers cannot make anyone wait longer than they already do.
"""

from django.db import migrations

# (table, condition on the row for it to matter, as SQL over NEW/OLD; None: every row)
TABLES = {
    "accounts_provideridentity": None,
    "leaderboard_flag": None,
    "leaderboard_flagnote": None,
    "leaderboard_flagrule": None,
    # Only someone's own uploads show on their page, not the admins' imports.
    "leaderboard_usageexport": "{row}.origin = 'self'",
}
EVENTS = {"insert": ["NEW"], "delete": ["OLD"], "update": ["NEW", "OLD"]}


def _when(condition: str | None, rows: list[str]) -> str:
    return " OR ".join(condition.format(row=row) for row in rows) if condition else ""


SQLITE_BUMP = "UPDATE leaderboard_boards_version SET value = abs(random()) WHERE name = 'personal';"


def _triggers(vendor: str, table: str, condition: str | None) -> list[str]:
    statements = []
    for event, rows in EVENTS.items():
        name, when = f"{table}_personal_{event}", _when(condition, rows)
        if vendor == "sqlite":
            statements.append(
                f"CREATE TRIGGER {name} AFTER {event.upper()} ON {table} "
                f"{f'WHEN {when} ' if when else ''}BEGIN {SQLITE_BUMP} END"
            )
        else:
            statements.append(
                f"CREATE CONSTRAINT TRIGGER {name} AFTER {event.upper()} ON {table} "
                f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW {f'WHEN ({when}) ' if when else ''}"
                "EXECUTE FUNCTION leaderboard_personal_changed()"
            )
    if vendor == "postgresql":
        # A constraint trigger cannot watch TRUNCATE (a flush, a console): a plain one does, at once.
        statements.append(
            f"CREATE TRIGGER {table}_personal_truncate AFTER TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION leaderboard_personal_changed()"
        )
    return statements


# Once per statement: the deferred events of a transaction all fire in its COMMIT, where the first
# bumps and the others find its transaction-local mark. (Made IMMEDIATE, as the tests do, the events
# fire after each statement, and each statement bumps once.)
POSTGRESQL_FUNCTION = """
CREATE FUNCTION leaderboard_personal_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('leaderboard.personal_bumped', true) IS DISTINCT FROM statement_timestamp()::text THEN
        PERFORM set_config('leaderboard.personal_bumped', statement_timestamp()::text, true);
        UPDATE leaderboard_boards_version SET value = floor(random() * 9e18)::bigint WHERE name = 'personal';
    END IF;
    RETURN NULL;
END $$
"""


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    random = "abs(random())" if vendor == "sqlite" else "floor(random() * 9e18)::bigint"
    statements = [f"INSERT INTO leaderboard_boards_version (name, value) VALUES ('personal', {random})"]
    if vendor not in ("sqlite", "postgresql"):
        raise RuntimeError(f"No personal data version triggers for {vendor}")
    if vendor == "postgresql":
        statements.append(POSTGRESQL_FUNCTION)
    for table, condition in TABLES.items():
        statements += _triggers(vendor, table, condition)
    for statement in statements:
        schema_editor.execute(statement)


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table in TABLES:
        for event in [*EVENTS, "truncate"]:
            on = f" ON {table}" if vendor == "postgresql" else ""
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_personal_{event}{on}")
    if vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS leaderboard_personal_changed()")
    schema_editor.execute("DELETE FROM leaderboard_boards_version WHERE name = 'personal'")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_person_work_percent"),
        ("leaderboard", "0005_rollups_without_person_constraint"),
    ]

    operations = [migrations.RunPython(create, drop)]
