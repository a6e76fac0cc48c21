"""Flag evaluation: every rule, for everyone, in a fixed number of queries.

``evaluate`` reads (``reading``: one aggregate per person over the longest window any rule needs),
decides per person and rule (``deciding``: plain functions, no database), and reconciles the findings
with the flags already there, writing with bulk statements in one transaction (``reconciling``). At
most one live flag exists per person and rule (a conditional unique constraint): re-evaluation
updates it, a cleared condition resolves it (recorded as an event), and nothing is ever duplicated.

Windows end on the day before ``as_of``: the beat job runs in the morning, and today's data is
still arriving. Some people are never judged: in their first days (grace period), on leave,
terminated, exempted by an admin, or when the vendor data a rule needs is stale. Each run is recorded
(FlagEvaluation) so the queue can say what was not judged and why.

The notifications of new high-severity flags are written as rows; their ids come back in
``Result.notifications`` for the caller (a task) to send.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import date

from django.db import IntegrityError
from django.utils import timezone

from ..models import FlagEvaluation
from . import deciding, reading, reconciling
from .reconciling import Outcome, Result
from .rules import (
    DEFAULT_RULES,
    PARAMETERS,
    SKIP_LABELS,
    create_exemption,
    end_exemption,
    ensure_rules,
    update_rules,
)
from .simulating import preview

__all__ = [
    "DEFAULT_RULES", "PARAMETERS", "SKIP_LABELS", "Outcome", "Result", "create_exemption", "end_exemption",
    "ensure_rules", "evaluate", "last_evaluation", "preview", "update_rules",
]

log = logging.getLogger(__name__)


def evaluate(*, as_of: date, people: Iterable[int] | None = None, trigger: str = "beat") -> Result:
    """Evaluate every enabled rule as of ``as_of`` for everyone (or only ``people``, after an import).

    Opens, updates and resolves flags; returns what it did. Safe to run twice, and alongside another
    run: the unique constraint turns a race into an IntegrityError, and the loser starts over once.
    """
    for attempt in (1, 2):
        try:
            return _evaluate(as_of=as_of, people=people, trigger=trigger)
        except IntegrityError:
            if attempt == 2:
                raise
            log.info("Another evaluation opened the same flag first; evaluating again")
    raise AssertionError("unreachable")


def _evaluate(*, as_of: date, people: Iterable[int] | None, trigger: str) -> Result:
    started = time.monotonic()
    facts = reading.read(as_of=as_of, people=people)
    judgement = deciding.judge(facts)
    span = deciding.detail_span(judgement.findings, facts.end)
    if span is not None:
        details = reading.read_details(span, end=facts.end)
        judgement.findings = deciding.with_details(judgement.findings, facts, details)
    live = reading.read_live(as_of=as_of, person_filter=facts.person_filter)
    changes = reconciling.plan(facts, judgement, live, now=timezone.now())
    return reconciling.write(changes, facts=facts, judgement=judgement, trigger=trigger, started=started)


def last_evaluation() -> FlagEvaluation | None:
    return FlagEvaluation.objects.filter(trigger__in=["beat", "command"]).first() or FlagEvaluation.objects.first()
