"""The admin pages that feed usage in: uploading exports and watching them run, mapping identities."""


from django.contrib import messages
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseStopPolling

from accounts import audit
from accounts.access import admin_required
from accounts.models import Person, ProviderIdentity

from .. import cache, identities, imports, selectors, tasks
from ..forms import HistoryFilterForm, IdentityMapForm, IdentitySearchForm, RetryForm, UploadForm
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
            _report_upload(request, upload.name, export, created)
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
    return render(request, "imports/list.html", {"form": form, "filters": filters, "page": page})


def _report_upload(request, name: str, export: UsageExport, created: bool) -> None:
    # ``name`` is what the admin chose now; a duplicate's export may carry another file name.
    link = format_html('<a href="{}">#{}</a>', export.get_absolute_url(), export.pk)
    if not created:
        messages.info(request, format_html(
            "{}: already uploaded as {} ({}); nothing new was queued.", name, link,
            export.get_status_display().lower(),
        ))
    elif export.status == UsageExport.Status.FAILED:
        # store_export refuses some files outright (too large) but keeps them.
        messages.error(request, format_html("{}: refused as {}. {}", name, link, export.failure))
    else:
        messages.success(request, format_html("{}: queued as {}.", name, link))


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
    return {"export": export, "progress": progress, "stuck": stuck, "retry_form": RetryForm()}


@admin_required
@require_POST
def import_retry(request, pk):
    export = _get_export(pk)
    form = RetryForm(request.POST)
    person = form.cleaned_data["person"] if form.is_valid() else None
    try:
        with transaction.atomic():
            retried = imports.retry_export(export, attributed_to=person)
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


@admin_required
def identity_list(request):
    search = IdentitySearchForm(request.GET)
    found = selectors.identities_with_usage()
    if search.is_valid() and search.cleaned_data["q"]:
        q = search.cleaned_data["q"]
        found = found.filter(Q(value__icontains=q) | Q(label__icontains=q))
    by_volume = ["-tokens", "vendor", "kind", "value"]
    unmatched = found.filter(person__isnull=True, is_service_account=False).order_by(*by_volume)
    context = {
        "search": search,
        "page": Paginator(unmatched, PER_PAGE).get_page(request.GET.get("page")),
        "service_accounts": found.filter(is_service_account=True).order_by(*by_volume),
        "recently_mapped": found.filter(mapped_by__isnull=False).order_by("-mapped_at")[:RECENTLY_MAPPED],
        "people": Person.objects.active().only("name", "email"),
    }
    return render(request, "imports/identities.html", context)


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
        context["people"] = Person.objects.active().only("name", "email")
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
]
