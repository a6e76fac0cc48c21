"""The organisation's working week and its budget policies."""

from django.db import models

from accounts.models import Person

from ..display import money


def default_working_weekdays() -> list[int]:
    return [1, 2, 3, 4, 5]  # ISO weekdays: Monday to Friday.


class OrgSettings(models.Model):
    """The organisation's working week, the flag housekeeping numbers and how boards show colleagues: one
    row, pk 1."""

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
    peer_bands = models.BooleanField(
        default=True,
        verbose_name="show colleagues as bands",
        help_text="On the boards, colleagues see each other's place as a band (top 1%, 5%, 10%, 25%, half) and a "
        "bar; exact figures and ranks stay with the person, their managers and admins.",
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
        return f"{money(self.amount_usd)} a {unit[self.kind]}"
