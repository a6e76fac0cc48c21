"""The boards' data version: what their cache is keyed by (leaderboard/boards.py, "Cache").

Two numbers in a table of their own: ``rollups``, set to a new random value by every rollup recompute
(leaderboard/rollups.py, after its transaction commits), and ``people``, set to a new random value by
triggers whenever a person or a team changes in a way a board shows (name, email, team, manager,
title, status, privacy; a team's name or parent). Triggers, not signals: a queryset ``update()``, a
roster import, the admin or a SQL console all change people, and every one of them must show on the
boards at once. Random values, not counters, so that a number never comes back after a rollback or a
restore and meets an old cache entry.
"""

from django.db import migrations

PERSON_COLUMNS = ["name", "email", "team_id", "manager_id", "title", "status", "privacy"]
TEAM_COLUMNS = ["name", "parent_id"]
TABLES = {"accounts_person": PERSON_COLUMNS, "accounts_team": TEAM_COLUMNS}


def _sqlite(table: str, columns: list[str]) -> list[str]:
    bump = "UPDATE leaderboard_boards_version SET value = abs(random()) WHERE name = 'people';"
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
    return [
        f"CREATE TRIGGER {table}_boards_insert AFTER INSERT ON {table} BEGIN {bump} END",
        f"CREATE TRIGGER {table}_boards_delete AFTER DELETE ON {table} BEGIN {bump} END",
        f"CREATE TRIGGER {table}_boards_update AFTER UPDATE OF {', '.join(columns)} ON {table} "
        f"WHEN {changed} BEGIN {bump} END",
    ]


def _postgresql(table: str, columns: list[str]) -> list[str]:
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)
    run = "EXECUTE FUNCTION leaderboard_boards_people_changed()"
    return [
        f"CREATE TRIGGER {table}_boards_write AFTER INSERT OR DELETE OR TRUNCATE ON {table} FOR EACH STATEMENT {run}",
        f"CREATE TRIGGER {table}_boards_update AFTER UPDATE OF {', '.join(columns)} ON {table} "
        f"FOR EACH ROW WHEN ({changed}) {run}",
    ]


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    random = "abs(random())" if vendor == "sqlite" else "floor(random() * 9e18)::bigint"
    statements = [
        "CREATE TABLE leaderboard_boards_version (name varchar(20) NOT NULL PRIMARY KEY, value bigint NOT NULL)",
        f"INSERT INTO leaderboard_boards_version (name, value) VALUES ('rollups', {random}), ('people', {random})",
    ]
    if vendor == "sqlite":
        for table, columns in TABLES.items():
            statements += _sqlite(table, columns)
    elif vendor == "postgresql":
        statements.append(
            "CREATE FUNCTION leaderboard_boards_people_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "UPDATE leaderboard_boards_version SET value = floor(random() * 9e18)::bigint WHERE name = 'people'; "
            "RETURN NULL; END $$"
        )
        for table, columns in TABLES.items():
            statements += _postgresql(table, columns)
    else:
        raise RuntimeError(f"No boards data version triggers for {vendor}")
    for statement in statements:
        schema_editor.execute(statement)


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table in TABLES:
        if vendor == "sqlite":
            for event in ("insert", "delete", "update"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_boards_{event}")
        else:
            for event in ("write", "update"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_boards_{event} ON {table}")
    if vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS leaderboard_boards_people_changed()")
    schema_editor.execute("DROP TABLE IF EXISTS leaderboard_boards_version")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_person_work_percent"),
        ("leaderboard", "0003_lean_usage_indexes"),
    ]

    operations = [migrations.RunPython(create, drop)]
