"""The form of an admin's review of a held self-reported upload."""

from django import forms


class HeldReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", "Accept and import"), ("reject", "Reject")])
    reason = forms.CharField(
        max_length=500, strip=True,
        help_text="Kept in the upload's history and the audit trail; the person's manager may ask.",
    )
