"""Each domain's views module carries its own ``urlpatterns``; this file only puts them together."""

from django.contrib import admin
from django.urls import include, path

from .views import boards, imports, personal_data, review, telemetry

urlpatterns = [
    path("", include(boards)),
    path("", include(imports)),
    path("", include(review)),
    path("", include(personal_data)),
    path("", include(telemetry)),
    path("", include("leaderboard.views.roster")),
    path("", include("leaderboard.views.health")),
    path("", include("leaderboard.views.connections")),
    path("", include("leaderboard.views.reconciliation")),
    path("", include("leaderboard.views.self_reports")),
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),
]
