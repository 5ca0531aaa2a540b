"""Grades as Moodle writes and reads them: Decimal in, text with the site's separator out.

Never goes through float; never rounds silently beyond the decimals asked for.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation


def format_grade(value: Decimal | None, decimal_separator: str = ".", decimals: int | None = 2) -> str:
    """"8.50" (or "8,50"); "" for None, which Moodle reads as "no grade".

    ``decimals=None`` writes the value's own digits: a course grade already rounded up to the
    course's step must not be rounded again (half-up could undo the round-up).
    """
    if value is None:
        return ""
    if not isinstance(value, Decimal):
        raise TypeError(f"grades must be Decimal, got {type(value).__name__}")
    if decimals is None:
        text = f"{value:f}"
    else:
        text = f"{value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP):f}"
    return text.replace(".", decimal_separator)


def parse_grade(text: str | None) -> Decimal | None:
    """A worksheet number ("8.50", "8,50", " 10,00 "); None when empty, "-" or not a number.

    Moodle's format_float writes no thousands separator, so a comma is always decimal.
    """
    if text is None:
        return None
    cleaned = "".join(text.split()).lstrip("'").replace(",", ".")
    if cleaned in ("", "-"):
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def decimals_of(text: str | None) -> int | None:
    """How many decimals a number cell shows ("10.00" -> 2), to write grades alike."""
    if not text:
        return None
    cleaned = "".join(text.split()).replace(",", ".")
    if parse_grade(cleaned) is None:
        return None
    return len(cleaned.split(".", 1)[1]) if "." in cleaned else 0
