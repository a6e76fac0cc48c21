"""The app's URLs plus the benchmark's reference views (benchmarks/boards.py), for benchmarks.settings."""

from django.urls import include, path

from benchmarks.boards import reference

urlpatterns = [
    path("bench/reference/<slug:page>/", reference, name="bench_reference"),
    path("", include("leaderboard.urls")),
]
