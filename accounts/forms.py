from django import forms

from .models import Person


class SettingsForm(forms.ModelForm):
    class Meta:
        model = Person
        fields = ["privacy", "digest"]
        widgets = {"privacy": forms.RadioSelect, "digest": forms.RadioSelect}
        help_texts = {
            "privacy": "Who sees your name on the boards. You always see your own row; your manager and "
            "admins always see your page.",
        }
