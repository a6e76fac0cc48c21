"""The admin page that imports the roster (design.md §3, "Roster CSV"); ``import_people`` is its twin."""

import tempfile
from pathlib import Path

from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import path

from accounts import audit
from accounts.access import admin_required

from ..forms import RosterUploadForm
from ..ingestion.rows import ImportRefused
from ..roster import import_roster
from ..tasks import after_usage_changed


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
    return render(request, "roster/upload.html", {"form": form, "problems": problems})


urlpatterns = [
    path("people/import/", roster_upload, name="roster_upload"),
]
