"""The manager's review queue, a flag's page and its actions, and the admin pages for budgets, flag
rules and exemptions.

Access: ``_get_flag_for_user`` is the one gate for a single flag (reviewer, the flagged person, or a
404); the queue and bulk actions only ever look inside ``review.reviewable_flags(user)``. Every page
works as plain HTML forms; htmx swaps a row or a panel instead of reloading.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.db import IntegrityError
from django.db.models import Case, IntegerField, Q, Value, When
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.access import admin_required
from accounts.models import Person, Team

from .. import budgets, flags, review
from ..boards import spreadsheet_safe
from ..models import SEVERITY_RANK, BudgetPolicy, Exemption, Flag, FlagRule, OrgSettings, Severity

Status = Flag.Status
PER_PAGE = 100


def _get_flag_for_user(user, pk) -> tuple[Flag, str]:
    """The flag and the viewer's role on it ("reviewer" or "subject"); a 404 for anyone else, so that
    an id outside one's reporting line looks exactly like one that does not exist."""
    flag = get_object_or_404(
        Flag.objects.select_related("rule", "person", "person__team", "person__manager", "identity", "assignee"), pk=pk
    )
    role = review.role_for(user, flag)
    if role is None:
        raise Http404
    return flag, role


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return default


# --- Forms --------------------------------------------------------------------------------------

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


class DismissForm(forms.Form):
    reason = forms.ChoiceField(choices=Flag.DismissReason.choices)
    text = forms.CharField(required=False, max_length=500)


class NoteForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)
    to_employee = forms.BooleanField(required=False, label="Visible to the person (a reply, not an internal note)")


class AnswerForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5000, label="Your answer")


class ResolveForm(forms.Form):
    text = forms.CharField(required=False, max_length=500)


class ReassignForm(forms.Form):
    to = forms.ModelChoiceField(queryset=Person.objects.none(), label="Hand to")

    def __init__(self, *args, flag=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to"].queryset = review.reassign_choices(flag)


class EmptyForm(forms.Form):
    pass


ACTION_FORMS = {
    "acknowledge": EmptyForm, "snooze": SnoozeForm, "dismiss": DismissForm, "resolve": ResolveForm,
    "reassign": ReassignForm, "note": NoteForm, "answer": AnswerForm,
}
DONE = {
    "acknowledge": "Acknowledged.", "snooze": "Snoozed.", "dismiss": "Dismissed.", "resolve": "Resolved.",
    "reassign": "Reassigned.", "note": "Note added.", "answer": "Your answer was sent to your manager.",
}


class BulkForm(forms.Form):
    ids = forms.TypedMultipleChoiceField(coerce=int, choices=[])
    action = forms.ChoiceField(choices=[(a, a.capitalize()) for a in review.BULK_ACTIONS])
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.ChoiceField(choices=[("", "—"), *Flag.DismissReason.choices], required=False)
    text = forms.CharField(required=False, max_length=500)
    to = forms.ModelChoiceField(queryset=Person.objects.none(), required=False, label="Hand to")

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


# --- The queue ----------------------------------------------------------------------------------


def _queue_context(user, params: QueryDict) -> dict:
    form = QueueFilterForm(params)
    base = review.reviewable_flags(user)
    flags_qs = form.apply(base)
    counts = review.status_counts(form.apply(base, with_status=False))
    rows = list(flags_qs[:PER_PAGE])
    total = flags_qs.count() if len(rows) == PER_PAGE else len(rows)
    query = params.urlencode()
    status_links = []
    for value, label in STATUS_FILTERS:
        linked = params.copy()
        linked["status"] = value
        number = counts.get(value) if value not in ("", "all") else (
            counts[Status.OPEN] + counts[Status.ACKNOWLEDGED] if value == "" else sum(counts.values()))
        status_links.append({"value": value, "label": label, "count": number,
                             "url": f"{reverse('review')}?{linked.urlencode()}",
                             "current": (form.data.get("status") or "") == value})
    return {
        "form": form, "flags": rows, "total": total, "counts": counts, "status_links": status_links,
        "queue_url": f"{reverse('review')}?{query}" if query else reverse("review"),
        "csv_url": f"{reverse('review_csv')}?{query}" if query else reverse("review_csv"),
        "bulk_form": BulkForm(QueryDict()), "dismiss_reasons": Flag.DismissReason.choices,
        "reassign_choices": review.reassign_choices(), "tomorrow": timezone.now().date() + timedelta(days=1),
        "next_week": timezone.now().date() + timedelta(days=7),
        "evaluation": flags.last_evaluation(), "skip_labels": flags.SKIP_LABELS,
    }


def queue(request):
    if not review.may_review(request.user):
        raise Http404
    context = _queue_context(request.user, request.GET)
    if request.htmx and request.htmx.target == "queue":
        return render(request, "review/queue.html#queue", context)
    return render(request, "review/queue.html", context)


def queue_csv(request):
    if not review.may_review(request.user):
        raise Http404
    form = QueueFilterForm(request.GET)
    rows = form.apply(review.reviewable_flags(request.user))
    out = io.StringIO()
    writer = csv.writer(out)
    columns = ["id", "person_email", "person_name", "team", "rule", "severity", "status", "opened_on", "updated_on",
               "assignee", "explanation"]
    writer.writerow(columns)
    for flag in rows:
        writer.writerow([spreadsheet_safe(value) for value in (
            flag.pk, flag.person.email if flag.person_id else "", flag.subject_label,
            flag.person.team.name if flag.person_id and flag.person.team_id else "", flag.rule.kind, flag.severity,
            flag.status, flag.opened_on.isoformat(), flag.updated_on.isoformat(),
            flag.assignee.email if flag.assignee_id else "", flag.explanation,
        )])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="flags-{timezone.now().date():%Y-%m-%d}.csv"'
    return response


# --- One flag -----------------------------------------------------------------------------------


def _chart(numbers: dict, width: int = 600, height: int = 120) -> dict | None:
    """Bars for the flag's daily series (cost; tokens for a drop), with the daily budget as a line."""
    series = numbers.get("series") or []
    if not series:
        return None
    use_tokens = numbers.get("rule") == FlagRule.Kind.DROP
    values = [float(point["tokens"] if use_tokens else Decimal(point["cost"])) for point in series]
    budget_line = None
    per_day = (numbers.get("budget") or {}).get("per_day") or numbers.get("daily_budget")
    if per_day and not use_tokens:
        budget_line = float(per_day)
    top = max([*values, budget_line or 0]) or 1.0
    step = width / len(values)
    window_start = (numbers.get("window") or {}).get("start", "")
    bars = []
    for point, value in zip(series, values, strict=True):
        bar_height = value / top * (height - 4)
        index = len(bars)
        label = f"{point['tokens']:,} tokens" if use_tokens else f"${Decimal(point['cost']):,.2f}"
        bars.append({
            "x": round(index * step + 0.5, 1), "y": round(height - bar_height, 1), "w": round(max(step - 1, 1), 1),
            "h": round(bar_height, 1), "title": f"{point['day']}: {label}", "in_window": point["day"] >= window_start,
        })
    return {
        "bars": bars, "width": width, "height": height, "unit": "tokens" if use_tokens else "USD",
        "top": f"{top:,.0f}" if use_tokens else f"${top:,.2f}",
        "budget_y": None if budget_line is None else round(height - budget_line / top * (height - 4), 1),
        "budget": budget_line, "first": series[0]["day"], "last": series[-1]["day"],
    }


def _flag_context(request, flag: Flag, role: str, **extra) -> dict:
    numbers = flag.numbers or {}
    context = {
        "flag": flag, "role": role, "numbers": numbers, "chart": _chart(numbers),
        "share_text": flags.pct(numbers["share"]) if numbers.get("share") is not None else "",
        "notes": review.notes_for(flag, role), "events": review.events_for(flag, role),
        "dismiss_reasons": Flag.DismissReason.choices,
        "reassign_form": ReassignForm(flag=flag) if role == "reviewer" else None,
        "tomorrow": timezone.now().date() + timedelta(days=1),
        "next_week": timezone.now().date() + timedelta(days=7),
        "queue_url": reverse("review"),
    }
    context.update(extra)
    return context


def flag_detail(request, pk):
    flag, role = _get_flag_for_user(request.user, pk)
    return render(request, "review/flag.html", _flag_context(request, flag, role))


@require_POST
def flag_action(request, pk, action):
    flag, role = _get_flag_for_user(request.user, pk)
    if action not in ACTION_FORMS:
        raise Http404
    # The person a flag is about may only answer it; reviewers may do everything but answer.
    if (role == "subject") != (action == "answer"):
        raise Http404
    form_class = ACTION_FORMS[action]
    form = form_class(request.POST, flag=flag) if form_class is ReassignForm else form_class(request.POST)
    error, notice = "", ""
    if form.is_valid():
        try:
            getattr(review, {"note": "add_note"}.get(action, action))(flag=flag, by=request.user, **form.cleaned_data)
            notice = DONE[action]
        except review.ActionRefused as refused:
            error = str(refused)
    else:
        error = " ".join(f"{form.fields[name].label or name.capitalize()}: {' '.join(errs)}" if name != "__all__"
                         else " ".join(errs) for name, errs in form.errors.items())
    flag, role = _get_flag_for_user(request.user, pk)
    if request.htmx:
        if request.POST.get("from") == "queue":
            flag.severity_rank = SEVERITY_RANK.get(flag.severity, 0)
            context = {"flag": flag, "row_notice": notice, "row_error": error, "dismiss_reasons": Flag.DismissReason.choices,
                       "tomorrow": timezone.now().date() + timedelta(days=1),
                       "next_week": timezone.now().date() + timedelta(days=7),
                       "queue_url": _safe_next(request, reverse("review"))}
            return render(request, "review/queue.html#flag-row", context)
        return render(request, "review/flag.html#flag-body",
                      _flag_context(request, flag, role, notice=notice, error=error))
    if error:
        messages.error(request, error)
    else:
        messages.success(request, notice)
    return redirect(_safe_next(request, flag.get_absolute_url()))


@require_POST
def queue_bulk(request):
    if not review.may_review(request.user):
        raise Http404
    form = BulkForm(request.POST)
    next_url = _safe_next(request, reverse("review"))
    notice = error = ""
    if form.is_valid():
        ids = set(form.cleaned_data["ids"])
        chosen = list(review.reviewable_flags(request.user).filter(pk__in=ids))
        if len(chosen) != len(ids):
            raise Http404  # A forged id (someone else's flag, or none): nothing is done.
        try:
            params = form.params()
            result = review.apply_bulk(flags=chosen, by=request.user, action=form.cleaned_data["action"], **params)
            notice = result.summary({"acknowledge": "acknowledged", "snooze": "snoozed", "dismiss": "dismissed",
                                     "resolve": "resolved", "reassign": "reassigned"}[form.cleaned_data["action"]])
        except review.ActionRefused as refused:
            error = str(refused)
    else:
        error = "Select at least one flag and an action." if "ids" in form.errors else "Check the bulk action's fields."
    if request.htmx:
        query = next_url.split("?", 1)[1] if "?" in next_url else ""
        context = _queue_context(request.user, QueryDict(query))
        context.update(notice=notice, error=error)
        return render(request, "review/queue.html#queue", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, notice)
    return redirect(next_url)


# --- Budgets (admins) ---------------------------------------------------------------------------


class PolicyForm(forms.Form):
    scope = forms.ChoiceField(choices=BudgetPolicy.Scope.choices, initial=BudgetPolicy.Scope.TEAM)
    team = forms.ModelChoiceField(queryset=Team.objects.all(), required=False)
    person = forms.ModelChoiceField(queryset=Person.objects.employed(), required=False)
    kind = forms.ChoiceField(choices=BudgetPolicy.Kind.choices)
    amount_usd = forms.DecimalField(label="Amount (USD)", required=False, min_value=0, max_digits=12, decimal_places=2)
    salary_percent = forms.DecimalField(label="Share of salary (%)", required=False, min_value=Decimal("0.01"),
                                        max_value=100, max_digits=5, decimal_places=2)
    effective_from = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(required=False, max_length=255)

    def clean(self):
        data = super().clean()
        scope, kind = data.get("scope"), data.get("kind")
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
    person = forms.ModelChoiceField(queryset=Person.objects.employed())
    percent = forms.IntegerField(min_value=1, max_value=100, label="Working time (%)")


def _policy_rows(today: date) -> list[dict]:
    """Every policy with its state: in effect, scheduled, or superseded (history)."""
    rows = list(BudgetPolicy.objects.select_related("team", "person", "created_by"))
    current: dict[tuple, BudgetPolicy] = {}
    for row in sorted(rows, key=lambda r: r.effective_from):
        if row.effective_from <= today:
            current[(row.scope, row.team_id, row.person_id)] = row
    in_effect = {r.pk for r in current.values()}
    result = []
    for row in rows:
        state = "in effect" if row.pk in in_effect else "scheduled" if row.effective_from > today else "superseded"
        result.append({"policy": row, "state": state})
    order = {"org": 0, "team": 1, "person": 2}
    result.sort(key=lambda r: (order[r["policy"].scope], r["policy"].target_label.lower(),
                               -r["policy"].effective_from.toordinal()))
    return result


def _budgets_context(form, preview=None, settings_form=None, part_time_form=None) -> dict:
    today = timezone.now().date()
    org = OrgSettings.load()
    return {
        "form": form, "preview": preview, "policies": _policy_rows(today), "today": today,
        "settings_form": settings_form or OrgSettingsForm(initial={
            "working_weekdays": org.working_weekdays, "grace_days": org.grace_days,
            "max_data_lag_days": org.max_data_lag_days}),
        "part_time_form": part_time_form or PartTimeForm(),
        "part_timers": Person.objects.employed().filter(work_percent__lt=100).select_related("team"),
    }


def _preview(form) -> dict | None:
    if not form.is_valid():
        return None
    proposed = form.policy()
    rows, total = budgets.preview_policy(proposed)
    return {"policy": proposed, "rows": rows, "total": total,
            "month": proposed.effective_from.replace(day=1)}


@admin_required
def budget_list(request):
    if request.method == "POST":
        form = PolicyForm(request.POST)
        if "preview" not in request.POST and form.is_valid():
            data = form.cleaned_data
            try:
                policy = budgets.create_policy(
                    scope=data["scope"], kind=data["kind"], effective_from=data["effective_from"],
                    amount_usd=data.get("amount_usd"), salary_percent=data.get("salary_percent"), team=data.get("team"),
                    person=data.get("person"), note=data.get("note", ""), by=request.user,
                )
            except IntegrityError:  # The database allows one policy per target and start day.
                form.add_error("effective_from", "That target already has a policy starting that day.")
            else:
                messages.success(request, f"Added: {policy}.")
                return redirect("budgets")
        return render(request, "review/budgets.html", _budgets_context(form, _preview(form)))
    form = PolicyForm(initial={"effective_from": timezone.now().date().replace(day=1) + timedelta(days=32)})
    return render(request, "review/budgets.html", _budgets_context(form))


@admin_required
def budget_preview(request):
    form = PolicyForm(request.GET)
    return render(request, "review/budgets.html#preview", {"form": form, "preview": _preview(form)})


@admin_required
@require_POST
def budget_delete(request, pk):
    policy = get_object_or_404(BudgetPolicy, pk=pk)
    try:
        budgets.delete_future_policy(policy=policy)
        messages.success(request, "Deleted the scheduled policy.")
    except budgets.PolicyInEffect as refused:
        messages.error(request, str(refused))
    return redirect("budgets")


@admin_required
@require_POST
def budget_settings(request):
    form = OrgSettingsForm(request.POST)
    if form.is_valid():
        budgets.update_org_settings(**form.cleaned_data)
        messages.success(request, "Saved the working week and flag settings.")
        return redirect("budgets")
    return render(request, "review/budgets.html", _budgets_context(PolicyForm(), settings_form=form))


@admin_required
@require_POST
def budget_part_time(request):
    form = PartTimeForm(request.POST)
    if form.is_valid():
        budgets.set_work_percent(person=form.cleaned_data["person"], percent=form.cleaned_data["percent"])
        messages.success(request, f"{form.cleaned_data['person']} now works {form.cleaned_data['percent']}%.")
        return redirect("budgets")
    return render(request, "review/budgets.html", _budgets_context(PolicyForm(), part_time_form=form))


# --- Flag rules and exemptions (admins) ---------------------------------------------------------


class RuleForm(forms.ModelForm):
    class Meta:
        model = FlagRule
        fields = ["enabled", "severity", "window_days", "baseline_days", "threshold", "severe_threshold",
                  "amount_usd", "cap_usd", "scope_team"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        used = {name for name, _, _ in flags.PARAMETERS[self.instance.kind]}
        for name, label, help_text in flags.PARAMETERS[self.instance.kind]:
            self.fields[name].label, self.fields[name].help_text = label, help_text
        for name in ("window_days", "baseline_days", "threshold", "severe_threshold", "amount_usd", "cap_usd"):
            if name not in used:
                del self.fields[name]
        self.fields["window_days"].min_value = 1
        self.fields["scope_team"].label = "Only for team"
        self.fields["scope_team"].empty_label = "Everyone"


@admin_required
def flag_rules(request):
    rules = list(flags.ensure_rules().values())
    rules.sort(key=lambda r: list(FlagRule.Kind.values).index(r.kind))
    forms_ = [RuleForm(request.POST or None, instance=rule, prefix=rule.kind) for rule in rules]
    if request.method == "POST" and all(form.is_valid() for form in forms_):
        changed = flags.update_rules(changes={form.instance.pk: form.cleaned_data for form in forms_ if form.has_changed()},
                                     by=request.user)
        messages.success(request, f"Saved {changed} rule{'s' if changed != 1 else ''}. "
                         "The next evaluation (daily, and after each import) applies them.")
        return redirect("flag_rules")
    return render(request, "review/rules.html", {"forms": forms_})


class ExemptionForm(forms.Form):
    person = forms.ModelChoiceField(queryset=Person.objects.employed())
    rule = forms.ModelChoiceField(queryset=FlagRule.objects.all(), required=False, empty_label="Every rule")
    reason = forms.CharField(max_length=500)
    expires_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Until (inclusive)")

    def clean_expires_on(self):
        value = self.cleaned_data["expires_on"]
        if value < timezone.now().date():
            raise forms.ValidationError("Choose today or a later day.")
        return value


@admin_required
def exemptions(request):
    form = ExemptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        exemption = flags.create_exemption(by=request.user, **form.cleaned_data)
        messages.success(request, f"Added: {exemption}.")
        return redirect("exemptions")
    today = timezone.now().date()
    rows = Exemption.objects.select_related("person", "rule", "created_by")
    return render(request, "review/exemptions.html", {
        "form": form, "current": rows.filter(expires_on__gte=today),
        "past": rows.filter(expires_on__lt=today)[:50], "today": today,
    })


@admin_required
@require_POST
def exemption_end(request, pk):
    exemption = get_object_or_404(Exemption, pk=pk)
    flags.end_exemption(exemption=exemption)
    messages.success(request, f"{exemption.person} can be flagged again from tomorrow's evaluation.")
    return redirect("exemptions")


urlpatterns = [
    path("review/", queue, name="review"),
    path("review.csv", queue_csv, name="review_csv"),
    path("review/bulk/", queue_bulk, name="review_bulk"),
    path("review/<int:pk>/", flag_detail, name="flag"),
    path("review/<int:pk>/<slug:action>/", flag_action, name="flag_action"),
    path("budgets/", budget_list, name="budgets"),
    path("budgets/preview/", budget_preview, name="budget_preview"),
    path("budgets/<int:pk>/delete/", budget_delete, name="budget_delete"),
    path("budgets/settings/", budget_settings, name="budget_settings"),
    path("budgets/part-time/", budget_part_time, name="budget_part_time"),
    path("budgets/rules/", flag_rules, name="flag_rules"),
    path("budgets/exemptions/", exemptions, name="exemptions"),
    path("budgets/exemptions/<int:pk>/end/", exemption_end, name="exemption_end"),
]
