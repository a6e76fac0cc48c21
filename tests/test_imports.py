"""The import pipeline: exactly once, all or nothing, every number where it belongs."""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.core.files.base import ContentFile
from django.db import OperationalError, connection
from django.db.models import ProtectedError, Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import ProviderIdentity
from leaderboard import identities, imports, rollups, staging
from leaderboard.models import DailyUsage, PersonDay, UsageExport, UsageRecord

HEADER = "date,email,provider,model,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,requests,cost_usd\n"
Status = UsageExport.Status
# A rollup row's content, without its id (a rebuild gives new ids).
ROLLUP_FIELDS = ["person", "day", "vendor", "model", "source", "input_tokens", "cache_write_tokens", "cache_read_tokens",
                 "output_tokens", "total_tokens", "requests", "cost_usd", "unpriced_records"]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def run(content: bytes | Path, name: str = "usage.csv", **fields) -> UsageExport:
    """Store an export the way an upload does and run the import in this process."""
    if isinstance(content, Path):
        name, content = content.name, content.read_bytes()
    export, created = imports.store_export(
        content=ContentFile(content, name=name), name=name, origin=UsageExport.Origin.COMMAND, **fields
    )
    if created and export.status == Status.QUEUED:
        imports.process_export(export.pk)
    export.refresh_from_db()
    return export


def csv(*rows: str) -> bytes:
    return (HEADER + "".join(row + "\n" for row in rows)).encode()


def tokens(person) -> int:
    return PersonDay.objects.filter(person=person).aggregate(total=Sum("total_tokens"))["total"] or 0


def import_sample_org(samples: Path):
    from django.core.management import call_command

    call_command("import_people", samples / "roster.csv", stdout=io.StringIO())
    for path in [samples / "anthropic" / "users.json", samples / "anthropic" / "api_keys.json",
                 samples / "openai" / "users.json"]:
        assert run(path).status == Status.SUCCEEDED
    for folder in ("anthropic", "openai", "cursor", "generic"):
        for path in sorted((samples / folder).iterdir()):
            if path.name not in ("users.json", "api_keys.json"):
                export = run(path)
                assert export.status == Status.SUCCEEDED, export.problems
    from accounts.models import Person

    for file_name, email in json.loads((samples / "expected.json").read_text())["ccusage_uploads"].items():
        person = Person.objects.get(email=email)
        assert run(samples / "ccusage" / file_name, attributed_to=person).status == Status.SUCCEEDED


def totals_by_person_and_vendor(start, end):
    rows = DailyUsage.objects.between(start, end).values("person__email", "vendor").annotate(
        total=Sum("total_tokens"), cost=Sum("cost_usd"), input=Sum("input_tokens"),
        cache_write=Sum("cache_write_tokens"), cache_read=Sum("cache_read_tokens"), output=Sum("output_tokens"),
        requests=Sum("requests"),
    )
    found = {}
    for row in rows:
        found.setdefault(row["person__email"], {})[row["vendor"]] = row
    return found


# --- The sample org -------------------------------------------------------------------------------


def test_it_imports_the_sample_org_to_the_expected_totals(db, samples):
    import_sample_org(samples)
    expected = json.loads((samples / "expected.json").read_text())
    found = totals_by_person_and_vendor(expected["period"]["start"], expected["period"]["end"])

    assert set(found) == set(expected["people"])
    for email, person in expected["people"].items():
        vendors = found[email]
        for field, key in [("input_tokens", "input"), ("cache_write_tokens", "cache_write"),
                           ("cache_read_tokens", "cache_read"), ("output_tokens", "output"),
                           ("requests", "requests"), ("total_tokens", "total")]:
            assert sum(v[key] for v in vendors.values()) == person[field], (email, field)
        assert set(vendors) == set(person["by_vendor"]), email
        for vendor, numbers in person["by_vendor"].items():
            assert vendors[vendor]["total"] == numbers["total_tokens"], (email, vendor)
            assert float(vendors[vendor]["cost"]) == pytest.approx(float(numbers["cost_usd"]), rel=0.01, abs=0.01)
    for email in expected["zero_usage"]:
        assert email not in found
    assert not UsageRecord.objects.filter(identity__person__isnull=True).exists()


def test_it_changes_nothing_when_the_sample_org_is_imported_again(db, samples):
    import_sample_org(samples)
    before = list(DailyUsage.objects.order_by("person", "day", "vendor", "model").values())
    exports = UsageExport.objects.count()

    import_sample_org(samples)

    assert list(DailyUsage.objects.order_by("person", "day", "vendor", "model").values()) == before
    assert UsageExport.objects.count() == exports


def test_an_import_of_a_tenth_of_the_usage_table_or_more_gives_postgresql_fresh_statistics(cast, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL plans from statistics that only ANALYZE writes")
    monkeypatch.setattr(staging, "ANALYZE_AFTER_ROWS", 2)

    def planned_rows() -> float:
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'leaderboard_usagerecord'::regclass")
            return cursor.fetchone()[0]

    with connection.cursor() as cursor:
        # In this test's transaction: statistics of the table as the test sees it, empty, rather than
        # what earlier tests left behind.
        cursor.execute("ANALYZE leaderboard_usagerecord")
    assert planned_rows() == 0

    october = [date(2026, 10, 1) + timedelta(days=n) for n in range(30)]
    run(csv(*(f"{day},erin@example.com,mistral,m,10,5,0,0,1," for day in october)))
    assert planned_rows() == 30
    # Two rows more to thirty: the statistics still describe the table, and it is not sampled again.
    run(csv("2026-11-01,erin@example.com,mistral,m,10,5,0,0,1,", "2026-11-02,erin@example.com,mistral,m,10,5,0,0,1,"))
    assert planned_rows() == 30
    # Three more (a tenth): sampled again.
    run(csv(*(f"2026-11-0{day},erin@example.com,mistral,m,10,5,0,0,1," for day in (3, 4, 5))))
    assert planned_rows() == 35
    assert tokens(cast.erin) == 35 * 15


def test_an_export_whose_rows_are_stored_cannot_be_deleted(cast):
    # The database does not check the rows' export (imports would pay for it at every commit);
    # Django's PROTECT still stands between an admin's delete and the usage it would orphan.
    export = run(csv("2026-10-01,erin@example.com,mistral,m,10,5,0,0,1,"))

    with pytest.raises(ProtectedError):
        export.delete()
    assert UsageExport.objects.filter(pk=export.pk).exists() and tokens(cast.erin) == 15


def rollup_rows() -> tuple[list, list]:
    return (
        list(DailyUsage.objects.order_by("person", "day", "vendor", "model").values(*ROLLUP_FIELDS)),
        list(PersonDay.objects.order_by("person", "day").values(
            "person", "day", "total_tokens", "output_tokens", "requests", "cost_usd", "unpriced_records", "active"
        )),
    )


def test_it_rolls_up_many_people_through_a_table_to_the_same_numbers(db, samples, monkeypatch):
    import_sample_org(samples)
    before = rollup_rows()
    everyone = {row["person"] for row in before[1]}
    first, last = UsageRecord.objects.order_by("day").first().day, UsageRecord.objects.order_by("day").last().day

    monkeypatch.setattr(rollups, "PEOPLE_PER_STATEMENT", 1)  # what an import of thousands of people does
    DailyUsage.objects.all().delete()
    PersonDay.objects.all().delete()
    rollups.recompute(everyone, first - timedelta(days=1), last + timedelta(days=1))
    assert rollup_rows() == before

    DailyUsage.objects.filter(vendor="openai").delete()
    rollups.recompute(everyone, first, last, vendors={"openai"})
    assert rollup_rows() == before


def test_postgresql_rollups_filter_on_their_people_rather_than_join_them(db, samples, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite names many people through a temporary table")
    import_sample_org(samples)
    everyone = {row["person"] for row in rollup_rows()[1]}
    first, last = UsageRecord.objects.order_by("day").first().day, UsageRecord.objects.order_by("day").last().day
    monkeypatch.setattr(rollups, "PEOPLE_PER_STATEMENT", 1)  # what an import of thousands of people does

    with CaptureQueriesContext(connection) as queries:
        rollups.recompute(everyone, first, last)

    # Joined in as a table, the people were planned against statistics blind to the rows just
    # written: one usage row expected, every row compared with every person (10,000 x 1,000,000).
    rebuilds = [query["sql"] for query in queries if "person_id" in query["sql"]]
    assert rebuilds and all("= ANY(" in sql for sql in rebuilds)
    assert not any("rollup_people" in query["sql"] for query in queries)


# --- Exactly once ---------------------------------------------------------------------------------


def test_it_recognises_the_same_bytes_as_a_duplicate(cast):
    first = run(csv("2026-10-01,erin@example.com,mistral,m,10,5,0,0,1,0.10"))
    again, created = imports.store_export(
        content=ContentFile(csv("2026-10-01,erin@example.com,mistral,m,10,5,0,0,1,0.10")), name="copy.csv",
        origin=UsageExport.Origin.UPLOAD,
    )
    assert not created and again.pk == first.pk
    assert tokens(cast.erin) == 15


def test_it_counts_overlapping_exports_once(cast):
    run(csv("2026-10-01,erin@example.com,mistral,m,10,5,0,0,1,", "2026-10-02,erin@example.com,mistral,m,10,5,0,0,1,"))
    # A later export repeats Oct 2 (with a corrected figure) and adds Oct 3.
    run(csv("2026-10-02,erin@example.com,mistral,m,20,5,0,0,1,", "2026-10-03,erin@example.com,mistral,m,1,1,0,0,1,"))

    days = dict(PersonDay.objects.filter(person=cast.erin).values_list("day", "total_tokens"))
    assert days == {date(2026, 10, 1): 15, date(2026, 10, 2): 25, date(2026, 10, 3): 2}


def test_it_sums_rows_that_share_a_key_within_one_file(cast):
    run(csv("2026-10-01,erin@example.com,mistral,m,10,5,0,0,1,0.10", "2026-10-01,ERIN@example.com,mistral,m,1,1,0,0,2,0.05"))

    [record] = UsageRecord.objects.all()
    assert (record.input_tokens, record.output_tokens, record.requests) == (11, 6, 3)
    assert record.cost_usd == Decimal("0.15")


def test_a_batch_larger_than_one_statement_stages_every_row(cast):
    # SQLite stages a batch as statements of a few thousand rows each (2,340 usage rows): 5,000
    # distinct rows make two full statements and a partial one, all of whose rows must count.
    day = date(2026, 1, 1)
    rows = [f"{day + timedelta(days=n % 100)},erin@example.com,mistral,m{n // 100},{n},1,0,0,1,0.01" for n in range(5000)]
    run(csv(*rows))

    assert UsageRecord.objects.count() == 5000
    assert tokens(cast.erin) == sum(range(5000)) + 5000
    assert UsageRecord.objects.get(input_tokens=4999).cost_usd == Decimal("0.01")


def test_it_keeps_the_numbers_when_the_same_data_arrives_in_other_bytes(cast):
    run(csv("2026-10-01,erin@example.com,mistral,m,10,5,0,0,1,0.10"))
    run(("\ufeff" + HEADER.replace("\n", "\r\n") + "2026-10-01,erin@example.com,mistral,m,10.0,5,,,1,$0.10\r\n").encode())

    assert tokens(cast.erin) == 15
    assert UsageExport.objects.filter(status=Status.SUCCEEDED).count() == 2


def test_it_reads_gzip_and_zip(cast):
    data = csv("2026-10-01,erin@example.com,mistral,m,10,5,0,0,1,")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("usage.csv", csv("2026-10-02,erin@example.com,mistral,m,1,1,0,0,1,"))

    assert run(gzip.compress(data), name="usage.csv.gz").status == Status.SUCCEEDED
    assert run(archive.getvalue(), name="usage.zip").status == Status.SUCCEEDED
    assert tokens(cast.erin) == 17


# --- Precedence and cost --------------------------------------------------------------------------


def claude_code_page(email, day, tokens_in, cents):
    return {"data": [{
        "date": f"{day}T00:00:00Z", "actor": {"type": "user_actor", "email_address": email},
        "organization_id": "org", "customer_type": "api", "terminal_type": "vscode", "is_remote": False,
        "core_metrics": {"num_sessions": 2, "lines_of_code": {"added": 5, "removed": 1},
                         "commits_by_claude_code": 1, "pull_requests_by_claude_code": 0},
        "tool_actions": {"edit_tool": {"accepted": 3, "rejected": 1}},
        "model_breakdown": [{"model": "claude-sonnet-4-5-20250929",
                             "tokens": {"input": tokens_in, "output": 0, "cache_read": 0, "cache_creation": 0},
                             "estimated_cost": {"currency": "USD", "amount": cents}}],
    }], "has_more": False, "next_page": None}


def ccusage(day, tokens_in):
    cost = tokens_in * 3 / 1_000_000  # Sonnet 4.5's list price: a claim the self-report checks accept
    return {"daily": [{"date": day, "inputTokens": tokens_in, "outputTokens": 0, "cacheCreationTokens": 0,
                       "cacheReadTokens": 0, "totalTokens": tokens_in, "totalCost": cost,
                       "modelsUsed": ["claude-sonnet-4-5-20250929"],
                       "modelBreakdowns": [{"modelName": "claude-sonnet-4-5-20250929", "inputTokens": tokens_in,
                                            "outputTokens": 0, "cacheCreationTokens": 0, "cacheReadTokens": 0,
                                            "cost": cost}]}]}


def test_it_counts_only_the_best_source_per_person_day_and_vendor(cast):
    run(json.dumps(claude_code_page("erin@example.com", "2026-10-01", 1000, 50)).encode(), name="cc.json")
    run(json.dumps(ccusage("2026-10-01", 999)).encode(), name="a.json", attributed_to=cast.erin)
    run(json.dumps(ccusage("2026-10-02", 7)).encode(), name="b.json", attributed_to=cast.erin)

    counted = dict(DailyUsage.objects.filter(person=cast.erin).values_list("day", "source"))
    assert counted == {date(2026, 10, 1): "claude_code_analytics", date(2026, 10, 2): "ccusage"}
    assert tokens(cast.erin) == 1007
    # The lower source is still stored, for the person's page.
    assert UsageRecord.objects.filter(source="ccusage").count() == 2


def test_one_import_counts_vendors_with_one_source_and_vendors_with_several_side_by_side(cast):
    run(json.dumps(claude_code_page("erin@example.com", "2026-10-01", 1000, 50)).encode(), name="cc.json")
    # The generic CSV's anthropic row ranks below Claude Code's; its mistral row is all mistral has.
    run(csv("2026-10-01,erin@example.com,anthropic,claude-sonnet-4-5-20250929,500,0,0,0,1,",
            "2026-10-01,erin@example.com,mistral,mistral-large-2,40,2,0,0,1,",
            "2026-10-01,erin@example.com,mistral,mistral-small,3,0,0,0,1,"))

    counted = {(row.vendor, row.model): (row.source, row.total_tokens)
               for row in DailyUsage.objects.filter(person=cast.erin)}
    assert counted == {
        ("anthropic", "claude-sonnet-4-5-20250929"): ("claude_code_analytics", 1000),
        ("mistral", "mistral-large-2"): ("generic", 42),
        ("mistral", "mistral-small"): ("generic", 3),
    }
    assert tokens(cast.erin) == 1045


def test_it_uses_the_providers_cost_and_estimates_the_rest(cast):
    run(csv("2026-10-01,erin@example.com,anthropic,claude-sonnet-4-5-20250929,1000000,0,0,0,1,",
            "2026-10-01,erin@example.com,anthropic,claude-made-up-9,1000,0,0,0,1,",
            "2026-10-01,erin@example.com,mistral,whatever,1000,0,0,0,1,1.25"))

    records = {r.model: r for r in UsageRecord.objects.all()}
    # $3 per million uncached input tokens at the base tier, not the long-context rate.
    assert records["claude-sonnet-4-5-20250929"].cost_usd == Decimal("3")
    assert not records["claude-sonnet-4-5-20250929"].cost_reported
    assert records["claude-made-up-9"].cost_usd is None  # unknown, never a silent 0
    assert records["whatever"].cost_usd == Decimal("1.25") and records["whatever"].cost_reported
    day = PersonDay.objects.get(person=cast.erin)
    assert day.cost_usd == Decimal("4.25") and day.unpriced_records == 1


# --- Identities -----------------------------------------------------------------------------------


def test_it_keeps_usage_nobody_owns_and_moves_it_when_an_admin_maps_it(cast):
    run(csv("2026-10-01,contractor@elsewhere.example,mistral,m,10,5,0,0,1,"))
    identity = ProviderIdentity.objects.get(value="contractor@elsewhere.example")
    assert identity.person is None
    assert UsageRecord.objects.filter(identity=identity).exists()
    assert not PersonDay.objects.exists()

    identities.assign_identity(identity=identity, person=cast.erin, by=cast.ada)
    assert tokens(cast.erin) == 15

    identities.assign_identity(identity=identity, person=cast.lee, by=cast.ada)
    assert tokens(cast.erin) == 0 and tokens(cast.lee) == 15

    identities.mark_service_account(identity=identity, by=cast.ada)
    assert tokens(cast.lee) == 0 and UsageRecord.objects.filter(identity=identity).exists()


def test_it_attributes_api_key_usage_once_the_identity_lists_arrive(cast, samples):
    usage = {"data": [{"starting_at": "2026-10-01T00:00:00Z", "ending_at": "2026-10-02T00:00:00Z", "results": [{
        "account_id": None, "api_key_id": "apikey_1", "model": "claude-sonnet-4-5-20250929",
        "uncached_input_tokens": 100, "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
        "cache_read_input_tokens": 0, "output_tokens": 10}]}], "has_more": False, "next_page": None}
    keys = {"data": [{"id": "apikey_1", "type": "api_key", "name": "erin-laptop", "status": "active",
                      "created_by": {"id": "user_erin", "type": "user"}}], "has_more": False}
    users = {"data": [{"id": "user_erin", "type": "user", "email": "Erin@Example.com", "name": "Erin"}],
             "has_more": False}

    run(json.dumps(usage).encode(), name="usage.json")
    assert tokens(cast.erin) == 0
    run(json.dumps(keys).encode(), name="keys.json")
    assert tokens(cast.erin) == 0  # the key's creator is not known yet
    run(json.dumps(users).encode(), name="users.json")
    assert tokens(cast.erin) == 110


@pytest.mark.parametrize("order", [["account", "key", "sub-key"], ["sub-key", "key", "account"]])
def test_a_chain_of_keys_follows_its_account_whatever_order_the_list_gives(cast, order):
    from leaderboard.ingestion.rows import IdentityKey, IdentityRow

    def identity(kind, value, person, linked_to=None):
        return ProviderIdentity.objects.create(vendor="openai", kind=kind, value=value, person=person,
                                               linked_to=linked_to)

    account = identity("user_id", "user-1", cast.sam)
    key = identity("api_key", "key-1", cast.otto, account)
    sub_key = identity("api_key", "key-2", cast.sam, key)
    unlisted = identity("api_key", "key-3", cast.sam, sub_key)  # hangs off the chain, not in the list
    ids = {i.pk: IdentityKey(i.vendor, i.kind, i.value) for i in (account, key, sub_key)}
    rows = {"account": IdentityRow(ids[account.pk], email=cast.erin.email),
            "key": IdentityRow(ids[key.pk], linked_to=ids[account.pk]),
            "sub-key": IdentityRow(ids[sub_key.pk], linked_to=ids[key.pk])}

    identities.apply_identity_rows([rows[name] for name in order])

    assert {i.value: i.person for i in ProviderIdentity.objects.filter(vendor="openai")} == {
        "user-1": cast.erin, "key-1": cast.erin, "key-2": cast.erin, unlisted.value: cast.erin,
    }


def test_it_matches_usage_to_people_who_join_the_roster_later(db, tmp_path):
    from django.core.management import call_command

    run(csv("2026-10-01,newcomer@example.com,mistral,m,10,5,0,0,1,"))
    roster = tmp_path / "roster.csv"
    roster.write_text("email,name\nnewcomer@example.com,New Comer\n")
    call_command("import_people", roster, stdout=io.StringIO())

    from accounts.models import Person

    assert tokens(Person.objects.get(email="newcomer@example.com")) == 15


@pytest.mark.parametrize("newcomers", [3, 40])
def test_it_hands_a_late_roster_its_usage_in_bulk_keys_included(db, newcomers, django_assert_max_num_queries):
    from accounts.models import Person

    emails = [f"late{n}@example.com" for n in range(newcomers)]
    run(csv(*(f"2026-10-01,{email},mistral,m,10,5,0,0,1," for email in emails)))
    # Each newcomer's API key, already known to belong to their (still unmatched) account.
    for email in emails:
        account = ProviderIdentity.objects.get(value=email)
        key = ProviderIdentity.objects.create(vendor="mistral", kind="api_key", value=f"key-{email}", linked_to=account)
        UsageRecord.objects.create(identity=key, vendor="mistral", source="generic", day=date(2026, 10, 2),
                                   model="m", input_tokens=100, export=UsageExport.objects.get())
    people = Person.objects.bulk_create([Person(email=email, name=email) for email in emails])

    with django_assert_max_num_queries(20):  # however many arrive
        identities.match_people(person.pk for person in people)

    assert all(tokens(person) == 115 for person in people)
    assert not ProviderIdentity.objects.filter(person__isnull=True).exists()


# --- Refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "name", "where", "field"),
    [
        (b"hello,world\n1,2\n", "mystery.csv", "mystery.csv", ""),
        (b'{"data": [', "broken.json", "broken.json", ""),
        (b"date,email,provider\n2026-10-01,a@b.c,x\n", "short.csv", "short.csv line 1", "model, input_tokens, output_tokens"),
        (csv("2026-10-01,erin@example.com,x,m,-5,1,0,0,1,"), "neg.csv", "neg.csv line 2", "input_tokens"),
        (csv("2026-10-01,erin@example.com,x,m,lots,1,0,0,1,"), "nan.csv", "nan.csv line 2", "input_tokens"),
        (csv("2026-02-30,erin@example.com,x,m,1,1,0,0,1,"), "day.csv", "day.csv line 2", "date"),
        (csv("2026-10-01,erin-at-example,x,m,1,1,0,0,1,"), "who.csv", "who.csv line 2", "email"),
    ],
)
def test_it_refuses_bad_files_naming_where_and_applies_nothing(cast, content, name, where, field):
    export = run(content, name=name)

    assert export.status == Status.FAILED
    assert export.problems[0]["where"].startswith(where)
    assert export.problems[0]["field"] == field
    assert not UsageRecord.objects.exists() and not PersonDay.objects.exists()
    assert Path(export.file.path).read_bytes().startswith(content[:10])  # the raw file is kept


def test_it_applies_nothing_when_a_late_row_is_bad(cast, settings):
    settings.IMPORT_BATCH_SIZE = 2  # the good rows are written before the bad one is read
    export = run(csv(*["2026-10-01,erin@example.com,x,m,1,1,0,0,1,"] * 5, "2026-10-02,erin@example.com,x,m,-1,1,0,0,1,"))

    assert export.status == Status.FAILED
    assert not UsageRecord.objects.exists()


def test_it_lists_at_most_fifty_problems(cast):
    export = run(csv(*["2026-10-01,erin@example.com,x,m,-1,1,0,0,1,"] * 80))
    assert len(export.problems) == 50
    assert "and 49 more problems" in export.failure


def test_it_refuses_a_file_over_the_size_limit_but_keeps_it(cast, settings):
    settings.IMPORT_MAX_BYTES = 100
    export = run(csv(*["2026-10-01,erin@example.com,x,m,1,1,0,0,1,"] * 10))
    assert export.status == Status.FAILED
    assert "over the import size limit" in export.failure
    assert Path(export.file.path).exists()


def self_upload(person, content: bytes, name: str = "ccusage.json"):
    return imports.store_export(
        content=ContentFile(content, name=name), name=name, origin=UsageExport.Origin.SELF_SERVICE,
        uploaded_by=person, attributed_to=person, requested_format="ccusage",
    )


def stored_files(settings) -> list[Path]:
    return [path for path in Path(settings.MEDIA_ROOT).rglob("*") if path.is_file()]


def test_it_refuses_and_does_not_keep_a_self_service_upload_over_its_size_limit(cast, settings):
    settings.SELF_UPLOAD_MAX_BYTES = 100
    with pytest.raises(imports.UploadRefused, match="up to 100 bytes"):
        self_upload(cast.erin, b"x" * 101)
    assert not UsageExport.objects.exists() and not stored_files(settings)


def test_it_limits_how_many_files_a_person_uploads_a_day(cast, settings):
    settings.SELF_UPLOAD_DAILY_COUNT = 2
    self_upload(cast.erin, b"1")
    self_upload(cast.erin, b"2")
    with pytest.raises(imports.UploadRefused, match="2 files today"):
        self_upload(cast.erin, b"3")
    # Someone else's uploads are theirs to count.
    self_upload(cast.sam, b"3")


def test_it_limits_what_a_persons_uploads_keep_on_disk(cast, settings):
    settings.SELF_UPLOAD_QUOTA_BYTES = 10
    self_upload(cast.erin, b"123456")
    with pytest.raises(imports.UploadRefused, match="already take 6 bytes"):
        self_upload(cast.erin, b"12345")
    assert len(stored_files(settings)) == 1


def test_it_refuses_a_ccusage_file_nobody_owns(cast):
    export = run(json.dumps(ccusage("2026-10-01", 5)).encode(), name="ccusage.json")
    assert export.status == Status.FAILED
    assert "names nobody" in export.failure


# --- Claims, leases and retries -------------------------------------------------------------------


def queued(cast) -> UsageExport:
    export, _ = imports.store_export(
        content=ContentFile(csv("2026-10-01,erin@example.com,x,m,1,1,0,0,1,")), name="u.csv",
        origin=UsageExport.Origin.UPLOAD,
    )
    return export


def test_it_lets_only_one_worker_claim_an_export(cast):
    export = queued(cast)
    assert imports.claim(export.pk) is not None
    assert imports.claim(export.pk) is None


def test_it_lets_another_worker_take_over_an_expired_lease(cast):
    export = queued(cast)
    imports.claim(export.pk)
    UsageExport.objects.filter(pk=export.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))

    assert imports.process_export(export.pk).export.status == Status.SUCCEEDED
    assert UsageExport.objects.get(pk=export.pk).attempts == 2
    assert tokens(cast.erin) == 2


def test_it_gives_up_after_the_last_attempt(cast, settings):
    settings.IMPORT_MAX_ATTEMPTS = 1
    export = queued(cast)
    imports.claim(export.pk)
    UsageExport.objects.filter(pk=export.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))

    assert imports.claim(export.pk) is None
    export.refresh_from_db()
    assert export.status == Status.FAILED and "Gave up after 1 attempts" in export.failure


def test_it_hands_a_transient_database_error_back_for_a_retry(cast, monkeypatch):
    export = queued(cast)

    def outage(export):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(imports, "apply_export", outage)
    with pytest.raises(OperationalError):
        imports.process_export(export.pk)
    export.refresh_from_db()
    assert export.status == Status.QUEUED and not UsageRecord.objects.exists()


def test_it_sweeps_up_exports_whose_message_was_lost(cast, settings):
    export = queued(cast)
    assert imports.sweep() == []
    UsageExport.objects.filter(pk=export.pk).update(created_at=timezone.now() - timedelta(hours=1))
    assert imports.sweep() == [export.pk]


def silence(export: UsageExport) -> None:
    """The worker running the export dies: its heartbeat stops and goes stale."""
    from django.core.cache import cache

    cache.clear()  # every heartbeat with it
    UsageExport.objects.filter(pk=export.pk).update(started_at=timezone.now() - timedelta(minutes=1))


def test_it_takes_over_at_once_an_export_whose_worker_stopped_beating(cast, settings):
    settings.IMPORT_HEARTBEAT_SECONDS = 0  # the confirmation's wait
    export = queued(cast)
    imports.claim(export.pk)
    silence(export)

    assert imports.process_export(export.pk).export.status == Status.SUCCEEDED
    assert UsageExport.objects.get(pk=export.pk).attempts == 2
    assert tokens(cast.erin) == 2


def test_it_leaves_an_export_to_the_worker_still_beating_for_it(cast):
    export = queued(cast)
    imports.claim(export.pk)
    UsageExport.objects.filter(pk=export.pk).update(started_at=timezone.now() - timedelta(minutes=1))

    assert imports.claim(export.pk) is None
    assert imports.sweep() == []
    assert not imports.retry_export(export)


def test_it_sweeps_up_an_export_whose_worker_died(cast):
    export = queued(cast)
    imports.claim(export.pk)
    silence(export)

    assert imports.sweep() == [export.pk]


def test_it_lets_an_admin_retry_an_import_stuck_under_a_dead_worker(cast):
    export = queued(cast)
    imports.claim(export.pk)
    silence(export)

    assert imports.retry_export(export)
    assert imports.process_export(export.pk).export.status == Status.SUCCEEDED
    assert tokens(cast.erin) == 2


def test_an_attempt_that_was_taken_over_commits_nothing(cast, monkeypatch):
    export = queued(cast)
    apply = imports.apply_export

    def taken_over_midway(export):
        outcome = apply(export)
        UsageExport.objects.filter(pk=export.pk).update(lease_owner="someone-else")
        return outcome

    monkeypatch.setattr(imports, "apply_export", taken_over_midway)
    imports.process_export(export.pk)

    assert not UsageRecord.objects.exists() and tokens(cast.erin) == 0


def test_it_refuses_for_good_what_the_database_cannot_hold(cast, monkeypatch):
    export = queued(cast)

    def overflow(export):
        raise OperationalError("integer overflow")

    monkeypatch.setattr(imports, "apply_export", overflow)
    imports.process_export(export.pk)

    export.refresh_from_db()
    assert export.status == Status.FAILED and "integer overflow" in export.failure


class UnwritableCache(LocMemCache):
    """A cache whose writes fail, as any cache's may (a full disk, a cache server refusing)."""

    def set(self, *args, **kwargs):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


def test_progress_that_cannot_be_written_never_fails_an_import(cast, settings):
    settings.IMPORT_BATCH_SIZE = 1
    settings.CACHES = {"default": {"BACKEND": "tests.test_imports.UnwritableCache"}}
    export = queued(cast)

    assert imports.process_export(export.pk).export.status == Status.SUCCEEDED
    assert tokens(cast.erin) == 2


def test_it_retries_a_failed_export(cast):
    export = run(json.dumps(ccusage("2026-10-01", 5)).encode(), name="ccusage.json")
    UsageExport.objects.filter(pk=export.pk).update(attributed_to=cast.erin)

    assert imports.retry_export(export)
    assert imports.process_export(export.pk).export.status == Status.SUCCEEDED
    assert tokens(cast.erin) == 5


def test_it_lets_a_providers_own_export_win_over_a_generic_csv_for_it(cast):
    page = {"object": "page", "has_more": False, "next_page": None, "data": [{
        "object": "bucket", "start_time": 1790812800, "end_time": 1790899200, "results": [{
            "object": "organization.usage.completions.result", "input_tokens": 100, "output_tokens": 10,
            "num_model_requests": 1, "input_cached_tokens": 0, "user_id": None, "api_key_id": None,
            "project_id": None, "model": "gpt-5"}]}]}
    run(json.dumps(page).encode(), name="openai.json")
    identity = ProviderIdentity.objects.get(vendor="openai")
    identities.assign_identity(identity=identity, person=cast.erin, by=cast.ada)
    # The same day of OpenAI usage again, through the generic CSV: counted once, from OpenAI's export.
    run(csv("2026-10-01,erin@example.com,openai,gpt-5,100,10,0,0,1,"))

    assert tokens(cast.erin) == 110
    assert set(DailyUsage.objects.filter(person=cast.erin).values_list("source", flat=True)) == {"openai_usage"}


def test_an_identity_changing_hands_says_whose_numbers_moved_and_queues_nothing(cast, sent_tasks,
                                                                              django_capture_on_commit_callbacks):
    run(csv("2026-10-01,contractor@elsewhere.example,mistral,m,10,5,0,0,1,"))
    identity = ProviderIdentity.objects.get(value="contractor@elsewhere.example")
    sent_tasks.clear()

    with django_capture_on_commit_callbacks(execute=True):
        moved = identities.assign_identity(identity=identity, person=cast.erin, by=cast.ada)

    assert moved == {cast.erin.pk}
    assert sent_tasks == []  # the view that called it queues what follows (test_import_views.py)
