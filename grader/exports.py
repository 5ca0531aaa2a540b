"""Files that leave the grader: the Moodle worksheet and feedback zip per practical, the gradebook CSV,
results.csv, feedback pages and the report.

Formats themselves live in grader/lms/; this module only decides what goes in them. It never writes a
grade above a worksheet's maximum, nor a gradebook row Moodle would abort the whole import on: such rows
go to ``course-not-imported.csv``, and every student Moodle will not take as written is named for the
instructor (``ExportReport.attention``).
"""
from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from grader.assignment import Titles, load_titles
from grader.course import Course
from grader.i18n import msg, render
from grader.lms import csvcells
from grader.lms.feedback_zip import FeedbackFiles, write_feedback_zip
from grader.lms.moodle import (USER_KEY_HEADERS, Worksheet, new_worksheet, write_gradebook_csv,
                               write_worksheet)
from grader.lms.worksheet import on_sheet_scale
from grader.prose_numbers import grade
from grader.records import CourseGrade, Flag, PracticalScore
from grader.reports.feedback import comment_text, write_feedback
from grader.reports.summary import write_report
from grader.scoring import feedback_line

RESULTS_COLUMNS = ["practical", "participant", "full_name", "email", "status", "score", "max_score", "late",
                   "reason", "duration_s"]
NOT_IMPORTED_NAME = "course-not-imported.csv"
_LOCKED = {"no"}    # "Grade can be changed": No (English and Spanish alike)


@dataclass(frozen=True)
class ExportReport:
    files: list[Path]
    warnings: list[str]
    attention: list[Flag]       # students Moodle will not take from these files as written


def write_all(out_dir: Path, course: Course, scores: list[PracticalScore], grades: list[CourseGrade],
              worksheets: dict[str, Worksheet | None]) -> ExportReport:
    moodle_dir = out_dir / "moodle"
    moodle_dir.mkdir(parents=True, exist_ok=True)
    files, warnings, attention = [], [], []
    for practical in course.practicals:
        mine = [s for s in scores if s.practical == practical]
        dest = moodle_dir / f"{practical}.csv"
        attention += write_practical_worksheet(dest, mine, worksheets.get(practical), course)
        files.append(dest)
    dest = moodle_dir / "course.csv"
    attention += write_course_csv(dest, grades, course)
    files.append(dest)
    dest = out_dir / "results.csv"
    write_results_csv(dest, scores)
    files.append(dest)
    _, feedback_warnings = write_feedback(out_dir, scores, course.lang, titles=practical_titles(course),
                                          hide=[course.data_dir])
    warnings += feedback_warnings
    for practical in course.practicals:
        archive, left_out = write_feedback_zip(moodle_dir / f"{practical}-feedback.zip",
                                               feedback_files(out_dir, [s for s in scores if s.practical == practical]))
        files.append(archive)
        warnings += left_out
    files += [out_dir / "feedback", write_report(out_dir, course, scores, grades, warnings, attention)]
    return ExportReport(files, warnings, attention)


def practical_titles(course: Course) -> dict[str, Titles]:
    """What students read instead of ids, from each practical's assignment.toml."""
    return {pid: load_titles(pid, cfg.assignment_dir) for pid, cfg in course.practicals.items()}


def feedback_comment(score: PracticalScore, lang: str, titles: Titles | None = None,
                     on_sheet: tuple[Decimal | None, Decimal | None] | None = None) -> str:
    """The short plain-text summary Moodle shows in 'Feedback comments' (hidden checks as one total);
    ``on_sheet``: the grade and maximum of the worksheet's row, when it has its own scale."""
    return comment_text(score, lang, titles, on_sheet)


def _titles_of(course: Course, scores: list[PracticalScore]) -> Titles | None:
    practical = scores[0].practical if scores else None
    return load_titles(practical, course.practicals[practical].assignment_dir) if practical in course.practicals else None


def feedback_files(out_dir: Path, scores: list[PracticalScore]) -> list[FeedbackFiles]:
    """The pages write_feedback wrote for each student who handed something in."""
    found = []
    for s in scores:
        if s.status == "missing":
            continue
        folder = out_dir / "feedback" / s.practical
        found.append(FeedbackFiles(s.participant, s.full_name, folder / f"{s.participant}.html",
                                   (folder / f"{s.participant}-notebook.html",)))
    return found


def write_practical_worksheet(dest: Path, scores: list[PracticalScore], worksheet: Worksheet | None,
                              course: Course) -> list[Flag]:
    """The worksheet to upload; returns the students Moodle will not take from it as written."""
    sep, lang = course.moodle.decimal_separator, course.lang
    named = _titles_of(course, scores)
    if worksheet is None:
        rows = [{"participant": s.participant, "full_name": s.full_name, "email": s.email or "",
                 "grade": None if s.score is None else min(s.score, s.max_score), "max_grade": s.max_score,
                 "feedback": feedback_comment(s, lang, named)} for s in scores]
        new_worksheet(dest, rows, lang=lang, decimal_separator=sep)
    else:
        grades = {}
        for s in scores:
            if s.participant in worksheet.entries:
                sheet = on_sheet_scale(worksheet, s.participant, s.score, s.max_score)
                maximum = worksheet.entries[s.participant].max_grade
                grades[s.participant] = (sheet, feedback_comment(s, lang, named, (sheet, maximum)))
        write_worksheet(worksheet, dest, grades, decimal_separator=sep)
    return worksheet_attention(scores, worksheet, lang)


def worksheet_attention(scores: list[PracticalScore], worksheet: Worksheet | None, lang: str) -> list[Flag]:
    """The students of one practical Moodle will not take from its worksheet upload as written."""
    if worksheet is None:
        return [_flag("exports_zero_not_stored", s, lang) for s in scores if s.score is not None and s.score == 0]
    attention = []
    for s in scores:
        if s.participant not in worksheet.entries:
            attention.append(_flag("exports_no_row", s, lang, file=worksheet.path.name, score=_shown(s.score, lang)))
            continue
        attention += _not_taken(worksheet, s, on_sheet_scale(worksheet, s.participant, s.score, s.max_score), lang)
    return attention


def moodle_attention(course: Course, scores: list[PracticalScore], grades: list[CourseGrade],
                     worksheets: dict[str, Worksheet | None]) -> list[Flag]:
    """What ``write_all`` names for a human, computed without writing a file (``grader report`` needs it)."""
    attention = []
    for practical in course.practicals:
        if practical not in worksheets:   # its worksheet could not be read again: nothing to say about it
            continue
        attention += worksheet_attention([s for s in scores if s.practical == practical], worksheets.get(practical),
                                         course.lang)
    return attention + _course_flags(_refusals(grades, course), course)


def _not_taken(worksheet: Worksheet, s: PracticalScore, on_sheet: Decimal | None, lang: str) -> list[Flag]:
    """Rows Moodle's worksheet upload skips without a word."""
    flags = []
    if on_sheet is not None and on_sheet == 0:
        flags.append(_flag("exports_zero_not_stored", s, lang))
    changeable = (worksheet.cell(s.participant, "changeable") or "").strip().casefold()
    if on_sheet is not None and changeable in _LOCKED:
        flags.append(_flag("exports_grade_locked", s, lang))
    return flags


def write_course_csv(dest: Path, grades: list[CourseGrade], course: Course) -> list[Flag]:
    """course.csv for the gradebook import, with only rows Moodle accepts; the rest go to
    course-not-imported.csv (one bad row would abort the whole import) and are returned."""
    refused = _refusals(grades, course)
    out = {id(g) for g, _, _ in refused}
    names = _practical_names(course)
    rows = [(g.student.key.strip(), g.grade, feedback_line(g.scores, g.counted, course.lang, names))
            for g in grades if id(g) not in out]
    write_gradebook_csv(dest, course.moodle.user_key, course.moodle.course_grade_item, rows)
    _write_not_imported(dest.with_name(NOT_IMPORTED_NAME), USER_KEY_HEADERS[course.moodle.user_key],
                        course.moodle.course_grade_item, refused)
    return _course_flags(refused, course)


def _refusals(grades: list[CourseGrade], course: Course) -> list[tuple[CourseGrade, str, str]]:
    """(grade, feedback, why) for each row Moodle's gradebook import would refuse: no key, or a shared one."""
    header = USER_KEY_HEADERS[course.moodle.user_key]
    keys = Counter(_fold(g.student.key) for g in grades if _fold(g.student.key))
    refused = []
    for g in grades:
        key = _fold(g.student.key)
        why = (render(msg("exports_no_key", header=header), course.lang) if not key else
               render(msg("exports_shared_key", header=header, key=g.student.key), course.lang)
               if keys[key] > 1 else None)
        if why is not None:
            refused.append((g, feedback_line(g.scores, g.counted, course.lang, _practical_names(course)), why))
    return refused


def _practical_names(course: Course) -> dict[str, str]:
    """practical id -> its title in the course language, as the gradebook's Feedback names it."""
    return {pid: titles.of_practical(course.lang) for pid, titles in practical_titles(course).items()}


def _course_flags(refused: list[tuple[CourseGrade, str, str]], course: Course) -> list[Flag]:
    return [Flag("course", ", ".join(f"{p} {n}" for p, n in g.student.participants.items()), g.student.full_name,
                 render(msg("exports_not_imported", why=why, grade=grade(g.grade, course.lang), file=NOT_IMPORTED_NAME),
                        course.lang))
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


def write_results_csv(dest: Path, scores: list[PracticalScore]) -> None:
    """For people and scripts: every cell guarded, so a spreadsheet opens a name like "=2+5" as text."""
    with dest.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(RESULTS_COLUMNS)
        for s in scores:
            out.writerow([csvcells.guard(c) for c in (
                s.practical, s.participant, s.full_name, s.email or "", s.status,
                _cents(s.score), _cents(s.max_score), s.late,
                render(s.reason, "en"), "" if s.duration_s is None else f"{s.duration_s:.1f}")])


def _cents(value: Decimal | None) -> str:
    """A score as results.csv writes every score: two decimals ("4.50" beside "9.00"), never rounded (a
    figure with more digits, say an override's, keeps them)."""
    if value is None:
        return ""
    return str(value.quantize(Decimal("0.01"))) if value.as_tuple().exponent >= -2 else str(value)


def _fold(key: str | None) -> str:
    # Moodle matches e-mail addresses and usernames without regard to case: so must the duplicate check
    return (key or "").strip().casefold()


def _flag(code: str, s: PracticalScore, lang: str, **params) -> Flag:
    """A line for the instructor, in the course language (the report and the command's summary are)."""
    return Flag(s.practical, s.participant, s.full_name, render(msg(code, **params), lang))


def _shown(score: Decimal | None, lang: str) -> str:
    return render(msg("exports_no_score"), lang) if score is None else grade(score, lang)
