"""Forms of the review queue, a flag's actions, and the admin pages for budgets, rules and exemptions."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.db.models import Case, IntegerField, Q, Value, When
from django.utils import timezone

from accounts.models import Person, Team

from . import budgets, flags, review
from .models import SEVERITY_RANK, BudgetPolicy, Flag, FlagRule, Severity

Status = Flag.Status


STATUS_FILTERS = [("", "Needs attention (open, acknowledged)"), *Status.choices, ("all", "All")]


SORTS = {
    "severity": ("Severity", ["-severity_rank", "opened_on", "pk"]),
    "newest": ("Newest", ["-opened_on", "-pk"]),
    "oldest": ("Oldest", ["opened_on", "pk"]),
    "person": ("Person", ["person__name", "person__email", "pk"]),
    "rule": ("Rule", ["rule__kind", "-severity_rank", "pk"]),
    "updated": ("Recently updated", ["-updated_at", "-pk"]),
}


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(choices=STATUS_FILTERS, required=False)
    rule = forms.ChoiceField(choices=[("", "Any rule"), *FlagRule.Kind.choices], required=False)
    severity = forms.ChoiceField(choices=[("", "Any severity"), *Severity.choices], required=False)
    team = forms.ModelChoiceField(queryset=Team.objects.all(), required=False, empty_label="Any team")
    person = forms.CharField(required=False, label="Person", widget=forms.TextInput(attrs={"type": "search",
                             "placeholder": "Name or email"}))
    sort = forms.ChoiceField(choices=[(k, v[0]) for k, v in SORTS.items()], required=False)

    def apply(self, flags_qs, *, with_status: bool = True):
        data = self.cleaned_data if self.is_valid() else {}
        if data.get("rule"):
            flags_qs = flags_qs.filter(rule__kind=data["rule"])
        if data.get("severity"):
            flags_qs = flags_qs.filter(severity=data["severity"])
        if data.get("team"):
            flags_qs = flags_qs.filter(person__team_id__in=data["team"].with_descendants())
        if data.get("person"):
            term = data["person"].strip()
            flags_qs = flags_qs.filter(Q(person__name__icontains=term) | Q(person__email__icontains=term)
                                       | Q(identity__value__icontains=term) | Q(identity__label__icontains=term))
        if with_status:
            status = data.get("status") or ""
            if status == "":
                flags_qs = flags_qs.filter(status__in=[Status.OPEN, Status.ACKNOWLEDGED])
            elif status != "all":
                flags_qs = flags_qs.filter(status=status)
        sort = SORTS.get(data.get("sort") or "severity", SORTS["severity"])[1]
        return flags_qs.annotate(severity_rank=_severity_rank()).order_by(*sort)


def _severity_rank():
    return Case(*[When(severity=s, then=Value(r)) for s, r in SEVERITY_RANK.items()], default=Value(0),
                output_field=IntegerField())


class SnoozeForm(forms.Form):
    until = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))


class PersonChoiceField(forms.ModelChoiceField):
    """People by name and email: two colleagues may share a name, never an email."""

    def label_from_instance(self, obj):
        return f"{obj.name} · {obj.email}" if obj.name else obj.email


DISMISS_CHOICES = [("", "Choose a reason…"), *Flag.DismissReason.choices]


class DismissForm(forms.Form):
    # No reason is preselected: a dismissal records the reason the reviewer chose, never a default.
    reason = forms.ChoiceField(choices=DISMISS_CHOICES, error_messages={"required": "Choose a reason."})
    text = forms.CharField(required=False, max_length=500, label="Details")

    def clean(self):
        data = super().clean()
        if data.get("reason") == Flag.DismissReason.OTHER and not (data.get("text") or "").strip():
            self.add_error("text", "Say why, in a few words, when the reason is “Other”.")
        return data


class NoteForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)
    to_employee = forms.BooleanField(required=False, label="Visible to the person (a reply, not an internal note)")


class AnswerForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5000, label="Your answer")


class ResolveForm(forms.Form):
    text = forms.CharField(required=False, max_length=500)


class ReassignForm(forms.Form):
    to = PersonChoiceField(queryset=Person.objects.none(), label="Hand to")

    def __init__(self, *args, flag=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to"].queryset = review.reassign_choices(flag)


class EmptyForm(forms.Form):
    pass


ACTION_FORMS = {
    "acknowledge": EmptyForm, "snooze": SnoozeForm, "dismiss": DismissForm, "resolve": ResolveForm,
    "reassign": ReassignForm, "note": NoteForm, "answer": AnswerForm, "reopen": EmptyForm,
}


DONE = {
    "acknowledge": "Acknowledged.", "snooze": "Snoozed.", "dismiss": "Dismissed.", "resolve": "Resolved.",
    "reassign": "Reassigned.", "note": "Note added.", "answer": "Your answer was sent to your manager.",
    "reopen": "Reopened.",
}


class BulkForm(forms.Form):
    ids = forms.TypedMultipleChoiceField(coerce=int, choices=[])
    action = forms.ChoiceField(choices=[(a, a.capitalize()) for a in review.BULK_ACTIONS])
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.ChoiceField(choices=DISMISS_CHOICES, required=False)
    text = forms.CharField(required=False, max_length=500)
    to = PersonChoiceField(queryset=Person.objects.none(), required=False, label="Hand to")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any integer parses; which ids the user may touch is decided against the database, not here.
        self.fields["ids"].choices = [(v, v) for v in self.data.getlist("ids") if str(v).isdigit()]
        self.fields["to"].queryset = review.reassign_choices()

    def params(self) -> dict:
        data, action = self.cleaned_data, self.cleaned_data["action"]
        if action == "snooze":
            if not data.get("until"):
                raise review.ActionRefused("Choose a date to snooze until.")
            return {"until": data["until"]}
        if action == "dismiss":
            return {"reason": data.get("reason") or "", "text": data.get("text") or ""}
        if action == "resolve":
            return {"text": data.get("text") or ""}
        if action == "reassign":
            if not data.get("to"):
                raise review.ActionRefused("Choose whom to hand the flags to.")
            return {"to": data["to"]}
        return {}


class PolicyForm(forms.Form):
    scope = forms.ChoiceField(choices=BudgetPolicy.Scope.choices, initial=BudgetPolicy.Scope.TEAM)
    team = forms.ModelChoiceField(queryset=Team.objects.all(), required=False)
    person = PersonChoiceField(queryset=Person.objects.employed(), required=False)
    kind = forms.ChoiceField(choices=BudgetPolicy.Kind.choices)
    amount_usd = forms.DecimalField(label="Amount (USD)", required=False, min_value=0, max_digits=12, decimal_places=2)
    salary_percent = forms.DecimalField(label="Share of salary (%)", required=False, min_value=Decimal("0.01"),
                                        max_value=100, max_digits=5, decimal_places=2)
    effective_from = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(required=False, max_length=255)
    backdate = forms.BooleanField(
        required=False, label="I understand this changes budgets already reported for past periods",
        help_text="Needed only for a policy starting before today. A policy in effect can never be deleted, "
        "and the backdate is recorded in the audit trail.",
    )

    def __init__(self, *args, previewing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        # A preview changes nothing: it shows whose past budgets a backdate would change before the
        # admin confirms it.
        self.previewing = previewing

    def clean(self):
        data = super().clean()
        scope, kind = data.get("scope"), data.get("kind")
        start = data.get("effective_from")
        if start and start < timezone.now().date() and not data.get("backdate") and not self.previewing:
            self.add_error("backdate", f"{start:%Y-%m-%d} is in the past: start the policy today or later, or "
                                       "confirm that it changes past budgets.")
        if scope == BudgetPolicy.Scope.TEAM and not data.get("team"):
            self.add_error("team", "Choose the team.")
        if scope == BudgetPolicy.Scope.PERSON and not data.get("person"):
            self.add_error("person", "Choose the person.")
        if kind == BudgetPolicy.Kind.SALARY_SHARE:
            if data.get("salary_percent") is None:
                self.add_error("salary_percent", "Say which share of the salary.")
            data["amount_usd"] = None
        elif kind and data.get("amount_usd") is None:
            self.add_error("amount_usd", "Say how much.")
        else:
            data["salary_percent"] = None
        return data

    def policy(self) -> budgets.Policy:
        data = self.cleaned_data
        row = BudgetPolicy(scope=data["scope"], kind=data["kind"], amount_usd=data.get("amount_usd"),
                           salary_percent=data.get("salary_percent"), effective_from=data["effective_from"],
                           team=data.get("team") if data["scope"] == "team" else None,
                           person=data.get("person") if data["scope"] == "person" else None)
        names = {row.team_id: row.team.name} if row.team_id else {}
        people = {row.person_id: str(row.person)} if row.person_id else {}
        return budgets.Policy.from_row(row, names, people)


WEEKDAYS = [(1, "Monday"), (2, "Tuesday"), (3, "Wednesday"), (4, "Thursday"), (5, "Friday"), (6, "Saturday"),
            (7, "Sunday")]


class OrgSettingsForm(forms.Form):
    working_weekdays = forms.TypedMultipleChoiceField(choices=WEEKDAYS, coerce=int,
                                                      widget=forms.CheckboxSelectMultiple, label="Working days")
    grace_days = forms.IntegerField(min_value=0, max_value=365, label="Grace period for new joiners (days)")
    max_data_lag_days = forms.IntegerField(min_value=0, max_value=60, label="Data is stale after (days)")


class PartTimeForm(forms.Form):
    person = PersonChoiceField(queryset=Person.objects.employed())
    percent = forms.IntegerField(min_value=1, max_value=100, label="Working time (%)")


class RuleForm(forms.ModelForm):
    class Meta:
        model = FlagRule
        fields = ["enabled", "severity", "window_days", "baseline_days", "threshold", "severe_threshold",
                  "amount_usd", "cap_usd", "scope_team", "employee_first_days"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.kind == FlagRule.Kind.UNATTRIBUTED:
            del self.fields["employee_first_days"]  # about an identity, nobody's to answer
        else:
            self.fields["employee_first_days"].label = "Shown to the person first (days)"
            self.fields["employee_first_days"].help_text = (
                "A new flag is the person's alone this long, to answer or fix, before their managers see it. 0: at once.")
            self.fields["employee_first_days"].max_value = 30
        used = {name for name, _, _ in flags.PARAMETERS[self.instance.kind]}
        for name, label, help_text in flags.PARAMETERS[self.instance.kind]:
            self.fields[name].label, self.fields[name].help_text = label, help_text
        for name in ("window_days", "baseline_days", "threshold", "severe_threshold", "amount_usd", "cap_usd"):
            if name not in used:
                del self.fields[name]
        self.fields["window_days"].min_value = 1
        self.fields["scope_team"].label = "Only for team"
        self.fields["scope_team"].empty_label = "Everyone"


class ExemptionForm(forms.Form):
    person = PersonChoiceField(queryset=Person.objects.employed())
    rule = forms.ModelChoiceField(queryset=FlagRule.objects.all(), required=False, empty_label="Every rule")
    reason = forms.CharField(max_length=500)
    expires_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Until (inclusive)")

    def clean_expires_on(self):
        value = self.cleaned_data["expires_on"]
        if value < timezone.now().date():
            raise forms.ValidationError("Choose today or a later day.")
        return value
