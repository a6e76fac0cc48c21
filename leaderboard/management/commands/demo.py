from django.core.management.base import BaseCommand

from leaderboard import demo


class Command(BaseCommand):
    help = (
        "Build a believable demo company (roster and ~120 days of provider exports in the providers' own "
        "formats) and import it through the same code as uploads. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when the database has people.")
        parser.add_argument("--logins", action="store_true", help="Only print the demo logins.")
        parser.add_argument(
            "--no-logins", action="store_true",
            help="Load without printing the logins (bin/run prints them once, after the servers start).",
        )

    def handle(self, *args, if_empty=False, logins=False, no_logins=False, **options):
        from accounts.models import Person

        if logins:
            self._print_logins()
            return
        if if_empty and Person.objects.exists():
            self.stdout.write("The database has people already; not loading the demo.")
            return
        self.stdout.write("Building the demo company and importing its exports (a minute or so)...")
        result = demo.build(folder=demo.demo_folder())
        for name, outcome in result.files:
            self.stdout.write(f"  {name}: {outcome}")
        self.stdout.write(self.style.SUCCESS(f"Demo company ready: {result.people} people."))
        if not no_logins:
            self._print_logins()

    def _print_logins(self):
        if not demo.is_loaded():
            self.stdout.write("No demo data in this database (run `manage.py demo`).")
            return
        self.stdout.write(f"  Demo logins (password for all: {demo.PASSWORD}):")
        for role, email in demo.logins():
            self.stdout.write(f"    {role:<9} {email}")
