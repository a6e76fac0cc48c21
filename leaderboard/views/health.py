"""How the service is doing: ``/healthz`` for load balancers (no login), the Health page for admins."""

from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.cache import never_cache

from accounts.access import admin_required

from .. import health


@login_not_required
@never_cache
def healthz(request):
    """200 when the database and the broker answer, 503 otherwise: what a load balancer asks."""
    database, broker = health.database_answers(), health.broker_answers()
    checks = {"database": database[1], "broker": broker[1]}
    return JsonResponse(checks, status=200 if database[0] and broker[0] else 503)


@admin_required
def health_page(request):
    return render(request, "health/page.html", {"health": health.overview()})


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("health/", health_page, name="health"),
]
