"""The Reconciliation page: the board's dollars next to a provider's cost report, per vendor and month."""

from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from accounts.access import admin_required

from ..connection_forms import ReconciliationForm
from ..reconciliation import reconcile


@admin_required
def reconciliation(request):
    today = timezone.now().date()
    form = ReconciliationForm(request.GET or {"vendor": "anthropic", "month": f"{today:%Y-%m}"})
    result = reconcile(form.cleaned_data["vendor"], form.cleaned_data["month"], today=today) if form.is_valid() else None
    return render(request, "connections/reconciliation.html", {"form": form, "result": result})


urlpatterns = [path("reconciliation/", reconciliation, name="reconciliation")]
