"""Files that leave the grader, whatever the LMS: results.csv, each student's feedback pages and the report; then
the course's LMS adapter writes its own files (grader/lms/) and names the students it will not take as written
(``ExportReport.attention``), which the report lists with the rest.

Decides what goes in the LMS-neutral files only; it never writes a grade an LMS would read.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from grader.course import Course
from grader.i18n import render
from grader.lms import csvcells
from grader.lms.base import Lms
from grader.out_layout import OutLayout
from grader.records import CourseGrade, Flag, PracticalScore
from grader.reports.feedback import write_feedback
from grader.reports.summary import write_report
from grader.loaded_assignment import Titles

RESULTS_COLUMNS = ["practical", "participant", "full_name", "email", "status", "score", "max_score", "late",
                   "reason", "duration_s"]


@dataclass(frozen=True)
class ExportReport:
    files: list[Path]
    warnings: list[str]
    attention: list[Flag]       # students the LMS will not take from its files as written


def write_all(out: OutLayout, course: Course, scores: list[PracticalScore], grades: list[CourseGrade], lms: Lms,
              titles: dict[str, Titles]) -> ExportReport:
    """Every file of a batch under ``out``; ``titles``: per practical, what people read instead of ids (the
    report's include the hidden checks')."""
    out.root.mkdir(parents=True, exist_ok=True)
    write_results_csv(out.results_csv, scores)
    _, warnings = write_feedback(out, scores, course.lang, titles={pid: t.public() for pid, t in titles.items()},
                              hide=[course.data_dir])
    exported = lms.export(out, scores, grades)
    warnings += exported.warnings
    report = write_report(out, course, scores, grades, titles, warnings, exported.attention)
    return ExportReport([*exported.files, out.results_csv, out.feedback_dir, report], warnings, exported.attention)


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
