"""``manage.py leaderboard``: the board on the command line (design.md §3), from the same selector
as the page, so the two always agree. An operator's view by default: everyone is listed by name,
hidden and anonymous people included, with exact figures. ``--viewer EMAIL`` shows the board as that
person may see it instead (colleagues by band where the organisation chose bands; the JSON objects
then also have ``band``, with a colleague's rank and figures null)."""

import json
from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Person
from leaderboard.boards import catalog as boards_catalog
from leaderboard.boards import ranking
from leaderboard.boards.filters import DEFAULT_METRIC, METRICS, BoardFilters, Period, utc_today
from leaderboard.display import cents

FORMATS = ("table", "csv", "json")


def day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"not a date (YYYY-MM-DD): {text}") from None


class Command(BaseCommand):
    help = "Rank people by tokens or cost over a range of UTC days (both inclusive), as the board does."

    def add_arguments(self, parser):
        parser.add_argument("--start", type=day, help="First day, YYYY-MM-DD (default: 29 days before --end).")
        parser.add_argument("--end", type=day, help="Last day, YYYY-MM-DD (default: today, UTC).")
        parser.add_argument("--metric", choices=sorted(METRICS), default=DEFAULT_METRIC)
        parser.add_argument("--vendor", default="", help="Only this vendor's usage (anthropic, openai, cursor, ...).")
        parser.add_argument("--model", default="", help="Only this model's usage.")
        parser.add_argument("--team", default="", help="Only this team and its sub-teams (name or id).")
        parser.add_argument("--format", choices=FORMATS, default="table")
        parser.add_argument("--viewer", default="", metavar="EMAIL",
                            help="Show the board as this person may see it (default: everyone, exactly).")

    def handle(self, *args, start=None, end=None, metric, vendor, model, team, format, viewer="", **options):
        end = end or utc_today()
        start = start or end - timedelta(days=29)
        if end < start:
            raise CommandError("--end is before --start")
        catalog = boards_catalog.load()
        filters = BoardFilters(
            period=Period("custom", start, end), metric=METRICS[metric], vendor=vendor.strip(),
            model=model.strip(), team_id=self.team_id(catalog, team),
        )
        person = self.viewer(viewer)
        board = ranking.leaderboard(
            filters, viewer=person, catalog=catalog, reveal=person is None, breakdown=True, sparklines=False,
            previous=False,
        )
        rows = board.all_rows()
        if format == "json":
            self.stdout.write(json.dumps(ranking.export_rows(rows, bands=board.banded), indent=2))
        elif format == "csv":
            ranking.write_csv(rows, self.stdout, bands=board.banded)
        else:
            self.write_table(rows, filters)

    def viewer(self, email: str) -> Person | None:
        email = email.strip()
        if not email:
            return None
        found = Person.objects.filter(email__iexact=email, is_active=True).first()
        if found is None:
            raise CommandError(f"--viewer: nobody active with the email {email!r}")
        return found

    def team_id(self, catalog: boards_catalog.Catalog, team: str) -> int | None:
        team = team.strip()
        if not team:
            return None
        for info in catalog.teams.values():
            if str(info.pk) == team or info.name.lower() == team.lower():
                return info.pk
        raise CommandError(f"--team: no team called {team!r}")

    def write_table(self, rows, filters) -> None:
        self.stdout.write(f"{filters.metric.label} by person, {filters.period.describe()} (UTC)")
        if not rows:
            self.stdout.write("No usage in this range.")
            return
        header = ["#", "name", "email", "team", "tokens", "output", "requests", "cost"]
        lines = [
            [str(row.rank), row.name, row.email, row.team, f"{row.totals.total_tokens:,}",
             f"{row.totals.output_tokens:,}", f"{row.totals.requests:,}", "$" + cents(row.totals.cost_usd)]
            if row.exact else [row.band, row.name, row.email, row.team, "", "", "", ""]
            for row in rows
        ]
        widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]
        numeric = {0, 4, 5, 6, 7}
        for line in [header, *lines]:
            cells = [cell.rjust(w) if i in numeric else cell.ljust(w) for i, (cell, w) in enumerate(zip(line, widths, strict=True))]
            self.stdout.write("  ".join(cells).rstrip())
