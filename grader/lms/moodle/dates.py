"""Moodle's translated dates ("Friday, 7 March 2025, 3:04 PM", "lunes, 3 de marzo de 2025, 10:15").

Parsed without the C locale, in the teacher's timezone; never guesses: anything it does not
understand (including Moodle's "-") is None, so lateness can be reported as unknown.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from grader.errors import ConfigError

_MONTHS = {
    # English (strftimedatetime '%A, %d %B %Y, %I:%M %p'), full and short names
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
    "oct": 10, "nov": 11, "dec": 12,
    # Spanish ('%A, %d de %B de %Y, %H:%M'); "setiembre" is used in parts of Latin America
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7,
    "agosto": 8, "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
}

# Weekday optional and not checked: the date itself is what counts.
_DATE = re.compile(
    r"^(?:[^\W\d_]+\s*,\s*)?(?P<day>\d{1,2})\s+(?:de\s+)?(?P<month>[^\W\d_]+)\.?\s+(?:de\s+)?"
    r"(?P<year>\d{4})\s*,?\s*(?P<hour>\d{1,2}):(?P<minute>\d{2})\s*(?P<ampm>[ap]\.?\s*m\.?)?$",
    re.IGNORECASE,
)


def zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"unknown timezone {tz!r}", code="config_error") from exc


def parse_moodle_date(text: str | None, tz: str) -> datetime | None:
    """An aware datetime in ``tz`` from a worksheet date cell; None for "-", empty or unknown."""
    tzinfo = zone(tz)   # a wrong timezone is the instructor's error even when no date parses
    if text is None:
        return None
    cleaned = " ".join(unicodedata.normalize("NFC", text).replace("\u202f", " ").split())
    cleaned = cleaned.lstrip("'")   # CSV-injection guard some versions put before "-"
    match = _DATE.match(cleaned)
    if match is None:
        return None
    month = _MONTHS.get(match["month"].casefold())
    hour, minute = int(match["hour"]), int(match["minute"])
    if month is None:
        return None
    if match["ampm"]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if match["ampm"].lower().startswith("p") else 0)
    try:
        return datetime(int(match["year"]), month, int(match["day"]), hour, minute, tzinfo=tzinfo)
    except ValueError:
        return None
