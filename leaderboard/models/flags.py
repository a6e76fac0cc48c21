"""Flags: the rules admins tune, what they find about people, and the review of each finding."""

from django.db import models
from django.urls import reverse
from django.utils import timezone

from accounts.models import Person, ProviderIdentity


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
        BURN_WITHOUT_OUTPUT = "burn_without_output", "Burn without output"
        OUTLIER = "outlier", "Outlier spend"

    kind = models.CharField(max_length=20, choices=Kind.choices, unique=True)
    enabled = models.BooleanField(default=True)
    severity = models.CharField(max_length=6, choices=Severity.choices, default=Severity.MEDIUM)
    window_days = models.PositiveSmallIntegerField(default=30)
    baseline_days = models.PositiveSmallIntegerField(null=True, blank=True)
    threshold = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    severe_threshold = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    amount_usd = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    cap_usd = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    # Employee first: a new flag is the person's alone for this many days, so they can answer or fix it
    # before their managers see it (0: managers see it at once).
    employee_first_days = models.PositiveSmallIntegerField(default=3)
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

    def shown_to_managers(self, today):
        """Flags past their employee-first days (or never given any)."""
        return self.filter(models.Q(shown_to_managers_on__isnull=True) | models.Q(shown_to_managers_on__lte=today))


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
    # Employee first: managers see the flag (queue, digest, emails) from this day; the person at once.
    shown_to_managers_on = models.DateField(null=True, blank=True)

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

    def is_shown_to_managers(self, today) -> bool:
        return self.shown_to_managers_on is None or self.shown_to_managers_on <= today

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
        REOPENED = "reopened", "Reopened"

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
