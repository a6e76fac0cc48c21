"""Estimated cost of usage the provider did not price, from the genai-prices list.

Rows here are whole days, not requests, so prices are taken at the base tier: a day with 5M input
tokens must not be charged the long-context rate that applies to a single 200k-token request. We
price a small probe of each token kind once per model: per-token prices, which the import's merge
multiplies by each row's tokens in SQL (leaderboard/imports.py, ``USAGE_STAGE``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

PROBE = 1000
# The price list's provider ids, where ours differ or where a vendor resells others' models.
PROVIDER_IDS = {"anthropic": "anthropic", "openai": "openai", "cursor": "cursor", "github": None}


@dataclass(frozen=True, slots=True)
class UnitPrices:
    """Dollars per token of each disjoint kind."""

    input: Decimal
    cache_write: Decimal
    cache_read: Decimal
    output: Decimal


def _probe(model: str, provider_id: str | None, **tokens) -> Decimal:
    # Imported on first use: loading the price list is a fifth of a second, which a re-import of
    # the same file (answered from its checksum) or a file carrying its own costs never needs.
    from genai_prices import Usage, calc_price

    return calc_price(Usage(**tokens), model, provider_id=provider_id).total_price / PROBE


@lru_cache(maxsize=4096)
def unit_prices(vendor: str, model: str) -> UnitPrices | None:
    """Per-token prices for ``model`` as sold by ``vendor``, or None when no price list knows it."""
    if not model:
        return None
    provider_id = PROVIDER_IDS.get(vendor, vendor)
    for candidate in (provider_id, None) if provider_id else (None,):
        try:
            # genai-prices counts cache reads and writes inside input_tokens; ours are disjoint.
            uncached = _probe(model, candidate, input_tokens=PROBE)
            return UnitPrices(
                input=uncached,
                cache_write=_probe(model, candidate, input_tokens=PROBE, cache_write_tokens=PROBE),
                cache_read=_probe(model, candidate, input_tokens=PROBE, cache_read_tokens=PROBE),
                output=_probe(model, candidate, output_tokens=PROBE),
            )
        except (LookupError, ValueError):
            continue
    return None


@lru_cache(maxsize=4096)
def offers(vendor: str, model: str) -> bool | None:
    """Whether the price list knows ``model`` as sold by ``vendor`` itself (no other provider's list
    stands in); None when the list has no provider of that name to ask."""
    provider_id = PROVIDER_IDS.get(vendor, vendor)
    if not provider_id or not model:
        return None
    try:
        _probe(model, provider_id, input_tokens=PROBE)
    except (LookupError, ValueError):
        return False
    return True


def estimate(prices: UnitPrices, *, input: int, cache_write: int, cache_read: int, output: int) -> Decimal:
    """What these disjoint token counts cost at these prices."""
    return (input * prices.input + cache_write * prices.cache_write + cache_read * prices.cache_read
            + output * prices.output)
