"""``manage.py import_people FILE``: the roster import (design.md §3) from the command line."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from leaderboard.ingestion.rows import ImportRefused
from leaderboard.roster import import_roster
from leaderboard.tasks import after_usage_changed


class Command(BaseCommand):
    help = "Create and update people and teams from a roster CSV; refuse the whole file if anything is wrong."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="the roster CSV (email,name,team,manager_email,...)")

    def handle(self, *args, file: Path, **options):
        if not file.is_file():
            raise CommandError(f"{file}: no such file")
        try:
            result = import_roster(path=file, name=file.name)
        except ImportRefused as refused:
            # CommandError goes to stderr with a non-zero exit; one problem per line, so none is lost.
            lines = [f"{file.name} refused, nothing was imported:"]
            lines += [f"  {problem}" for problem in refused.problems]
            raise CommandError("\n".join(lines)) from refused
        if result.usage_moved:
            # Usage that was nobody's is now these people's: their flags and the boards follow.
            transaction.on_commit(lambda: after_usage_changed(set(result.usage_moved)))
        self.stdout.write(result.summary())
        for sentence in result.left_behind:
            self.stdout.write(self.style.WARNING(f"warning: {sentence}"))
