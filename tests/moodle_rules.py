"""Moodle's importers as ../shared/MOODLE.md describes them (4.x and 5.1), ported just far enough to upload the
files the grader writes and see what Moodle would store: the worksheet upload (assignfeedback_offline:
csv_import_reader's fgetcsv, headers matched in the uploader's language, unformat_float, the skip rules) and
the gradebook's CSV import (strict numbers, the item's range).

A test double of Moodle for the tests' asserts; the grader never imports it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

# the uploader's interface language decides the headers Moodle looks for and the separator it turns into "."
LANGUAGES = {
    "en": {"identifier": "Identifier", "grade": "Grade", "modified": "Last modified (grade)",
           "feedback": "Feedback comments", "participant": "Participant ", "decsep": "."},
    "es": {"identifier": "Identificador", "grade": "Calificación", "modified": "Última modificación (calificación)",
           "feedback": "Comentarios de retroalimentación", "participant": "Participante", "decsep": ","},
}
MAXIMUM = ("Maximum Grade", "Maximum grade", "Calificación máxima")
VERSIONS = ("4.x", "5.1")
_PHP_NUMBER = re.compile(r"^[ \t\n\r\v\f]*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_PHP_NUMERIC = re.compile(r"^[ \t\n\r\v\f]*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?[ \t\n\r\v\f]*$")


class Refused(Exception):
    """Moodle refuses the whole file (invalidgradeimport, csvweirdcolumns, badgrade...)."""


@dataclass
class Upload:
    stored: dict[str, float] = field(default_factory=dict)     # participant N -> grade Moodle stores
    skipped: dict[str, str] = field(default_factory=dict)      # participant N -> why not (silently, in Moodle)
    feedback: dict[str, str] = field(default_factory=dict)     # participant N -> the HTML Moodle stores


def php_fgetcsv(text: str) -> list[list[str]]:
    """PHP's str_getcsv/fgetcsv with Moodle's arguments (',', '"', escape '\\'): inside quotes a backslash
    keeps the next character from closing the cell. Enough of it to see a row run on past its end."""
    rows, row, cell, i, quoted = [], [], [], 0, False
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == "\\" and i + 1 < len(text):
                cell += [ch, text[i + 1]]
                i += 2
                continue
            if ch == '"':
                if text[i + 1:i + 2] == '"':
                    cell.append('"')
                    i += 2
                    continue
                quoted = False
            else:
                cell.append(ch)
        elif ch == '"':
            quoted = True
        elif ch == ",":
            row.append("".join(cell))
            cell = []
        elif ch == "\n":
            row.append("".join(cell))
            rows.append(row)
            row, cell = [], []
        else:
            cell.append(ch)
        i += 1
    if cell or row:
        row.append("".join(cell))
        rows.append(row)
    return rows


def unformat_float(text: str, decsep: str, strict: bool = False) -> float | None:
    """Moodle's unformat_float: spaces out, the uploader's decimal separator replaced by ".", then PHP's
    (float) cast, which reads the leading number and ignores the rest ("9,50" on an English site is 9)."""
    text = text.strip()
    if text == "":
        return None
    text = text.replace(" ", "").replace(decsep, ".")
    if strict and not _PHP_NUMERIC.match(text):
        return None
    match = _PHP_NUMBER.match(text)
    return float(match.group(0)) if match else 0.0


def _table(data: bytes) -> list[list[str]]:
    text = data.decode("utf-8")
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    rows = [row for row in php_fgetcsv(text) if row != [""]]
    if not rows:
        raise Refused("empty file")
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(rows[0]):
            raise Refused(f"csvweirdcolumns: line {number} has {len(row)} cells, the header {len(rows[0])}")
    return rows


def upload_worksheet(data: bytes, uploader: str, version: str) -> Upload:
    """What Moodle ``version`` stores from an offline grading worksheet uploaded by a teacher whose interface
    is in ``uploader`` ("en"/"es"), with "Allow updating records modified more recently" ticked, into an
    assignment with no grade stored yet. Refused when Moodle refuses the whole file."""
    words = LANGUAGES[uploader]
    rows = _table(data)
    header = [cell.strip() for cell in rows[0]]
    for key in ("identifier", "grade", "modified"):
        if words[key] not in header:
            raise Refused(f"invalidgradeimport: no {words[key]!r} header for a {uploader} uploader")
    index = {key: header.index(words[key]) for key in ("identifier", "grade", "feedback") if words[key] in header}
    maximum = next((header.index(title) for title in MAXIMUM if title in header), None)
    upload = Upload()
    for row in rows[1:]:
        identifier = row[index["identifier"]]
        if not identifier.startswith(words["participant"]):
            raise Refused(f"{identifier!r} is no participant for a {uploader} uploader")
        n = identifier[len(words["participant"]):]
        if "feedback" in index:
            upload.feedback[n] = _stored_feedback(row[index["feedback"]], version)
        grade = unformat_float(row[index["grade"]], words["decsep"])
        top = unformat_float(row[maximum], words["decsep"]) if maximum is not None else None
        if grade is None or grade < 0:
            upload.skipped[n] = "no grade"
        elif top is not None and grade > top:
            upload.skipped[n] = "above the maximum"
        elif grade == 0 and version == "5.1":
            upload.skipped[n] = "0 is never stored from a worksheet in 5.1"
        else:
            upload.stored[n] = grade
    return upload


def _stored_feedback(cell: str, version: str) -> str:
    if version == "5.1" and cell[:1] in ("=", "+", "-", "@"):
        return "'" + cell    # the CSV-injection guard Moodle adds on import, shown to the student
    return cell


def import_gradebook(data: bytes, site: str, version: str, item_max: float) -> dict[str, float | None]:
    """Grade/import/csv: the first column is the user key, the second the grade item. Every value is parsed
    strictly in the site's language; one bad value or key aborts the whole import. Key -> grade (None: empty)."""
    rows = _table(data)
    decsep = LANGUAGES[site]["decsep"]
    grades: dict[str, float | None] = {}
    for row in rows[1:]:
        key, value = row[0].strip(), row[1].strip()
        if not key or key in grades:
            raise Refused(f"a user key Moodle cannot match: {key!r}")
        if value in ("", "-"):
            grades[key] = None
            continue
        number = unformat_float(value, decsep, strict=True)
        if number is None:
            raise Refused(f"badgrade: {value!r}")
        if number < 0 or number > (item_max if version == "5.1" else 100):
            raise Refused(f"{value!r} outside the item's range")
        grades[key] = number
    return grades


def feedback_problems(text: str) -> list[str]:
    """What Moodle would show wrongly in a stored feedback cell (HTML): raw markup, a backslash fgetcsv eats,
    an apostrophe Moodle added."""
    problems = []
    if "<" in text or ">" in text:
        problems.append("raw < or > (Moodle renders or strips it)")
    if re.search(r"&(?![a-z]+;|#\d+;)", text):
        problems.append("raw &")
    if "\\" in text:
        problems.append("a backslash")
    if text.startswith("'"):
        problems.append("starts with an apostrophe")
    return problems
