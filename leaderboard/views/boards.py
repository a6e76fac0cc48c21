"""The boards employees open every morning."""

from datetime import timedelta

from django.db.models import Sum
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from accounts.models import Person

from ..models import PersonDay


def board(request):
    end = timezone.now().date()
    start = end - timedelta(days=29)
    totals = (
        PersonDay.objects.filter(day__gte=start, day__lte=end)
        .exclude(person__privacy=Person.Privacy.HIDDEN)
        .values("person_id", "person__name", "person__email", "person__team__name")
        .annotate(total=Sum("total_tokens"))
        .order_by("-total")[:50]
    )
    return render(request, "leaderboard/board.html", {"rows": totals, "start": start, "end": end})


urlpatterns = [path("", board, name="board")]
