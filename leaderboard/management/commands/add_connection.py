import os
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from leaderboard.connections import VENDORS, setup


class Command(BaseCommand):
    help = (
        "Add a provider connection. The credential is read from the environment variable named by "
        "--credential-env, never from the command line."
    )

    def add_arguments(self, parser):
        parser.add_argument("vendor", choices=sorted(VENDORS))
        parser.add_argument("--name", required=True)
        parser.add_argument("--base-url", default="", help="Replaces the vendor's documented base URL.")
        parser.add_argument("--credential-env", required=True, metavar="VAR",
                            help="The environment variable that holds the credential.")
        parser.add_argument("--start", type=date.fromisoformat, metavar="YYYY-MM-DD",
                            help="The first day the first sync backfills (default: 30 days ago).")
        parser.add_argument("--organization", default="", metavar="ORG",
                            help="GitHub: the organisation (or enterprises/NAME for an enterprise).")

    def handle(self, *args, vendor, name, base_url, credential_env, start, organization, **options):
        credential = os.environ.get(credential_env, "")
        if not credential.strip():
            raise CommandError(f"--credential-env: the environment variable {credential_env} is not set or empty")
        try:
            connection = setup.create_connection(
                vendor=vendor, name=name, credential=credential, base_url=base_url,
                options=setup.clean_options(vendor, start=start, organization=organization),
            )
        except setup.ConnectionInvalid as error:
            raise CommandError(f"--{error.field.replace('_', '-')}: {error}") from None
        hint = f" (credential ending {connection.credential_hint})" if connection.credential_hint else ""
        self.stdout.write(f"Added connection '{connection.name}' (#{connection.pk}, {connection.get_vendor_display()}, "
                          f"{connection.base_url}){hint}.")
