"""Moodle behind the LMS protocol (grader/lms/base.py): its archive's entry names, each practical's grading
worksheet as roster and lateness, and its files to upload under ``out/moodle/``: a worksheet and a feedback zip
per practical, the gradebook's course.csv, and the lines naming every student Moodle will not take from them.

It joins the pieces of this package; the formats are written by the sibling modules. Never grades.
"""
from __future__ import annotations

from typing import Iterable

from grader.errors import InputError
from grader.lms.base import EntryName, Lms, LmsExport
from grader.lms.moodle import archive_names, exports, inputs
from grader.lms.moodle.feedback_zip import FeedbackFiles, write_feedback_zip
from grader.lms.moodle.options import MoodleOptions
from grader.lms.moodle.worksheet import Worksheet
from grader.records import CourseGrade, Flag, PracticalScore
from grader.submissions import listed_participants

FOLDER = "moodle"   # out/moodle/: what is uploaded to Moodle


class MoodleLms(Lms):
    name = "moodle"
    title = "Moodle"
    options_table = "moodle"
    options_model = MoodleOptions
    blind_words = archive_names.BLIND_WORDS

    def __init__(self, course, titles, *, user_key: str = "email", course_grade_item: str = "Prácticas",
                 decimal_separator: str = ".") -> None:
        super().__init__(course, titles)
        self.user_key, self.course_grade_item, self.decimal_separator = user_key, course_grade_item, decimal_separator
        self.worksheets: dict[str, Worksheet | None] = {}

    # --- intake ---------------------------------------------------------------------------------------------
    @classmethod
    def entry_name(cls, name: str, groups: Iterable[str] | None) -> EntryName | None:
        """From the first path part that names a Moodle submission (a re-zipped folder adds parents)."""
        parts = name.replace("\\", "/").split("/")
        for index, part in enumerate(parts):
            if "_assignsubmission_" in part:
                return archive_names.parse_entry_name("/".join(parts[index:]), groups)
        return None

    @classmethod
    def infer_groups(cls, prefixes: Iterable[tuple[str, str]]) -> set[str]:
        return archive_names.infer_groups(prefixes)

    @classmethod
    def name_key(cls, full_name: str) -> str:
        return archive_names.name_key(full_name)

    def match_key(self, key: str) -> str:
        # Mailboxes are matched without regard to case; ID numbers and usernames exactly.
        return key.casefold() if self.user_key == "email" else key

    # --- roster and lateness: the worksheets ----------------------------------------------------------------
    def read_inputs(self, *, strict: bool = True) -> None:
        course = self.course
        for pid, cfg in course.practicals.items():
            if cfg.worksheet is None:
                self.worksheets[pid] = None
                continue
            try:
                self.worksheets[pid] = inputs.read_checked(course, pid, cfg.worksheet)
            except (InputError, OSError) as err:
                if strict:
                    raise
                # a report rebuilt later is still worth having: this practical's rows are left unsaid
                self.warnings.append(f"practicals.{pid}.worksheet: {err}; the students Moodle would not take from "
                                     f"{pid}'s worksheet are not listed")
        if strict:
            listed = {pid: listed_participants(cfg.submissions, self) for pid, cfg in course.practicals.items()}
            for pid, ws in self.worksheets.items():
                inputs.check_separator(course, pid, ws, self.decimal_separator)
                if ws is not None:
                    inputs.check_belongs(course, pid, ws, listed, self.worksheets)
        for pid, ws in self.worksheets.items():
            if ws is not None:
                self.rosters[pid], said = inputs.roster(ws, self.user_key)
                self.warnings += ws.warnings + said

    # --- export ---------------------------------------------------------------------------------------------
    def export(self, out, scores: list[PracticalScore], grades: list[CourseGrade]) -> LmsExport:
        folder, lang = out.lms_dir(FOLDER), self.course.lang
        folder.mkdir(parents=True, exist_ok=True)
        files, warnings, attention = [], [], []
        for pid in self.course.practicals:
            mine = [s for s in scores if s.practical == pid]
            dest = folder / f"{pid}.csv"
            attention += exports.write_practical_worksheet(dest, mine, self.worksheets.get(pid), lang,
                                                           self.decimal_separator, self.titles.get(pid))
            files.append(dest)
        dest = folder / "course.csv"
        attention += exports.write_course_csv(dest, grades, lang, self.user_key, self.course_grade_item,
                                              self._names())
        files.append(dest)
        for pid in self.course.practicals:
            pages = [FeedbackFiles(s.participant, s.full_name, out.feedback_page(pid, s.participant),
                                   (out.notebook_page(pid, s.participant),))
                     for s in scores if s.practical == pid and s.status != "missing"]
            archive, left_out = write_feedback_zip(folder / f"{pid}-feedback.zip", pages)
            files.append(archive)
            warnings += left_out
        return LmsExport(files, warnings, attention)

    def attention(self, scores: list[PracticalScore], grades: list[CourseGrade]) -> list[Flag]:
        found = []
        for pid in self.course.practicals:
            if pid not in self.worksheets:   # its worksheet could not be read again: nothing to say about it
                continue
            found += exports.worksheet_attention([s for s in scores if s.practical == pid], self.worksheets[pid],
                                                 self.course.lang)
        return found + exports.course_attention(grades, self.course.lang, self.user_key, self._names())

    def _names(self) -> dict[str, str]:
        """practical id -> its title in the course language, as the gradebook's Feedback names it."""
        return {pid: titles.of_practical(self.course.lang) for pid, titles in self.titles.items()}
