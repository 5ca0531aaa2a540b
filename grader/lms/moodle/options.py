"""The declared schema of course.toml's [moodle] table (pydantic): how grades and students meet Moodle.

Validated by the adapter's registry entry (grader/lms/base.py: validate_options); its rows of the README's key
table are printed from here (grader/config_doc.py). Reads no file.
"""
from __future__ import annotations

from pydantic import Field

from grader.config_types import Table, Text, doc, one_of

USER_KEYS = ("email", "idnumber", "username")
DECIMAL_SEPARATORS = (".", ",")


class MoodleOptions(Table):
    user_key: one_of(*USER_KEYS) = Field("email", **doc(
        "string", '"email"', "joins a student across practicals, and keys `course.csv`: `email`, `idnumber`, "
        "`username`"))
    course_grade_item: Text = Field("Prácticas", **doc("string", '"Prácticas"', "title of the course-grade "
                                                                                "column in `course.csv`"))
    # "." by default: Moodle turns only the uploader's own separator into "." (unformat_float), so "8.50" is
    # read right in every language, whatever language each worksheet came from (../shared/MOODLE.md 2, 7)
    decimal_separator: one_of(*DECIMAL_SEPARATORS) = Field(".", **doc(
        "string", '"."', 'how worksheet grades are written; `"."` is read right by Moodle in every language, so '
        "English and Spanish worksheets grade alike; `\",\"` (optional) is refused for a worksheet whose numbers "
        "use `.` (`10.00`), where Moodle would store `9,50` as 9"))
