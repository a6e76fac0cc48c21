"""Deciding (leaderboard/flags/deciding.py): facts built by hand, findings out, no database.

The run is "as of" Tuesday April 1, 2025: windows end on Monday March 31; March has 21 working days,
so the $100 a working day organisation default makes $2,100 over the underuse rule's 30 days.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from leaderboard.budgets import BudgetBook, Calendar, PersonFacts, Policy
from leaderboard.flags import deciding
from leaderboard.flags.deciding import Finding
from leaderboard.flags.reading import Details, DetailSpan, Facts, PersonRow, Totals, UnmatchedUsage
from leaderboard.flags.rules import DEFAULT_RULES, SKIP_LABELS, Windows
from leaderboard.models import FlagRule

AS_OF = date(2025, 4, 1)
END = date(2025, 3, 31)
ERIN, LEE = 1, 2
ENGINEERING, PLATFORM = 10, 11
ORG_DEFAULT = Policy(1, "org", None, None, "day", Decimal(100), None, date(2000, 1, 1), "organisation default",
                     "$100.00 per working day")
# $20 and 100,000 tokens every working day since January: nothing to say.
STEADY = Totals(month_spend=Decimal(420), underuse_spend=Decimal(420), last_active=END, recent_tokens=1_000_000,
                baseline_tokens=4_000_000, baseline_active=40, max_day_cost=Decimal(20))


def make_rules(**changes) -> dict[str, FlagRule]:
    """The default rules (ids 1 to 5), with ``changes`` per kind; a kind set to None is turned off."""
    found = {kind: FlagRule(pk=n, kind=kind, **params) for n, (kind, params) in enumerate(DEFAULT_RULES.items(), 1)}
    for kind, fields in changes.items():
        if fields is None:
            del found[kind]
            continue
        for name, value in fields.items():
            setattr(found[kind], name, value)
    return found


def make_facts(*, people: dict[int, PersonRow] | None = None, rules: dict[str, FlagRule] | None = None,
               policies=(ORG_DEFAULT,), **fields) -> Facts:
    """Erin (Engineering) with steady usage of Anthropic, whose data is fresh, unless told otherwise."""
    people = people or {ERIN: PersonRow(ERIN, team_id=ENGINEERING, start_date=date(2024, 1, 8))}
    calendar = Calendar.from_weekdays(None)
    book = BudgetBook(
        calendar=calendar, parents={ENGINEERING: None, PLATFORM: ENGINEERING}, policies=policies,
        people={pk: PersonFacts(pk, f"Person {pk}", row.team_id, None, 100, row.start_date) for pk, row in people.items()},
    )
    fields = {"freshness": {"anthropic": END}, "vendors": {pk: {"anthropic"} for pk in people},
              "totals": {pk: STEADY for pk in people}, **fields}
    return Facts(windows=Windows(AS_OF, END, rules or make_rules(), calendar), grace_days=30, people=people, book=book,
                 **fields)


def with_totals(**changes) -> dict[int, Totals]:
    return {ERIN: Totals(**{**STEADY.__dict__, **changes})}


def decide(kind: str, facts: Facts | None = None, person: int = ERIN):
    facts = facts or make_facts()
    return deciding.RULES[kind](facts, facts.people[person], facts.rules[kind])


# --- one rule at a time -------------------------------------------------------------------------


def test_it_finds_nothing_to_say_about_steady_usage():
    assert [decide(kind) for kind in deciding.RULES] == [None] * 6


def test_it_finds_underuse_below_the_threshold():
    finding = decide("underuse", make_facts(totals=with_totals(underuse_spend=Decimal(189))))
    assert (finding.kind, finding.severity) == ("underuse", "medium")
    assert finding.headline == ("Used $189.00 of a $2,100 budget over the 30 days Mar 2 – 31, 2025 (9%), "
                                "below the 10% threshold, with no activity from any source.")
    assert finding.numbers["share"] == 0.09 and finding.numbers["spend_total"] == "189"
    assert finding.numbers["window"] == {"start": "2025-03-02", "end": "2025-03-31", "days": 30}
    assert finding.numbers["budget"]["amount"] == "2100.00"


def test_it_does_not_find_underuse_at_the_threshold():
    assert decide("underuse", make_facts(totals=with_totals(underuse_spend=Decimal(210)))) is None


def test_it_raises_underuse_to_high_below_the_severe_threshold():
    finding = decide("underuse", make_facts(totals=with_totals(underuse_spend=Decimal(21))))
    assert finding.severity == "high" and "(1%), below the 2% threshold" in finding.headline


def test_it_can_not_judge_underuse_without_a_budget():
    assert decide("underuse", make_facts(policies=())) == "no_budget"


def test_it_finds_ten_working_days_without_usage():
    finding = decide("inactive", make_facts(totals=with_totals(last_active=date(2025, 3, 17))))
    assert finding.headline == ("No usage from any source in the last 10 working days (Mar 18 – 31, 2025); "
                                "the last usage was on Mar 17, 2025.")
    assert finding.numbers["last_active"] == "2025-03-17" and finding.numbers["working_days"] == 10
    assert decide("inactive", make_facts(totals=with_totals(last_active=date(2025, 3, 18)))) is None


def test_it_finds_inactivity_in_someone_with_no_usage_on_record():
    finding = decide("inactive", make_facts(totals={}))
    assert "no usage at all on record recently" in finding.headline and finding.numbers["last_active"] is None


def test_it_finds_a_drop_of_more_than_the_threshold():
    finding = decide("drop", make_facts(totals=with_totals(recent_tokens=250_000)))
    assert (finding.severity, finding.numbers["drop"]) == ("low", 0.75)
    assert "(17,857 tokens a day) is down 75% against the 56 days before (71,429 tokens a day)" in finding.headline
    assert finding.numbers["baseline"] == {"start": "2025-01-21", "end": "2025-03-17", "days": 56}
    assert decide("drop", make_facts(totals=with_totals(recent_tokens=310_000))) is None


def test_it_needs_a_baseline_of_ten_active_days_for_a_drop():
    assert decide("drop", make_facts(totals=with_totals(recent_tokens=0, baseline_active=9))) is None
    assert decide("drop", make_facts(totals=with_totals(recent_tokens=0, baseline_active=10))) is not None


def test_it_needs_someone_to_have_been_here_for_the_whole_baseline_for_a_drop():
    newcomer = {ERIN: PersonRow(ERIN, team_id=ENGINEERING, start_date=date(2025, 1, 22))}
    assert decide("drop", make_facts(people=newcomer, totals=with_totals(recent_tokens=0))) is None


def test_it_finds_a_day_above_five_times_the_daily_budget():
    finding = decide("runaway", make_facts(totals=with_totals(max_day_cost=Decimal(501))))
    assert finding.severity == "high"
    assert finding.headline == ("Runaway spend: a day's spend of $501.00 is 5.0× the daily budget of $100.00 "
                                "(limit 5×) (looking at Mar 25 – 31, 2025).")
    assert finding.numbers["daily_budget"] == "100.00" and finding.numbers["max_day_cost"] == "501.00"
    assert decide("runaway", make_facts(totals=with_totals(max_day_cost=Decimal(500)))) is None


def test_it_finds_a_day_above_the_absolute_amount_and_a_forecast_above_the_cap():
    rules = make_rules(runaway={"threshold": None, "amount_usd": Decimal(1000), "cap_usd": Decimal(5000)})
    facts = make_facts(rules=rules, totals=with_totals(max_day_cost=Decimal(1500), month_spend=Decimal(6300)))
    finding = decide("runaway", facts)
    assert "a day's spend of $1,500 is above the $1,000 day limit" in finding.headline
    assert "this month's forecast of $6,300 is above the cap of $5,000" in finding.headline
    assert finding.numbers["forecast"]["projected"] == "6300.00" and finding.numbers["multiplier"] is None


def test_it_finds_unattributed_usage_above_the_amount():
    unmatched = [UnmatchedUsage(7, "openai", "api_key", "key-1", "old key", Decimal(60), 1000, 1),
                 UnmatchedUsage(8, "openai", "api_key", "key-2", "", Decimal(40), 500, 1)]
    found = deciding.unattributed(make_facts(unmatched=unmatched))
    assert list(found) == [7]
    assert found[7].headline.startswith("$60.00 of OpenAI usage by api key id “old key” over the 30 days "
                                        "Mar 2 – 31, 2025 belongs to nobody (above $50.00).")
    assert found[7].numbers["freshness"] == [{"vendor": "openai", "last_day": None, "stale": False}]
    assert found[7].explanation.endswith("Data: OpenAI never imported.")


# --- who is judged ------------------------------------------------------------------------------


@pytest.mark.parametrize("person,exemptions,reason", [
    (PersonRow(ERIN, status="leave"), {}, "leave"),
    (PersonRow(ERIN, status="terminated", is_active=False), {}, "terminated"),
    (PersonRow(ERIN, is_active=False), {}, "terminated"),
    (PersonRow(ERIN, start_date=AS_OF - timedelta(days=29)), {}, "grace"),
    (PersonRow(ERIN, start_date=AS_OF - timedelta(days=30)), {}, None),
    (PersonRow(ERIN), {ERIN: [None]}, "exempt"),
    (PersonRow(ERIN), {ERIN: [2]}, "exempt"),  # exempt from the inactive rule (id 2)
    (PersonRow(ERIN), {ERIN: [1]}, None),  # exempt from underuse only
])
def test_it_excludes_people_on_leave_terminated_new_or_exempt(person, exemptions, reason):
    facts = make_facts(exemptions=exemptions)
    assert deciding.exclusion(facts, person, facts.rules["inactive"]) == reason


def test_it_does_not_judge_low_usage_on_stale_data_but_still_judges_spend():
    facts = make_facts(freshness={"anthropic": END, "cursor": date(2025, 3, 20)}, stale={"cursor": date(2025, 3, 20)},
                       vendors={ERIN: {"cursor"}})
    person = facts.people[ERIN]
    assert [deciding.data_problem(facts, person, kind) for kind in ("underuse", "inactive", "drop", "runaway")] == [
        "stale", "stale", "stale", None]
    assert deciding.data_problem(make_facts(vendors={ERIN: {"anthropic"}}, stale={"cursor": END}), person,
                                 "inactive") is None


def test_it_looks_at_every_vendor_for_someone_with_no_usage():
    facts = make_facts(vendors={}, freshness={"anthropic": END, "cursor": date(2025, 3, 20)},
                       stale={"cursor": date(2025, 3, 20)})
    assert deciding.data_problem(facts, facts.people[ERIN], "inactive") == "stale"


def test_it_judges_nothing_about_low_usage_before_any_data_is_imported():
    facts = make_facts(freshness={})
    assert deciding.data_problem(facts, facts.people[ERIN], "underuse") == "no_data"


def test_judging_counts_each_reason_once_per_person():
    people = {ERIN: PersonRow(ERIN, status="leave"), LEE: PersonRow(LEE, team_id=PLATFORM)}
    judgement = deciding.judge(make_facts(people=people, freshness={}))
    assert judgement.skipped == {"leave": 1, "no_data": 1}
    assert judgement.excluded == {(ERIN, kind): SKIP_LABELS["leave"] for kind in (
        "inactive", "underuse", "drop", "runaway", "burn_without_output", "outlier")}
    assert judgement.unjudged == {(LEE, "inactive"), (LEE, "underuse"), (LEE, "drop")}
    assert judgement.findings == {}


def test_judging_leaves_out_people_outside_a_rules_team():
    rules = make_rules(inactive={"scope_team_id": PLATFORM})
    people = {ERIN: PersonRow(ERIN, team_id=ENGINEERING), LEE: PersonRow(LEE, team_id=PLATFORM)}
    facts = make_facts(people=people, rules=rules, totals={}, team_scopes={PLATFORM: {PLATFORM}})
    judgement = deciding.judge(facts)
    assert judgement.excluded == {(ERIN, "inactive"): "the rule no longer covers this person's team"}
    assert (LEE, "inactive") in judgement.findings and not judgement.skipped


def test_judging_counts_people_without_a_budget():
    judgement = deciding.judge(make_facts(policies=(), rules=make_rules(inactive=None, drop=None, runaway=None)))
    assert judgement.skipped == {"no_budget": 1} and not judgement.findings


def test_judging_keys_unattributed_usage_by_identity():
    unmatched = [UnmatchedUsage(7, "openai", "api_key", "key-1", "", Decimal(60), 1000, 1)]
    judgement = deciding.judge(make_facts(unmatched=unmatched))
    assert list(judgement.all_findings()) == [(("identity", 7), "unattributed")]


# --- details and the explanation ----------------------------------------------------------------


def runaway_finding() -> Finding:
    return decide("runaway", make_facts(totals=with_totals(max_day_cost=Decimal(501))))


def test_it_reads_details_from_the_earliest_chart_and_window():
    drop = decide("drop", make_facts(totals=with_totals(recent_tokens=0)))
    span = deciding.detail_span({(LEE, "drop"): drop, (ERIN, "runaway"): runaway_finding()}, END)
    assert span == DetailSpan(people=[ERIN, LEE], series_from=date(2025, 1, 21), window_from=date(2025, 3, 18))
    assert deciding.detail_span({}, END) is None


def test_it_adds_the_chart_the_spend_by_source_and_the_freshness():
    details = Details(
        series={ERIN: [(date(2025, 3, 27), Decimal(501), 5000), (date(2025, 3, 28), Decimal(20), 100)]},
        by_source={ERIN: [("anthropic", "anthropic_usage_report", date(2025, 3, 27), Decimal(501), 5000),
                          ("anthropic", "anthropic_usage_report", date(2025, 3, 20), Decimal(20), 100)]},
    )
    found = deciding.with_details({(ERIN, "runaway"): runaway_finding()}, make_facts(), details)
    numbers = found[(ERIN, "runaway")].numbers
    assert len(numbers["series"]) == 30 and numbers["series"][0] == {"day": "2025-03-02", "cost": "0.00", "tokens": 0}
    assert numbers["series"][25] == {"day": "2025-03-27", "cost": "501.00", "tokens": 5000}
    assert numbers["spike_day"] == "2025-03-27" and numbers["rule"] == "runaway"
    assert numbers["spend_by_source"] == [{"vendor": "anthropic", "source": "anthropic_usage_report", "cost": "501.00",
                                           "source_label": "Anthropic Admin API usage report", "tokens": 5000}]
    assert numbers["freshness"] == [{"vendor": "anthropic", "last_day": "2025-03-31", "stale": False}]
    assert found[(ERIN, "runaway")].explanation.splitlines() == [
        runaway_finding().headline,
        f"Budget: {numbers['budget']['derived']}",  # the budget's own words (leaderboard/budgets.py)
        "Highest day: Mar 27, 2025.",
        f"Forecast: {numbers['forecast']['text']}",
        "Spend by source in the window: Anthropic (Anthropic Admin API usage report) $501.00.",
        "Data: Anthropic through Mar 31, 2025.",
    ]
    assert "organisation default" in numbers["budget"]["derived"] and "20%" in numbers["forecast"]["text"]


def test_it_says_when_nothing_was_spent_except_about_inactivity():
    underuse = Finding("underuse", "medium", "Used nothing.", {})
    inactive = Finding("inactive", "medium", "Gone quiet.", {})
    assert deciding.explain(underuse) == "Used nothing.\nNo spend recorded from any source in the window."
    assert deciding.explain(inactive) == "Gone quiet."
