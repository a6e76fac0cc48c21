from django.core.management.base import BaseCommand, CommandError

from leaderboard import tasks
from leaderboard.connections import sync
from leaderboard.models import Connection
from leaderboard.processes import freeze_lifelong_objects


class Command(BaseCommand):
    help = (
        "Sync provider connections in this process, through the same code as the Celery task: "
        "`sync --all` or `sync NAME...`. Exits non-zero when any of them failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", metavar="NAME")
        parser.add_argument("--all", action="store_true", help="Every enabled connection.")

    def handle(self, *args, names, all, **options):
        if bool(names) == bool(all):
            raise CommandError("name the connections to sync, or pass --all")
        if all:
            connections = list(Connection.objects.filter(enabled=True))
        else:
            found = {c.name.lower(): c for c in Connection.objects.all()}
            missing = [name for name in names if name.lower() not in found]
            if missing:
                raise CommandError(f"no connection named {', '.join(missing)}; see manage.py connections")
            connections = [found[name.lower()] for name in names]
        freeze_lifelong_objects()  # a one-shot process, set up now: see leaderboard/processes.py
        failed = []
        for connection in connections:
            outcome = sync.run(connection.pk, force=True)
            if outcome is None:
                failed.append(connection.name)
                self.stderr.write(f"{connection.name}: not synced: another sync of it is running, or it is disabled")
                continue
            tasks.after_usage_changed(outcome.people)
            run = outcome.run
            fetched = (f"{run.window_start}..{run.window_end} ({run.days} days), {run.requests} calls, {run.pages} pages, "
                       f"{run.exports_new} new exports ({run.exports_unchanged} unchanged), {run.rows_read:,} rows, "
                       f"{run.records_written:,} records")
            if outcome.ok:
                self.stdout.write(f"{connection.name}: synced {fetched}")
            else:
                failed.append(connection.name)
                self.stderr.write(f"{connection.name}: failed: {run.error} (after {fetched})")
        if failed:
            raise CommandError(f"{len(failed)} of {len(connections)} connection(s) failed: {', '.join(failed)}")
