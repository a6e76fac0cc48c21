"""Provider connections: an account at a provider that the app pulls usage from by itself, and each
run that did (leaderboard/connections/)."""

from datetime import timedelta

from django.db import models
from django.urls import reverse
from django.utils import timezone

from accounts.models import Person


class Connection(models.Model):
    """One provider account (an Anthropic or OpenAI organisation, a Cursor team, a GitHub organisation
    or enterprise) and how its sync stands.

    The credential is a Fernet token (accounts/encryption.py); pages show ``credential_hint`` only.
    ``lease_owner`` / ``lease_expires_at`` are held by the one run in progress (claimed with a
    conditional UPDATE, renewed after every call), so a connection never syncs twice at once.
    """

    class Vendor(models.TextChoices):
        ANTHROPIC = "anthropic", "Anthropic"
        OPENAI = "openai", "OpenAI"
        CURSOR = "cursor", "Cursor"
        GITHUB = "github", "GitHub Copilot"

    class Status(models.TextChoices):
        NEW = "new", "Not synced yet"
        OK = "ok", "Healthy"
        FAILING = "failing", "Last sync failed"
        STOPPED = "stopped", "Stopped: credential refused"

    vendor = models.CharField(max_length=20, choices=Vendor.choices)
    name = models.CharField(max_length=100, unique=True)
    base_url = models.URLField(max_length=300)
    credential = models.TextField(editable=False, help_text="Encrypted (Fernet); never shown.")
    credential_hint = models.CharField(max_length=4, blank=True, editable=False)
    # {"start": "YYYY-MM-DD", "organization": "...", "enterprise": "...", "group_by": [...]}: what the
    # vendor's module reads (leaderboard/connections/<vendor>.py).
    options = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    sync_interval = models.DurationField(default=timedelta(hours=1))
    # Days before the last complete one that every run fetches again (providers revise recent days);
    # null: the vendor's own default.
    repull_days = models.PositiveSmallIntegerField(null=True, blank=True)
    lease_owner = models.CharField(max_length=32, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    next_sync_at = models.DateTimeField(null=True, blank=True, help_text="Empty: due now.")
    sync_requested_at = models.DateTimeField(null=True, blank=True, help_text="Sync now, asked for.")
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    complete_through = models.DateField(null=True, blank=True, help_text="The last UTC day held complete.")
    created_by = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["enabled", "next_sync_at"])]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("connection_detail", args=[self.pk])

    @property
    def sync_interval_minutes(self) -> int:
        return int(self.sync_interval.total_seconds() // 60)

    @property
    def is_running(self) -> bool:
        return bool(self.lease_owner) and self.lease_expires_at is not None and self.lease_expires_at > timezone.now()


class SyncRun(models.Model):
    """One run of a connection's sync: what it asked for, what it fetched, how it ended."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        MANUAL = "manual", "Sync now"
        COMMAND = "command", "manage.py sync"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="runs")
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.SCHEDULE)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    backfill = models.BooleanField(default=False, help_text="The connection's first days, from its start day.")
    window_start = models.DateField(null=True, blank=True)
    window_end = models.DateField(null=True, blank=True)
    days_total = models.PositiveIntegerField(default=0)
    days_done = models.PositiveIntegerField(default=0)
    requests = models.PositiveIntegerField(default=0, help_text="Calls made, retries included.")
    pages = models.PositiveIntegerField(default=0)
    exports_new = models.PositiveIntegerField(default=0)
    exports_unchanged = models.PositiveIntegerField(default=0, help_text="Answers identical to ones kept before.")
    rows_read = models.PositiveIntegerField(default=0)
    records_written = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]

    def __str__(self):
        return f"{self.connection} run #{self.pk}"

    @property
    def is_done(self) -> bool:
        return self.status != self.Status.RUNNING

    @property
    def percent(self) -> int:
        return round(100 * self.days_done / self.days_total) if self.days_total else (100 if self.is_done else 0)

    @property
    def days(self) -> int:
        return (self.window_end - self.window_start).days + 1 if self.window_start and self.window_end else 0
