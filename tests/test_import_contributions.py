"""What an import added, recorded on its UsageExport row at import time (leaderboard/contributions.py):
the figures the import page shows must always equal what counting the export's UsageRecord rows gives,
whether the import is new, a re-send, an overlap, a retry, an accepted held upload or a telemetry fold."""

import json
from datetime import timedelta

from django.apps import apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from leaderboard import contributions, imports, self_reports
from leaderboard.models import UsageExport, UsageRecord
from tests import test_self_reports as reports
from tests import test_telemetry_folding as telemetry
from tests.test_imports import ccusage, csv, run

Status = UsageExport.Status


def recorded(export) -> dict:
    export.refresh_from_db()
    return contributions.of(export)


def assert_every_export_records_what_its_rows_hold():
    exports = list(UsageExport.objects.all())
    counted = contributions.counted([export.pk for export in exports])
    for export in exports:
        assert contributions.of(export) == counted[export.pk], export


def test_a_fresh_import_records_its_rows(cast):
    export = run(csv("2026-10-01,erin@example.com,mistral,mistral-large,1000,200,30,4,3,0.50",
                     "2026-10-02,maria@example.com,mistral,mistral-large,1000,200,30,4,3,0.50",
                     "2026-10-02,erin@example.com,x,unknown-model,7,1,0,0,1,"))

    assert recorded(export) == {"tokens": 2 * 1234 + 8, "cost": 1, "unpriced": 1, "people": 2, "days": 2,
                                "records": 3}
    assert_every_export_records_what_its_rows_hold()


def test_rows_a_file_repeats_within_itself_count_once_as_the_merge_sums_them(cast):
    export = run(csv("2026-10-01,erin@example.com,mistral,mistral-large,1000,200,0,0,1,0.50",
                     "2026-10-01,erin@example.com,mistral,mistral-large,10,2,0,0,1,0.25"))
    assert recorded(export) == {"tokens": 1212, "cost": 0.75, "unpriced": 0, "people": 1, "days": 1,
                                "records": 1}
    assert_every_export_records_what_its_rows_hold()


def test_the_same_bytes_again_add_nothing(cast):
    content = csv("2026-10-01,erin@example.com,mistral,mistral-large,1000,200,0,0,1,0.50")
    first = run(content)
    again = run(content, name="again.csv")

    assert again.pk == first.pk
    assert UsageExport.objects.count() == 1
    assert recorded(first)["records"] == 1
    assert_every_export_records_what_its_rows_hold()


def test_an_overlapping_export_takes_over_the_rows_it_replaces(cast):
    older = run(csv("2026-10-01,erin@example.com,mistral,mistral-large,1000,0,0,0,1,1.00",
                    "2026-10-02,erin@example.com,mistral,mistral-large,2000,0,0,0,1,2.00",
                    "2026-10-02,maria@example.com,mistral,mistral-large,4000,0,0,0,1,4.00"), name="sept.csv")
    newer = run(csv("2026-10-02,erin@example.com,mistral,mistral-large,2500,0,0,0,1,2.50",
                    "2026-10-02,maria@example.com,mistral,mistral-large,4500,0,0,0,1,4.50",
                    "2026-10-03,erin@example.com,mistral,mistral-large,3000,0,0,0,1,3.00"), name="oct.csv")

    assert recorded(older) == {"tokens": 1000, "cost": 1, "unpriced": 0, "people": 1, "days": 1, "records": 1}
    assert recorded(newer) == {"tokens": 10_000, "cost": 10, "unpriced": 0, "people": 2, "days": 2, "records": 3}
    assert_every_export_records_what_its_rows_hold()


def test_an_export_whose_every_row_was_replaced_records_nothing(cast):
    row = "2026-10-01,erin@example.com,mistral,mistral-large,1000,0,0,0,1,{}"
    older = run(csv(row.format("1.00")), name="a.csv")
    run(csv(row.format("1.50")), name="b.csv")

    assert recorded(older) == {"tokens": 0, "cost": None, "unpriced": 0, "people": 0, "days": 0, "records": 0}
    assert_every_export_records_what_its_rows_hold()


def test_a_retry_after_a_failure_records_the_rows_of_the_attempt_that_succeeded(cast):
    export = run(json.dumps(ccusage("2026-10-01", 5)).encode(), name="ccusage.json")
    assert export.status == Status.FAILED
    assert recorded(export)["records"] == 0
    UsageExport.objects.filter(pk=export.pk).update(attributed_to=cast.erin)

    assert imports.retry_export(export)
    imports.process_export(export.pk)

    assert recorded(export)["tokens"] == 5 and recorded(export)["records"] == 1
    assert_every_export_records_what_its_rows_hold()


def test_a_held_self_report_records_nothing_until_accepted_and_then_its_rows(cast):
    day = reports.today() - timedelta(days=1)
    export = reports.upload(cast.erin, reports.report(reports.day_row(day, cost=0.01)))
    assert export.status == Status.HELD
    assert recorded(export)["records"] == 0

    self_reports.accept(export=export, by=cast.ada, reason="A discount")
    imports.process_export(export.pk)

    assert recorded(export)["tokens"] == 1_100_000 and recorded(export)["people"] == 1
    assert_every_export_records_what_its_rows_hold()


def test_telemetry_folds_record_what_their_exports_hold(cast):
    token = telemetry.tokens.create_token(name="laptops", by=None)[0]
    for minute, total in ((1, 100), (2, 250)):
        telemetry.gemini(token, start=telemetry.T, end=telemetry.T + minute * telemetry.MIN, output=total)
        telemetry.fold()

    assert UsageRecord.objects.exists()
    assert_every_export_records_what_its_rows_hold()


def test_the_migration_fills_the_figures_of_imports_made_before_it(cast):
    export = run(csv("2026-10-01,erin@example.com,mistral,mistral-large,1000,200,0,0,1,0.50"))
    UsageExport.objects.filter(pk=export.pk).update(added_records=0, added_tokens=0, added_cost_usd=None,
                                                    added_days=0, added_people=0)
    migration = MigrationExecutor(connection).loader.get_migration("leaderboard", "0017_usage_export_added")
    backfill = next(op for op in migration.operations if getattr(op, "code", None)
                    and op.code.__name__ == "record_what_imports_added")
    backfill.code(apps, None)

    assert recorded(export) == {"tokens": 1200, "cost": 0.5, "unpriced": 0, "people": 1, "days": 1, "records": 1}


