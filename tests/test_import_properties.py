"""Property: how usage arrives does not change what it adds up to. The same rows in one file or split
over several, their rows or pages in any order, the files imported in any order: the same totals."""

from __future__ import annotations

import json
from datetime import date, timedelta

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leaderboard import imports
from leaderboard.models import PersonDay, UsageExport, UsageRecord

HEADER = "date,email,provider,model,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,requests,cost_usd\n"
PEOPLE = ["erin@example.com", "sam@example.com", "lee@example.com", "contractor@elsewhere.example"]
FIRST_DAY = date(2026, 10, 1)
EXAMPLES = settings(max_examples=15, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@st.composite
def usage(draw):
    """Rows with distinct natural keys (person, day, provider, model), and a way to deliver them."""
    keys = draw(st.lists(st.tuples(st.sampled_from(PEOPLE), st.integers(0, 20), st.sampled_from(["m1", "m2"])),
                         min_size=1, max_size=25, unique=True))
    rows = [(email, FIRST_DAY + timedelta(days=day), model, draw(st.integers(0, 10**9)), draw(st.integers(0, 10**6)),
             draw(st.decimals(0, 1000, places=2, allow_nan=False)))
            for email, day, model in keys]
    order = draw(st.permutations(range(len(rows))))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(rows) - 1)), max_size=3))) if len(rows) > 1 else []
    file_order = draw(st.randoms(use_true_random=False))
    return rows, order, cuts, file_order


def generic_csv(rows) -> bytes:
    return (HEADER + "".join(f"{day},{email},mistral,{model},{tokens},{output},0,0,1,{cost}\n"
                             for email, day, model, tokens, output, cost in rows)).encode()


def openai_pages(rows) -> bytes:
    """The same usage as OpenAI usage API pages, one bucket per row (JSON Lines)."""
    lines = []
    for email, day, model, tokens, output, _cost in rows:
        start = int((day - date(1970, 1, 1)).total_seconds())
        lines.append(json.dumps({"object": "page", "has_more": False, "next_page": None, "data": [{
            "object": "bucket", "start_time": start, "end_time": start + 86400, "results": [{
                "object": "organization.usage.completions.result", "input_tokens": tokens, "output_tokens": output,
                "num_model_requests": 1, "input_cached_tokens": 0, "user_id": email, "api_key_id": None,
                "project_id": None, "model": model}]}]}))
    return ("\n".join(lines) + "\n").encode()


def totals() -> dict:
    """What each identity reported (attributed or not) and what each person's days add up to."""
    reported = UsageRecord.objects.values("identity__value").annotate(
        tokens=Sum("input_tokens") + Sum("output_tokens"), cost=Sum("cost_usd"))
    counted = PersonDay.objects.values("person_id").annotate(tokens=Sum("total_tokens"), cost=Sum("cost_usd"))
    return {
        **{("identity", row["identity__value"]): (row["tokens"], row["cost"]) for row in reported},
        **{("person", row["person_id"]): (row["tokens"], row["cost"]) for row in counted},
    }


def imported(files: list[bytes], name: str) -> dict:
    """Import the files in this order, read the totals, and leave the database as it was."""
    with transaction.atomic():
        for n, content in enumerate(files):
            export, created = imports.store_export(content=ContentFile(content), name=f"{n}-{name}",
                                                   origin=UsageExport.Origin.UPLOAD)
            if created:
                assert imports.process_export(export.pk).export.status == UsageExport.Status.SUCCEEDED
        found = totals()
        transaction.set_rollback(True)
    return found


def deliveries(rows, order, cuts, shuffle, encode) -> tuple[bytes, list[bytes]]:
    reordered = [rows[i] for i in order]
    parts = [reordered[a:b] for a, b in zip([0, *cuts], [*cuts, len(rows)], strict=True) if reordered[a:b]]
    shuffle.shuffle(parts)
    return encode(rows), [encode(part) for part in parts]


@EXAMPLES
@given(delivery=usage())
def test_a_generic_csv_split_reordered_or_imported_in_any_order_adds_up_the_same(cast, settings, tmp_path, delivery):
    settings.MEDIA_ROOT = tmp_path / "media"
    rows, order, cuts, shuffle = delivery
    whole, parts = deliveries(rows, order, cuts, shuffle, generic_csv)
    expected = imported([whole], "usage.csv")
    assert expected and imported(parts, "usage.csv") == expected


@EXAMPLES
@given(delivery=usage())
def test_api_pages_split_reordered_or_imported_in_any_order_add_up_the_same(cast, settings, tmp_path, delivery):
    settings.MEDIA_ROOT = tmp_path / "media"
    rows, order, cuts, shuffle = delivery
    whole, parts = deliveries(rows, order, cuts, shuffle, openai_pages)
    expected = imported([whole], "usage.jsonl")
    assert expected and imported(parts, "usage.jsonl") == expected
