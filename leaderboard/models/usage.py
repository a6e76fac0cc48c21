"""Usage as it arrives and as the boards read it: the exports, the rows they hold, the daily rollups."""

from decimal import Decimal

from django.db import models
from django.urls import reverse

from accounts.models import Person, ProviderIdentity


class UsageExport(models.Model):
    """One file (an upload, a CLI import, an API page set) and everything known about importing it.

    The raw bytes are kept for good, even when the import fails, so that a parser fix can replay it.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Imported"
        FAILED = "failed", "Failed"
        # Self-reported usage that failed a check on arrival (leaderboard/self_reports.py): nothing of
        # it counts until an admin accepts it; a rejected one keeps its raw file and counts never.
        HELD = "held", "Held for review"
        REJECTED = "rejected", "Rejected"

    class Origin(models.TextChoices):
        UPLOAD = "upload", "Uploaded in the browser"
        COMMAND = "command", "manage.py import_usage"
        SELF_SERVICE = "self", "Uploaded by the person it belongs to"
        DEMO = "demo", "Demo data"
        CONNECTION = "connection", "Pulled by a provider connection"
        TELEMETRY = "telemetry", "Sent by a coding agent over OpenTelemetry"

    file = models.FileField(upload_to="exports/%Y/%m/", max_length=300)
    original_name = models.CharField(max_length=255)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    requested_format = models.CharField(max_length=50, blank=True, help_text="Forced by the uploader.")
    format = models.CharField(max_length=50, blank=True, help_text="Detected from the content.")
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.UPLOAD)
    uploaded_by = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # ccusage output names nobody: the uploader says whose it is.
    attributed_to = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="attributed_exports"
    )
    # The connection run that fetched it (origin "connection"): the history names connection and run.
    sync_run = models.ForeignKey(
        "leaderboard.SyncRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="exports"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    # The attempt holding the export: a token its worker keeps alive with a heartbeat while it runs
    # (leaderboard/imports.py, "Leases"). The expiry is the bound when nothing can be told.
    lease_owner = models.CharField(max_length=32, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True, help_text="Seconds spent importing.")
    rows_read = models.PositiveIntegerField(default=0)
    records_written = models.PositiveIntegerField(default=0)
    people_matched = models.PositiveIntegerField(default=0)
    identities_unmatched = models.PositiveIntegerField(default=0)
    first_day = models.DateField(null=True, blank=True)
    last_day = models.DateField(null=True, blank=True)
    vendors = models.JSONField(default=list, blank=True)
    # What the export's usage rows hold now (leaderboard/contributions.py keeps them): written by its
    # import from the staged rows, and again for an earlier export when a later one replaces its rows.
    added_records = models.PositiveIntegerField(default=0)
    added_tokens = models.BigIntegerField(default=0)
    added_cost_usd = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    added_unpriced = models.PositiveIntegerField(default=0)
    added_people = models.PositiveIntegerField(default=0)
    added_days = models.PositiveIntegerField(default=0)
    # [{"where": "usage.csv line 12", "field": "input_tokens", "message": "..."}], the first 50.
    problems = models.JSONField(default=list, blank=True)
    failure = models.TextField(blank=True, help_text="Why the import stopped, in one sentence.")
    # Set when an admin accepted a held upload: its import then skips the self-report checks.
    accepted_at = models.DateTimeField(null=True, blank=True)
    # The review of a held upload, oldest first: [{"action": "held" | "accepted" | "rejected",
    # "at": ISO time, "by": person id or None, "by_name": str, "reason": str}].
    review_history = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # The same bytes are imported once; the same ccusage file may belong to two people only if
            # two people uploaded it for themselves.
            models.UniqueConstraint(fields=["sha256", "attributed_to"], name="export_unique_content_person"),
            models.UniqueConstraint(
                fields=["sha256"], condition=models.Q(attributed_to__isnull=True), name="export_unique_content"
            ),
        ]
        indexes = [models.Index(fields=["status", "lease_expires_at"])]

    def __str__(self):
        return f"#{self.pk} {self.original_name}"

    def get_absolute_url(self):
        return reverse("import_detail", args=[self.pk])

    @property
    def is_done(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED, self.Status.HELD, self.Status.REJECTED)


class Source(models.TextChoices):
    """Which kind of export a usage row came from. Order within a vendor is precedence: see RANK."""

    ANTHROPIC_USAGE_REPORT = "anthropic_usage_report", "Anthropic Admin API usage report"
    CLAUDE_CODE_ANALYTICS = "claude_code_analytics", "Claude Code analytics"
    CLAUDE_CODE_TELEMETRY = "claude_code_telemetry", "Claude Code telemetry"
    CCUSAGE = "ccusage", "ccusage upload"
    OPENAI_USAGE = "openai_usage", "OpenAI usage (API or dashboard CSV)"
    CODEX_TELEMETRY = "codex_telemetry", "Codex CLI telemetry (events)"
    CODEX_TELEMETRY_METRICS = "codex_telemetry_metrics", "Codex CLI telemetry (metrics)"
    GEMINI_CLI_TELEMETRY = "gemini_cli_telemetry", "Gemini CLI telemetry"
    CURSOR_EVENTS = "cursor_events", "Cursor usage events"
    CURSOR_DAILY = "cursor_daily", "Cursor daily usage"
    COPILOT_USAGE = "copilot_usage", "GitHub Copilot usage report"
    COPILOT_SEATS = "copilot_seats", "GitHub Copilot seats"
    GENERIC = "generic", "Generic CSV"


# Several sources describe the same usage; per person, day and vendor only the best one present
# counts toward totals (design.md §2). Lower is better. The others still show as activity.
SOURCE_RANK = {
    Source.ANTHROPIC_USAGE_REPORT: 0,
    Source.CLAUDE_CODE_ANALYTICS: 1,
    Source.CLAUDE_CODE_TELEMETRY: 2,
    Source.CCUSAGE: 3,
    Source.OPENAI_USAGE: 0,
    # Codex's own events name the person and each response; its turn metrics name nobody (unless a
    # site adds user.email to their resource), so they count only where the events are missing.
    Source.CODEX_TELEMETRY: 1,
    Source.CODEX_TELEMETRY_METRICS: 2,
    # Nothing else reports Gemini CLI per person yet; 0 is left for a Google admin report.
    Source.GEMINI_CLI_TELEMETRY: 1,
    Source.CURSOR_EVENTS: 0,
    Source.COPILOT_USAGE: 0,
    # The generic CSV is for providers without an importer; where one exists, its own export wins.
    Source.GENERIC: 9,
}


class Trust(models.TextChoices):
    """How far a source's numbers can be taken at their word, strongest first: what a provider's own
    admin API or console export says, what a coding agent sent over telemetry, what a person uploaded
    about themself (ccusage reads their laptop's logs, and a file is easy to edit)."""

    PROVIDER = "provider", "Provider-reported"
    TELEMETRY = "telemetry", "Telemetry"
    SELF_REPORTED = "self", "Self-reported"


TRUST_ORDER = [Trust.PROVIDER, Trust.TELEMETRY, Trust.SELF_REPORTED]
# A source not named here is the provider's (an admin API, a console export, an admin's generic CSV).
SOURCE_TRUST = {
    Source.CLAUDE_CODE_TELEMETRY: Trust.TELEMETRY,
    Source.CODEX_TELEMETRY: Trust.TELEMETRY,
    Source.CODEX_TELEMETRY_METRICS: Trust.TELEMETRY,
    Source.GEMINI_CLI_TELEMETRY: Trust.TELEMETRY,
    Source.CCUSAGE: Trust.SELF_REPORTED,
}


def trust_of(source: str) -> Trust:
    return SOURCE_TRUST.get(source, Trust.PROVIDER)


# The sources that report what usage produced (commits, pull requests, accepted lines), and the vendor
# each writes its rows under: a person with none of them in a period has output "unknown", not zero.
# Seats, token reports and Codex's telemetry say nothing about output.
OUTPUT_SOURCES = {
    Source.CLAUDE_CODE_ANALYTICS: "anthropic",
    Source.CLAUDE_CODE_TELEMETRY: "anthropic",
    Source.GEMINI_CLI_TELEMETRY: "google",
    Source.CURSOR_DAILY: "cursor",
    Source.COPILOT_USAGE: "github",
}


class TokenCounts(models.Model):
    """The four disjoint token kinds, requests and cost, as every usage table stores them."""

    input_tokens = models.BigIntegerField(default=0, help_text="Uncached input.")
    cache_write_tokens = models.BigIntegerField(default=0)
    cache_read_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    requests = models.BigIntegerField(default=0)

    class Meta:
        abstract = True

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.cache_write_tokens + self.cache_read_tokens + self.output_tokens


class UsageRecord(TokenCounts):
    """Usage as a source reported it: one row per natural key, replaced (never added to) on re-import."""

    vendor = models.CharField(max_length=40)
    source = models.CharField(max_length=30, choices=Source.choices)
    source_rank = models.PositiveSmallIntegerField(default=0)
    # Not indexed on its own: the natural key's index starts with identity and day, and serves both.
    identity = models.ForeignKey(ProviderIdentity, on_delete=models.PROTECT, related_name="usage", db_index=False)
    day = models.DateField()
    model = models.CharField(max_length=200, blank=True)
    # The other grouping dimensions the source has (api key, workspace, event time, ...), as one key.
    dims = models.CharField(max_length=255, blank=True)
    cost_usd = models.DecimalField(max_digits=18, decimal_places=6, null=True, blank=True)
    cost_reported = models.BooleanField(default=False, help_text="Cost came from the provider, not estimated.")
    # Which export (and attempt) last wrote the row: provenance, never queried on a hot path, so
    # not worth an index that every import would have to maintain. Nor a constraint in the
    # database: only an import writes the column, with the id of the export its own transaction has
    # claimed (and holds locked), so the check could never fail, and checking it for every row of a
    # million-row import took PostgreSQL 6 seconds at commit. Django still refuses to delete an
    # export that rows name (PROTECT is enforced by the ORM).
    export = models.ForeignKey(
        UsageExport, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    export_attempt = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["identity", "day", "vendor", "source", "model", "dims"], name="usage_natural_key"
            )
        ]

    def __str__(self):
        return f"{self.day} {self.vendor} {self.source} {self.model or '-'}: {self.total_tokens:,} tokens"


class ActivityRecord(models.Model):
    """What a source says someone did besides tokens: sessions, lines, commits, accepted edits, requests."""

    vendor = models.CharField(max_length=40)
    source = models.CharField(max_length=30, choices=Source.choices)
    identity = models.ForeignKey(ProviderIdentity, on_delete=models.PROTECT, related_name="activity", db_index=False)
    day = models.DateField()
    active = models.BooleanField(default=False)
    sessions = models.BigIntegerField(default=0)
    requests = models.BigIntegerField(default=0)
    lines_added = models.BigIntegerField(default=0)
    lines_removed = models.BigIntegerField(default=0)
    commits = models.BigIntegerField(default=0)
    pull_requests = models.BigIntegerField(default=0)
    edits_accepted = models.BigIntegerField(default=0)
    edits_rejected = models.BigIntegerField(default=0)
    # Cursor's applied edits and accepted tab completions (the latter also among edits_accepted).
    applies = models.BigIntegerField(default=0)
    tabs_accepted = models.BigIntegerField(default=0)
    # Copilot: whether chat and the agent were used that day (1 or 0): over a period, the days of use.
    chat_days = models.BigIntegerField(default=0)
    agent_days = models.BigIntegerField(default=0)
    # Provenance, written like UsageRecord.export.
    export = models.ForeignKey(
        UsageExport, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    export_attempt = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["identity", "day", "vendor", "source"], name="activity_natural_key")
        ]

    def __str__(self):
        return f"{self.day} {self.vendor} {self.source}"


class DailyUsageQuerySet(models.QuerySet):
    def between(self, start, end):
        return self.filter(day__gte=start, day__lte=end)


class DailyUsage(TokenCounts):
    """Rollup the boards read: a person's counted usage per UTC day, vendor and model.

    Always recomputed from UsageRecord for the (person, day) pairs an import touched, never
    incremented, so replaying an import leaves the same numbers.
    """

    # No foreign-key constraint in the database: these rows are derived, rebuilt from UsageRecord
    # (whose identity keeps its constraint), and checking 200,000 of them at an import's commit took
    # PostgreSQL half a second. Django still deletes them with their person.
    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="daily_usage", db_index=False, db_constraint=False
    )
    day = models.DateField()
    vendor = models.CharField(max_length=40)
    model = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=30, choices=Source.choices, help_text="The source that counted.")
    total_tokens = models.BigIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=18, decimal_places=6, default=Decimal(0))
    # Rows whose model no price list knows: their cost is unknown, not zero.
    unpriced_records = models.PositiveIntegerField(default=0)

    objects = DailyUsageQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["person", "day", "vendor", "model"], name="daily_usage_key")
        ]
        indexes = [models.Index(fields=["day", "person"])]

    def __str__(self):
        return f"{self.day} {self.vendor} {self.model or '-'}: {self.total_tokens:,} tokens"


class PersonDay(models.Model):
    """Rollup of a person's whole day across vendors: what the boards rank and the flags watch."""

    # Derived like DailyUsage, so no constraint in the database either.
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="days", db_index=False, db_constraint=False)
    day = models.DateField()
    total_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    requests = models.BigIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=18, decimal_places=6, default=Decimal(0))
    unpriced_records = models.PositiveIntegerField(default=0)
    # Any usage or activity from any source, counted or not: what "inactive" and "active days" mean.
    active = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["person", "day"], name="person_day_key")]
        indexes = [models.Index(fields=["day", "person"])]

    def __str__(self):
        return f"{self.day}: {self.total_tokens:,} tokens"


class DailyOutput(models.Model):
    """Rollup of what a person's usage produced per UTC day and vendor (commits, pull requests,
    accepted lines), from the output sources only (OUTPUT_SOURCES). Several of them can count the
    same work (Claude Code analytics and its telemetry), so per person, day and vendor only the
    best-ranked one present counts, as for tokens. Rebuilt with the other rollups; a person without
    a row in a period has no output source there: their output is unknown, not zero."""

    # Derived like DailyUsage, so no constraint in the database either.
    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="daily_output", db_index=False, db_constraint=False
    )
    day = models.DateField()
    vendor = models.CharField(max_length=40)
    source = models.CharField(max_length=30, choices=Source.choices, help_text="The source that counted.")
    commits = models.BigIntegerField(default=0)
    pull_requests = models.BigIntegerField(default=0)
    accepted_lines = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["person", "day", "vendor"], name="daily_output_key")]
        indexes = [models.Index(fields=["day", "person"])]

    def __str__(self):
        return f"{self.day} {self.vendor}: {self.commits} commits, {self.pull_requests} pull requests"
