from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from leaderboard import backups


class Command(BaseCommand):
    help = "Write one archive holding the database and every raw export, consistent with each other."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="The archive to write (a .tar file that does not exist yet).")

    def handle(self, *args, file, **options):
        try:
            manifest = backups.backup(file)
        except backups.BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"{file}: {manifest.vendor} database, {manifest.files} raw files of {manifest.exports} exports")
