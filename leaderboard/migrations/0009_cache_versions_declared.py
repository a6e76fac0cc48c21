"""The data versions' table becomes a model (CacheVersion), and the triggers that move them are built
from the one declaration in leaderboard/cache.py (VERSIONS) instead of by hand in migrations 0004 and
0006 (and the budgets version, until now moved by signals and by hand, gets triggers of its own)."""

import importlib

from django.db import migrations, models

from leaderboard import cache

PEOPLE = importlib.import_module("leaderboard.migrations.0004_boards_data_version")
PERSONAL = importlib.import_module("leaderboard.migrations.0006_personal_data_version")


def drop_hand_made_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    quote = schema_editor.connection.ops.quote_name
    names = [(f"{table}_boards_{event}", table) for table in PEOPLE.TABLES
             for event in ("insert", "delete", "update", "write")]
    names += [(f"{table}_personal_{event}", table) for table in PERSONAL.TABLES
              for event in (*PERSONAL.EVENTS, "truncate")]
    for name, table in names:
        on = f" ON {quote(table)}" if vendor == "postgresql" else ""
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}{on}")
    if vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS leaderboard_boards_people_changed()")
        schema_editor.execute("DROP FUNCTION IF EXISTS leaderboard_personal_changed()")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_audit_and_people_never_deleted"),
        ("leaderboard", "0008_export_lease_owner_and_policy_kind"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="CacheVersion",
                    fields=[
                        ("name", models.CharField(max_length=20, primary_key=True, serialize=False)),
                        ("value", models.BigIntegerField()),
                    ],
                    options={"db_table": "leaderboard_boards_version", "managed": False},
                ),
            ],
        ),
        migrations.RunPython(drop_hand_made_triggers, migrations.RunPython.noop),
        migrations.RunPython(cache.install_triggers, migrations.RunPython.noop),
    ]
