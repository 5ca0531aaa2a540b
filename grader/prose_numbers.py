"""Numbers as a person reads them in a sentence, a table or a chart of one language: the decimal comma
in Spanish, one way to write a grade and one way to write points.

The rule, everywhere a person reads: a grade (a practical's score, a course grade) has two decimals
("9,50/10"); points are written as the point table (assignment.toml) writes them, without trailing zeros
and with at most two decimals ("4/4", "0,5/0,5", "1,25/1,5"); a maximum is written as points.
Display only: never for a number an LMS parses (grader/lms/moodle/numbers.py writes Moodle's), and never rounds a
value that is then computed with.
"""
from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

_CENT = Decimal("0.01")
_DECIMAL_TEXT = re.compile(r"-?\d+\.\d+")
COMMA_LANGUAGES = frozenset({"es"})


def separator(lang: str) -> str:
    return "," if lang in COMMA_LANGUAGES else "."


def localized(text: str, lang: str) -> str:
    """A number written with ``.`` ("7.50"), with the language's separator; any other text as it is."""
    return text.replace(".", separator(lang)) if _DECIMAL_TEXT.fullmatch(text) else text


def number(value: Decimal | float | int | str, lang: str) -> str:
    """A measurement as computed ("0.7311" -> "0,7311"): its own digits, the language's separator."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, Decimal):
        return localized(f"{value:f}", lang) if value.is_finite() else str(value)
    return localized(str(value), lang)


def grade(value: Decimal, lang: str) -> str:
    """A grade: always two decimals, half up ("9,50", "0,00", "10,00")."""
    return localized(f"{_decimal(value).quantize(_CENT, rounding=ROUND_HALF_UP):f}", lang)


def points(value: Decimal, lang: str) -> str:
    """Points as the point table writes them: "4", "0,5", "1,25"; more digits than two are rounded half up."""
    value = _decimal(value)
    if value != value.quantize(_CENT):
        value = value.quantize(_CENT, rounding=ROUND_HALF_UP)
    text = f"{value.normalize():f}" if value else "0"
    return localized(text, lang)


def grade_of(value: Decimal, maximum: Decimal, lang: str) -> str:
    """ "9,50/10" """
    return f"{grade(value, lang)}/{points(maximum, lang)}"


def points_of(value: Decimal, maximum: Decimal, lang: str) -> str:
    """ "1,25/1,5" """
    return f"{points(value, lang)}/{points(maximum, lang)}"


def percent(share: float, lang: str) -> str:
    """A share 0..1 as a whole percentage: "40%" in English, "40 %" in Spanish (a space before the sign)."""
    whole = f"{share * 100:.0f}"
    return f"{whole}\u00a0%" if lang in COMMA_LANGUAGES else f"{whole}%"


def seconds(value: float, lang: str) -> str:
    """One decimal: "30,4" """
    return localized(f"{value:.1f}", lang)


def _decimal(value) -> Decimal:
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise TypeError(f"not a number: {value!r}") from None
