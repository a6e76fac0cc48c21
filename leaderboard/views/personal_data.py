"""A person's download of their own data, and an admin's erasure of someone who has left."""

import json

from django import forms
from django.contrib import messages
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone

from accounts import audit
from accounts.access import admin_required
from accounts.models import Person

from .. import personal_data


def my_data(request):
    """Everything the app holds about me, as one JSON file."""
    body = json.dumps(personal_data.export(request.user), cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="my-data-{timezone.now():%Y-%m-%d}.json"'
    return response


class EraseForm(forms.Form):
    confirm = forms.BooleanField(label="Erase this person's personal data. This cannot be undone.")


@admin_required
def person_erase(request, pk):
    person = get_object_or_404(Person, pk=pk)
    form = EraseForm(request.POST or None)
    left = person.status == Person.Status.TERMINATED and not person.is_active
    if request.method == "POST" and left and form.is_valid():
        personal_data.erase(person=person, by=request.user, address=audit.client_address(request))
        messages.success(request, "Erased: the person is now “Former employee”; their usage stays in the totals.")
        return redirect("person", pk)
    return render(request, "leaderboard/erase.html", {"person": person, "form": form, "left": left},
                  status=409 if request.method == "POST" and not left else 200)


urlpatterns = [
    path("me/data.json", my_data, name="my_data"),
    path("people/<int:pk>/erase/", person_erase, name="person_erase"),
]
