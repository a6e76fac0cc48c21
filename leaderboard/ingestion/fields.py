"""Turning one raw cell or JSON value into a typed value, or a FieldError that says what was wrong.

Exports are messy: explicit nulls, "3.0" for 3, money as strings, "$0.19", "Included", "-".
These functions accept what real exports contain and refuse what would make a number wrong.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.core.validators import validate_email


class FieldError(ValueError):
    def __init__(self, field: str, message: str):
        self.field, self.message = field, message
        super().__init__(f"{field}: {message}")


def _show(value) -> str:
    text = repr(value) if not isinstance(value, str) else f"'{value}'"
    return text if len(text) <= 60 else text[:57] + "..."


def count(value, field: str) -> int:
    """A token or request count: a whole number >= 0. Null and empty mean 0; "3.0" means 3."""
    # The common cases first: this runs several times for every row of a million-row file.
    if type(value) is int and value >= 0:
        return value
    if type(value) is str and value.isdigit() and value.isascii():
        return int(value)
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        raise FieldError(field, f"must be a whole number, got {_show(value)}")
    if isinstance(value, int):
        number = value
    else:
        try:
            decimal = Decimal(str(value).strip().replace(",", "")) if isinstance(value, str) else Decimal(value)
        except (InvalidOperation, ValueError, TypeError):
            raise FieldError(field, f"must be a whole number, got {_show(value)}") from None
        if not decimal.is_finite() or decimal != decimal.to_integral_value():
            raise FieldError(field, f"must be a whole number, got {_show(value)}")
        number = int(decimal)
    if number < 0:
        raise FieldError(field, f"must not be negative, got {_show(value)}")
    return number


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
            if amount.is_finite():
                return amount / 100 if cents else amount
    if value is None:
        return None
    if isinstance(value, bool):
        raise FieldError(field, f"must be an amount, got {_show(value)}")
    if isinstance(value, str):
        text = value.strip()
        lowered = text.lower()
        if lowered in NO_AMOUNT or lowered.startswith(NO_AMOUNT_PREFIXES):
            return None
        text = text.replace("$", "").replace(",", "").replace("USD", "").strip()
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise FieldError(field, f"must be an amount, got {_show(value)}") from None
    else:
        try:
            amount = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
        except (InvalidOperation, TypeError):
            raise FieldError(field, f"must be an amount, got {_show(value)}") from None
    if not amount.is_finite():
        raise FieldError(field, f"must be an amount, got {_show(value)}")
    if amount < 0:
        raise FieldError(field, f"must not be negative, got {_show(value)}")
    return amount / 100 if cents else amount


def iso_day(value, field: str) -> date:
    """A YYYY-MM-DD date, or the UTC day of an ISO 8601 timestamp."""
    if isinstance(value, str):
        return _iso_day(value, field)
    raise FieldError(field, f"must be a date (YYYY-MM-DD) or ISO 8601 time, got {_show(value)}")


@lru_cache(maxsize=8192)  # an export has few distinct days and many rows per day
def _iso_day(value: str, field: str) -> date:
    text = value.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FieldError(field, f"must be a date (YYYY-MM-DD) or ISO 8601 time, got {_show(value)}") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.date()


def epoch_day(value, field: str, *, milliseconds: bool = False) -> date:
    """The UTC day of a Unix time in seconds (or milliseconds), given as a number or a string."""
    try:
        number = Decimal(str(value).strip()) if value is not None and not isinstance(value, bool) else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise FieldError(field, f"must be a Unix time, got {_show(value)}")
    seconds = number / 1000 if milliseconds else number
    try:
        return datetime.fromtimestamp(float(seconds), tz=UTC).date()
    except (OverflowError, OSError, ValueError):
        raise FieldError(field, f"is not a possible time, got {_show(value)}") from None


def email(value, field: str) -> str:
    if not isinstance(value, str):
        raise FieldError(field, f"must be an email address, got {_show(value)}")
    return _email(value, field)


@lru_cache(maxsize=65536)  # the same few thousand people, over and over
def _email(value: str, field: str) -> str:
    text = value.strip()
    try:
        validate_email(text)
    except ValidationError:
        raise FieldError(field, f"must be an email address, got {_show(value)}") from None
    return text.lower()


def text(value, field: str = "", *, required: bool = False) -> str:
    if value is None:
        result = ""
    elif isinstance(value, str):
        result = value.strip()
    elif isinstance(value, (int, Decimal, float)) and not isinstance(value, bool):
        result = str(value)
    else:
        raise FieldError(field, f"must be text, got {_show(value)}")
    if required and not result:
        raise FieldError(field, "is required")
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
    raise FieldError(field, f"must be yes or no, got {_show(value)}")


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
