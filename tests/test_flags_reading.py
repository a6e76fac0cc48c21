"""Reading (leaderboard/flags/reading.py): what an evaluation reads about the cast, in a fixed number
of queries."""

from datetime import date, timedelta
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Person, ProviderIdentity
from leaderboard.flags import reading
from leaderboard.models import Exemption, FlagRule, UsageRecord
from tests.test_flags import AS_OF, END, day_spend, fresh, only_rules, usage
from tests.test_review_views import make_flag


def test_it_reads_each_persons_numbers_over_the_rules_windows(cast):
    fresh()
    usage(cast.erin, date(2025, 1, 1), END)
    day_spend(cast.erin, date(2025, 3, 27), "501")
    facts = reading.read(as_of=AS_OF)
    assert (facts.as_of, facts.end) == (AS_OF, END)
    assert set(facts.rules) == {"underuse", "inactive", "drop", "runaway", "unattributed", "burn_without_output",
                                "outlier"}
    erin = facts.totals[cast.erin.pk]
    # $20 on 21 working days in March, one of them $501 instead.
    assert erin.underuse_spend == erin.month_spend == Decimal(20 * 20 + 501)
    assert erin.max_day_cost == Decimal(501) and erin.last_active == END
    assert (erin.baseline_active, erin.baseline_tokens) == (40, 4_000_000)  # Jan 21 - Mar 17: 40 working days
    assert erin.recent_tokens == 9 * 100_000 + 1_000_000
    assert cast.lee.pk not in facts.totals


def test_it_reads_only_the_sums_the_enabled_rules_need(cast):
    only_rules("inactive")
    fresh()
    usage(cast.erin, date(2025, 3, 3), END)
    erin = reading.read(as_of=AS_OF).totals[cast.erin.pk]
    assert erin.last_active == END and erin.underuse_spend is None and erin.max_day_cost is None


def test_it_reads_the_people_and_what_judging_them_needs(cast):
    Person.objects.filter(pk=cast.lee.pk).update(status="leave")
    facts = reading.read(as_of=AS_OF)
    assert len(facts.people) == 6 and facts.grace_days == 30
    lee = facts.people[cast.lee.pk]
    assert (lee.team_id, lee.status, lee.is_active, lee.start_date) == (cast.platform.pk, "leave", True, date(2024, 1, 8))
    assert facts.book.daily_budget(cast.lee.pk, END) == Decimal("100.00")


def test_it_reads_only_the_people_an_import_touched(cast):
    fresh()
    for person in (cast.erin, cast.lee):
        usage(person, date(2025, 3, 3), END)
    facts = reading.read(as_of=AS_OF, people=[cast.erin.pk, cast.erin.pk])
    assert facts.person_filter == [cast.erin.pk]
    assert list(facts.people) == list(facts.totals) == list(facts.vendors) == [cast.erin.pk]


def test_it_reads_how_fresh_each_vendor_is_and_which_are_stale(cast):
    fresh(vendors=["anthropic", "openai"])
    fresh(vendors=["cursor"], last_day=date(2025, 3, 20))
    facts = reading.read(as_of=AS_OF)
    assert facts.freshness == {"anthropic": END, "openai": END, "cursor": date(2025, 3, 20)}
    assert facts.stale == {"cursor": date(2025, 3, 20)}  # more than the 3 days of lag allowed


def test_it_reads_the_vendors_each_person_used_lately(cast):
    fresh()
    usage(cast.erin, date(2025, 3, 3), END)
    usage(cast.erin, date(2024, 12, 2), date(2024, 12, 20), vendor="cursor", source="cursor_events")  # too long ago
    usage(cast.lee, date(2025, 3, 3), date(2025, 3, 7), vendor="openai", source="openai_usage")
    vendors = reading.read(as_of=AS_OF).vendors
    assert vendors == {cast.erin.pk: {"anthropic"}, cast.lee.pk: {"openai"}}


def test_it_reads_the_exemptions_in_force(cast):
    underuse = FlagRule.objects.get(kind="underuse")
    Exemption.objects.create(person=cast.erin, reason="all", starts_on=date(2025, 3, 1), expires_on=AS_OF)
    Exemption.objects.create(person=cast.lee, rule=underuse, reason="one", starts_on=date(2025, 3, 1),
                             expires_on=date(2025, 12, 31))
    Exemption.objects.create(person=cast.sam, reason="over", starts_on=date(2025, 3, 1), expires_on=END)
    Exemption.objects.create(person=cast.otto, reason="later", starts_on=AS_OF + timedelta(days=1),
                             expires_on=date(2025, 12, 31))
    assert reading.read(as_of=AS_OF).exemptions == {cast.erin.pk: [None], cast.lee.pk: [underuse.pk]}


def test_it_reads_a_rules_team_with_its_sub_teams(cast):
    FlagRule.objects.filter(kind="inactive").update(scope_team=cast.engineering)
    facts = reading.read(as_of=AS_OF)
    assert facts.team_scopes == {cast.engineering.pk: {cast.engineering.pk, cast.platform.pk}}


def test_it_reads_usage_nobody_is_mapped_to(cast):
    export = fresh()
    old_key = ProviderIdentity.objects.create(vendor="openai", kind="api_key", value="key-1", label="old key")
    service = ProviderIdentity.objects.create(vendor="openai", kind="api_key", value="key-2", is_service_account=True)
    mapped = ProviderIdentity.objects.create(vendor="openai", kind="api_key", value="key-3", person=cast.erin)
    for identity in (old_key, service, mapped):
        for day in (date(2025, 3, 20), date(2025, 3, 21)):
            UsageRecord.objects.create(vendor="openai", source="openai_usage", identity=identity, day=day,
                                       model="gpt-4.1", input_tokens=1000, output_tokens=10, cost_usd=Decimal(30),
                                       export=export)
    assert reading.read(as_of=AS_OF).unmatched == [
        reading.UnmatchedUsage(old_key.pk, "openai", "api_key", "key-1", "old key", Decimal(60), 2020, 2)]
    FlagRule.objects.filter(kind="unattributed").update(amount_usd=None)
    assert reading.read(as_of=AS_OF).unmatched == []


def test_it_reads_in_the_same_number_of_queries_for_one_person_or_everyone(cast):
    fresh()
    for person in (cast.ada, cast.maria, cast.erin, cast.sam, cast.lee, cast.otto):
        usage(person, date(2025, 3, 3), END)
    FlagRule.objects.filter(kind="inactive").update(scope_team=cast.engineering)
    counts = []
    for people in ([cast.erin.pk], None):
        with CaptureQueriesContext(connection) as queries:
            reading.read(as_of=AS_OF, people=people)
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_it_reads_the_details_of_the_people_flagged(cast):
    fresh()
    usage(cast.erin, date(2025, 3, 24), END)
    usage(cast.lee, date(2025, 3, 24), END)
    span = reading.DetailSpan(people=[cast.erin.pk], series_from=date(2025, 3, 27), window_from=date(2025, 3, 31))
    with CaptureQueriesContext(connection) as queries:
        details = reading.read_details(span, end=END)
    assert len(queries) == 2
    assert list(details.series) == list(details.by_source) == [cast.erin.pk]
    assert sorted(details.series[cast.erin.pk]) == [
        (date(2025, 3, 27), Decimal(20), 100_000), (date(2025, 3, 28), Decimal(20), 100_000), (END, Decimal(20), 100_000)]
    assert details.by_source[cast.erin.pk] == [("anthropic", "anthropic_usage_report", END, Decimal(20), 100_000)]


def test_it_reads_the_live_flags_and_the_dismissals_that_still_hold(cast):
    identity = ProviderIdentity.objects.create(vendor="openai", kind="api_key", value="key-x")
    erin = make_flag(cast.erin, kind="inactive", status="snoozed")
    make_flag(cast.lee, kind="inactive", status="dismissed", suppressed_until=AS_OF)
    make_flag(cast.sam, kind="inactive", status="dismissed", suppressed_until=AS_OF - timedelta(days=1))
    make_flag(cast.otto, kind="inactive", status="resolved")
    unmatched = make_flag(identity=identity, kind="unattributed")
    live = reading.read_live(as_of=AS_OF)
    assert live.current == {(cast.erin.pk, "inactive"): erin, (("identity", identity.pk), "unattributed"): unmatched}
    assert live.suppressed == {(cast.lee.pk, "inactive")}
    only_lee = reading.read_live(as_of=AS_OF, person_filter=[cast.lee.pk])
    assert list(only_lee.current) == [(("identity", identity.pk), "unattributed")]
