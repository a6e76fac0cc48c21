from django.core.management.base import BaseCommand

from leaderboard.models import Connection


class Command(BaseCommand):
    help = "List the provider connections and how their syncs stand."

    def handle(self, *args, **options):
        connections = list(Connection.objects.all())
        if not connections:
            self.stdout.write("No connections. Add one with manage.py add_connection.")
            return
        for c in connections:
            last_success = f"{c.last_success_at:%Y-%m-%d %H:%M} UTC" if c.last_success_at else "never"
            complete = c.complete_through.isoformat() if c.complete_through else "-"
            state = "running" if c.is_running else ("enabled" if c.enabled else "disabled")
            line = (f"{c.name}\t{c.vendor}\t{c.status}\t{state}\tlast success: {last_success}\t"
                    f"complete through: {complete}\t{c.base_url}")
            if c.last_error:
                line += f"\tlast error: {c.last_error}"
            self.stdout.write(line)
