"""``manage.py fold_telemetry``: fold the telemetry batches waiting into usage, in-process; the twin
of the task ``leaderboard.tasks.fold_telemetry``, which runs as batches arrive."""

from django.core.management.base import BaseCommand

from leaderboard import tasks
from leaderboard.telemetry import folding


class Command(BaseCommand):
    help = "Fold the telemetry batches waiting into usage, and print what was folded."

    def add_arguments(self, parser):
        parser.add_argument("--seconds", type=float, default=600, help="stop after about this long (default 600)")

    def handle(self, *args, seconds, **options):
        folded = folding.fold_all(seconds=seconds)
        tasks.after_usage_changed(folded.people)
        self.stdout.write(f"Folded {folded.batches} batches ({folded.readings} readings, {folded.failed} failed) "
                          f"for {len(folded.people)} people.")
