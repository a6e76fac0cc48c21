"""The formatters of ``leaderboard.display`` as template filters: ``{% load display %}``, then
``{{ cost|money }}``, ``{{ tokens|compact }}``, ``{{ share|percent }}``, ``{{ day|day }}``."""

from django import template

from leaderboard import display
from leaderboard.ingestion import FORMATS

register = template.Library()

for name in ("money", "compact", "percent", "cents", "day", "short_day", "day_count", "vendor_label", "ordinal"):
    register.filter(name, getattr(display, name))


@register.filter
def format_label(export) -> str:
    """An export's format as the upload form names it, or "not detected yet"."""
    fmt = FORMATS.get(export.format or export.requested_format)
    return fmt.label if fmt else (export.format or "not detected yet")
