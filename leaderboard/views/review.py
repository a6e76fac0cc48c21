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

from django.contrib import messages
from django.db import IntegrityError
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts import audit
from accounts.access import admin_required
from accounts.models import Person

from .. import budgets, cache, charts, display, flags, review
from ..display import spreadsheet_safe
from ..models import SEVERITY_RANK, BudgetPolicy, Exemption, Flag, FlagRule, OrgSettings
from ..review_forms import (
    ACTION_FORMS,
    DISMISS_CHOICES,
    DONE,
    STATUS_FILTERS,
    BulkForm,
    ExemptionForm,
    OrgSettingsForm,
    PartTimeForm,
    PolicyForm,
    QueueFilterForm,
    ReassignForm,
    RuleForm,
)
from .redirects import back_to

Status = Flag.Status
PER_PAGE = 100


def _get_flag_for_user(user, pk) -> tuple[Flag, str]:
    """The flag and the viewer's role on it ("reviewer" or "subject"); a 404 for anyone else, so that
    an id outside one's reporting line looks exactly like one that does not exist."""
    flag = get_object_or_404(
        Flag.objects.select_related("rule", "person", "person__team", "person__manager", "identity", "assignee"), pk=pk
    )
    # An admin needs no reporting line, so no versions read for one.
    role = review.role_for(user, flag, None if user.is_staff else cache.current())
    if role is None:
        raise Http404
    return flag, role




# --- Forms --------------------------------------------------------------------------------------

























# --- The queue ----------------------------------------------------------------------------------


def _queue_context(user, params: QueryDict) -> dict:
    versions = cache.current()
    form = QueueFilterForm(params)
    base = review.reviewable_flags(user, versions=versions)
    flags_qs = form.apply(base)
    counts = review.status_counts(form.apply(base, with_status=False))
    # A row shows the headline, never the numbers behind it (a JSON document with months of days).
    rows = list(flags_qs.defer("numbers")[:PER_PAGE])
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
        "bulk_form": BulkForm(QueryDict()), "dismiss_reasons": DISMISS_CHOICES,
        "tomorrow": timezone.now().date() + timedelta(days=1),
        "next_week": timezone.now().date() + timedelta(days=7),
        "evaluation": review.evaluation_summary(user, flags.last_evaluation(), versions), "skip_labels": flags.SKIP_LABELS,
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




def _span_text(span: dict | None) -> str:
    """A flag's window as people write it ("Nov 6 – Dec 5, 2026"); flags keep ISO days in JSON."""
    if not span or not span.get("start") or not span.get("end"):
        return ""
    return display.day_span(date.fromisoformat(span["start"]), date.fromisoformat(span["end"]))


def _flag_context(request, flag: Flag, role: str, **extra) -> dict:
    numbers = flag.numbers or {}
    context = {
        "flag": flag, "role": role, "numbers": numbers, "chart": charts.flag_chart(numbers),
        "share_text": display.percent(numbers["share"]) if numbers.get("share") is not None else "",
        "window_text": _span_text(numbers.get("window")), "baseline_text": _span_text(numbers.get("baseline")),
        "notes": review.notes_for(flag, role), "events": review.events_for(flag, role),
        "dismiss_reasons": DISMISS_CHOICES,
        "reassign_form": ReassignForm(flag=flag) if role == "reviewer" else None,
        "tomorrow": timezone.now().date() + timedelta(days=1),
        "next_week": timezone.now().date() + timedelta(days=7),
        "queue_url": reverse("review"),
    }
    context.update(extra)
    return context


def flag_detail(request, pk):
    flag, role = _get_flag_for_user(request.user, pk)
    if request.htmx and request.htmx.target == f"menu-{flag.pk}" and role == "reviewer" and flag.is_live:
        # A queue row's "More": its actions, loaded when first opened rather than sent with every row.
        return render(request, "review/queue.html#row-menu", _row_context(request, flag))
    return render(request, "review/flag.html", _flag_context(request, flag, role))


def _row_context(request, flag: Flag, **extra) -> dict:
    """One queue row, as the queue renders it (htmx swaps a row after an action on it)."""
    flag.severity_rank = SEVERITY_RANK.get(flag.severity, 0)
    return {"flag": flag, "dismiss_reasons": DISMISS_CHOICES, "tomorrow": timezone.now().date() + timedelta(days=1),
            "next_week": timezone.now().date() + timedelta(days=7), "queue_url": back_to(request, reverse("review")),
            **extra}


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
        error = " ".join(" ".join(errs) for errs in form.errors.values())
    # What the reviewer typed survives an error: the form comes back as they left it, never reset.
    typed = {"action": action, **{k: request.POST.get(k, "") for k in ("reason", "text", "until")}} if error else {}
    flag, role = _get_flag_for_user(request.user, pk)
    from_queue = request.POST.get("from") == "queue"
    if request.htmx:
        if from_queue:
            return render(request, "review/queue.html#flag-row",
                          _row_context(request, flag, row_notice=notice, row_error=error, typed=typed))
        return render(request, "review/flag.html#flag-body",
                      _flag_context(request, flag, role, notice=notice, error=error, typed=typed))
    if error:
        # Without JavaScript too: the flag's page with the message and the fields as they were typed.
        return render(request, "review/flag.html", _flag_context(request, flag, role, error=error, typed=typed))
    messages.success(request, notice)
    return redirect(back_to(request, flag.get_absolute_url()))


@require_POST
def queue_bulk(request):
    if not review.may_review(request.user):
        raise Http404
    form = BulkForm(request.POST)
    next_url = back_to(request, reverse("review"))
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
    # People whose budget changes the same way are one line ("14 people"), not 14 identical rows.
    groups: dict[tuple, dict] = {}
    for row in rows:
        group = groups.setdefault((row.before, row.after, row.after_text), {
            "people": [], "before": row.before, "after": row.after, "change": row.change, "after_text": row.after_text})
        group["people"].append(row.person.name)
    return {"policy": proposed, "groups": list(groups.values()), "total": total,
            "month": proposed.effective_from.replace(day=1), "shown": len(rows)}


@admin_required
def budget_list(request):
    if request.method == "POST":
        form = PolicyForm(request.POST, previewing="preview" in request.POST)
        if "preview" not in request.POST and form.is_valid():
            data = form.cleaned_data
            try:
                policy = budgets.create_policy(
                    scope=data["scope"], kind=data["kind"], effective_from=data["effective_from"],
                    amount_usd=data.get("amount_usd"), salary_percent=data.get("salary_percent"), team=data.get("team"),
                    person=data.get("person"), note=data.get("note", ""), by=request.user,
                    backdate=data.get("backdate", False), address=audit.client_address(request),
                )
            except IntegrityError:  # The database allows one policy per target and start day.
                form.add_error("effective_from", "That target already has a policy starting that day.")
            except budgets.PolicyBackdated as refused:  # Midnight passed between the form and the write.
                form.add_error("backdate", str(refused))
            else:
                messages.success(request, f"Added: {policy}.")
                return redirect("budgets")
        return render(request, "review/budgets.html", _budgets_context(form, _preview(form)))
    # The first of next month: budgets are thought of by the month.
    next_month = (timezone.now().date().replace(day=1) + timedelta(days=32)).replace(day=1)
    form = PolicyForm(initial={"effective_from": next_month})
    return render(request, "review/budgets.html", _budgets_context(form))


@admin_required
def budget_preview(request):
    form = PolicyForm(request.GET, previewing=True)
    return render(request, "review/budgets.html#preview", {"form": form, "preview": _preview(form)})


@admin_required
@require_POST
def budget_delete(request, pk):
    policy = get_object_or_404(BudgetPolicy, pk=pk)
    try:
        budgets.delete_future_policy(policy=policy, by=request.user, address=audit.client_address(request))
        messages.success(request, "Deleted the scheduled policy.")
    except budgets.PolicyInEffect as refused:
        messages.error(request, str(refused))
    return redirect("budgets")


@admin_required
@require_POST
def budget_settings(request):
    form = OrgSettingsForm(request.POST)
    if form.is_valid():
        budgets.update_org_settings(**form.cleaned_data, by=request.user, address=audit.client_address(request))
        messages.success(request, "Saved the working week and flag settings.")
        return redirect("budgets")
    return render(request, "review/budgets.html", _budgets_context(PolicyForm(), settings_form=form))


@admin_required
@require_POST
def budget_part_time(request):
    form = PartTimeForm(request.POST)
    if form.is_valid():
        budgets.set_work_percent(person=form.cleaned_data["person"], percent=form.cleaned_data["percent"],
                                 by=request.user, address=audit.client_address(request))
        messages.success(request, f"{form.cleaned_data['person']} now works {form.cleaned_data['percent']}%.")
        return redirect("budgets")
    return render(request, "review/budgets.html", _budgets_context(PolicyForm(), part_time_form=form))


# --- Flag rules and exemptions (admins) ---------------------------------------------------------




@admin_required
def flag_rules(request):
    rules = list(flags.ensure_rules().values())
    rules.sort(key=lambda r: list(FlagRule.Kind.values).index(r.kind))
    forms_ = [RuleForm(request.POST or None, instance=rule, prefix=rule.kind) for rule in rules]
    if request.method == "POST" and "preview" in request.POST:
        # The policy simulator: the forms' unsaved instances, evaluated today beside the saved rules.
        preview = flags.preview(proposed={f.instance.kind: f.instance for f in forms_}) if all(
            form.is_valid() for form in forms_) else None
        return render(request, "review/rules.html", {"forms": forms_, "preview": preview, "previewed": True})
    if request.method == "POST" and all(form.is_valid() for form in forms_):
        changed = flags.update_rules(changes={form.instance.pk: form.cleaned_data for form in forms_ if form.has_changed()},
                                     by=request.user, address=audit.client_address(request))
        messages.success(request, f"Saved {changed} rule{'s' if changed != 1 else ''}. "
                         "The next evaluation (daily, and after each import) applies them.")
        return redirect("flag_rules")
    return render(request, "review/rules.html", {"forms": forms_})




@admin_required
def exemptions(request):
    form = ExemptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        exemption = flags.create_exemption(by=request.user, address=audit.client_address(request),
                                           **form.cleaned_data)
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
    flags.end_exemption(exemption=exemption, by=request.user, address=audit.client_address(request))
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
