"""Cross-model reads that return plain data or querysets for views (design.md §4)."""

from django.db.models import BigIntegerField, Count, F, Max, Min, Sum
from django.db.models.functions import Coalesce

from accounts.models import ProviderIdentity

from .models import UsageRecord


def identities_with_usage():
    """Identities with their raw usage volume (every source, before precedence), in one query."""
    tokens = (
        F("usage__input_tokens") + F("usage__cache_write_tokens") + F("usage__cache_read_tokens")
        + F("usage__output_tokens")
    )
    return ProviderIdentity.objects.select_related("person", "mapped_by").annotate(
        tokens=Coalesce(Sum(tokens), 0, output_field=BigIntegerField()),
        records=Count("usage"),
        days=Count("usage__day", distinct=True),
        first_day=Min("usage__day"),
        last_day=Max("usage__day"),
    )


def history_to_move(identities) -> dict:
    """How much history moves with these identities (as identities_with_usage annotates them):
    tokens, records, distinct days and the span, for the confirmation an admin reads first."""
    identities = list(identities)
    pks = [identity.pk for identity in identities]
    days = (UsageRecord.objects.filter(identity__in=pks).aggregate(days=Count("day", distinct=True))["days"]
            if pks else 0)
    firsts = [i.first_day for i in identities if i.first_day]
    lasts = [i.last_day for i in identities if i.last_day]
    return {
        "tokens": sum(i.tokens for i in identities),
        "records": sum(i.records for i in identities),
        "days": days,
        "first_day": min(firsts) if firsts else None,
        "last_day": max(lasts) if lasts else None,
    }
