"""Server-rendered SVG charts: stacked daily bars, sparklines, rank over time.

No JavaScript and no charting library: the charts are in the HTML, so they print, work with
JavaScript off and cost nothing to load. Each one has a <title> and <desc> (what a screen reader
says), labelled axes, and, for the big ones, the numbers as a table under a disclosure. Colours are
the stylesheet's custom properties (--vendor-anthropic, ...) through classes, so a dark theme
recolours them and the Content-Security-Policy needs no inline style.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from . import cache
from .boards.filters import WEEKLY_AFTER_DAYS
from .cache import Versions
from .display import compact, day, day_span, money, short_day, vendor_label
from .models import FlagRule

# Colours are classes (static/css/boards.css: "c-anthropic" fills an SVG shape and a legend swatch
# alike), never style attributes: the Content-Security-Policy allows no inline style.
VENDOR_COLOURS = {
    "anthropic": "c-anthropic",
    "openai": "c-openai",
    "cursor": "c-cursor",
    "github": "c-github",
}
OTHER_COLOUR = "c-other"
# For stacks of models (or vendors without a colour of their own): distinct, and readable on both themes.
PALETTE = [f"c-series-{n}" for n in range(1, 13)]
_ids = itertools.count(1)


def colours_for(keys: Sequence[str], *, by: str) -> dict[str, str]:
    if by == "vendor":
        spare = iter(PALETTE)
        return {key: VENDOR_COLOURS.get(key) or next(spare, OTHER_COLOUR) for key in keys}
    return {key: PALETTE[n % len(PALETTE)] for n, key in enumerate(keys)}


def nice_ceiling(value: float, ticks: int = 4) -> tuple[float, float]:
    """A round top for an axis and its step: 8,734 -> (10,000, 2,500)."""
    if value <= 0:
        return 1.0, 1.0 / ticks
    raw = value / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * magnitude
        if step * ticks >= value:
            return step * ticks, step
    return 10 * magnitude * ticks, 10 * magnitude


def span_label(span: tuple[date, date]) -> str:
    first, last = span
    return short_day(first) if first == last else f"{short_day(first)}–{short_day(last)}"


def _n(value: float) -> str:
    """Coordinates to one decimal: shorter SVG, no visible difference."""
    return f"{value:.1f}".removesuffix(".0")


def _anchor(index: int, count: int) -> str:
    """The outermost labels hug the plot's edges instead of spilling out of the picture."""
    if count > 1 and index == count - 1:
        return "end"
    return "start" if count > 1 and index == 0 else "middle"


def _uid(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


def stacked_bars(
    spans: Sequence[tuple[date, date]],
    stacks: dict[str, Sequence],
    *,
    title: str,
    description: str,
    fmt: Callable,
    colours: dict[str, str],
    y_label: str,
    labels: dict[str, str] | None = None,
    width: int = 760,
    height: int = 260,
) -> SafeString:
    """Bars per day (or week) with one segment per vendor or model, a legend and a data table."""
    labels = labels or {}
    left, right, top, bottom = 64, 12, 12, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(Decimal(str(values[i] or 0)) for values in stacks.values()) for i in range(len(spans))]
    peak = float(max(totals, default=0))
    ceiling, step = nice_ceiling(peak)
    slot = plot_w / max(1, len(spans))
    bar_w = max(1.0, slot * 0.72)
    uid = _uid("chart")
    parts = [
        format_html(
            '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-labelledby="{}-t {}-d" '
            'preserveAspectRatio="xMidYMid meet"><title id="{}-t">{}</title><desc id="{}-d">{}</desc>',
            width, height, uid, uid, uid, title, uid, description,
        )
    ]
    # Grid lines and the value axis.
    ticks = round(ceiling / step)
    for n in range(ticks + 1):
        value = step * n
        y = top + plot_h - plot_h * value / ceiling
        parts.append(format_html(
            '<line class="grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
            '<text class="tick" x="{}" y="{}" text-anchor="end" dominant-baseline="middle">{}</text>',
            left, width - right, _n(y), _n(y), left - 6, _n(y), fmt(Decimal(str(value))),
        ))
    parts.append(format_html(
        '<text class="axis-label" transform="rotate(-90)" x="{}" y="12" text-anchor="middle">{}</text>',
        _n(-(top + plot_h / 2)), y_label,
    ))
    # The bars: one <g> per day or week, its segments stacked bottom-up.
    for i, span in enumerate(spans):
        x = left + slot * i + (slot - bar_w) / 2
        y = top + plot_h
        label = span_label(span)
        segments = []
        for key, values in stacks.items():
            value = values[i] or 0
            if not value:
                continue
            h = plot_h * float(value) / ceiling
            y -= h
            segments.append(format_html(
                '<rect class="{}" x="{}" y="{}" width="{}" height="{}"><title>{}: {} {}</title></rect>',
                colours.get(key, OTHER_COLOUR), _n(x), _n(y), _n(bar_w), _n(max(h, 0.5)), label, labels.get(key, key),
                fmt(value),
            ))
        if segments:
            parts.append(format_html('<g>{}</g>', mark_safe("".join(segments))))
    # Dates along the bottom: first, last and a few in between, never crowded.
    every = max(1, math.ceil(len(spans) / 7))
    shown = sorted(set(range(0, len(spans), every)) | ({len(spans) - 1} if spans else set()))
    if len(shown) > 1 and shown[-1] - shown[-2] < every / 2:
        shown.pop(-2)
    for i in shown:
        x = left + slot * i + slot / 2
        parts.append(format_html(
            '<text class="tick" x="{}" y="{}" text-anchor="{}">{}</text>', _n(x), top + plot_h + 16,
            _anchor(i, len(spans)), short_day(spans[i][0]),
        ))
    parts.append(format_html(
        '<line class="axis" x1="{}" x2="{}" y1="{}" y2="{}"/>', left, width - right, top + plot_h, top + plot_h
    ))
    parts.append(format_html(
        '<text class="axis-label" x="{}" y="{}" text-anchor="middle">{}</text>', _n(left + plot_w / 2), height - 4,
        "Week starting (UTC)" if spans and spans[0][0] != spans[0][1] else "Day (UTC)",
    ))
    parts.append(mark_safe("</svg>"))
    legend = format_html_join(
        "", '<li><span class="swatch {}"></span>{}</li>',
        ((colours.get(key, OTHER_COLOUR), labels.get(key, key)) for key in stacks),
    )
    keys = list(stacks)
    head = format_html_join("", '<th scope="col" class="num">{}</th>', ((labels.get(key, key),) for key in keys))
    body = format_html_join(
        "",
        '<tr><th scope="row">{}</th>{}<td class="num">{}</td></tr>',
        (
            (
                span_label(span),
                format_html_join("", '<td class="num">{}</td>', ((fmt(stacks[key][i] or 0),) for key in keys)),
                fmt(totals[i]),
            )
            for i, span in enumerate(spans)
            if totals[i]
        ),
    )
    table = format_html(
        '<details class="chart-data"><summary>Show the numbers</summary><div class="table-wrap"><table>'
        '<thead><tr><th scope="col">{}</th>{}<th scope="col" class="num">Total</th></tr></thead><tbody>{}</tbody>'
        "</table></div></details>",
        "Week" if spans and spans[0][0] != spans[0][1] else "Day", head, body,
    )
    return format_html(
        '<figure class="chart-figure">{}<figcaption><ul class="legend">{}</ul></figcaption>{}</figure>',
        mark_safe("".join(str(p) for p in parts)), legend, table,
    )


def sparkline(values: Sequence, *, label: str, width: int = 120, height: int = 28) -> SafeString:
    """A small area chart of a row's daily usage; the label says what it shows in words."""
    numbers = [float(v or 0) for v in values]
    if not numbers:
        numbers = [0.0]
    peak = max(numbers) or 1.0
    pad = 2
    step = (width - 2 * pad) / max(1, len(numbers) - 1)
    points = [
        (pad + step * i if len(numbers) > 1 else width / 2, height - pad - (height - 2 * pad) * v / peak)
        for i, v in enumerate(numbers)
    ]
    line = " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
    area = f"M{_n(points[0][0])},{height - pad} L" + " L".join(f"{_n(x)},{_n(y)}" for x, y in points) + (
        f" L{_n(points[-1][0])},{height - pad} Z"
    )
    last_x, last_y = points[-1]
    return format_html(
        '<svg class="sparkline" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{label}">'
        "<title>{label}</title>"
        '<path class="spark-area" d="{area}"/><polyline class="spark-line" points="{line}"/>'
        '<circle class="spark-dot" cx="{x}" cy="{y}" r="2"/></svg>',
        w=width, h=height, label=label, area=area, line=line, x=_n(last_x), y=_n(last_y),
    )


def rank_line(
    points: Sequence[tuple[date, int | None]], *, title: str, description: str, width: int = 760, height: int = 220
) -> SafeString:
    """Rank per week, 1 at the top; weeks without a rank leave a gap in the line."""
    left, right, top, bottom = 56, 16, 14, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    ranks = [rank for _, rank in points if rank]
    worst = max(ranks, default=1)
    ceiling, step = nice_ceiling(max(worst - 1, 1))
    step = max(1, math.ceil(step))
    bottom_rank = 1 + max(step * math.ceil((worst - 1) / step), step)
    slot = plot_w / max(1, len(points) - 1)
    uid = _uid("rank")

    def y_of(rank: int) -> float:
        return top + plot_h * (rank - 1) / (bottom_rank - 1)

    parts = [
        format_html(
            '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-labelledby="{}-t {}-d">'
            '<title id="{}-t">{}</title><desc id="{}-d">{}</desc>',
            width, height, uid, uid, uid, title, uid, description,
        )
    ]
    for rank in range(1, bottom_rank + 1, step):
        y = y_of(rank)
        parts.append(format_html(
            '<line class="grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
            '<text class="tick" x="{}" y="{}" text-anchor="end" dominant-baseline="middle">#{}</text>',
            left, width - right, _n(y), _n(y), left - 6, _n(y), rank,
        ))
    parts.append(format_html(
        '<text class="axis-label" transform="rotate(-90)" x="{}" y="12" text-anchor="middle">Rank (1 = most tokens)</text>',
        _n(-(top + plot_h / 2)),
    ))
    segments, current = [], []
    for i, (_, rank) in enumerate(points):
        if rank:
            current.append((left + slot * i, y_of(rank)))
        elif current:
            segments.append(current)
            current = []
    if current:
        segments.append(current)
    for segment in segments:
        parts.append(format_html(
            '<polyline class="rank-line" points="{}"/>', " ".join(f"{_n(x)},{_n(y)}" for x, y in segment)
        ))
    for i, (start, rank) in enumerate(points):
        x = left + slot * i
        if rank:
            parts.append(format_html(
                '<circle class="rank-dot" cx="{}" cy="{}" r="3.5"><title>Week of {}: #{}</title></circle>',
                _n(x), _n(y_of(rank)), short_day(start), rank,
            ))
        if i % 2 == 0 and i < len(points) - 2 or i == len(points) - 1:
            parts.append(format_html(
                '<text class="tick" x="{}" y="{}" text-anchor="{}">{}</text>', _n(x), top + plot_h + 16,
                _anchor(i, len(points)), short_day(start),
            ))
    parts.append(format_html(
        '<text class="axis-label" x="{}" y="{}" text-anchor="middle">Week starting (UTC)</text>',
        _n(left + plot_w / 2), height - 4,
    ))
    parts.append(mark_safe("</svg>"))
    # In a box of its own that scrolls on a phone, so its labels keep a readable size (boards.css).
    return mark_safe('<div class="chart-scroll">' + "".join(str(p) for p in parts) + "</div>")


def describe_series(name: str, values: Sequence, fmt: Callable, *, per: str = "day") -> str:
    """One sentence a screen reader can say instead of the picture."""
    numbers = [v or 0 for v in values]
    if not any(numbers):
        return f"No {name} in this period."
    busy = sum(1 for n in numbers if n)
    return (
        f"{fmt(sum(numbers))} {name} in total, at most {fmt(max(numbers))} in one {per}; "
        f"{busy} of {len(numbers)} {per}s with usage."
    )


# --- The charts of the pages, from the selectors' data -----------------------------------------


def _per(period) -> str:
    return "week" if period.days > WEEKLY_AFTER_DAYS else "day"


def metric_words(metric) -> tuple[str, Callable]:
    """What a chart of this metric plots per day, and how to print it."""
    if metric.daily_field == "cost_usd":
        return "cost", money
    return ("output tokens" if metric.name == "output" else "tokens"), compact


def _totals(stacks: dict[str, Sequence], length: int) -> list:
    return [sum(values[i] or 0 for values in stacks.values()) for i in range(length)]


def draw_sparklines(board, versions: Versions | None = None) -> None:
    """Sparklines for the rows a board page shows (and my pinned row). Everyone's but my own look the
    same to every viewer (my own row names me even when others see me as anonymous): drawn once per
    page and data versions."""
    filters = board.filters
    noun, fmt = metric_words(filters.metric)
    per = _per(filters.period)

    def draw(rows) -> dict[int, str]:
        return {
            row.person_id: sparkline(
                row.sparkline, label=f"{row.name}, {noun} per {per}: {describe_series(noun, row.sparkline, fmt, per=per)}"
            )
            for row in rows
        }

    mine = [row for row in [*board.rows, board.pinned] if row is not None and row.is_me]
    shared = [row for row in board.rows if not row.is_me]
    parts = (filters.period.start, filters.period.end, filters.period.key, filters.metric.name, filters.vendor,
             filters.model, tuple((row.person_id, row.name) for row in shared))
    drawn = {**cache.cached(versions, "sparkline-charts", parts, lambda: draw(shared)), **draw(mine)}
    for row in [*shared, *mine]:
        row.chart = drawn[row.person_id]


def team_trend_chart(team_name: str, filters, spans, stacks: dict[str, Sequence]) -> SafeString | None:
    if not stacks:
        return None
    noun, fmt = metric_words(filters.metric)
    per = _per(filters.period)
    return stacked_bars(
        spans, stacks, fmt=fmt, colours=colours_for(list(stacks), by="vendor"),
        labels={vendor: vendor_label(vendor) for vendor in stacks},
        title=f"{team_name}: {noun} per {per} by vendor",
        description=describe_series(noun, _totals(stacks, len(spans)), fmt, per=per),
        y_label=noun.capitalize(),
    )


def usage_chart(overview) -> SafeString | None:
    """A person's tokens per day (or week), stacked by vendor or by model."""
    if not overview.stacks:
        return None
    per = _per(overview.period)
    labels = {vendor: vendor_label(vendor) for vendor in overview.stacks} if overview.by == "vendor" else {}
    return stacked_bars(
        overview.spans, overview.stacks, fmt=compact, colours=colours_for(list(overview.stacks), by=overview.by),
        labels=labels, title=f"Tokens per {per} by {overview.by}",
        description=describe_series("tokens", _totals(overview.stacks, len(overview.spans)), compact, per=per),
        y_label="Tokens",
    )


def usage_charts(overview, *, whose: str, full: bool, versions: Versions | None = None) -> tuple:
    """A person page's two charts (the rank over the weeks; with ``full``, usage per day), drawn from
    the overview alone: cached with it."""
    period = overview.period
    parts = (overview.person.pk, period.start, period.end, period.key, overview.by, overview.rank_weeks, full, whose)
    return cache.cached(versions, "usage-charts", parts, lambda: (
        rank_chart(overview, whose=whose), usage_chart(overview) if full else None
    ), per_person=True)


def rank_chart(overview, *, whose: str) -> SafeString | None:
    ranked = [(start, rank) for start, rank in overview.rank_weeks if rank]
    if not ranked:
        return None
    best = min(rank for _, rank in ranked)
    start, last = ranked[-1]
    return rank_line(
        overview.rank_weeks, title=f"{whose} weekly rank by tokens",
        description=(
            f"Ranked in {len(ranked)} of the last {len(overview.rank_weeks)} weeks; best #{best}; "
            f"week of {short_day(start)}: #{last}."
        ),
    )


def flag_chart(numbers: dict, width: int = 640, height: int = 200) -> dict | None:
    """Bars for the flag's daily series (cost; tokens for a drop) on a labelled value axis and a day
    axis, with a working day's budget as a dashed line; the rule's window is the darker bars."""
    series = numbers.get("series") or []
    if not series:
        return None
    use_tokens = numbers.get("rule") == FlagRule.Kind.DROP
    values = [float(point["tokens"] if use_tokens else Decimal(point["cost"])) for point in series]
    fmt = compact if use_tokens else money
    budget_line = None
    per_day = (numbers.get("budget") or {}).get("per_day") or numbers.get("daily_budget")
    if per_day and not use_tokens:
        budget_line = float(per_day)
    ceiling, step = nice_ceiling(max([*values, budget_line or 0]))
    # Whole dollars on the axis once its steps are whole ("$0", "$2,000"), never "$0.00" beside "$2,000".
    tick = fmt if use_tokens or step < 1 else (lambda value: f"${int(value):,}")
    left, right, top, bottom = 72, 8, 12, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    slot = plot_w / len(values)
    window_start = (numbers.get("window") or {}).get("start", "")
    days = [date.fromisoformat(point["day"]) for point in series]
    unit = "tokens" if use_tokens else "USD"
    label = f"Daily {unit} from {day(days[0])} to {day(days[-1])}; highest {fmt(max(values))}"
    parts = [format_html('<svg viewBox="0 0 {} {}" role="img" aria-label="{}" preserveAspectRatio="xMidYMid meet">',
                         width, height, label)]
    for n in range(round(ceiling / step) + 1):
        value = step * n
        y = top + plot_h - plot_h * value / ceiling
        parts.append(format_html(
            '<line class="grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
            '<text class="tick" x="{}" y="{}" text-anchor="end" dominant-baseline="middle">{}</text>',
            left, width - right, _n(y), _n(y), left - 6, _n(y), tick(Decimal(str(value))),
        ))
    for i, (point, value) in enumerate(zip(series, values, strict=True)):
        h = plot_h * value / ceiling
        shown = f"{compact(point['tokens'])} tokens" if use_tokens else money(point["cost"])
        parts.append(format_html(
            '<rect class="{}" x="{}" y="{}" width="{}" height="{}"><title>{}: {}</title></rect>',
            "in" if point["day"] >= window_start else "out", _n(left + slot * i + 0.5), _n(top + plot_h - h),
            _n(max(slot - 1, 1)), _n(h), day(days[i]), shown,
        ))
    if budget_line is not None:
        y = top + plot_h - plot_h * budget_line / ceiling
        parts.append(format_html('<line class="budget" x1="{}" x2="{}" y1="{}" y2="{}"><title>A working day’s '
                                 'budget: {}</title></line>', left, width - right, _n(y), _n(y), money(budget_line)))
    every = max(1, math.ceil(len(days) / 6))
    ticks = sorted(set(range(0, len(days), every)) | {len(days) - 1})
    if len(ticks) > 1 and ticks[-1] - ticks[-2] < every / 2:
        ticks.pop(-2)
    for i in ticks:
        parts.append(format_html('<text class="tick" x="{}" y="{}" text-anchor="{}">{}</text>',
                                 _n(left + slot * i + slot / 2), top + plot_h + 18, _anchor(i, len(days)),
                                 short_day(days[i])))
    parts.append(format_html('<line class="axis" x1="{}" x2="{}" y1="{}" y2="{}"/>', left, width - right,
                             top + plot_h, top + plot_h))
    parts.append(format_html('<text class="axis-label" x="{}" y="{}" text-anchor="middle">Day (UTC)</text>',
                             _n(left + plot_w / 2), height - 4))
    parts.append(format_html('<text class="axis-label" transform="rotate(-90)" x="{}" y="12" '
                             'text-anchor="middle">{}</text>', _n(-(top + plot_h / 2)),
                             "Tokens" if use_tokens else "Spend (USD)"))
    parts.append(mark_safe("</svg>"))
    return {
        "svg": mark_safe("".join(parts)), "unit": unit, "top": fmt(max(values)), "budget": budget_line,
        "has_budget": budget_line is not None, "span": day_span(days[0], days[-1]),
    }
