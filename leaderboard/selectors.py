"""Cross-model reads that return plain data or querysets for views (design.md §4)."""

from django.db.models import BigIntegerField, Count, F, Max, Min, Sum
from django.db.models.functions import Coalesce

from accounts.models import ProviderIdentity


def identities_with_usage():
    """Identities with their raw usage volume (every source, before precedence), in one query."""
    tokens = (
        F("usage__input_tokens") + F("usage__cache_write_tokens") + F("usage__cache_read_tokens")
        + F("usage__output_tokens")
    )
    return ProviderIdentity.objects.select_related("person", "mapped_by").annotate(
        tokens=Coalesce(Sum(tokens), 0, output_field=BigIntegerField()),
        records=Count("usage"),
        first_day=Min("usage__day"),
        last_day=Max("usage__day"),
    )
