from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Person
from leaderboard import imports, tasks
from leaderboard.ingestion import FORMATS
from leaderboard.models import UsageExport
from leaderboard.processes import freeze_lifelong_objects


class Command(BaseCommand):
    help = (
        "Import usage export files in this process, through the same code as the Celery task. "
        "The format is detected from the content unless --format is given."
    )
    # Django's system checks inspect the web side (URLs, admin, templates), which an import never
    # touches; the web and worker processes run them when they start. Skipping them here is a
    # fifth of the second in which a file imported before must be answered.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument("--format", choices=sorted(FORMATS), help="Skip detection and read as this format.")
        parser.add_argument("--email", help="Whose usage a single-person file (ccusage) is.")

    def handle(self, *args, files, format=None, email=None, **options):
        freeze_lifelong_objects()  # a one-shot process, set up now: see leaderboard/processes.py
        person = None
        if email:
            person = Person.objects.filter(email__iexact=email.strip()).first()
            if person is None:
                raise CommandError(f"--email: nobody on the roster has the email {email}")
        refused = []
        for path in files:
            if not path.is_file():
                raise CommandError(f"{path}: no such file")
            with path.open("rb") as handle:
                export, created = imports.store_export(
                    content=File(handle, name=path.name), name=path.name, origin=UsageExport.Origin.COMMAND,
                    attributed_to=person, requested_format=format or "",
                )
            if not created and export.status == UsageExport.Status.SUCCEEDED:
                self.stdout.write(f"{path.name}: already imported as #{export.pk} on {export.finished_at:%Y-%m-%d}; nothing to do")
                continue
            if not created and export.status == UsageExport.Status.FAILED:
                imports.retry_export(export)
            processed = imports.process_export(export.pk)
            if processed is None:  # a worker has it: it is not this command's to run
                export = UsageExport.objects.get(pk=export.pk)
            else:
                export = processed.export
                tasks.after_usage_changed(processed.people)
            if export.status == UsageExport.Status.SUCCEEDED:
                self.stdout.write(summary(path.name, export))
            else:
                refused.append(export)
                held = export.status in (UsageExport.Status.HELD, UsageExport.Status.REJECTED)
                verdict = "held for an admin's review" if held else "refused"
                self.stderr.write(f"{path.name}: {verdict}, nothing imported (export #{export.pk})")
                for problem in export.problems:
                    where = problem["where"] or path.name
                    field = f" {problem['field']}:" if problem["field"] else ""
                    self.stderr.write(f"  {where}:{field} {problem['message']}")
                if not export.problems and export.failure:
                    self.stderr.write(f"  {export.failure}")
        if refused:
            raise CommandError(f"{len(refused)} of {len(files)} file(s) refused or held for review")


def summary(name: str, export: UsageExport) -> str:
    days = f", {export.first_day}..{export.last_day}" if export.first_day else ""
    return (
        f"{name}: imported as #{export.pk} ({export.format}): {export.rows_read:,} rows, "
        f"{export.records_written:,} records, {export.people_matched} people matched, "
        f"{export.identities_unmatched} identities unmatched{days}, in {export.duration:.2f}s"
    )
