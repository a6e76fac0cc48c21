"""Turning one raw cell or JSON value into a typed value, or a FieldError that says what was wrong.

Exports are messy: explicit nulls, "3.0" for 3, money as strings, "$0.19", "Included", "-".
These functions accept what real exports contain and refuse what would make a number wrong.
"""

from __future__ import annotations

import re
import reprlib
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

# The most one count of one row may hold (tokens, requests, lines, sessions). A row is one identity's
# day on one model, or one request: the heaviest agent users spend a few billion tokens a day, and
# even a whole organisation's unattributed day stays under a trillion. More is a corrupt or forged
# file, and refusing it keeps every sum the database makes (four counts a row, the rows of a key, a
# person's year) far inside its 64-bit integers: two int64-max counts used to overflow their sum.
MAX_COUNT = 10**12

# The most one row may cost, in dollars: no one's day on one model comes near it, and sums of such
# rows stay inside the database's numeric(18, 6).
MAX_COST_USD = Decimal(10_000_000)
# Amounts are kept to six decimal places; a smaller one (1e-999999) is nothing, and written out it is
# an exponent PostgreSQL refuses. Compared with Decimal.adjusted(), the exponent of the first digit.
_TINY_AMOUNT = -12

# Usage days run from here to today (UTC). Nothing these providers sell existed earlier; a date
# before it (1900-01-01, 1970-01-01) is a placeholder or a broken clock, and a future date would sit
# on the boards ahead of time.
EARLIEST_DAY = date(2020, 1, 1)

# Every text a parser keeps lands in a column of 200 (model) or 255 characters (identity, label):
# longer is refused here, with its line and field, rather than failing in the database.
MAX_TEXT = 200
# Control characters (tab aside) are no part of a name, id or model: a NUL cannot even be stored in
# PostgreSQL, and a lone surrogate (a JSON "\ud800") cannot be encoded to be stored at all.
_UNPRINTABLE = re.compile("[\x00-\x08\x0a-\x1f\x7f\ud800-\udfff]")

# A provider named in a generic CSV becomes a vendor everywhere (filters, URLs, boards): a slug.
_PROVIDER = re.compile(r"[a-z][a-z0-9._-]{0,39}")

# What a problem message shows of a bad value: enough to find it, never a whole document.
_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = 60
_REPR.maxlevel = 3


class FieldError(ValueError):
    def __init__(self, field: str, message: str):
        self.field, self.message = field, message
        super().__init__(f"{field}: {message}")


def show(value) -> str:
    """A bad value as a problem message shows it: short, quoted, control characters escaped."""
    if isinstance(value, str):
        head = value[:60]
        text = f"'{head}'" if head.isprintable() else repr(head)
        if len(value) > 60:
            text += "..."
    else:
        try:
            text = _REPR.repr(value)
        except ValueError:  # an int past the 4,300 digits Python will write out
            text = "a number of thousands of digits"
    return text if len(text) <= 60 else text[:57] + "..."


def count(value, field: str) -> int:
    """A token or request count: a whole number from 0 to MAX_COUNT. Null and empty mean 0; "3.0" means 3."""
    # The common cases first: this runs several times for every row of a million-row file.
    if type(value) is int and 0 <= value <= MAX_COUNT:
        return value
    if type(value) is str and value.isdigit() and value.isascii():
        try:
            number = int(value)
        except ValueError:  # past the 4,300 digits int() reads: too many, as the general path says
            pass
        else:
            if number <= MAX_COUNT:
                return number
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        raise FieldError(field, f"must be a whole number, got {show(value)}")
    if isinstance(value, int):
        number = value
    else:
        try:
            decimal = Decimal(str(value).strip().replace(",", "")) if isinstance(value, str) else Decimal(value)
        except (InvalidOperation, ValueError, TypeError):
            raise FieldError(field, f"must be a whole number, got {show(value)}") from None
        if not decimal.is_finite() or decimal != decimal.to_integral_value():
            raise FieldError(field, f"must be a whole number, got {show(value)}")
        number = decimal  # compared before int(): int(Decimal("1e999999999")) would never finish
    if number < 0:
        raise FieldError(field, f"must not be negative, got {show(value)}")
    if number > MAX_COUNT:
        raise FieldError(field, f"is more than one row can hold ({MAX_COUNT:,}), got {show(value)}")
    return int(number)


# Words that stand in a cost column instead of a number, meaning "no charge" or "not known".
NO_AMOUNT = frozenset({"", "-", "—", "included", "free", "n/a", "na", "none", "null", "unknown"})
NO_AMOUNT_PREFIXES = ("errored", "aborted", "included")


def money(value, field: str, *, cents: bool = False) -> Decimal | None:
    """An amount in dollars (or cents, converted to dollars); None when the cell holds no amount."""
    # The common case first: a plain number as text ("1.25"), one per row of a million-row file.
    if type(value) is str and value[:1].isdigit():
        try:
            amount = Decimal(value)
        except InvalidOperation:
            pass  # "1,250.00", "12 USD": the general path below
        else:
            # Finite, as it starts with a digit. From a trillionth to ten million dollars: nothing to check.
            if cents:
                if _TINY_AMOUNT + 2 <= amount.adjusted() < 9:
                    return amount / 100
            elif _TINY_AMOUNT <= amount.adjusted() < 7:
                return amount
            return _checked_amount(amount, value, field, cents=cents)
    if value is None:
        return None
    if isinstance(value, bool):
        raise FieldError(field, f"must be an amount, got {show(value)}")
    if isinstance(value, str):
        text = value.strip()
        lowered = text.lower()
        if lowered in NO_AMOUNT or lowered.startswith(NO_AMOUNT_PREFIXES):
            return None
        text = text.replace("$", "").replace(",", "").replace("USD", "").strip()
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise FieldError(field, f"must be an amount, got {show(value)}") from None
    else:
        try:
            amount = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
        except (InvalidOperation, TypeError):
            raise FieldError(field, f"must be an amount, got {show(value)}") from None
    if not amount.is_finite():
        raise FieldError(field, f"must be an amount, got {show(value)}")
    if amount < 0:
        raise FieldError(field, f"must not be negative, got {show(value)}")
    return _checked_amount(amount, value, field, cents=cents)


def _checked_amount(amount: Decimal, value, field: str, *, cents: bool) -> Decimal:
    """A non-negative finite amount in dollars, refused when absurd and nothing when too small to keep.

    Compared before it is divided: arithmetic on Decimal("1e999999999") overflows the context.
    """
    if amount > (MAX_COST_USD * 100 if cents else MAX_COST_USD):
        raise FieldError(field, f"is more than one row can cost (${MAX_COST_USD:,}), got {show(value)}")
    if amount.adjusted() < _TINY_AMOUNT + (2 if cents else 0):
        return Decimal(0)
    return amount / 100 if cents else amount


# (start, end, date) of the UTC day it was when last asked, in Unix seconds: every dated row checks
# its day against it, and reading the clock is cheaper than datetime.now().
_today: tuple[float, float, date] = (0.0, 0.0, EARLIEST_DAY)
_clock = time.time


def today() -> date:
    """The UTC date at the time of the call."""
    global _today
    now = _clock()
    start, end, day = _today
    if not start <= now < end:
        day = datetime.fromtimestamp(now, UTC).date()
        start = now - now % 86400
        _today = (start, start + 86400, day)
    return day


def usable_day(day: date, field: str, value) -> date:
    """``day``, when usage can have happened on it: from EARLIEST_DAY to today (UTC)."""
    if day < EARLIEST_DAY or day > today():
        raise FieldError(field, f"must be a day from {EARLIEST_DAY} to today ({today()} UTC), got {show(value)}")
    return day


def iso_day(value, field: str) -> date:
    """A YYYY-MM-DD date, or the UTC day of an ISO 8601 timestamp, from EARLIEST_DAY to today."""
    if isinstance(value, str) and len(value) <= 64:  # (fromisoformat() takes a fraction of any length)
        day = _iso_day(value, field)
        start, end, latest = _today  # usable_day(), inlined for the rows of million-row files
        if EARLIEST_DAY <= day <= latest and start <= _clock() < end:
            return day
        return usable_day(day, field, value)
    raise FieldError(field, f"must be a date (YYYY-MM-DD) or ISO 8601 time, got {show(value)}")


# Self-reported files may claim days ahead: those are read, then held for review (self_reports.py),
# rather than refused, so that the admin sees the claim. Further ahead is no day at all.
CLAIMED_DAYS_AHEAD = 366


def claimed_day(value, field: str) -> date:
    """Like ``iso_day``, but a day up to CLAIMED_DAYS_AHEAD in the future is read as claimed."""
    if isinstance(value, str) and len(value) <= 64:
        day = _iso_day(value, field)
        return claimed(day, field, value)
    raise FieldError(field, f"must be a date (YYYY-MM-DD) or ISO 8601 time, got {show(value)}")


def claimed(day: date, field: str, value) -> date:
    latest = today() + timedelta(days=CLAIMED_DAYS_AHEAD)
    if day < EARLIEST_DAY or day > latest:
        raise FieldError(field, f"must be a day from {EARLIEST_DAY} to {latest}, got {show(value)}")
    return day


@lru_cache(maxsize=8192)  # an export has few distinct days and many rows per day
def _iso_day(value: str, field: str) -> date:
    text = value.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FieldError(field, f"must be a date (YYYY-MM-DD) or ISO 8601 time, got {show(value)}") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.date()


def epoch_day(value, field: str, *, milliseconds: bool = False) -> date:
    """The UTC day of a Unix time in seconds (or milliseconds), given as a number or a string, from
    EARLIEST_DAY to today."""
    try:
        number = Decimal(str(value).strip()) if value is not None and not isinstance(value, bool) else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise FieldError(field, f"must be a Unix time, got {show(value)}")
    try:
        seconds = number / 1000 if milliseconds else number
        day = datetime.fromtimestamp(float(seconds), tz=UTC).date()
    except (ArithmeticError, OSError, ValueError):  # decimal.Overflow for 1e999999999, among them
        raise FieldError(field, f"is not a possible time, got {show(value)}") from None
    start, end, latest = _today
    if EARLIEST_DAY <= day <= latest and start <= _clock() < end:
        return day
    return usable_day(day, field, value)


def email(value, field: str) -> str:
    if not isinstance(value, str):
        raise FieldError(field, f"must be an email address, got {show(value)}")
    return _email(value, field)


@lru_cache(maxsize=65536)  # the same few thousand people, over and over
def _email(value: str, field: str) -> str:
    text = value.strip()
    try:
        # Django takes up to 320 characters and control characters in a quoted local part; the
        # identity column holds 255, and a control character is no part of anyone's address.
        if len(text) > 254 or not text.isprintable():
            raise ValidationError("")
        validate_email(text)
    except ValidationError:
        raise FieldError(field, f"must be an email address, got {show(value)}") from None
    return text.lower()


def text(value, field: str = "", *, required: bool = False) -> str:
    """A name, id or model: at most MAX_TEXT characters, without control characters."""
    if type(value) is str:
        result = value.strip()
    elif value is None:
        result = ""
    elif isinstance(value, (int, Decimal, float)) and not isinstance(value, bool):
        result = str(value)
    else:
        raise FieldError(field, f"must be text, got {show(value)}")
    if len(result) > MAX_TEXT:
        raise FieldError(field, f"must be at most {MAX_TEXT} characters, got {show(value)}")
    # isprintable() is the quick test; it also fails for harmless characters (a no-break space).
    if not result.isprintable() and _UNPRINTABLE.search(result):
        raise FieldError(field, f"must not contain control characters, got {show(value)}")
    if required and not result:
        raise FieldError(field, "is required")
    return result


def provider(value, field: str) -> str:
    """A provider id named in a file (generic CSV): a slug of up to 40 characters, lower-cased."""
    result = text(value, field, required=True).lower()
    if not _PROVIDER.fullmatch(result):
        raise FieldError(
            field,
            "must be a provider id: a letter, then letters, digits, '-', '_' or '.', "
            f"at most 40 characters; got {show(value)}",
        )
    return result


def flag(value, field: str) -> bool:
    """A yes/no cell: true/false, yes/no, 1/0; empty means no."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    lowered = str(value).strip().lower()
    if lowered in ("true", "yes", "y", "1", "t"):
        return True
    if lowered in ("false", "no", "n", "0", "f", ""):
        return False
    raise FieldError(field, f"must be yes or no, got {show(value)}")


def mapping(value, field: str) -> dict:
    """A nested JSON object; absent or an explicit null stands for an empty one."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FieldError(field, "must be an object")
    return value


def sequence(value, field: str) -> list:
    """A nested JSON list; absent or an explicit null stands for an empty one."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise FieldError(field, "must be a list")
    return value
