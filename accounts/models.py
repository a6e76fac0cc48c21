from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from . import org


class Team(models.Model):
    name = models.CharField(max_length=120, unique=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    slack_webhook_url = models.URLField(blank=True, help_text="Optional Slack incoming webhook for this team.")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def with_descendants(self) -> set[int]:
        """Ids of this team and every team below it, for "team includes its sub-teams" filters."""
        return org.team_and_below(self.pk, dict(Team.objects.values_list("pk", "parent_id")))

    def attachments(self) -> list[tuple[str, int]]:
        """What points at this team besides its people and sub-teams, as ("budget policy", 2) pairs:
        rows that a deletion would take with it (a budget policy cascades) or quietly widen (a flag
        rule scoped to the team would apply to everyone). Found through the model's relations, so
        that accounts needs to know nothing of the apps that scope their rows to teams."""
        found = []
        for relation in Team._meta.get_fields(include_hidden=True):
            if not (relation.auto_created and not relation.concrete and (relation.one_to_many or relation.one_to_one)):
                continue
            if relation.related_model in (Person, Team):
                continue
            count = relation.related_model._base_manager.filter(**{relation.field.name: self}).count()
            if count:
                meta = relation.related_model._meta
                found.append((str(meta.verbose_name if count == 1 else meta.verbose_name_plural), count))
        return sorted(found)


class PersonNotDeletable(Exception):
    """People are deactivated, never deleted: a deletion would cascade away their usage history,
    flags and budgets (design.md §3). Set their status to terminated instead."""

    def __init__(self, message: str = ""):
        super().__init__(message or "People are never deleted: deactivate them (status terminated) instead, so "
                                    "their usage history, flags and budgets stay.")


class PersonQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status=Person.Status.ACTIVE, is_active=True)

    def employed(self):
        """Everyone not terminated: people on leave still appear on boards."""
        return self.exclude(status=Person.Status.TERMINATED)

    def reporting_lines(self) -> dict[int, int | None]:
        """Everyone's manager (person id -> manager id), in one query: what accounts.org walks."""
        return dict(self.order_by().values_list("pk", "manager_id"))

    def delete(self):
        raise PersonNotDeletable()

    delete.queryset_only = True


class PersonManager(BaseUserManager.from_queryset(PersonQuerySet)):
    use_in_migrations = True

    def get_by_natural_key(self, email):
        # Logins are case-insensitive: "Dana.Brooks@Acme.example" is Dana.
        return self.get(email__iexact=email)

    def create_user(self, email, password=None, **fields):
        if not email:
            raise ValueError("People need an email address.")
        person = self.model(email=self.normalize_email(email).lower(), **fields)
        person.set_password(password)
        person.save(using=self._db)
        return person

    def create_superuser(self, email, password=None, **fields):
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **fields)


class Person(AbstractBaseUser, PermissionsMixin):
    """An employee. Logs in with their email; admins are staff; managers are anyone with reports."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        LEAVE = "leave", "On leave"
        TERMINATED = "terminated", "Terminated"

    class Privacy(models.TextChoices):
        NAMED = "named", "Show my name"
        ANONYMOUS = "anonymous", "Show me as “Anonymous”"
        HIDDEN = "hidden", "Leave me off the boards (still counted in team totals)"

    class Digest(models.TextChoices):
        DAILY = "daily", "Daily"
        WEEKLY = "weekly", "Weekly"
        NONE = "none", "No digest"

    # Stored lower-cased (see save), so uniqueness is case-insensitive.
    email = models.EmailField(max_length=254, unique=True)
    name = models.CharField(max_length=200, blank=True)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members")
    manager = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="direct_reports"
    )
    title = models.CharField(max_length=200, blank=True)
    start_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    # Admins only: salary-based budgets read it; no board or person page shows it.
    annual_base_salary = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    # Part-time people get this share of a fixed budget (a salary-based budget already reflects it).
    work_percent = models.PositiveSmallIntegerField(
        "working time (%)", default=100, validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="100 for full time; 50 for someone working half the week.",
    )
    github_login = models.CharField(max_length=100, blank=True)
    privacy = models.CharField(max_length=10, choices=Privacy.choices, default=Privacy.NAMED)
    digest = models.CharField(
        "flag digest", max_length=8, choices=Digest.choices, default=Digest.WEEKLY,
        help_text="How often a manager receives the digest of open flags.",
    )
    is_staff = models.BooleanField("admin", default=False, help_text="Admins see everyone and run imports.")
    is_active = models.BooleanField(default=True, help_text="Terminated people are deactivated, never deleted.")
    date_joined = models.DateTimeField(default=timezone.now)

    objects = PersonManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        ordering = ["name", "email"]
        verbose_name = "person"
        verbose_name_plural = "people"
        constraints = [
            models.UniqueConstraint(
                Lower("github_login"), condition=~models.Q(github_login=""), name="person_github_login_ci_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(work_percent__gte=1, work_percent__lte=100), name="person_work_percent_range"
            ),
        ]

    def __str__(self):
        return self.name or self.email

    def save(self, *args, **kwargs):
        self.email = self.email.strip().lower()
        self.github_login = self.github_login.strip()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PersonNotDeletable()

    def get_absolute_url(self):
        return reverse("person", args=[self.pk])

    def get_full_name(self):
        return self.name or self.email

    def get_short_name(self):
        return (self.name or self.email).split()[0]

    @property
    def is_admin(self) -> bool:
        return self.is_staff

    @property
    def is_manager(self) -> bool:
        return self.direct_reports.exists()



class ProviderIdentity(models.Model):
    """How a provider names a person: an email, an account or user id, an API key, a login.

    Usage rows point here rather than at people, so mapping an identity to a person (or correcting a
    mapping) re-attributes its whole history without re-importing anything.
    """

    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        ACCOUNT_ID = "account_id", "Account id"
        USER_ID = "user_id", "User id"
        API_KEY = "api_key", "API key id"
        API_KEY_NAME = "api_key_name", "API key name"
        LOGIN = "login", "Login"
        UNATTRIBUTED = "unattributed", "No identity (e.g. Playground)"

    # Case-insensitive kinds are stored lower-cased so that the unique constraint means what it says.
    CASE_INSENSITIVE_KINDS = frozenset({Kind.EMAIL, Kind.LOGIN})

    vendor = models.CharField(max_length=40)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    value = models.CharField(max_length=255)
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="identities"
    )
    # An API key belongs to whoever its creating account belongs to, even when that account is mapped later.
    linked_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="linked_identities"
    )
    label = models.CharField(max_length=255, blank=True, help_text="What the provider calls it (name, email).")
    is_service_account = models.BooleanField(
        default=False, help_text="Usage that belongs to no person (a CI bot, a shared key)."
    )
    mapped_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    mapped_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "provider identities"
        ordering = ["vendor", "kind", "value"]
        constraints = [
            models.UniqueConstraint(fields=["vendor", "kind", "value"], name="identity_natural_key"),
        ]
        indexes = [models.Index(fields=["person"])]

    def __str__(self):
        return f"{self.vendor} {self.get_kind_display().lower()} {self.label or self.value}"

    @classmethod
    def normalize_value(cls, kind: str, value: str) -> str:
        value = value.strip()
        return value.lower() if kind in cls.CASE_INSENSITIVE_KINDS else value


class AuditIsAppendOnly(Exception):
    def __init__(self, message: str = "The audit trail is append-only: its events are never changed or deleted."):
        super().__init__(message)


class AuditEventQuerySet(models.QuerySet):
    """The audit trail is append-only: no bulk rewrite or removal either."""

    def update(self, **kwargs):
        raise AuditIsAppendOnly()

    def delete(self):
        raise AuditIsAppendOnly()

    delete.queryset_only = True


class AuditEvent(models.Model):
    """Who changed what, when, from where, and the values before and after (``accounts/audit.py``
    writes them). Any kind of target: its model ("leaderboard.budgetpolicy"), id and how it read at
    the time, so an event still says what it was about when the row itself is gone or renamed."""

    at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    actor = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                              help_text="Empty: the system, or a command run without a person.")
    action = models.CharField(max_length=80, help_text='What was done, as "target.verb": "person.deactivate".')
    target_type = models.CharField(max_length=100, help_text='"app_label.model" of what it was done to.')
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=255, blank=True)
    before = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    address = models.GenericIPAddressField(null=True, blank=True, help_text="Where the request came from.")

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.target_label or self.target_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditIsAppendOnly()
        # Always an insert, even with a primary key given: never an UPDATE of an existing event.
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditIsAppendOnly()
