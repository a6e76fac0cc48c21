"""Bands: how colleagues see each other's place on a board when the organisation chooses so (the
default): "Top 5%" and a bar instead of a rank and exact figures, which stay with the person, their
managers and admins (the same people who may see a budget: boards/budget_use.py's BudgetSight).

A band is worked out from everyone the board counts, hidden and anonymous people included, so
leaving the board does not move anyone else up a band. Whether the organisation chose bands
(OrgSettings.peer_bands, on unless an admin turns it off in the Django admin) is read with the
catalog."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Band:
    order: int
    label: str
    # How full the band's bar is drawn, in percent.
    bar: int


# (highest percentile in the band, the band), best first.
BANDS = [
    (1, Band(0, "Top 1%", 100)),
    (5, Band(1, "Top 5%", 90)),
    (10, Band(2, "Top 10%", 75)),
    (25, Band(3, "Top 25%", 60)),
    (50, Band(4, "Top half", 40)),
    (100, Band(5, "Bottom half", 15)),
]


def band(percentile: int) -> Band:
    """The band of a place "top ``percentile``%" (1 for the best, 100 for the last)."""
    for highest, found in BANDS:
        if percentile <= highest:
            return found
    return BANDS[-1][1]
