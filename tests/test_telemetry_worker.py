"""Telemetry with a real Celery worker: a batch posted to the receiver is folded in the background
and shows on the board moments later."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from leaderboard.models import PersonDay, UsageExport
from leaderboard.telemetry import tokens
from tests import telemetry_bodies as bodies
from tests.workers import wait_for

pytestmark = pytest.mark.celery


def test_a_worker_folds_a_posted_batch_into_todays_usage(workers, cast):
    workers.start()
    # The receiver queues a fold at most once per few seconds; an earlier test's window must not
    # swallow this one's.
    cache.delete("once:telemetry-fold")
    _, token = tokens.create_token(name="laptops", by=None)
    end = bodies.now_ns()
    body = bodies.as_protobuf(bodies.claude_code_metrics(start=end - bodies.MINUTE, end=end))
    response = Client().post("/otlp/v1/metrics", data=body, content_type="application/x-protobuf",
                             headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200

    def folded():
        return PersonDay.objects.filter(person=cast.erin, total_tokens=93800).exists()

    wait_for(folded, timeout=60, workers=workers, what="the fold")
    assert UsageExport.objects.get().status == "succeeded"
