from django import forms
from django.db.models import Q

from .models import AuditEvent, Person


class SettingsForm(forms.ModelForm):
    class Meta:
        model = Person
        fields = ["privacy", "digest"]
        widgets = {"privacy": forms.RadioSelect, "digest": forms.RadioSelect}
        help_texts = {
            "privacy": "Who sees your name on the boards. You always see your own row; your manager and "
            "admins always see your page.",
        }


class AuditFilterForm(forms.Form):
    """The audit trail's filters: who, what, about what, when (every one optional)."""

    actor = forms.CharField(required=False, max_length=254, label="Who", help_text="Name or email")
    action = forms.ChoiceField(required=False, label="What")
    target = forms.CharField(required=False, max_length=255, label="About",
                             help_text='A name, an id, or a kind: "budgetpolicy", "person 12"')
    start = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        actions = AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct()
        self.fields["action"].choices = [("", "Any"), *((a, a) for a in actions)]

    def apply(self, events):
        if not self.is_valid():
            return events
        data = self.cleaned_data
        if data["actor"]:
            events = events.filter(Q(actor__email__icontains=data["actor"]) | Q(actor__name__icontains=data["actor"]))
        if data["action"]:
            events = events.filter(action=data["action"])
        if data["target"]:
            kind, _, pk = data["target"].strip().rpartition(" ")
            if kind and pk.isdigit():
                events = events.filter(target_type__iendswith=kind.replace(" ", ""), target_id=pk)
            else:
                text = data["target"].strip()
                events = events.filter(Q(target_label__icontains=text) | Q(target_type__icontains=text)
                                       | Q(target_id=text))
        if data["start"]:
            events = events.filter(at__date__gte=data["start"])
        if data["end"]:
            events = events.filter(at__date__lte=data["end"])
        return events
