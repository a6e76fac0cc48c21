"""The admin page that imports the roster (design.md §3, "Roster CSV"); ``import_people`` is its twin."""

import tempfile
from pathlib import Path

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path

from accounts import audit
from accounts.access import admin_required
from accounts.models import Person

from ..forms import PeopleSearchForm, RosterUploadForm
from ..ingestion.rows import ImportRefused
from ..roster import import_roster
from ..tasks import after_usage_changed

PEOPLE_PER_PAGE = 50


@admin_required
def roster_upload(request):
    form = RosterUploadForm(request.POST or None, request.FILES or None)
    problems = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "roster.csv"
            with path.open("wb") as handle:
                for chunk in upload.chunks():
                    handle.write(chunk)
            try:
                result = import_roster(path=path, name=upload.name, by=request.user,
                                       address=audit.client_address(request))
            except ImportRefused as refused:
                problems = refused.problems
            else:
                if result.usage_moved:
                    # Usage that was nobody's is now these people's: their flags and the boards follow.
                    transaction.on_commit(lambda: after_usage_changed(set(result.usage_moved)))
                messages.success(request, result.summary())
                # What the import left behind (a renamed team's budget policies) needs the admin now.
                for sentence in result.left_behind:
                    messages.warning(request, sentence)
                return redirect("roster_upload")
    search = PeopleSearchForm(request.GET)
    people = Person.objects.select_related("team", "manager").order_by("name", "email")
    if search.is_valid() and search.cleaned_data["q"]:
        q = search.cleaned_data["q"]
        people = people.filter(Q(name__icontains=q) | Q(email__icontains=q) | Q(team__name__icontains=q)
                               | Q(title__icontains=q))
    page = Paginator(people, PEOPLE_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "roster/upload.html",
                  {"form": form, "problems": problems, "search": search, "page": page})


# A file to start from: the columns the import reads (design.md §3), and one made-up person.
TEMPLATE = (
    "email,name,team,manager_email,title,start_date,status,annual_base_salary,github_login\r\n"
    "grace.hopper@example.com,Grace Hopper,Platform,,Engineering Manager,2025-03-01,active,,\r\n"
    "ada.lovelace@example.com,Ada Lovelace,Platform,grace.hopper@example.com,Engineer,2026-01-05,active,,adal\r\n"
)


@admin_required
def roster_template(request):
    response = HttpResponse(TEMPLATE, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="roster-template.csv"'
    return response


urlpatterns = [
    path("people/import/", roster_upload, name="roster_upload"),
    path("people/roster-template.csv", roster_template, name="roster_template"),
]
