"""The formatters every page, email and command shares (leaderboard/display.py)."""

from datetime import date
from decimal import Decimal

from leaderboard import display


def test_it_writes_money_to_the_cent_under_a_thousand_and_to_the_dollar_above():
    assert display.money(Decimal("12.345")) == "$12.35"
    assert display.money(Decimal("2200")) == "$2,200"
    assert display.money(Decimal("999.99")) == "$999.99"


def test_it_puts_the_sign_of_a_negative_amount_before_the_dollar():
    assert display.money(Decimal("-50")) == "-$50.00"
    assert display.money(Decimal("-2300")) == "-$2,300"


def test_it_writes_a_day_from_a_date_or_the_iso_text_flags_keep():
    assert display.day(date(2026, 10, 1)) == display.day("2026-10-01") == "Oct 1, 2026"
