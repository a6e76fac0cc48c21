from django.core.management.base import BaseCommand, CommandError

from leaderboard.connections import setup


class Command(BaseCommand):
    help = (
        "Encrypt every stored provider credential again under the first key of CREDENTIAL_KEYS. Run it after "
        "putting a new key first; drop the old key from CREDENTIAL_KEYS only afterwards."
    )

    def handle(self, *args, **options):
        rotated, unreadable = setup.rotate_credentials()
        self.stdout.write(f"Re-encrypted {rotated} credential(s) under the first key.")
        if unreadable:
            raise CommandError(
                f"{len(unreadable)} credential(s) open with none of CREDENTIAL_KEYS and were left as they are: "
                f"{', '.join(unreadable)}. Put back the key they were encrypted with, or enter them again."
            )
