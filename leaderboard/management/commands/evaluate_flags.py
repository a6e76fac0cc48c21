"""``manage.py evaluate_flags [--as-of YYYY-MM-DD]``: the daily flag evaluation (design.md §3), the
twin of the beat task ``leaderboard.tasks.evaluate_flags``: like it, it has the emails and Slack
messages about the new high-severity flags sent."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from leaderboard import flags, tasks


def parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--as-of: “{value}” is not a date (YYYY-MM-DD)") from exc


class Command(BaseCommand):
    help = "Evaluate every flag rule for everyone, as if run on that day, and print what changed."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="YYYY-MM-DD (default: today, UTC). Windows end the day before.")

    def handle(self, *args, as_of=None, **options):
        day = parse_day(as_of) if as_of else timezone.now().date()
        result = flags.evaluate(as_of=day, trigger="command")
        tasks.send_notifications(result.notifications)
        self.stdout.write(
            f"Evaluated {result.people} people as of {day:%Y-%m-%d}: opened {len(result.opened)}, "
            f"updated {len(result.updated)}, resolved {len(result.resolved)}."
        )
        for title, outcomes in (("Opened", result.opened), ("Updated", result.updated), ("Resolved", result.resolved)):
            self.stdout.write(f"{title} {len(outcomes)}")
            for outcome in outcomes:
                flag = outcome.flag
                who = flag.person.email if flag.person_id else str(flag.identity)
                self.stdout.write(f"  #{flag.pk} {flag.rule.kind} {flag.severity} {who}: {outcome.text}")
        if result.skipped:
            self.stdout.write("Not judged (people):")
            for reason, count in sorted(result.skipped.items()):
                self.stdout.write(f"  {flags.SKIP_LABELS.get(reason, reason)}: {count}")
        for stale in result.stale_vendors:
            self.stdout.write(f"Stale: {stale['vendor']} data ends on {stale['last_day']}")
