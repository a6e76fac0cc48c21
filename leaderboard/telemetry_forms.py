"""The form of the Ingest tokens page."""

from django import forms


class IngestTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, strip=True,
        help_text="Who or what will use it, e.g. \"Engineering laptops\" or \"CI runners\". The token is shown once.",
    )
