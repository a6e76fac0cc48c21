from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from leaderboard import backups


class Command(BaseCommand):
    help = "Put a backup (manage.py backup) back into an empty database, and its raw exports under MEDIA_ROOT."
    # An empty database has no tables to check against yet.
    requires_system_checks = []
    requires_migrations_checks = False

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file, **options):
        try:
            manifest = backups.restore(file)
        except backups.BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Restored the {manifest.vendor} database of {manifest.created_at} and "
                          f"{manifest.files} raw files")
