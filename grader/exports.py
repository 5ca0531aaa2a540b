"""Files that leave the grader: the Moodle worksheet per practical, the gradebook CSV, results.csv.

Formats themselves live in grader/lms/moodle.py; this module only decides what goes in them.
It never writes a grade above a worksheet's Maximum Grade nor a gradebook row without a user key.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from grader.course import Course
from grader.i18n import render
from grader.lms.moodle import Worksheet, new_worksheet, write_gradebook_csv, write_worksheet
from grader.records import CourseGrade, PracticalScore
from grader.reports.feedback import comment_text, write_feedback
from grader.reports.summary import write_report
from grader.scoring import feedback_line

RESULTS_COLUMNS = ["practical", "participant", "full_name", "email", "status", "score", "max_score", "late",
                   "reason", "duration_s"]
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class ExportReport:
    files: list[Path]
    warnings: list[str]


def write_all(out_dir: Path, course: Course, scores: list[PracticalScore], grades: list[CourseGrade],
              worksheets: dict[str, Worksheet | None]) -> ExportReport:
    moodle_dir = out_dir / "moodle"
    moodle_dir.mkdir(parents=True, exist_ok=True)
    files, warnings = [], []
    for practical in course.practicals:
        mine = [s for s in scores if s.practical == practical]
        dest = moodle_dir / f"{practical}.csv"
        warnings += write_practical_worksheet(dest, mine, worksheets.get(practical), course)
        files.append(dest)
    dest = moodle_dir / "course.csv"
    warnings += write_course_csv(dest, grades, course)
    files.append(dest)
    dest = out_dir / "results.csv"
    write_results_csv(dest, scores)
    files.append(dest)
    _, feedback_warnings = write_feedback(out_dir, scores, course.lang)
    warnings += feedback_warnings
    files += [out_dir / "feedback", write_report(out_dir, course, scores, grades, warnings)]
    return ExportReport(files, warnings)


def feedback_comment(score: PracticalScore, lang: str) -> str:
    """The short plain-text summary Moodle shows in 'Feedback comments' (hidden checks as one total)."""
    return comment_text(score, lang)


def write_practical_worksheet(dest: Path, scores: list[PracticalScore], worksheet: Worksheet | None,
                              course: Course) -> list[str]:
    sep, lang = course.moodle.decimal_separator, course.lang
    if worksheet is None:
        rows = [{"participant": s.participant, "full_name": s.full_name, "email": s.email or "",
                 "grade": _cap(s.score, s.max_score), "max_grade": s.max_score,
                 "feedback": feedback_comment(s, lang)} for s in scores]
        new_worksheet(dest, rows, lang=lang, decimal_separator=sep)
        return []
    grades, warnings = {}, []
    for s in scores:
        row = worksheet.entries.get(s.participant)
        if row is None:
            warnings.append(f"{worksheet.path.name}: participant {s.participant} ({s.full_name}) has no row; "
                            "their grade is only in results.csv")
            continue
        grades[s.participant] = (_on_scale(s.score, s.max_score, row.max_grade), feedback_comment(s, lang))
    write_worksheet(worksheet, dest, grades, decimal_separator=sep)
    return warnings


def write_course_csv(dest: Path, grades: list[CourseGrade], course: Course) -> list[str]:
    rows, warnings = [], []
    for g in grades:
        if not g.student.key:
            warnings.append(f"course.csv: {g.student.full_name} has no {course.moodle.user_key} (no worksheet "
                            f"row): left out, grade {g.grade} in results.csv")
            continue
        rows.append((g.student.key, g.grade, feedback_line(g.scores, g.counted, course.lang)))
    write_gradebook_csv(dest, course.moodle.user_key, course.moodle.course_grade_item, rows)
    return warnings


def write_results_csv(dest: Path, scores: list[PracticalScore]) -> None:
    with dest.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(RESULTS_COLUMNS)
        for s in scores:
            out.writerow([s.practical, s.participant, s.full_name, s.email or "", s.status,
                          "" if s.score is None else str(s.score), str(s.max_score), s.late,
                          render(s.reason, "en"), "" if s.duration_s is None else f"{s.duration_s:.1f}"])


def _cap(score: Decimal | None, max_score: Decimal) -> Decimal | None:
    return None if score is None else min(score, max_score)


def _on_scale(score: Decimal | None, max_score: Decimal, worksheet_max: Decimal | None) -> Decimal | None:
    """The practical's score on the worksheet's own scale (a Moodle item may be out of 100)."""
    if score is None:
        return None
    if worksheet_max is None or worksheet_max == max_score:
        return _cap(score, max_score)
    scaled = (score * worksheet_max / max_score).quantize(_CENT, rounding=ROUND_HALF_UP)
    return min(scaled, worksheet_max)
