"""Provider connections: usage pulled from the providers' admin APIs, one module per vendor, found
through VENDORS (name -> Vendor); ``sync`` runs one connection's sync, ``setup`` is what an admin
changes, ``http`` is how every call is made.

To add a vendor, write its module with a ``VENDOR`` of the shape in ``vendor.py`` and list it here.
"""

from __future__ import annotations

from . import anthropic, cursor, github, openai
from .vendor import Vendor

VENDORS: dict[str, Vendor] = {module.VENDOR.name: module.VENDOR for module in (anthropic, openai, cursor, github)}


def get_vendor(name: str) -> Vendor:
    try:
        return VENDORS[name]
    except KeyError:
        raise ValueError(f"unknown vendor '{name}'; known vendors: {', '.join(VENDORS)}") from None
