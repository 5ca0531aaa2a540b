"""What goes into Moodle's files: each practical's worksheet to upload, the gradebook's course.csv (and the
students it cannot carry, in course-not-imported.csv), and the lines naming every student Moodle will not take
from them as written.

Formats are written by the sibling modules; this module only decides what goes in them. It never writes a grade
above a worksheet's maximum, nor a gradebook row Moodle would abort the whole import on.
"""
from __future__ import annotations

import csv
from collections import Counter
from decimal import Decimal
from pathlib import Path

from grader.i18n import msg, render
from grader.lms import csvcells
from grader.lms.moodle.gradebook import USER_KEY_HEADERS, write_gradebook_csv
from grader.lms.moodle.worksheet import Worksheet, new_worksheet, on_sheet_scale, write_worksheet
from grader.prose_numbers import grade
from grader.records import CourseGrade, Flag, PracticalScore
from grader.reports.feedback import comment_text
from grader.scoring import feedback_line
from grader.loaded_assignment import Titles

NOT_IMPORTED_NAME = "course-not-imported.csv"
_LOCKED = {"no"}    # "Grade can be changed": No (English and Spanish alike)


def write_practical_worksheet(dest: Path, scores: list[PracticalScore], worksheet: Worksheet | None, lang: str,
                              decimal_separator: str = ".", titles: Titles | None = None) -> list[Flag]:
    """The worksheet to upload; returns the students Moodle will not take from it as written."""
    if worksheet is None:
        rows = [{"participant": s.participant, "full_name": s.full_name, "email": s.email or "",
                 "grade": None if s.score is None else min(s.score, s.max_score), "max_grade": s.max_score,
                 "feedback": comment_text(s, lang, titles)} for s in scores]
        new_worksheet(dest, rows, lang=lang, decimal_separator=decimal_separator)
        return worksheet_attention(scores, None, lang)
    on_sheet = on_sheet_grades(scores, worksheet)   # once per student: the cell, its comment and the check agree
    grades = {s.participant: (on_sheet[s.participant],
                              comment_text(s, lang, titles, (on_sheet[s.participant],
                                                             worksheet.entries[s.participant].max_grade)))
              for s in scores if s.participant in worksheet.entries}
    write_worksheet(worksheet, dest, grades, decimal_separator=decimal_separator)
    return worksheet_attention(scores, worksheet, lang, on_sheet)


def on_sheet_grades(scores: list[PracticalScore], worksheet: Worksheet) -> dict[str, Decimal | None]:
    """participant -> the grade as the worksheet's Grade cell holds it (its own scale), for its rows."""
    return {s.participant: on_sheet_scale(worksheet, s.participant, s.score, s.max_score)
            for s in scores if s.participant in worksheet.entries}


def worksheet_attention(scores: list[PracticalScore], worksheet: Worksheet | None, lang: str,
                        on_sheet: dict[str, Decimal | None] | None = None) -> list[Flag]:
    """The students of one practical Moodle will not take from its worksheet upload as written."""
    if worksheet is None:
        return [_flag("moodle_zero_not_stored", s, lang) for s in scores if s.score is not None and s.score == 0]
    on_sheet = on_sheet_grades(scores, worksheet) if on_sheet is None else on_sheet
    attention = []
    for s in scores:
        if s.participant not in worksheet.entries:
            attention.append(_flag("moodle_no_row", s, lang, file=worksheet.path.name, score=_shown(s.score, lang)))
            continue
        attention += _not_taken(worksheet, s, on_sheet[s.participant], lang)
    return attention


def _not_taken(worksheet: Worksheet, s: PracticalScore, on_sheet: Decimal | None, lang: str) -> list[Flag]:
    """Rows Moodle's worksheet upload skips without a word."""
    flags = []
    if on_sheet is not None and on_sheet == 0:
        flags.append(_flag("moodle_zero_not_stored", s, lang))
    changeable = (worksheet.cell(s.participant, "changeable") or "").strip().casefold()
    if on_sheet is not None and changeable in _LOCKED:
        flags.append(_flag("moodle_grade_locked", s, lang))
    return flags


def write_course_csv(dest: Path, grades: list[CourseGrade], lang: str, user_key: str, item: str,
                     names: dict[str, str]) -> list[Flag]:
    """course.csv for the gradebook import, with only rows Moodle accepts; the rest go to
    course-not-imported.csv (one bad row would abort the whole import) and are returned.
    ``names``: practical id -> its title in ``lang``, as the gradebook's Feedback names it."""
    refused = _refusals(grades, lang, user_key, names)
    out = {id(g) for g, _, _ in refused}
    rows = [(g.student.key.strip(), g.grade, feedback_line(g.scores, g.counted, lang, names))
            for g in grades if id(g) not in out]
    write_gradebook_csv(dest, user_key, item, rows)
    _write_not_imported(dest.with_name(NOT_IMPORTED_NAME), USER_KEY_HEADERS[user_key], item, refused)
    return _course_flags(refused, lang)


def course_attention(grades: list[CourseGrade], lang: str, user_key: str, names: dict[str, str]) -> list[Flag]:
    """The students ``write_course_csv`` leaves out, without writing a file."""
    return _course_flags(_refusals(grades, lang, user_key, names), lang)


def _refusals(grades: list[CourseGrade], lang: str, user_key: str,
              names: dict[str, str]) -> list[tuple[CourseGrade, str, str]]:
    """(grade, feedback, why) for each row Moodle's gradebook import would refuse: no key, or a shared one."""
    header = USER_KEY_HEADERS[user_key]
    keys = Counter(_fold(g.student.key) for g in grades if _fold(g.student.key))
    refused = []
    for g in grades:
        key = _fold(g.student.key)
        why = (render(msg("moodle_no_key", header=header), lang) if not key else
               render(msg("moodle_shared_key", header=header, key=g.student.key), lang)
               if keys[key] > 1 else None)
        if why is not None:
            refused.append((g, feedback_line(g.scores, g.counted, lang, names), why))
    return refused


def _course_flags(refused: list[tuple[CourseGrade, str, str]], lang: str) -> list[Flag]:
    return [Flag("course", ", ".join(f"{p} {n}" for p, n in g.student.participants.items()), g.student.full_name,
                 render(msg("moodle_not_imported", why=why, grade=grade(g.grade, lang), file=NOT_IMPORTED_NAME), lang))
            for g, _, why in refused]


def _write_not_imported(dest: Path, header: str, item: str, refused: list) -> None:
    if not refused:
        dest.unlink(missing_ok=True)   # a stale list would name students who are imported now
        return
    with dest.open("w", newline="", encoding="utf-8-sig") as fh:
        out = csv.writer(fh)
        out.writerow(["Full name", header, item, "Feedback", "reason"])
        for g, feedback, why in refused:
            out.writerow([csvcells.guard(c) for c in (g.student.full_name, g.student.key or "", str(g.grade), feedback,
                                                      why)])


def _fold(key: str | None) -> str:
    # Moodle matches e-mail addresses and usernames without regard to case: so must the duplicate check
    return (key or "").strip().casefold()


def _flag(code: str, s: PracticalScore, lang: str, **params) -> Flag:
    """A line for the instructor, in the course language (the report and the command's summary are)."""
    return Flag(s.practical, s.participant, s.full_name, render(msg(code, **params), lang))


def _shown(score: Decimal | None, lang: str) -> str:
    return render(msg("moodle_no_score"), lang) if score is None else grade(score, lang)
