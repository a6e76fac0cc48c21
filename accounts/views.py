import tempfile
from pathlib import Path

from django.contrib import messages
from django.shortcuts import redirect, render

from leaderboard.ingestion.rows import ImportRefused

from . import audit
from .access import admin_required
from .forms import RosterUploadForm, SettingsForm
from .roster import import_roster


def settings_view(request):
    form = SettingsForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Saved. The boards show you accordingly from now on.")
        return redirect("settings")
    return render(request, "accounts/settings.html", {"form": form})


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
                messages.success(request, result.summary())
                # What the import left behind (a renamed team's budget policies) needs the admin now.
                for sentence in result.left_behind:
                    messages.warning(request, sentence)
                return redirect("roster_upload")
    return render(request, "accounts/roster_upload.html", {"form": form, "problems": problems})
