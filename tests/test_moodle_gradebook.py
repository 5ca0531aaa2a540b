"""The gradebook "Import grades from CSV" file."""
import csv
from decimal import Decimal

import pytest

from grader.errors import InputError
from grader.lms.moodle.gradebook import USER_KEY_HEADERS, write_gradebook_csv
from grader.lms.moodle.numbers import format_grade


def _read(path):
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


@pytest.mark.parametrize("key,title", [("email", "Email address"), ("idnumber", "ID number"),
                                       ("username", "Username")])
def test_header_titles_follow_the_user_key(tmp_path, key, title):
    dest = tmp_path / "course.csv"
    write_gradebook_csv(dest, key, "Prácticas", [("x", Decimal("8.5"), "ok")])
    assert _read(dest)[0] == [title, "Prácticas", "Feedback"]
    assert USER_KEY_HEADERS[key] == title


def test_values_use_dot_decimals_and_empty_when_ungraded(tmp_path):
    dest = tmp_path / "course.csv"
    write_gradebook_csv(dest, "email", "Prácticas", [
        ("ana@uni.es", Decimal("8.5"), "MNIST 9.0 · RNN 8.0"),
        ("luis@uni.es", None, "nothing handed in"),
    ])
    rows = _read(dest)
    assert rows[1] == ["ana@uni.es", "8.5", "MNIST 9.0 · RNN 8.0"]
    assert rows[2] == ["luis@uni.es", "", "nothing handed in"]


def test_a_course_grade_is_written_with_its_own_digits_never_rounded_again(tmp_path):
    dest = tmp_path / "course.csv"
    write_gradebook_csv(dest, "email", "Prácticas", [("ana@uni.es", Decimal("7.801"), ""),
                                                      ("bea@uni.es", Decimal("10.0"), "")])
    assert [r[1] for r in _read(dest)[1:]] == ["7.801", "10.0"]


def test_an_empty_key_is_refused(tmp_path):
    dest = tmp_path / "course.csv"
    with pytest.raises(InputError, match="empty Email address"):
        write_gradebook_csv(dest, "email", "Prácticas", [("ana@uni.es", Decimal(9), ""), ("  ", Decimal(7), "")])
    assert not dest.exists()


def test_a_duplicated_key_and_an_unknown_user_key_are_refused(tmp_path):
    with pytest.raises(InputError, match="twice"):
        write_gradebook_csv(tmp_path / "a.csv", "email", "P", [("a@x.es", None, ""), ("A@x.es", None, "")])
    with pytest.raises(InputError, match="user key"):
        write_gradebook_csv(tmp_path / "b.csv", "id", "P", [])


def test_a_grade_moodle_would_reject_is_refused(tmp_path):
    with pytest.raises(InputError, match="0..100"):
        write_gradebook_csv(tmp_path / "a.csv", "email", "P", [("a@x.es", Decimal("100.5"), "")])


def test_feedback_is_written_as_the_html_moodle_shows_as_that_text(tmp_path):
    dest = tmp_path / "course.csv"
    write_gradebook_csv(dest, "username", "P", [("ana", Decimal(5), "=HYPERLINK(1)"), ("eva", Decimal(6), "a < b & C:\\x\nok")])
    rows = _read(dest)
    # a spreadsheet does not see a formula, and Moodle shows "=HYPERLINK(1)" with no apostrophe before it
    assert rows[1][2] == "&#61;HYPERLINK(1)"
    assert rows[2][2] == "a &lt; b &amp; C:/x ok"


def test_format_grade_is_decimal_only_and_empty_for_none():
    assert format_grade(Decimal("8.5")) == "8.50"
    assert format_grade(Decimal("8.5"), ",") == "8,50"
    assert format_grade(Decimal("8.125"), decimals=2) == "8.13"
    assert format_grade(Decimal("9"), decimals=0) == "9"
    assert format_grade(None) == ""
    with pytest.raises(TypeError):
        format_grade(8.5)
