"""``manage.py create_ingest_token NAME``: a new telemetry ingest token (design.md §3). The token is
the last word of the output (a contract: scripts take it from there); it is shown this once."""

from django.core.management.base import BaseCommand, CommandError

from leaderboard.models import IngestToken
from leaderboard.telemetry import tokens


class Command(BaseCommand):
    help = "Create an ingest token for the OTLP receiver and print it (last word of the output)."

    def add_arguments(self, parser):
        parser.add_argument("name", help='who or what will use it, e.g. "Engineering laptops"')

    def handle(self, *args, name, **options):
        name = name.strip()
        limit = IngestToken._meta.get_field("name").max_length
        if not name or len(name) > limit:
            raise CommandError(f"NAME must be 1 to {limit} characters")
        token, secret = tokens.create_token(name=name, by=None)
        self.stdout.write(f"Created ingest token #{token.pk} {token.name!r}. It is shown once; send it as "
                          f"'Authorization: Bearer <token>':\n{secret}")
