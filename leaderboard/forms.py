"""Forms of the admin pages that feed usage and people in: uploading exports, filtering them, mapping
identities, importing the roster."""

from email.utils import parseaddr

from django import forms

from accounts.models import Person

from .ingestion import FORMATS
from .models import UsageExport


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (Django docs, "Uploading multiple files"); cleans to a list."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single_file_clean = super().clean
        if isinstance(data, list | tuple):
            return [single_file_clean(item, initial) for item in data]
        return [single_file_clean(data, initial)]


FORMAT_CHOICES = [("", "Detect from content")] + [
    (fmt.name, fmt.label) for fmt in sorted(FORMATS.values(), key=lambda fmt: fmt.label.lower())
]


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, person):
        return f"{person.name} <{person.email}>" if person.name else person.email


class UploadForm(forms.Form):
    files = MultipleFileField(
        label="Export files",
        help_text="CSV, JSON or JSON Lines exactly as the provider gave them; choose several at once or drop them here.",
    )
    format = forms.ChoiceField(
        label="Format",
        choices=FORMAT_CHOICES,
        required=False,
        help_text="Leave on “Detect from content” unless detection picks the wrong one.",
    )
    person = PersonChoiceField(
        label="Whose usage is this?",
        queryset=Person.objects.active(),
        required=False,
        empty_label="Whoever the file names",
        help_text="Only for files that name nobody, such as ccusage output.",
    )

    def clean(self):
        cleaned = super().clean()
        name = cleaned.get("format")
        # Refuse here rather than letting the import fail later: a ccusage file names nobody.
        if name and FORMATS[name].needs_person and not cleaned.get("person"):
            self.add_error("person", f"A {FORMATS[name].label} file names nobody: choose whose usage it is.")
        return cleaned


class RetryForm(forms.Form):
    person = PersonChoiceField(
        label="Whose usage is this?",
        queryset=Person.objects.active(),
        required=False,
        empty_label="Leave as it was",
        help_text="For a file that names nobody (such as ccusage output) and was uploaded without a person.",
    )


class HistoryFilterForm(forms.Form):
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "All")] + list(UsageExport.Status.choices)
    )
    # The exports one connection run fetched (linked from the connection's page).
    sync_run = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


class IdentitySearchForm(forms.Form):
    q = forms.CharField(
        label="Search", required=False, max_length=255, widget=forms.SearchInput,
        help_text="Part of an id, email or name.",
    )


class IdentityMapForm(forms.Form):
    """Whose an identity is: a person named by email (as the datalist offers it), or a service account."""

    MAP = "map"
    SERVICE = "service"

    person = forms.CharField(label="Map to", required=False, max_length=300)
    action = forms.ChoiceField(choices=[(MAP, "Map"), (SERVICE, "Service account")], initial=MAP, required=False)

    def __init__(self, *args, identity, **kwargs):
        super().__init__(*args, **kwargs)
        self.identity = identity

    def clean_person(self):
        text = self.cleaned_data["person"].strip()
        if not text:
            return None
        # The datalist offers "Name <email>"; a bare email typed by hand works too.
        email = parseaddr(text)[1] or text
        person = Person.objects.filter(email__iexact=email).first()
        if person is None:
            raise forms.ValidationError(f"Nobody on the roster has the email “{email}”.")
        return person

    def clean(self):
        cleaned = super().clean()
        cleaned["action"] = cleaned.get("action") or self.MAP
        if cleaned["action"] == self.MAP and not cleaned.get("person") and not self.has_error("person"):
            self.add_error("person", "Choose a person, or mark it as a service account.")
        return cleaned


class RosterUploadForm(forms.Form):
    file = forms.FileField(
        label="Roster CSV",
        help_text="Columns: email (required), name, team, manager_email, title, start_date (YYYY-MM-DD), "
        "status (active, leave, terminated), annual_base_salary, github_login. Extra columns are ignored.",
    )
