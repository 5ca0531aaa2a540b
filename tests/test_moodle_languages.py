"""A course whose worksheets came from interfaces in two languages (one `10.00`, one `10,00`) grades, and
Moodle 4.x and 5.1 store every grade from both as graded (their importers' rules: tests/moodle_rules.py,
from ../shared/MOODLE.md sections 2, 3 and 7)."""
from __future__ import annotations

import pytest

from grader.course import load_course
from grader.errors import InputError
from grader.pipeline import grade_course
from grader.preflight import check_course_inputs
from moodle_rules import VERSIONS, Refused, feedback_problems, import_gradebook, unformat_float, upload_worksheet
from two_practicals import two_practicals_course


def _refusal(tmp_path, **kwargs) -> str | None:
    course = load_course(two_practicals_course(tmp_path, **kwargs))
    try:
        check_course_inputs(course)
    except InputError as err:
        return str(err)
    return None


def test_unformat_float_reads_a_dot_in_every_language_and_a_comma_only_where_it_is_the_separator():
    assert unformat_float("8.50", ".") == unformat_float("8.50", ",") == 8.5
    assert unformat_float("8,50", ",") == 8.5 and unformat_float("8,50", ".") == 8.0   # stored as 8, silently
    assert unformat_float("", ".") is None and unformat_float("-", ".") == 0.0
    assert unformat_float("8,5", ".", strict=True) is None


def test_worksheets_in_two_languages_pass_the_course_checks_without_a_separator_key(tmp_path):
    assert _refusal(tmp_path / "default", spanish=("tiny_rel",)) is None
    assert _refusal(tmp_path / "dot", spanish=("tiny_rel",), extra='[moodle]\ndecimal_separator = "."\n') is None


def test_a_comma_is_refused_only_for_the_worksheet_moodle_would_misread(tmp_path):
    comma = '[moodle]\ndecimal_separator = ","\n'
    line = _refusal(tmp_path / "mixed", spanish=("tiny_rel",), extra=comma)
    assert line is not None and "moodle.decimal_separator" in line and "tiny.csv" in line and "'100.00'" in line
    assert "tiny_rel.csv" not in line
    assert _refusal(tmp_path / "spanish", spanish=("tiny", "tiny_rel"), extra=comma) is None


def test_a_comma_is_refused_for_a_new_english_worksheet(tmp_path):
    root = tmp_path / "new"
    course_file = two_practicals_course(root, extra='[moodle]\ndecimal_separator = ","\n')
    text = course_file.read_text(encoding="utf-8").replace('lang = "es"', 'lang = "en"')
    course_file.write_text(text.replace('worksheet = "tiny.csv"\n', ""), encoding="utf-8")
    with pytest.raises(InputError) as err:
        check_course_inputs(load_course(course_file))
    assert "practicals.tiny" in str(err.value) and "moodle.decimal_separator" in str(err.value)


@pytest.mark.slow
def test_a_course_with_english_and_spanish_worksheets_grades_and_moodle_stores_every_grade(tmp_path):
    course = load_course(two_practicals_course(tmp_path, spanish=("tiny_rel",)))
    result = grade_course(course, tmp_path / "out", workers=2)
    assert result.executed == 6, result.warnings
    moodle = tmp_path / "out" / "moodle"
    english, spanish = (moodle / "tiny.csv").read_bytes(), (moodle / "tiny_rel.csv").read_bytes()
    assert b'"10,00"' in spanish and b",6.00," in spanish    # its own cells kept; grades written with "."
    for version in VERSIONS:
        # each worksheet uploaded by a teacher whose interface is in the worksheet's language
        stored_en = upload_worksheet(english, "en", version)
        assert stored_en.stored == {"501": 100.0, "502": 100.0, "503": 100.0}, (version, stored_en.skipped)
        stored_es = upload_worksheet(spanish, "es", version)
        # 6/8, 3/8, 0/8 right: 8 points at 0.75, plus 2 for executing; the sheet is out of 10
        assert stored_es.stored == {"901": 10.0, "902": 6.0, "903": 2.0}, (version, stored_es.skipped)
        for upload in (stored_en, stored_es):
            assert all(text and not feedback_problems(text) for text in upload.feedback.values()), upload.feedback
        gradebook = (moodle / "course.csv").read_bytes()
        for site in ("en", "es"):
            assert set(import_gradebook(gradebook, site, version, item_max=10.0)) == {
                "ana@uni.es", "luis@uni.es", "marta@uni.es"}
    with pytest.raises(Refused):   # Moodle's own rule, said in the README: upload in the worksheet's language
        upload_worksheet(spanish, "en", "5.1")
