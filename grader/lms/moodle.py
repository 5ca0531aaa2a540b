"""Every Moodle format in one place: archive entry names, the grading worksheet, the gradebook CSV.

The pieces live in small sibling modules; import them from here. Nothing here reads
submissions' contents or decides grades: it only reads and writes Moodle's formats.
"""
from __future__ import annotations

from grader.lms.archive_names import (BLIND_WORDS, DEFAULT_TEAMS, EntryName, clean_like_moodle,
                                      infer_groups, name_key, parse_entry_name)
from grader.lms.dates import parse_moodle_date
from grader.lms.gradebook import USER_KEY_HEADERS, write_gradebook_csv
from grader.lms.numbers import format_grade, parse_grade
from grader.lms.worksheet import TITLES, Worksheet, new_worksheet, read_worksheet, write_worksheet

__all__ = [
    "BLIND_WORDS", "DEFAULT_TEAMS", "EntryName", "TITLES", "USER_KEY_HEADERS", "Worksheet",
    "clean_like_moodle", "format_grade", "infer_groups", "name_key", "new_worksheet",
    "parse_entry_name", "parse_grade", "parse_moodle_date", "read_worksheet", "write_gradebook_csv",
    "write_worksheet",
]
