"""The field readers every parser goes through: a typed value, or a FieldError naming the field."""

import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from leaderboard.ingestion import fields
from leaderboard.ingestion.fields import FieldError

INT64_MAX = 2**63 - 1


def refused(read, *args, **kwargs) -> FieldError:
    with pytest.raises(FieldError) as error:
        read(*args, **kwargs)
    return error.value


# --- Counts -------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, "0", "12", 3.0, "3.0", Decimal("7"), "1,000", None, "", fields.MAX_COUNT,
                                   str(fields.MAX_COUNT), "0000000000000001"])
def test_it_reads_counts_up_to_the_ceiling(value):
    assert fields.count(value, "input_tokens") == (int(Decimal(str(value).replace(",", ""))) if value else 0)


@pytest.mark.parametrize(
    "value",
    [INT64_MAX, str(INT64_MAX), fields.MAX_COUNT + 1, 10**26, "100000000000000000000000000", "1e26", Decimal("1E+26"),
     1e26, pytest.param("9" * 5000, id="5000 nines"), Decimal("1e999999999"), pytest.param(10**5000, id="10^5000")],
)
def test_it_refuses_a_count_no_row_can_hold_naming_the_field(value):
    started = time.monotonic()
    error = refused(fields.count, value, "output_tokens")
    assert error.field == "output_tokens" and "more than one row can hold" in error.message
    assert time.monotonic() - started < 5  # never converts 10^999999999 to an int (that takes hours)


def test_two_counts_at_the_ceiling_sum_far_inside_the_database_integers():
    assert 4 * fields.count(fields.MAX_COUNT, "x") * 1_000_000 < INT64_MAX


@pytest.mark.parametrize("value", [-1, "-5", "1.5", "lots", True, [1], {"a": 1}, float("nan"), "Infinity"])
def test_it_still_refuses_what_is_no_count(value):
    assert refused(fields.count, value, "requests").field == "requests"


# --- Money --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "cents", "dollars"),
    [("1.25", False, Decimal("1.25")), ("$0.19", False, Decimal("0.19")), (Decimal("12.5"), True, Decimal("0.125")),
     ("10000000", False, Decimal(10_000_000)), ("1000000000", True, Decimal(10_000_000)), ("Included", False, None)],
)
def test_it_reads_amounts_up_to_the_ceiling(value, cents, dollars):
    assert fields.money(value, "cost", cents=cents) == dollars


@pytest.mark.parametrize(
    ("value", "cents"),
    [("10000000.01", False), ("$20,000,000", False), ("1000000001", True), (Decimal("1e30"), False), ("1e999999", False),
     (10**20, False), (1e300, True), ("1e999999999", True), ("$1e999999999", True), (Decimal("1e999999999"), True)],
)
def test_it_refuses_an_absurd_amount_naming_the_field(value, cents):
    error = refused(fields.money, value, "cost_usd", cents=cents)
    assert error.field == "cost_usd" and "more than one row can cost" in error.message


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-inf", float("inf"), float("nan"), Decimal("sNaN")])
def test_it_refuses_amounts_that_are_not_finite(value):
    assert refused(fields.money, value, "cost").field == "cost"


@pytest.mark.parametrize("value", ["1e-999999", Decimal("1e-20"), "0." + "0" * 5000 + "1"])
def test_an_amount_too_small_to_keep_is_nothing(value):
    assert fields.money(value, "cost") == 0


# --- Days ---------------------------------------------------------------------------------------


def test_today_is_the_utc_date_now():
    assert fields.today() == datetime.now(UTC).date()


@pytest.mark.parametrize("value", ["2020-01-01", "2026-10-01T23:30:00-01:00"])
def test_it_reads_days_from_2020_to_today(value):
    assert fields.iso_day(value, "date") >= date(2020, 1, 1)
    assert fields.iso_day(fields.today().isoformat(), "date") == fields.today()


def test_it_refuses_a_time_too_long_to_be_one_rather_than_remember_it():
    # fromisoformat() takes a fraction of any length, and read days are remembered (lru_cache).
    assert refused(fields.iso_day, "2026-10-01T00:00:00." + "1" * 100_000, "date").field == "date"


@pytest.mark.parametrize("value", ["2099-12-31", "1900-01-01", "2019-12-31", "1970-01-01T00:00:00Z"])
def test_it_refuses_a_day_before_2020_or_in_the_future_naming_the_field(value):
    error = refused(fields.iso_day, value, "starting_at")
    assert error.field == "starting_at"
    assert "must be a day from 2020-01-01 to today" in error.message and value in error.message


def test_it_refuses_tomorrow_however_it_is_written():
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert refused(fields.iso_day, tomorrow.date().isoformat(), "day").field == "day"
    assert refused(fields.epoch_day, int(tomorrow.timestamp()), "start_time").field == "start_time"
    assert refused(fields.epoch_day, str(int(tomorrow.timestamp() * 1000)), "timestamp", milliseconds=True)


@pytest.mark.parametrize("value", ["1e999999999", Decimal("-1e999999999"), "1e-999999999", 1e308, "x"])
def test_it_refuses_an_impossible_unix_time_naming_the_field(value):
    assert refused(fields.epoch_day, value, "timestamp", milliseconds=True).field == "timestamp"


@pytest.mark.parametrize(("value", "milliseconds"), [(0, False), (-2208988800, False), (4102444800, False),
                                                     ("4102444800000", True), (1577836799, False)])
def test_it_refuses_a_unix_time_before_2020_or_in_the_future(value, milliseconds):
    error = refused(fields.epoch_day, value, "start_time", milliseconds=milliseconds)
    assert "must be a day from 2020-01-01 to today" in error.message


def test_today_follows_the_clock(monkeypatch):
    class Clock:
        now = datetime(2030, 6, 1, 23, 59, tzinfo=UTC).timestamp()

        def __call__(self):
            return self.now

    clock = Clock()
    monkeypatch.setattr(fields, "_clock", clock)
    assert fields.iso_day("2030-06-01", "date") == date(2030, 6, 1)
    assert refused(fields.iso_day, "2030-06-02", "date").field == "date"
    clock.now += 120  # past midnight, UTC
    assert fields.iso_day("2030-06-02", "date") == date(2030, 6, 2)
    clock.now = datetime(2026, 1, 1, tzinfo=UTC).timestamp()  # and back
    assert refused(fields.iso_day, "2026-01-02", "date").field == "date"


# --- Text ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["claude-opus-4-6", "gpt\t5", "Mistral Large\u00a02", "模型", "  padded\n"])
def test_it_reads_text_with_tabs_and_any_printable_character(value):
    assert fields.text(value, "model") == value.strip()


@pytest.mark.parametrize("value", ["gpt\x00-5", "a\nb", "\x1b[31mred", "bell\x07", "del\x7f", "lone \ud800"])
def test_it_refuses_text_with_a_nul_or_another_control_character(value):
    error = refused(fields.text, value, "model")
    assert error.field == "model" and "control characters" in error.message
    assert "\x00" not in error.message and "\n" not in error.message


def test_it_refuses_text_longer_than_its_column():
    assert fields.text("m" * fields.MAX_TEXT, "model") == "m" * 200
    assert "at most 200 characters" in refused(fields.text, "m" * 201, "model").message


@pytest.mark.parametrize("value", ['"a\x01b"@example.com', "x" * 250 + "@example.com"])
def test_it_refuses_an_email_with_control_characters_or_longer_than_its_column(value):
    assert refused(fields.email, value, "email").field == "email"


# --- Provider ids -------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [("Mistral", "mistral"), (" open-router.ai_2 ", "open-router.ai_2"),
                                                 ("x", "x"), ("a" * 40, "a" * 40)])
def test_it_reads_a_provider_id_lower_cased(value, expected):
    assert fields.provider(value, "provider") == expected


@pytest.mark.parametrize("value", ["<b>prov</b>", "1password", "-x", "open router", "a" * 41, "mistral/eu", "",
                                   "prov\x00", "ünicode"])
def test_it_refuses_a_provider_that_is_no_slug(value):
    assert refused(fields.provider, value, "provider").field == "provider"


# --- Showing bad values -------------------------------------------------------------------------


def test_a_problem_shows_a_short_printable_excerpt_of_a_bad_value():
    assert fields.show("lots") == "'lots'"
    assert fields.show("a\x00b") == "'a\\x00b'"
    assert len(fields.show("x" * 10_000)) == 60
    assert len(fields.show({"a": list(range(100_000))})) <= 60
