"""Numbers, money, days and names as people read them: the one set of formatters that pages, emails,
CSV files and commands share (templates reach them as filters: ``{% load display %}``).

A board is read at a glance: "1.2M tokens", "$1,234", "12%", "Oct 1 – 30, 2026". Exact figures (CSV,
the CLI's JSON) keep every cent as a decimal string instead.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")

VENDOR_LABELS = {"anthropic": "Anthropic", "openai": "OpenAI", "cursor": "Cursor", "github": "GitHub Copilot"}


def vendor_label(vendor: str) -> str:
    return VENDOR_LABELS.get(vendor, vendor[:1].upper() + vendor[1:])


def compact(value) -> str:
    """1234 -> "1.2K", 1_234_567 -> "1.2M", 4_000_000_000 -> "4.0B": a board is read at a glance, not digit
    by digit."""
    value = int(value or 0)
    for size, suffix in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        # 999,600 reads "1M", not "1000K".
        if abs(value) >= size * 0.9995:
            scaled = value / size
            # "4.0B" beside "4.4B", never "4B": a column reads evenly when every figure under 100 has its decimal.
            text = f"{scaled:.1f}" if abs(scaled) < 99.95 else f"{scaled:.0f}"
            return text + suffix
    return str(value)


def money(value) -> str:
    """"$12.34" under a thousand dollars, "$1,234" from there: cents matter on a coffee, not on a
    month of tokens. A cost nobody could work out (a model no price list knows) is "unknown", never
    a silent $0."""
    if value is None:
        return "unknown"
    value = Decimal(value)
    sign, value = ("-" if value < 0 else ""), abs(value)  # "-$50.00", never "$-50.00"
    if value >= 1000:
        return f"{sign}${value.quantize(Decimal(1), ROUND_HALF_UP):,}"
    return f"{sign}${value.quantize(CENT, ROUND_HALF_UP):,}"


def cents(value) -> str:
    """Cost as the CLI and CSV write it: rounded to the cent, as a plain decimal string."""
    return str(Decimal(value or 0).quantize(CENT, ROUND_HALF_UP))


def percent(value) -> str:
    """A share (0.123) as people read it: "12%", "4.5%", "0.3%"; "—" when there is none."""
    if value is None:
        return "—"
    value = float(value) * 100
    if value == 0:
        return "0%"
    if abs(value) < 10:
        text = f"{value:.2f}" if abs(value) < 1 else f"{value:.1f}"
        return text.rstrip("0").rstrip(".") + "%"
    return f"{value:,.0f}%"


def day_count(value) -> str:
    value = int(value or 0)
    return f"{value} day" if value == 1 else f"{value} days"


def count(value) -> str:
    """A count people compare one by one (commits, pull requests): "1,234", never "1.2K"."""
    return f"{int(value or 0):,}"


def ratio(value, unit, nothing: str) -> str:
    """A ratio ("$41.20" per pull request): ``nothing`` when there was spend and nothing came of it
    (an infinite ratio), "—" when there was nothing to divide."""
    if value is None:
        return "—"
    if Decimal(value).is_infinite():
        return nothing
    return unit(value)


def cost_per_pull_request(value) -> str:
    return ratio(value, money, "no pull requests")


def tokens_per_line(value) -> str:
    return ratio(value, _small_ratio, "no accepted lines")


def _small_ratio(value) -> str:
    """A few tokens per line read to one decimal ("3.8"); more as the other counts do ("1.2K")."""
    value = Decimal(value)
    if abs(value) < 10:
        return f"{value.quantize(Decimal('0.1'), ROUND_HALF_UP)}".removesuffix(".0")
    return compact(value.quantize(Decimal(1), ROUND_HALF_UP))


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def day(value: date | str) -> str:
    """"Oct 1, 2026" (also from "2026-10-01", as flags keep their days in JSON)."""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    return f"{value:%b} {value.day}, {value.year}"


def short_day(value: date) -> str:
    """"Oct 1": where the year goes without saying (a chart's axis)."""
    return f"{value:%b} {value.day}"


def day_span(start: date, end: date) -> str:
    """"Oct 1 – 30, 2026", "Oct 14, 2026", "Dec 20, 2025 – Jan 3, 2026"."""
    if start == end:
        return day(start)
    if start.year != end.year:
        return f"{day(start)} – {day(end)}"
    if start.month != end.month:
        return f"{short_day(start)} – {day(end)}"
    return f"{short_day(start)} – {end.day}, {end.year}"


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """A text cell a spreadsheet would run as a formula ("=HYPERLINK(...)") gets a leading quote.

    Numbers are written as numbers; only text is escaped (a team called "-ops" still reads right)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
