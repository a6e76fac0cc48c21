"""The admin pages that feed usage in: uploading exports and watching them run, mapping identities."""


from django.contrib import messages
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseStopPolling

from accounts import audit
from accounts.access import admin_required
from accounts.models import Person, ProviderIdentity

from .. import cache, contributions, identities, identity_suggestions, imports, selectors, tasks
from ..forms import (
    HistoryFilterForm,
    IdentityBulkMapForm,
    IdentityMapForm,
    IdentitySearchForm,
    RetryForm,
    UploadForm,
)
from ..models import UsageExport
from .redirects import back_to

PER_PAGE = 50
RECENTLY_MAPPED = 25


def _get_export(pk) -> UsageExport:
    return get_object_or_404(
        UsageExport.objects.select_related("uploaded_by", "attributed_to", "sync_run__connection"), pk=pk
    )


# --- Exports ----------------------------------------------------------------------------------


@admin_required
def import_list(request):
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        outcomes = []
        for upload in form.cleaned_data["files"]:
            # One transaction per file: each export row commits (and is queued) on its own, so one
            # bad file never takes the others with it.
            with transaction.atomic():
                export, created = imports.store_export(
                    content=upload, name=upload.name, origin=UsageExport.Origin.UPLOAD, uploaded_by=request.user,
                    attributed_to=form.cleaned_data["person"], requested_format=form.cleaned_data["format"],
                )
                if created:
                    tasks.queue_import(export)
            outcomes.append((upload.name, export, created))
        _report_uploads(request, outcomes)
        if request.htmx:
            # Sent with upload progress (static/js/upload.js): a full page load shows the banner once.
            return HttpResponseClientRedirect(reverse("imports"))
        return redirect("imports")

    filters = HistoryFilterForm(request.GET)
    # Telemetry batches (thousands an hour) have their own history, on the Ingest tokens page.
    exports = (UsageExport.objects.select_related("uploaded_by", "sync_run__connection")
               .exclude(origin=UsageExport.Origin.TELEMETRY))
    if filters.is_valid() and filters.cleaned_data["status"]:
        exports = exports.filter(status=filters.cleaned_data["status"])
    if filters.is_valid() and filters.cleaned_data["sync_run"]:
        exports = exports.filter(sync_run=filters.cleaned_data["sync_run"])
    page = Paginator(exports, PER_PAGE).get_page(request.GET.get("page"))
    running = any(not export.is_done for export in page)
    context = {"form": form, "filters": filters, "page": page, "running": running}
    if request.htmx and request.htmx.target == "import-history":
        # The history polls itself while something on it runs; 286 tells htmx to stop.
        response = render(request, "imports/list.html#history", context)
        return response if running else HttpResponseStopPolling(response.content)
    return render(request, "imports/list.html", context)


def _report_uploads(request, outcomes: list[tuple[str, UsageExport, bool]]) -> None:
    """One banner for the whole upload, however many files: what was queued, what was there already,
    what was refused. ``name`` is what the admin chose now; a duplicate's export may carry another."""
    queued, known, refused = [], [], []
    for name, export, created in outcomes:
        link = format_html('<a href="{}">#{}</a>', export.get_absolute_url(), export.pk)
        if not created:
            known.append(format_html("{} as {} ({})", name, link, export.get_status_display().lower()))
        elif export.status == UsageExport.Status.FAILED:
            # store_export refuses some files outright (too large) but keeps them.
            refused.append(format_html("{} as {}: {}", name, link, export.failure))
        else:
            queued.append(format_html("{} as {}", name, link))
    parts = []
    if queued:
        parts.append(format_html("Queued {}.", _and(queued)))
    if known:
        parts.append(format_html("Already uploaded: {}; nothing new was queued for {}.", _and(known),
                                 "it" if len(known) == 1 else "them"))
    if refused:
        parts.append(format_html("Refused {}.", _and(refused)))
    text = format_html_join(" ", "{}", ((part,) for part in parts))
    level = messages.ERROR if refused else messages.SUCCESS if queued else messages.INFO
    messages.add_message(request, level, text)


def _and(items: list) -> str:
    if len(items) == 1:
        return items[0]
    return format_html("{} and {}", format_html_join(", ", "{}", ((item,) for item in items[:-1])), items[-1])


@admin_required
def import_detail(request, pk):
    export = _get_export(pk)
    return render(request, "imports/detail.html", _detail_context(export))


@admin_required
def import_progress(request, pk):
    """The status block alone, for htmx polling; 286 once the export is done so the polling stops."""
    export = _get_export(pk)
    context = _detail_context(export)
    if export.is_done:
        return HttpResponseStopPolling(render_to_string("imports/detail.html#progress", context, request))
    return render(request, "imports/detail.html#progress", context)


def _detail_context(export: UsageExport) -> dict:
    # The worker writes {"rows": n, "fraction": f} as it goes; nothing is there before it starts.
    progress = None if export.is_done else cache.import_progress(export.pk)
    # A running import whose worker stopped answering: the sweep takes it over within a minute, and
    # an admin need not wait for it.
    stuck = export.status == UsageExport.Status.RUNNING and imports.abandoned_owner(export.pk) is not None
    added = contributions.of(export) if export.status == UsageExport.Status.SUCCEEDED else None
    return {"export": export, "progress": progress, "stuck": stuck, "retry_form": RetryForm(export=export),
            "added": added}


@admin_required
@require_POST
def import_retry(request, pk):
    export = _get_export(pk)
    form = RetryForm(request.POST, export=export)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect(export)
    person = form.cleaned_data["person"]
    try:
        with transaction.atomic():
            # A form without the field (the stuck import's "Retry now") keeps the format chosen before.
            fmt = form.cleaned_data["format"] if "format" in request.POST else None
            retried = imports.retry_export(export, attributed_to=person, requested_format=fmt)
            if retried:
                tasks.queue_import(UsageExport.objects.get(pk=export.pk))
    except IntegrityError:
        messages.error(request, f"The same file is already imported for {person}; see the history.")
        return redirect(export)
    if retried:
        messages.success(request, f"#{export.pk} {export.original_name} is queued again.")
    else:
        messages.warning(request, f"#{export.pk} has not failed and its worker is still at it, so there is nothing to retry.")
    return redirect(export)


@admin_required
def import_download(request, pk):
    export = _get_export(pk)
    try:
        handle = export.file.storage.open(export.file.name, "rb")
    except FileNotFoundError:
        raise Http404("The stored file is missing.") from None
    # An attachment, never rendered inline: the bytes are whatever someone uploaded.
    return FileResponse(handle, as_attachment=True, filename=export.original_name)


# --- Identities -------------------------------------------------------------------------------


def _people():
    return Person.objects.active().only("name", "email", "github_login").order_by("name", "email")


@admin_required
def identity_list(request):
    search = IdentitySearchForm(request.GET)
    found = selectors.identities_with_usage()
    if search.is_valid() and search.cleaned_data["q"]:
        q = search.cleaned_data["q"]
        found = found.filter(Q(value__icontains=q) | Q(label__icontains=q))
    by_volume = ["-tokens", "vendor", "kind", "value"]
    unmatched = found.filter(person__isnull=True, is_service_account=False).order_by(*by_volume)
    page = Paginator(unmatched, PER_PAGE).get_page(request.GET.get("page"))
    people = list(_people())
    page.object_list = list(page.object_list)
    suggestions = identity_suggestions.suggest_people(page.object_list, people)
    for identity in page.object_list:
        identity.suggestion = suggestions.get(identity.pk)
    context = {
        "search": search,
        "page": page,
        "service_accounts": found.filter(is_service_account=True).order_by(*by_volume),
        "recently_mapped": found.filter(mapped_by__isnull=False).order_by("-mapped_at")[:RECENTLY_MAPPED],
        "people": people,
        "bulk": IdentityBulkMapForm(),
    }
    return render(request, "imports/identities.html", context)


@admin_required
@require_POST
def identity_bulk_map(request):
    """Several identities to one person: first a page that says how much history moves, then (with
    ``confirm``) the move itself."""
    form = IdentityBulkMapForm(request.POST)
    back = back_to(request, reverse("identities"))
    chosen = selectors.identities_with_usage().filter(pk__in=request.POST.getlist("ids")).order_by("-tokens")
    context = {"form": form, "next": back, "chosen": chosen, "people": _people()}
    if not form.is_valid():
        return render(request, "imports/identity_confirm.html", context, status=200 if chosen else 400)
    person, action = form.cleaned_data["person"], form.cleaned_data["action"]
    identities_chosen = list(form.cleaned_data["ids"])
    if not form.cleaned_data["confirm"]:
        context.update(person=person, action=action, moving=selectors.history_to_move(chosen))
        return render(request, "imports/identity_confirm.html", context)
    address = audit.client_address(request)
    if action == form.SERVICE:
        moved = identities.mark_service_accounts(identities=identities_chosen, by=request.user, address=address)
        done = "marked as service accounts"
    else:
        moved = identities.assign_identities(identities=identities_chosen, person=person, by=request.user,
                                             address=address)
        done = f"mapped to {person}"
    tasks.after_usage_changed(moved)
    count = len(identities_chosen)
    messages.success(request, f"{count} identit{'y' if count == 1 else 'ies'} {done}; their history moved with them.")
    return redirect(back)


@admin_required
@require_POST
def identity_map(request, pk):
    identity = get_object_or_404(ProviderIdentity, pk=pk)
    form = IdentityMapForm(request.POST, identity=identity)
    back = back_to(request, reverse("identities"))
    context = {"next": back}
    if not form.is_valid():
        context.update(identity=selectors.identities_with_usage().get(pk=pk), row_form=form)
        if request.htmx:
            return render(request, "imports/identities.html#identity_row", context)
        # Without JavaScript the row comes back on a page of its own, with the error beside the input.
        context["people"] = _people()
        return render(request, "imports/identity_map.html", context)

    person = form.cleaned_data["person"]
    address = audit.client_address(request)
    if form.cleaned_data["action"] == form.SERVICE:
        moved = identities.mark_service_account(identity=identity, by=request.user, address=address)
        done = "Marked as a service account"
    else:
        moved = identities.assign_identity(identity=identity, person=person, by=request.user, address=address)
        done = f"Mapped to {person}"
    tasks.after_usage_changed(moved)
    if request.htmx:
        context.update(identity=selectors.identities_with_usage().get(pk=pk), changed=done)
        return render(request, "imports/identities.html#identity_row", context)
    messages.success(request, f"{identity}: {done[0].lower()}{done[1:]}; its history moved with it.")
    return redirect(back)


urlpatterns = [
    path("imports/", import_list, name="imports"),
    path("imports/<int:pk>/", import_detail, name="import_detail"),
    path("imports/<int:pk>/progress/", import_progress, name="import_progress"),
    path("imports/<int:pk>/retry/", import_retry, name="import_retry"),
    path("imports/<int:pk>/download/", import_download, name="import_download"),
    path("identities/", identity_list, name="identities"),
    path("identities/<int:pk>/map/", identity_map, name="identity_map"),
    path("identities/map/", identity_bulk_map, name="identity_bulk_map"),
]
