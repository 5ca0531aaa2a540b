"""Moodle's offline grading worksheet: read it, write grades back into it, or make a new one.

Only the Grade and Feedback comments cells of graded rows ever change: every other cell,
the BOM and the line endings go back byte-identical, or Moodle skips or rejects rows.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from grader.errors import InputError
from grader.lms import csvcells
from grader.lms.moodle.dates import parse_moodle_date
from grader.lms.moodle.moodle_text import moodle_cell
from grader.lms.moodle.numbers import decimals_of, format_grade, parse_grade

BOM = "\ufeff"

# canonical column -> (English title, Spanish titles...), as the language packs write them.
TITLES: dict[str, tuple[str, ...]] = {
    "identifier": ("Identifier", "Identificador"),
    "full_name": ("Full name", "Nombre completo"),
    "email": ("Email address", "Dirección de correo", "Dirección Email", "Correo electrónico"),
    "idnumber": ("ID number", "Número de ID"),
    "username": ("Username", "Nombre de usuario"),
    "status": ("Status", "Estado"),
    "group": ("Group", "Grupo"),
    "grade": ("Grade", "Calificación"),
    # Moodle 5.1 writes "Maximum grade", older versions "Maximum Grade"
    "max_grade": ("Maximum Grade", "Calificación máxima", "Maximum grade"),
    "changeable": ("Grade can be changed", "La calificación puede ser cambiada"),
    "modified_submission": ("Last modified (submission)", "Última modificación (entrega)"),
    "modified_grade": ("Last modified (grade)", "Última modificación (calificación)"),
    "feedback": ("Feedback comments", "Comentarios de retroalimentación"),
}
# Moodle's upload refuses a worksheet without these (importgradeslib.php).
REQUIRED = ("identifier", "grade", "modified_grade")
# The columns a worksheet written from scratch needs for Moodle's upload.
NEW_COLUMNS = ("identifier", "full_name", "email", "grade", "max_grade", "modified_grade", "feedback")
_IDENTIFIER_WORD = {"en": "Participant ", "es": "Participante"}
_PARTICIPANT = re.compile(r"(\d+)\s*$")
_NUMBER = re.compile(r"^\s*'?\d+([.,])\d+\s*$")   # a number cell with decimals, as Moodle writes it


@dataclass(frozen=True)
class WorksheetRow:
    """One row of a downloaded worksheet, understood."""

    participant: str
    full_name: str | None
    email: str | None
    identity: dict[str, str]          # other identity columns present (e.g. "idnumber", "username")
    max_grade: Decimal | None
    submitted_at: datetime | None     # timezone-aware; None when absent or unparsable
    submitted_at_raw: str | None


@dataclass
class Worksheet:
    path: Path
    header: list[str]
    rows: list[list[str]]               # every row as it came, cells untouched
    lang: str                           # "en" or "es", from the headers
    entries: dict[str, WorksheetRow]    # participant N -> understood row
    columns: dict[str, int] = field(default_factory=dict)   # canonical name -> column index
    bom: bool = True
    newline: str = "\n"
    final_newline: bool = True
    raw_header: list[str] = field(default_factory=list)     # cells exactly as in the file
    raw_rows: list[list[str]] = field(default_factory=list)
    row_index: dict[str, int] = field(default_factory=dict)  # participant N -> index in rows
    warnings: list[str] = field(default_factory=list)        # instructor-facing

    def has_column(self, name: str) -> bool:
        return name in self.columns

    def cell(self, participant: str, name: str) -> str | None:
        """The value of a canonical column for one participant, None when absent."""
        if name not in self.columns or participant not in self.row_index:
            return None
        return self.rows[self.row_index[participant]][self.columns[name]]


def own_separator(ws: Worksheet) -> tuple[str, str] | None:
    """(separator, an example cell) of the worksheet's own numbers (Maximum grade, Grade): the separator of
    the interface it was downloaded from, hence of the teacher who uploads it (Moodle matches the headers in
    the uploader's language). None when no cell shows decimals."""
    for name in ("max_grade", "grade"):
        if name not in ws.columns:
            continue
        for row in ws.rows:
            match = _NUMBER.match(row[ws.columns[name]])
            if match:
                return match.group(1), row[ws.columns[name]].strip()
    return None


def read_worksheet(path: Path, tz: str) -> Worksheet:
    """Read a downloaded worksheet (English or Spanish); InputError names the file and the problem."""
    path = Path(path)
    text, bom = _read_text(path)
    table = csvcells.parse(text)
    if not table.rows:
        raise InputError(f"{path}: the worksheet is empty")
    raw_header = [c.raw for c in table.rows[0]]
    header = [c.value.strip() for c in table.rows[0]]
    columns, lang = _find_columns(path, header)
    ws = Worksheet(path=path, header=header, rows=[], lang=lang, entries={}, columns=columns, bom=bom,
                   newline=table.newline, final_newline=table.final_newline, raw_header=raw_header)
    for number, cells in enumerate(table.rows[1:], start=2):
        if len(cells) == 1 and not cells[0].raw:
            continue   # a blank line
        if len(cells) != len(header):
            # Moodle's upload fails the whole file on such a row (csvweirdcolumns).
            raise InputError(f"{path}: line {number} has {len(cells)} cells, the header has {len(header)}")
        ws.rows.append([c.value for c in cells])
        ws.raw_rows.append([c.raw for c in cells])
        _understand_row(ws, len(ws.rows) - 1, number, tz)
    return ws


def _read_text(path: Path) -> tuple[str, bool]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the worksheet ({exc.strerror})") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (was it re-saved by a spreadsheet?)") from exc
    bom = text.startswith(BOM)
    return (text[1:] if bom else text), bom


def _find_columns(path: Path, header: list[str]) -> tuple[dict[str, int], str]:
    columns: dict[str, int] = {}
    for index, title in enumerate(header):
        for name, titles in TITLES.items():
            if title in titles and name not in columns:
                columns[name] = index
    for name in REQUIRED:
        if name not in columns:
            en, es = TITLES[name][:2]
            raise InputError(f"{path}: no '{en}' column (Spanish '{es}'); the header is: {', '.join(header)}",
                             code="invalid_input", column=en)
    lang = "en" if header[columns["identifier"]] == TITLES["identifier"][0] else "es"
    return columns, lang


def _understand_row(ws: Worksheet, index: int, line: int, tz: str) -> None:
    row = ws.rows[index]

    def get(name: str) -> str | None:
        value = csvcells.unguard(row[ws.columns[name]]).strip() if name in ws.columns else None
        return value or None

    match = _PARTICIPANT.search(row[ws.columns["identifier"]])
    if match is None:
        ws.warnings.append(f"{ws.path}: line {line}: identifier {row[ws.columns['identifier']]!r} "
                           "has no participant number; row ignored")
        return
    participant = match.group(1)
    if participant in ws.entries:
        ws.warnings.append(f"{ws.path}: line {line}: participant {participant} appears twice; first row kept")
        return
    raw_date = get("modified_submission")
    raw_date = None if raw_date == "-" else raw_date   # Moodle's "no date"
    ws.row_index[participant] = index
    ws.entries[participant] = WorksheetRow(
        participant=participant,
        full_name=get("full_name"),
        email=get("email"),
        identity={k: v for k in ("idnumber", "username", "group") if (v := get(k))},
        max_grade=parse_grade(get("max_grade")),
        submitted_at=parse_moodle_date(raw_date, tz),
        submitted_at_raw=raw_date,
    )


def write_worksheet(ws: Worksheet, dest: Path, grades: dict[str, tuple[Decimal | None, str]],
                    decimal_separator: str = ".") -> list[str]:
    """Write ``ws`` to ``dest`` with new Grade and Feedback cells for the participants in ``grades``.

    A grade above the row's Maximum Grade is an InputError (Moodle would skip the row
    silently): the caller caps. Feedback is dropped when the worksheet has no feedback column.
    Returns the participants of ``grades`` that have no row (not written), for the caller to report.
    """
    unknown = sorted(set(grades) - set(ws.row_index))
    raw_rows = [list(r) for r in ws.raw_rows]
    for participant, (grade, feedback) in grades.items():
        if participant in unknown:
            continue
        index = ws.row_index[participant]
        raw_rows[index][ws.columns["grade"]] = csvcells.encode(
            _grade_cell(ws, participant, grade, decimal_separator))
        if "feedback" in ws.columns:
            raw_rows[index][ws.columns["feedback"]] = csvcells.encode(moodle_cell(feedback))
    text = csvcells.render([ws.raw_header, *raw_rows], ws.newline, ws.final_newline)
    _write_text(Path(dest), (BOM if ws.bom else "") + text)
    return unknown


def on_sheet_scale(ws: Worksheet, participant: str, score: Decimal | None, out_of: Decimal) -> Decimal | None:
    """A score out of ``out_of`` as the row's Grade cell holds it: on the row's own Maximum Grade (a
    Moodle 5.1 assignment is out of 100 by default), rounded once, half up, to the decimals Moodle
    shows there, and never above that maximum (Moodle would skip the row without a word)."""
    if score is None:
        return None
    row = ws.entries.get(participant)
    maximum = row.max_grade if row is not None else None
    decimals = decimals_of(ws.cell(participant, "max_grade"))
    step = Decimal(1).scaleb(-(2 if decimals is None else decimals))
    if maximum is None or maximum <= 0:
        return min(score, out_of).quantize(step, rounding=ROUND_HALF_UP)
    scaled = (score * maximum / out_of).quantize(step, rounding=ROUND_HALF_UP)
    return min(scaled, maximum)


def _grade_cell(ws: Worksheet, participant: str, grade: Decimal | None, separator: str) -> str:
    if grade is None:
        return ""
    if grade < 0:
        raise InputError(f"{ws.path}: negative grade {grade} for participant {participant}")
    max_cell = ws.cell(participant, "max_grade")
    decimals = decimals_of(max_cell)
    text = format_grade(grade, separator, 2 if decimals is None else decimals)
    maximum = ws.entries[participant].max_grade
    if maximum is not None and (grade > maximum or parse_grade(text) > maximum):
        raise InputError(f"{ws.path}: grade {grade} for participant {participant} is above the "
                         f"maximum {maximum}; Moodle would skip the row")
    return text


def new_worksheet(dest: Path, rows: list[dict], lang: str = "en", decimal_separator: str = ".") -> None:
    """A worksheet Moodle's upload accepts, for when none was downloaded.

    ``rows``: dicts with participant, full_name, email, grade (Decimal|None), max_grade (Decimal), feedback.
    """
    if lang not in _IDENTIFIER_WORD:
        raise InputError(f"{dest}: worksheet language must be 'en' or 'es', not {lang!r}")
    column = 0 if lang == "en" else 1
    header = [csvcells.encode(TITLES[name][column]) for name in NEW_COLUMNS]
    body = []
    for row in rows:
        grade, maximum = row.get("grade"), row["max_grade"]
        if grade is not None and grade > maximum:
            raise InputError(f"{dest}: grade {grade} for participant {row['participant']} is above "
                             f"the maximum {maximum}")
        cells = [
            _IDENTIFIER_WORD[lang] + str(row["participant"]),
            _plain_cell(row.get("full_name")),
            _plain_cell(row.get("email")),
            format_grade(grade, decimal_separator),
            format_grade(maximum, decimal_separator),
            "-",
            moodle_cell(row.get("feedback")),
        ]
        body.append([csvcells.encode(c) for c in cells])
    _write_text(Path(dest), BOM + csvcells.render([header, *body]))


def _plain_cell(text: str | None) -> str:
    """A name or email for a new worksheet: Moodle ignores these columns on upload, but fgetcsv still
    reads them, so no backslash may precede a quote."""
    return csvcells.guard((text or "").replace("\\", "/"))


def _write_text(dest: Path, text: str) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    # newline="" so the line endings chosen above reach the file unchanged
    with dest.open("w", encoding="utf-8", newline="") as fh:
        fh.write(text)
