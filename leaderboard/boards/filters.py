"""What a board shows: the period (UTC days), the metric people are ranked by, and the filters.

These are the query parameters of every board URL (design.md §3): ``period`` (with ``start`` and
``end`` for a custom range), ``metric``, ``vendor``, ``model``, ``team``, ``title``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import Q

from ..display import (
    compact,
    cost_per_pull_request,
    count,
    day_count,
    day_span,
    money,
    percent,
    tokens_per_line,
)
from ..models import DailyUsage, PersonDay

# Charts over longer periods plot weeks, not days: 365 bars of a pixel each read as noise.
WEEKLY_AFTER_DAYS = 92


def utc_today() -> date:
    """Usage days are UTC days (design.md §2), whatever the server's or the viewer's clock says."""
    return datetime.now(UTC).date()


# --- Periods ------------------------------------------------------------------------------------

PERIODS = {
    "today": "Today",
    "yesterday": "Yesterday",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "week": "This week",
    "month": "This month",
    "quarter": "This quarter",
    "year": "This year",
    "custom": "Custom range",
}
DEFAULT_PERIOD = "30d"
# A custom range longer than this is refused: it would aggregate years of rollups per request.
MAX_CUSTOM_DAYS = 3 * 366


@dataclass(frozen=True)
class Period:
    key: str
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def label(self) -> str:
        return PERIODS.get(self.key, PERIODS["custom"])

    def previous(self) -> Period:
        """The period of the same length just before this one: what rank change compares with."""
        return Period(self.key, self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def day_list(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range(self.days)]

    def describe(self) -> str:
        """"Oct 1 – 30, 2026", "Oct 14, 2026", "Dec 20, 2025 – Jan 3, 2026"."""
        return day_span(self.start, self.end)

    def query_params(self) -> dict[str, str]:
        """The URL's period parameters (design.md §3), the default left out."""
        if self.key == "custom":
            return {"period": "custom", "start": self.start.isoformat(), "end": self.end.isoformat()}
        return {} if self.key == DEFAULT_PERIOD else {"period": self.key}

    @property
    def phrase(self) -> str:
        """The period inside a sentence: "nobody has tokens {in the last 7 days}"."""
        if self.key in ("today", "yesterday"):
            return self.label.lower()
        if self.key in ("week", "month", "quarter", "year"):
            return self.label.lower()
        if self.key == "custom":
            return f"from {self.describe()}" if self.start != self.end else f"on {self.describe()}"
        return f"in the {self.label.lower()}"

    def __str__(self) -> str:
        return f"{self.label}, {self.describe()}" if self.key != "custom" else self.describe()


def resolve_period(key: str, *, today: date, start: date | None = None, end: date | None = None) -> Period:
    """The UTC days a period name means on ``today``; "this week/month/..." run to today."""
    if key == "custom" and start and end:
        return Period("custom", min(start, end), max(start, end))
    spans = {
        "today": (today, today),
        "yesterday": (today - timedelta(days=1), today - timedelta(days=1)),
        "7d": (today - timedelta(days=6), today),
        "30d": (today - timedelta(days=29), today),
        "90d": (today - timedelta(days=89), today),
        "week": (today - timedelta(days=today.weekday()), today),
        "month": (today.replace(day=1), today),
        "quarter": (date(today.year, 3 * ((today.month - 1) // 3) + 1, 1), today),
        "year": (date(today.year, 1, 1), today),
    }
    if key not in spans:
        key = DEFAULT_PERIOD
    return Period(key, *spans[key])


# --- Metrics ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metric:
    """One way to rank people: which aggregated number, how to call it and how to print it.

    ``field`` names an attribute of Totals, aggregated for the period and the one before it;
    ``daily_field`` what a sparkline plots. ``budgeted``: the value is the cost over each person's
    budget for the period (boards/budget_use.py), so who may rank by it and the ranking's cache
    depend on budgets too. ``output``: the metric reads what usage produced (boards/output.py): a
    count of it (``field`` names an Output field) or, with ``per``, ``field`` (cost, tokens) per
    unit of that Output field, ranked lowest first.
    """

    name: str
    label: str
    noun: str
    field: str
    daily_field: str
    format: Callable[[Any], str]
    budgeted: bool = False
    output: bool = False
    per: str = ""

    @property
    def ascending(self) -> bool:
        """Whether less is better: a ratio of spend to output."""
        return bool(self.per)

    @property
    def counts_output(self) -> bool:
        """A count of output (commits, ...): nothing to read from the token rollups."""
        return self.output and not self.per


METRICS: dict[str, Metric] = {
    metric.name: metric
    for metric in [
        Metric("tokens", "Tokens", "total tokens", "total_tokens", "total_tokens", compact),
        Metric("output", "Output tokens", "output tokens", "output_tokens", "output_tokens", compact),
        Metric("cost", "Cost", "cost", "cost_usd", "cost_usd", money),
        Metric("budget", "Share of budget used", "share of budget used", "cost_usd", "cost_usd", percent,
               budgeted=True),
        Metric("active_days", "Active days", "active days", "active_days", "total_tokens", day_count),
        Metric("commits", "Commits", "commits", "commits", "total_tokens", count, output=True),
        Metric("pull_requests", "Pull requests", "pull requests", "pull_requests", "total_tokens", count,
               output=True),
        Metric("accepted_lines", "Accepted lines", "accepted lines", "accepted_lines", "total_tokens", compact,
               output=True),
        Metric("cost_per_pr", "Cost per pull request", "cost per pull request (lowest first)", "cost_usd",
               "cost_usd", cost_per_pull_request, output=True, per="pull_requests"),
        Metric("tokens_per_line", "Tokens per accepted line", "tokens per accepted line (lowest first)",
               "total_tokens", "total_tokens", tokens_per_line, output=True, per="accepted_lines"),
    ]
}
DEFAULT_METRIC = "tokens"


def get_metric(name: str | None) -> Metric:
    """A metric by name; an unknown one (an old or mistyped link's) ranks by the default rather than failing."""
    return METRICS.get(name or "", METRICS[DEFAULT_METRIC])


# --- Filters ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoardFilters:
    period: Period
    metric: Metric = METRICS[DEFAULT_METRIC]
    vendor: str = ""
    model: str = ""
    team_id: int | None = None
    title: str = ""

    @property
    def by_vendor_or_model(self) -> bool:
        return bool(self.vendor or self.model)

    def model_q(self) -> Q:
        """The model filter as people type it: part of a model's id or its family ("claude", "sonnet",
        "gpt-4o" finds every model whose id contains it), in any case."""
        return Q(model__icontains=self.model)

    def query_params(self, **changes) -> dict[str, str]:
        """The URL's parameters for these filters (design.md §3), defaults left out so links stay short."""
        params = {
            **self.period.query_params(),
            "metric": self.metric.name,
            "vendor": self.vendor,
            "model": self.model,
            "team": str(self.team_id or ""),
            "title": self.title,
        }
        params.update({k: str(v) for k, v in changes.items()})
        defaults = {"metric": DEFAULT_METRIC, "page": "1"}
        return {k: v for k, v in params.items() if v and defaults.get(k) != v}


def rollup_rows(filters: BoardFilters, *, breakdown: bool):
    """PersonDay holds a person's whole day; only DailyUsage can be cut by vendor or model, and only
    DailyUsage has all four token kinds."""
    if filters.by_vendor_or_model or breakdown:
        rows = DailyUsage.objects.all()
        if filters.vendor:
            rows = rows.filter(vendor=filters.vendor)
        if filters.model:
            rows = rows.filter(filters.model_q())
        return rows, True
    return PersonDay.objects.all(), False
