"""Forms of the Connections and Reconciliation pages."""

from __future__ import annotations

from datetime import date, timedelta

from django import forms

from .connections import VENDORS, setup
from .models import Connection


class ConnectionForm(forms.Form):
    """Adding a connection, or editing one (``connection`` given: the vendor is fixed, and an empty
    credential keeps the stored one)."""

    vendor = forms.ChoiceField(choices=Connection.Vendor.choices)
    name = forms.CharField(max_length=100, help_text="How this account is called here, e.g. “Anthropic (main org)”.")
    credential = forms.CharField(
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Stored encrypted; only its last four characters are shown afterwards.",
    )
    organization = forms.CharField(required=False, max_length=100,
                                   help_text="GitHub: the organisation whose Copilot usage to read.")
    enterprise = forms.CharField(required=False, max_length=100,
                                 help_text="GitHub: an enterprise instead of an organisation.")
    start = forms.DateField(required=False, label="Backfill from", widget=forms.DateInput(attrs={"type": "date"}),
                            help_text="The first UTC day the first sync fetches (default: 30 days ago).")
    base_url = forms.URLField(required=False, label="Base URL", max_length=300, assume_scheme="https",
                              help_text="Leave empty for the vendor's own; set it for a proxy or data residency.")
    sync_interval = forms.IntegerField(label="Sync every (minutes)", min_value=5, max_value=7 * 24 * 60, initial=60)
    repull_days = forms.IntegerField(required=False, label="Re-pull window (days)", min_value=0, max_value=60,
                                     help_text="Recent days fetched again on every run, as providers revise them. "
                                               "Empty: the vendor's default.")
    enabled = forms.BooleanField(required=False, initial=True, help_text="Disabled connections are never synced.")

    def __init__(self, *args, connection: Connection | None = None, **kwargs):
        self.connection = connection
        if connection is not None:
            kwargs.setdefault("initial", {
                "vendor": connection.vendor, "name": connection.name, "base_url": connection.base_url,
                "organization": connection.options.get("organization", ""),
                "enterprise": connection.options.get("enterprise", ""),
                "start": connection.options.get("start"), "enabled": connection.enabled,
                "sync_interval": connection.sync_interval_minutes,
                "repull_days": connection.repull_days,
            })
        super().__init__(*args, **kwargs)
        if connection is not None:
            self.fields["vendor"].disabled = True
            self.fields["credential"].required = False
            self.fields["credential"].help_text = (
                f"Leave empty to keep the stored one (ending {connection.credential_hint or '····'})."
            )
        else:
            del self.fields["enabled"]

    def clean(self):
        data = super().clean()
        vendor = data.get("vendor")
        if vendor and not self.errors:
            try:
                data["options"] = setup.clean_options(
                    vendor, start=data.get("start"), organization=data.get("organization", ""),
                    enterprise=data.get("enterprise", ""),
                    group_by=self.connection.options.get("group_by") if self.connection else None,
                )
            except setup.ConnectionInvalid as error:
                self.add_error(error.field if error.field in self.fields else None, str(error))
        return data

    def changes(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"], "base_url": (data["base_url"] or VENDORS[self.connection.vendor].base_url).rstrip("/"),
            "enabled": data["enabled"], "sync_interval": timedelta(minutes=data["sync_interval"]),
            "repull_days": data["repull_days"], "options": data["options"],
        }


class ReconciliationForm(forms.Form):
    vendor = forms.ChoiceField(choices=[(v, VENDORS[v].label) for v in ("anthropic", "openai", "cursor")])
    month = forms.CharField(max_length=7, help_text="YYYY-MM",
                            widget=forms.TextInput(attrs={"type": "month", "pattern": r"\d{4}-\d{2}"}))

    def clean_month(self) -> date:
        text = self.cleaned_data["month"]
        try:
            return date.fromisoformat(f"{text}-01")
        except ValueError:
            raise forms.ValidationError("Give the month as YYYY-MM.") from None
