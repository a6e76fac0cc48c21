from decimal import Decimal

from django.db import models
from django.urls import reverse
from django.utils import timezone

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

    class Origin(models.TextChoices):
        UPLOAD = "upload", "Uploaded in the browser"
        COMMAND = "command", "manage.py import_usage"
        SELF_SERVICE = "self", "Uploaded by the person it belongs to"
        DEMO = "demo", "Demo data"

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
    # [{"where": "usage.csv line 12", "field": "input_tokens", "message": "..."}], the first 50.
    problems = models.JSONField(default=list, blank=True)
    failure = models.TextField(blank=True, help_text="Why the import stopped, in one sentence.")

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
    def format_label(self) -> str:
        from .ingestion import FORMATS

        fmt = FORMATS.get(self.format or self.requested_format)
        return fmt.label if fmt else (self.format or "not detected yet")

    @property
    def is_done(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)


class Source(models.TextChoices):
    """Which kind of export a usage row came from. Order within a vendor is precedence: see RANK."""

    ANTHROPIC_USAGE_REPORT = "anthropic_usage_report", "Anthropic Admin API usage report"
    CLAUDE_CODE_ANALYTICS = "claude_code_analytics", "Claude Code analytics"
    CLAUDE_CODE_TELEMETRY = "claude_code_telemetry", "Claude Code telemetry"
    CCUSAGE = "ccusage", "ccusage upload"
    OPENAI_USAGE = "openai_usage", "OpenAI usage (API or dashboard CSV)"
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
    Source.CURSOR_EVENTS: 0,
    Source.COPILOT_USAGE: 0,
    # The generic CSV is for providers without an importer; where one exists, its own export wins.
    Source.GENERIC: 9,
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



# --- Budgets ------------------------------------------------------------------------------------


def default_working_weekdays() -> list[int]:
    return [1, 2, 3, 4, 5]  # ISO weekdays: Monday to Friday.


class OrgSettings(models.Model):
    """The organisation's working week and the flag housekeeping numbers: one row, pk 1."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    working_weekdays = models.JSONField(
        default=default_working_weekdays, help_text="ISO weekdays that are working days (1 = Monday, 7 = Sunday)."
    )
    grace_days = models.PositiveSmallIntegerField(
        default=30, help_text="New joiners are not flagged during their first this many days."
    )
    max_data_lag_days = models.PositiveSmallIntegerField(
        default=3,
        help_text="A vendor whose latest imported day is older than this is stale: rules that need its data wait.",
    )

    class Meta:
        verbose_name = "organisation settings"
        verbose_name_plural = "organisation settings"
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="org_settings_single_row")]

    def __str__(self):
        return "Organisation settings"

    @classmethod
    def load(cls) -> "OrgSettings":
        settings, _ = cls.objects.get_or_create(pk=1)
        return settings


class BudgetPolicyQuerySet(models.QuerySet):
    def in_effect_on(self, day):
        return self.filter(effective_from__lte=day)


class BudgetPolicy(models.Model):
    """A budget rule for the organisation, a team (and its sub-teams) or a person, from a date on.

    Rows are never edited once in effect: a change is a new row with a later ``effective_from``, so a
    past period is always judged by the budget of its time.
    """

    class Scope(models.TextChoices):
        ORG = "org", "Organisation default"
        TEAM = "team", "Team (and its sub-teams)"
        PERSON = "person", "Person"

    class Kind(models.TextChoices):
        PER_WORKING_DAY = "day", "Fixed amount per working day"
        PER_MONTH = "month", "Fixed amount per month"
        PER_YEAR = "year", "Fixed amount per year"
        SALARY_SHARE = "salary", "Share of annual base salary"

    scope = models.CharField(max_length=6, choices=Scope.choices)
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="budget_policies"
    )
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.CASCADE, related_name="budget_policies")
    kind = models.CharField(max_length=6, choices=Kind.choices, default=Kind.PER_WORKING_DAY)
    amount_usd = models.DecimalField(
        "amount (USD)", max_digits=12, decimal_places=2, null=True, blank=True, help_text="For fixed amounts."
    )
    salary_percent = models.DecimalField(
        "share of salary (%)", max_digits=5, decimal_places=2, null=True, blank=True,
        help_text="For salary-based budgets: 50 means half of the annual base salary a year.",
    )
    effective_from = models.DateField()
    note = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = BudgetPolicyQuerySet.as_manager()

    class Meta:
        ordering = ["scope", "team__name", "person__name", "-effective_from"]
        verbose_name_plural = "budget policies"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(scope="org", team__isnull=True, person__isnull=True)
                | models.Q(scope="team", team__isnull=False, person__isnull=True)
                | models.Q(scope="person", team__isnull=True, person__isnull=False),
                name="budget_policy_scope_target",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="salary", salary_percent__gt=0)
                | (~models.Q(kind="salary") & models.Q(amount_usd__gte=0)),
                name="budget_policy_has_amount",
            ),
            # Every page that shows a budget reads the kind: an unknown one would break them all.
            models.CheckConstraint(condition=models.Q(kind__in=["day", "month", "year", "salary"]),
                                   name="budget_policy_known_kind"),
            # One policy per target and start date: two would make the budget of that day ambiguous.
            models.UniqueConstraint(
                fields=["effective_from"], condition=models.Q(scope="org"), name="budget_policy_org_unique"
            ),
            models.UniqueConstraint(
                fields=["team", "effective_from"], condition=models.Q(scope="team"), name="budget_policy_team_unique"
            ),
            models.UniqueConstraint(
                fields=["person", "effective_from"], condition=models.Q(scope="person"),
                name="budget_policy_person_unique",
            ),
        ]

    def __str__(self):
        return f"{self.target_label}: {self.describe()} from {self.effective_from:%Y-%m-%d}"

    @property
    def target_label(self) -> str:
        if self.scope == self.Scope.TEAM:
            return f"Team {self.team}"
        if self.scope == self.Scope.PERSON:
            return str(self.person)
        return "Organisation default"

    def describe(self) -> str:
        if self.kind == self.Kind.SALARY_SHARE:
            return f"{self.salary_percent.normalize():f}% of annual base salary"
        unit = {self.Kind.PER_WORKING_DAY: "working day", self.Kind.PER_MONTH: "month", self.Kind.PER_YEAR: "year"}
        return f"${self.amount_usd:,.2f} per {unit[self.kind]}"


# --- Flags --------------------------------------------------------------------------------------


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


SEVERITY_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2}


class FlagRule(models.Model):
    """One rule of the flag evaluation, as an admin tuned it. What each number means depends on the kind
    (see ``flags.PARAMETERS``)."""

    class Kind(models.TextChoices):
        UNDERUSE = "underuse", "Underuse of budget"
        INACTIVE = "inactive", "Inactive"
        DROP = "drop", "Usage drop"
        RUNAWAY = "runaway", "Runaway spend"
        UNATTRIBUTED = "unattributed", "Unattributed usage"

    kind = models.CharField(max_length=20, choices=Kind.choices, unique=True)
    enabled = models.BooleanField(default=True)
    severity = models.CharField(max_length=6, choices=Severity.choices, default=Severity.MEDIUM)
    window_days = models.PositiveSmallIntegerField(default=30)
    baseline_days = models.PositiveSmallIntegerField(null=True, blank=True)
    threshold = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    severe_threshold = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    amount_usd = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    cap_usd = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    scope_team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Only people in this team and its sub-teams; empty for everyone.",
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return self.get_kind_display()


class FlagQuerySet(models.QuerySet):
    def live(self):
        return self.filter(status__in=Flag.LIVE)

    def for_people(self):
        return self.filter(person__isnull=False)


class Flag(models.Model):
    """A rule's finding about one person (or, for unattributed usage, one identity), and its review."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        SNOOZED = "snoozed", "Snoozed"
        DISMISSED = "dismissed", "Dismissed"
        RESOLVED = "resolved", "Resolved"

    class DismissReason(models.TextChoices):
        ON_LEAVE = "on_leave", "On leave"
        ROLE_NO_AI = "role_no_ai", "Role does not need AI"
        DATA_PROBLEM = "data_problem", "Data problem"
        OTHER = "other", "Other"

    # The statuses that still need someone: at most one such flag per person and rule.
    LIVE = (Status.OPEN, Status.ACKNOWLEDGED, Status.SNOOZED)

    rule = models.ForeignKey(FlagRule, on_delete=models.PROTECT, related_name="flags")
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.CASCADE, related_name="flags")
    identity = models.ForeignKey(
        ProviderIdentity, null=True, blank=True, on_delete=models.CASCADE, related_name="flags"
    )
    assignee = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_flags",
        help_text="A manager it was handed to; empty means the person's reporting line.",
    )
    severity = models.CharField(max_length=6, choices=Severity.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    explanation = models.TextField()
    numbers = models.JSONField(default=dict, blank=True)
    opened_on = models.DateField()
    updated_on = models.DateField()
    closed_on = models.DateField(null=True, blank=True)
    opened_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    snoozed_until = models.DateField(null=True, blank=True)
    dismiss_reason = models.CharField(max_length=12, choices=DismissReason.choices, blank=True)
    dismiss_text = models.CharField(max_length=500, blank=True)
    # After a dismissal the rule stays quiet about this person until then (a whole new window of data).
    suppressed_until = models.DateField(null=True, blank=True)
    resolution = models.CharField(max_length=500, blank=True)

    objects = FlagQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "rule"],
                condition=models.Q(status__in=["open", "acknowledged", "snoozed"], person__isnull=False),
                name="flag_one_live_per_person_rule",
            ),
            models.UniqueConstraint(
                fields=["identity", "rule"],
                condition=models.Q(status__in=["open", "acknowledged", "snoozed"], identity__isnull=False),
                name="flag_one_live_per_identity_rule",
            ),
            models.CheckConstraint(
                condition=models.Q(person__isnull=False, identity__isnull=True)
                | models.Q(person__isnull=True, identity__isnull=False),
                name="flag_has_one_subject",
            ),
        ]
        indexes = [models.Index(fields=["status", "severity"]), models.Index(fields=["person", "status"])]

    def __str__(self):
        return f"{self.rule} — {self.subject_label}"

    def get_absolute_url(self):
        return reverse("flag", args=[self.pk])

    @property
    def subject_label(self) -> str:
        if self.person_id:
            return str(self.person)
        return str(self.identity)

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE

    @property
    def headline(self) -> str:
        return self.explanation.split("\n", 1)[0]


class FlagEvent(models.Model):
    """The audit trail: who did what to a flag, when, and its fields before and after."""

    class Action(models.TextChoices):
        OPENED = "opened", "Opened"
        UPDATED = "updated", "Updated by the evaluation"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        NOTED = "noted", "Added a note"
        SNOOZED = "snoozed", "Snoozed"
        WOKE = "woke", "Snooze ended"
        DISMISSED = "dismissed", "Dismissed"
        REASSIGNED = "reassigned", "Reassigned"
        RESOLVED = "resolved", "Resolved"
        AUTO_RESOLVED = "auto_resolved", "Resolved itself"
        ANSWERED = "answered", "Answered"

    flag = models.ForeignKey(Flag, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", help_text="Empty: the evaluation."
    )
    at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=14, choices=Action.choices)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)
    # Events about internal notes are for reviewers only.
    internal = models.BooleanField(default=False)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.get_action_display()} at {self.at:%Y-%m-%d %H:%M}"


class FlagNote(models.Model):
    """Words on a flag. Internal notes are for reviewers only; replies and answers the person sees too."""

    class Kind(models.TextChoices):
        INTERNAL = "internal", "Internal note (reviewers only)"
        REPLY = "reply", "Reply to the person"
        ANSWER = "answer", "The person's answer"

    flag = models.ForeignKey(Flag, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(Person, null=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.get_kind_display()} by {self.author}"


class Exemption(models.Model):
    """An admin's decision that a person is not to be flagged (by one rule or all) until a date."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="exemptions")
    rule = models.ForeignKey(
        FlagRule, null=True, blank=True, on_delete=models.CASCADE, related_name="exemptions",
        help_text="Empty: every rule.",
    )
    reason = models.CharField(max_length=500)
    starts_on = models.DateField(default=timezone.localdate)
    expires_on = models.DateField()
    created_by = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-expires_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_on__gte=models.F("starts_on")), name="exemption_ends_after_start"
            ),
        ]

    def __str__(self):
        return f"{self.person} exempt from {self.rule or 'all rules'} until {self.expires_on:%Y-%m-%d}"


class FlagEvaluation(models.Model):
    """One run of the evaluation: what it did, and what it could not judge (shown on the queue)."""

    as_of = models.DateField()
    trigger = models.CharField(max_length=20, default="beat")
    started_at = models.DateTimeField(default=timezone.now)
    duration = models.FloatField(default=0)
    people = models.PositiveIntegerField(default=0)
    opened = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    # {"grace": 3, "leave": 1, ...} and [{"vendor": "cursor", "last_day": "2025-03-02"}]
    skipped = models.JSONField(default=dict, blank=True)
    stale_vendors = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]

    def __str__(self):
        return f"Evaluation as of {self.as_of:%Y-%m-%d}"


class Notification(models.Model):
    """One email or Slack message to send, exactly once: ``key`` says what makes it the same message,
    and a worker sends it only after moving it from pending to sending with a conditional UPDATE."""

    class Kind(models.TextChoices):
        NEW_FLAG = "new_flag", "New high-severity flag"
        DIGEST = "digest", "Digest of open flags"

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SLACK = "slack", "Slack"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    key = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    channel = models.CharField(max_length=5, choices=Channel.choices, default=Channel.EMAIL)
    recipient = models.ForeignKey(Person, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    flag = models.ForeignKey(Flag, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self):
        return self.key
