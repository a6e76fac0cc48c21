"""Admins' review of held self-reported uploads: the list, and accepting or rejecting one."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from accounts import audit
from accounts.access import admin_required

from .. import self_reports, tasks
from ..models import UsageExport
from ..self_report_forms import HeldReviewForm


@admin_required
def held_list(request):
    return render(request, "imports/held.html", {"held": self_reports.held_exports(), "form": HeldReviewForm()})


@admin_required
@require_POST
def held_review(request, pk):
    export = get_object_or_404(UsageExport, pk=pk)
    form = HeldReviewForm(request.POST)
    if not form.is_valid():
        return render(request, "imports/held.html", {
            "held": self_reports.held_exports(), "form": HeldReviewForm(), "failed": export.pk, "failed_form": form,
        }, status=400)
    decide = self_reports.accept if form.cleaned_data["decision"] == "accept" else self_reports.reject
    try:
        export = decide(export=export, by=request.user, reason=form.cleaned_data["reason"],
                        address=audit.client_address(request))
    except self_reports.ReviewRefused as refused:
        messages.warning(request, str(refused))
        return redirect("held_uploads")
    if export.status == UsageExport.Status.QUEUED:
        tasks.queue_import(export)
        messages.success(request, f"#{export.pk} {export.original_name} is accepted and queued for import.")
    else:
        messages.success(request, f"#{export.pk} {export.original_name} is rejected; the file is kept, nothing counts.")
    return redirect("held_uploads")


urlpatterns = [
    path("imports/held/", held_list, name="held_uploads"),
    path("imports/<int:pk>/review/", held_review, name="held_review"),
]
