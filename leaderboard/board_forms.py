"""Forms of the boards: their query parameters (design.md §3) and the ccusage self-upload.

Filters are GET parameters anyone may edit or share: a value that makes no sense (an old link, a
metric that does not exist yet) falls back to the default instead of an error page. Only a custom
date range explains what is wrong with it.
"""

from datetime import date, timedelta

from django import forms
from django.core.validators import slug_re

from .boards import usage
from .boards.catalog import Catalog
from .boards.filters import (
    DEFAULT_METRIC,
    DEFAULT_PERIOD,
    MAX_CUSTOM_DAYS,
    METRICS,
    PERIODS,
    BoardFilters,
    get_metric,
    resolve_period,
)
from .boards.ranking import PERSON_SORTS
from .boards.teams import TEAM_SORTS
from .display import vendor_label


class LenientChoiceField(forms.ChoiceField):
    """A filter's choice: an unknown value means the fallback (usually "all")."""

    def __init__(self, *args, fallback: str = "", **kwargs):
        self.fallback = fallback
        super().__init__(*args, required=False, **kwargs)

    def clean(self, value):
        value = self.to_python(value)
        return value if value and self.valid_value(value) else self.fallback


class PeriodForm(forms.Form):
    """A period (design.md §3: ``period``, and ``start``/``end`` with ``custom``)."""

    period = LenientChoiceField(label="Period", choices=list(PERIODS.items()), fallback=DEFAULT_PERIOD)
    start = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, data=None, *, today: date, **kwargs):
        # A bare URL is a valid default board: bind to empty data rather than leaving the form unbound.
        data = data.copy() if data is not None else {}
        if not data.get("period"):
            # So that the menu shows the period the board is actually showing.
            data["period"] = DEFAULT_PERIOD
        super().__init__(data, **kwargs)
        self.today = today

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("period") == "custom":
            start, end = cleaned.get("start"), cleaned.get("end")
            if not start or not end:
                # Picking "Custom range" in the menu arrives without dates: start from the last 30 days.
                cleaned["start"] = start or (end or self.today) - timedelta(days=29)
                cleaned["end"] = end or self.today
                self.data["start"], self.data["end"] = cleaned["start"].isoformat(), cleaned["end"].isoformat()
            elif end < start:
                self.add_error("end", "The range ends before it starts.")
            elif (end - start).days >= MAX_CUSTOM_DAYS:
                self.add_error("end", f"Choose at most {MAX_CUSTOM_DAYS} days.")
        return cleaned

    def valid_data(self) -> dict:
        """What was asked, without the fields that had errors (they take their defaults)."""
        self.is_valid()
        return {k: v for k, v in self.cleaned_data.items() if k not in self.errors}

    def get_period(self):
        data = self.valid_data()
        key = data.get("period") or DEFAULT_PERIOD
        if key == "custom" and not (data.get("start") and data.get("end")):
            key = DEFAULT_PERIOD
        return resolve_period(key, today=self.today, start=data.get("start"), end=data.get("end"))


class BoardFilterForm(PeriodForm):
    """The individual and team boards' filters: period, metric, vendor, model, team, role, page.

    ``budgets``: whether the viewer may rank by share of budget here (leaderboard/boards/budget_use.py, "Who may
    see budgets"). If not, the metric is not offered, and a link asking for it ranks by the default:
    a ranking by budgets nobody shows would still tell who overspends."""

    metric = LenientChoiceField(
        label="Rank by", choices=[(m.name, m.label) for m in METRICS.values()], fallback=DEFAULT_METRIC
    )
    # Any vendor name is accepted (a link may name one not imported yet); the menu lists the known ones.
    vendor = forms.SlugField(label="Vendor", required=False, max_length=40, widget=forms.Select)
    model = forms.CharField(label="Model", required=False, max_length=200)
    team = LenientChoiceField(label="Team", choices=[])
    title = LenientChoiceField(label="Role", choices=[])
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    # The column a board is sorted by: the teams board's, or the individual board's (PERSON_SORTS).
    sort = LenientChoiceField(choices=list({**TEAM_SORTS, **PERSON_SORTS}.items()), fallback="total",
                              widget=forms.HiddenInput)

    def __init__(self, data=None, *, catalog: Catalog, vendors: list[str], budgets: bool = False,
                 ratios: bool = True, **kwargs):
        super().__init__(data, **kwargs)
        self.catalog = catalog
        self.fields["metric"].choices = [
            (m.name, m.label) for m in METRICS.values() if (budgets or not m.budgeted) and (ratios or not m.per)
        ]
        # The vendor asked for stays selected in the menu even if nothing was imported from it yet.
        asked = self.data.get("vendor") or ""
        known = sorted(set(vendors) | ({asked} if slug_re.match(asked) else set()))
        self.fields["vendor"].widget.choices = [("", "All vendors")] + [(v, vendor_label(v)) for v in known]
        self.fields["team"].choices = [("", "All teams")] + [(str(pk), name) for pk, name in catalog.team_choices()]
        self.fields["title"].choices = [("", "All roles")] + [(t, t) for t in catalog.titles()]
        self.fields["model"].widget.attrs.update({"list": "model-choices", "placeholder": "All models"})

    def filters(self, *, team_id: int | None = None) -> BoardFilters:
        """The filters to show; ``team_id`` fixes the team (a team's own page)."""
        data = self.valid_data()
        team = team_id or (int(data["team"]) if data.get("team") else None)
        return BoardFilters(
            period=self.get_period(),
            metric=get_metric(data.get("metric")),
            vendor=data.get("vendor") or "",
            model=(data.get("model") or "").strip(),
            team_id=team,
            title=data.get("title") or "",
        )

    @property
    def page_number(self) -> int:
        return self.valid_data().get("page") or 1

    @property
    def sort_value(self) -> str:
        sort = self.valid_data().get("sort")
        return sort if sort in TEAM_SORTS else "total"

    @property
    def person_sort(self) -> str:
        sort = self.valid_data().get("sort")
        return sort if sort in PERSON_SORTS else "total"


class UsageForm(PeriodForm):
    """A person page's period, and whether the daily chart stacks vendors or models."""

    by = LenientChoiceField(choices=[("vendor", "Vendor"), ("model", "Model")], fallback="vendor")

    def __init__(self, data=None, *, today: date, **kwargs):
        self.asked = bool(data and data.get("period"))
        super().__init__(data, today=today, **kwargs)

    def get_period(self):
        period = super().get_period()
        if not self.asked and period.key == DEFAULT_PERIOD:
            return usage.complete_days(period)
        return period

    @property
    def by_value(self) -> str:
        return self.valid_data().get("by") or "vendor"


class ModelSuggestionsForm(forms.Form):
    end = forms.DateField(required=False)


class CcusageUploadForm(forms.Form):
    file = forms.FileField(
        label="ccusage JSON",
        help_text="The output of: npx ccusage@latest daily --json --timezone UTC > ccusage.json",
    )
