"""A person's place on their own page (rank in the period and each week, band, the week's biggest
climber) is read from the company's standing, worked out once for everyone: it must say exactly what
going through everyone for each person says."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.models import Person
from leaderboard.boards.ranking import competition_ranks
from leaderboard.boards.usage import RANK_WEEKS, Standing

PRIVACY = [Person.Privacy.NAMED, Person.Privacy.ANONYMOUS, Person.Privacy.HIDDEN]
# Few distinct values, so that ties (shared ranks, shared climbs) are common.
tokens = st.one_of(st.none(), st.integers(min_value=0, max_value=6))
row = st.tuples(st.sampled_from(PRIVACY), tokens, st.integers(0, 30), *[tokens] * RANK_WEEKS)
company = st.dictionaries(st.integers(1, 40), row, max_size=25)


def by_going_through_everyone(rows: dict[int, tuple], me: int) -> dict:
    """What the page computed before there was a standing: every list made again for each person."""
    everyone = {pk: values for pk, values in rows.items() if values[0] != Person.Privacy.HIDDEN or pk == me}
    mine = rows.get(me)

    def rank_of(column: int) -> tuple[int | None, int]:
        values = [v[column] for v in everyone.values() if v[column] and v[column] > 0]
        own = (mine[column] or 0) if mine else 0
        return (1 + sum(1 for value in values if value > own) if own > 0 else None), len(values)

    def ranks(column: int) -> dict[int, int]:
        return {pk: rank for rank, pk, _ in competition_ranks((pk, v[column] or 0) for pk, v in everyone.items())}

    last, before = ranks(3 + RANK_WEEKS - 2), ranks(3 + RANK_WEEKS - 3)
    climbs = {pk: before[pk] - rank for pk, rank in last.items() if pk in before}
    best = max(climbs.values(), default=0)
    own = (mine[1] or 0) if mine else 0
    counted = [v[1] for v in rows.values() if v[1] and v[1] > 0]
    return {
        "period": rank_of(1),
        "weeks": [rank_of(3 + n)[0] for n in range(RANK_WEEKS)],
        "climb": best if best > 0 and climbs.get(me) == best else 0,
        "band": (max(1, math.ceil((1 + sum(1 for v in counted if v > own)) * 100 / len(counted)))
                 if own > 0 and counted else None),
    }


@settings(max_examples=300, deadline=None)
@given(rows=company, me=st.integers(1, 42))
def test_a_persons_place_is_what_going_through_everyone_says(rows, me):
    standing = Standing.of((pk, *values) for pk, values in rows.items())

    assert {
        "period": standing.place(me, 0),
        "weeks": [standing.place(me, 1 + n)[0] for n in range(RANK_WEEKS)],
        "climb": standing.climb_of(me),
        "band": standing.band_percentile(me),
    } == by_going_through_everyone(rows, me)
