"""The admin pages of provider connections: the list, adding and editing one, testing it, "Sync now",
and a run's progress (polled with htmx until it is done)."""

from datetime import timedelta

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import path
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseStopPolling

from accounts import audit
from accounts.access import admin_required

from .. import tasks
from ..connection_forms import ConnectionForm
from ..connections import VENDORS, setup, sync
from ..models import Connection

RUNS_SHOWN = 20


def _get_connection(pk) -> Connection:
    return get_object_or_404(Connection, pk=pk)


@admin_required
def connection_list(request):
    connections = list(Connection.objects.all())
    latest = sync.latest_runs(c.pk for c in connections)
    rows = [(c, latest.get(c.pk)) for c in connections]
    return render(request, "connections/list.html", {"rows": rows})


@admin_required
def connection_add(request):
    form = ConnectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            connection = setup.create_connection(
                vendor=data["vendor"], name=data["name"], credential=data["credential"], base_url=data["base_url"],
                options=data["options"], sync_interval=timedelta(minutes=data["sync_interval"]),
                repull_days=data["repull_days"], by=request.user,
                address=audit.client_address(request),
            )
        except setup.ConnectionInvalid as error:
            form.add_error(error.field if error.field in form.fields else None, str(error))
        else:
            messages.success(request, f"Added {connection.name}. Test it, then sync it now or wait for the schedule.")
            return redirect(connection)
    return render(request, "connections/form.html", {"form": form, "vendors": VENDORS.values()})


@admin_required
def connection_edit(request, pk):
    connection = _get_connection(pk)
    form = ConnectionForm(request.POST or None, connection=connection)
    if request.method == "POST" and form.is_valid():
        try:
            setup.update_connection(connection=connection, changes=form.changes(),
                                    credential=form.cleaned_data["credential"], by=request.user,
                                    address=audit.client_address(request))
        except setup.ConnectionInvalid as error:
            form.add_error(error.field if error.field in form.fields else None, str(error))
        else:
            messages.success(request, f"Saved {connection.name}.")
            return redirect(connection)
    return render(request, "connections/form.html", {"form": form, "connection": connection,
                                                     "vendors": [VENDORS[connection.vendor]]})


@admin_required
def connection_detail(request, pk):
    connection = _get_connection(pk)
    return render(request, "connections/detail.html", _detail_context(connection))


def _detail_context(connection: Connection) -> dict:
    runs = list(connection.runs.all()[:RUNS_SHOWN])
    return {"connection": connection, "runs": runs, "latest": runs[0] if runs else None,
            "vendor": VENDORS[connection.vendor], "repull_days": sync.repull_days(connection)}


@admin_required
def connection_progress(request, pk):
    """The latest run's block alone, for htmx polling; 286 once it is done, so the polling stops."""
    connection = _get_connection(pk)
    context = _detail_context(connection)
    html = render_to_string("connections/detail.html#run_status", context, request)
    latest = context["latest"]
    if (latest is None or latest.is_done) and not connection.sync_requested_at and not connection.is_running:
        return HttpResponseStopPolling(html)
    return render(request, "connections/detail.html#run_status", context)


@admin_required
@require_POST
def connection_test(request, pk):
    connection = _get_connection(pk)
    worked, said = sync.test_connection(connection)
    if request.htmx:
        return render(request, "connections/detail.html#test_result", {"worked": worked, "said": said,
                                                                        "connection": connection})
    (messages.success if worked else messages.error)(request, said)
    return redirect(connection)


@admin_required
@require_POST
def connection_sync(request, pk):
    connection = _get_connection(pk)
    if sync.request_sync(connection):
        tasks.queue_sync(connection.pk)
        messages.success(request, f"{connection.name}: a sync is queued; this page follows it.")
    else:
        messages.info(request, f"{connection.name} is syncing already; this page follows that run.")
    return redirect(connection)


urlpatterns = [
    path("connections/", connection_list, name="connections"),
    path("connections/add/", connection_add, name="connection_add"),
    path("connections/<int:pk>/", connection_detail, name="connection_detail"),
    path("connections/<int:pk>/edit/", connection_edit, name="connection_edit"),
    path("connections/<int:pk>/progress/", connection_progress, name="connection_progress"),
    path("connections/<int:pk>/test/", connection_test, name="connection_test"),
    path("connections/<int:pk>/sync/", connection_sync, name="connection_sync"),
]
