"""``manage.py flags [--status S] [--format table|csv|json]``: the flags, as design.md §3 says."""

import csv
import json

from django.core.management.base import BaseCommand

from leaderboard.display import spreadsheet_safe
from leaderboard.models import Flag

COLUMNS = ["id", "person_email", "rule", "severity", "status", "opened_on", "updated_on", "explanation"]


def flag_rows(flags):
    for flag in flags:
        yield {
            "id": flag.pk,
            "person_email": flag.person.email if flag.person_id else "",
            "rule": flag.rule.kind,
            "severity": flag.severity,
            "status": flag.status,
            "opened_on": flag.opened_on.isoformat(),
            "updated_on": flag.updated_on.isoformat(),
            "explanation": flag.explanation,
        }


def write_csv(rows, out) -> None:
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([spreadsheet_safe(row[c]) for c in COLUMNS])


class Command(BaseCommand):
    help = "List flags."

    def add_arguments(self, parser):
        parser.add_argument("--status", choices=Flag.Status.values)
        parser.add_argument("--format", choices=["table", "csv", "json"], default="table")

    def handle(self, *args, status=None, format="table", **options):
        flags = Flag.objects.select_related("rule", "person").order_by("pk")
        if status:
            flags = flags.filter(status=status)
        rows = list(flag_rows(flags))
        if format == "json":
            self.stdout.write(json.dumps(rows, indent=2))
        elif format == "csv":
            write_csv(rows, self.stdout)
        else:
            header = f"{'ID':>6}  {'PERSON':<32} {'RULE':<13} {'SEVERITY':<8} {'STATUS':<12} {'OPENED':<10}  EXPLANATION"
            self.stdout.write(header)
            for row in rows:
                first_line = row["explanation"].split("\n", 1)[0]
                self.stdout.write(
                    f"{row['id']:>6}  {row['person_email'] or '(unattributed)':<32} {row['rule']:<13} "
                    f"{row['severity']:<8} {row['status']:<12} {row['opened_on']:<10}  {first_line}"
                )
