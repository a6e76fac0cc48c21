"""Forms of the admin pages that feed usage and people in: uploading exports, filtering them, mapping
identities, importing the roster."""

from email.utils import parseaddr

from django import forms
from django.db.models import Q

from accounts.models import Person, ProviderIdentity

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
    format = forms.ChoiceField(
        label="Format",
        choices=FORMAT_CHOICES,
        required=False,
        help_text="Choose the format when detection picked the wrong one, or none.",
    )
    person = PersonChoiceField(
        label="Whose usage is this?",
        queryset=Person.objects.active(),
        required=False,
        empty_label="Leave as it was",
        help_text="For a file that names nobody (such as ccusage output) and was uploaded without a person.",
    )

    def __init__(self, *args, export, **kwargs):
        super().__init__(*args, **kwargs)
        self.export = export
        self.fields["format"].initial = export.requested_format

    def clean(self):
        cleaned = super().clean()
        name = cleaned.get("format")
        if name and FORMATS[name].needs_person and not (cleaned.get("person") or self.export.attributed_to_id):
            self.add_error("person", f"A {FORMATS[name].label} file names nobody: choose whose usage it is.")
        return cleaned


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


def find_person(text: str) -> Person:
    """The person a picker's text names: "Name <email>" as the datalist offers it, a bare email, or a
    name or part of one typed by hand ("Caleb"), as long as it names one active person."""
    email = parseaddr(text)[1] if "<" in text else text
    person = Person.objects.filter(email__iexact=email.strip()).first()
    if person is not None:
        return person
    active = Person.objects.active()
    exact = list(active.filter(name__iexact=text)[:2])
    if len(exact) == 1:
        return exact[0]
    found = list(active.filter(Q(name__icontains=text) | Q(email__icontains=text)).order_by("name", "email")[:6])
    if len(found) == 1:
        return found[0]
    if not found:
        if "@" in text:
            raise forms.ValidationError(f"Nobody on the roster has the email “{email}”.")
        raise forms.ValidationError(f"Nobody on the roster is called or has an email like “{text}”.")
    names = "; ".join(f"{p.name} <{p.email}>" if p.name else p.email for p in found[:5])
    more = " and more" if len(found) > 5 else ""
    raise forms.ValidationError(f"“{text}” could be {names}{more}: choose one.")


class PersonPickerField(forms.CharField):
    """A text field that names a person; the page offers a datalist of "Name <email>" to pick from."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 300)
        super().__init__(**kwargs)

    def clean(self, value):
        text = super().clean(value).strip()
        return find_person(text) if text else None


class IdentityMapForm(forms.Form):
    """Whose an identity is: a person named by email or name (as the datalist offers it), or a service account."""

    MAP = "map"
    SERVICE = "service"

    person = PersonPickerField(label="Map to", required=False)
    action = forms.ChoiceField(choices=[(MAP, "Map"), (SERVICE, "Service account")], initial=MAP, required=False)

    def __init__(self, *args, identity=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.identity = identity

    def clean(self):
        cleaned = super().clean()
        cleaned["action"] = cleaned.get("action") or self.MAP
        if cleaned["action"] == self.MAP and not cleaned.get("person") and not self.has_error("person"):
            self.add_error("person", "Choose a person, or mark it as a service account.")
        return cleaned


class IdentityBulkMapForm(IdentityMapForm):
    """Several identities to one person (or all to service accounts), confirmed once the page has said
    how much history moves."""

    ids = forms.ModelMultipleChoiceField(
        queryset=ProviderIdentity.objects.all(), widget=forms.MultipleHiddenInput,
        error_messages={"required": "Tick the identities to map first."},
    )
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)


class PeopleSearchForm(forms.Form):
    q = forms.CharField(
        label="Search people", required=False, max_length=255, widget=forms.SearchInput,
        help_text="Part of a name, email, team or title.",
    )


class RosterUploadForm(forms.Form):
    file = forms.FileField(
        label="Roster CSV",
        help_text="Columns: email (required), name, team, manager_email, title, start_date (YYYY-MM-DD), "
        "status (active, leave, terminated), annual_base_salary, github_login. Extra columns are ignored.",
    )
