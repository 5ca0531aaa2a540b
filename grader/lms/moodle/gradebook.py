"""The gradebook's "Import grades from CSV" file: one user column, one grade item, its feedback.

Moodle aborts the whole import on one bad value, so this refuses to write a file it would
reject (empty user key, grade not a plain number in range) instead of writing it. Feedback is plain text,
made into the HTML Moodle stores and shows as that text here (lms/moodle_text.py), as the worksheet's is.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from grader.errors import InputError
from grader.lms import csvcells
from grader.lms.moodle.moodle_text import moodle_cell
from grader.lms.moodle.numbers import format_grade

USER_KEY_HEADERS: dict[str, str] = {
    "email": "Email address",
    "idnumber": "ID number",
    "username": "Username",
}
FEEDBACK_HEADER = "Feedback"
# grade/import/csv refuses values over 100 whatever the item's maximum.
_IMPORT_MAX = Decimal(100)


def write_gradebook_csv(dest: Path, user_key: str, item_name: str,
                        rows: list[tuple[str, Decimal | None, str]]) -> None:
    """Write (key, grade or None, plain-text feedback) rows; "." decimals, empty cell when ungraded."""
    if user_key not in USER_KEY_HEADERS:
        raise InputError(f"{dest}: user key must be one of {', '.join(USER_KEY_HEADERS)}, not {user_key!r}")
    if not item_name.strip():
        raise InputError(f"{dest}: the grade item needs a name")
    header = [USER_KEY_HEADERS[user_key], item_name, FEEDBACK_HEADER]
    seen: set[str] = set()
    body = []
    for number, (key, grade, feedback) in enumerate(rows, start=1):
        key = (key or "").strip()
        if not key:
            # Moodle would attach an empty-key row to the previous row's user.
            raise InputError(f"{dest}: row {number} has an empty {header[0]}; refusing to write it")
        if key.casefold() in seen:
            raise InputError(f"{dest}: {header[0]} {key!r} appears twice")
        seen.add(key.casefold())
        if grade is not None and not Decimal(0) <= grade <= _IMPORT_MAX:
            raise InputError(f"{dest}: grade {grade} for {key} is outside 0..100; Moodle would abort the import")
        # the grade arrives rounded to the course's step: written with its own digits, never re-rounded
        body.append([key, format_grade(grade, ".", decimals=None), moodle_cell(feedback)])
    text = csvcells.render([[csvcells.encode(c) for c in row] for row in [header, *body]])
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("w", encoding="utf-8-sig", newline="") as fh:
        fh.write(text)
