"""One way to write a number a person reads: grades with two decimals, points as the point table writes
them, the decimal comma in Spanish; Moodle's own number cells are another module's (grader/lms/numbers.py)."""
from decimal import Decimal as D

import pytest

from grader.i18n import msg, render
from grader.prose_numbers import grade, grade_of, localized, number, percent, points, points_of


def test_a_grade_has_two_decimals_in_every_language():
    assert grade(D("0"), "es") == "0,00" and grade(D("9.5"), "es") == "9,50" and grade(D("10"), "en") == "10.00"
    assert grade(D("7.355"), "en") == "7.36"                     # half up, for display only
    assert grade_of(D("0"), D("10"), "es") == "0,00/10" and grade_of(D("95"), D("100.00"), "en") == "95.00/100"


def test_points_are_written_as_the_point_table_writes_them():
    assert points_of(D("4.00"), D("4"), "es") == "4/4"
    assert points_of(D("0.50"), D("0.5"), "es") == "0,5/0,5"
    assert points_of(D("1"), D("1"), "en") == "1/1" and points_of(D("1.25"), D("1.5"), "en") == "1.25/1.5"
    assert points(D("1.3333"), "es") == "1,33" and points(D("0.00"), "es") == "0" and points(D("100"), "en") == "100"


@pytest.mark.parametrize("value,es,en", [(D("0.7311"), "0,7311", "0.7311"), (0.5, "0,5", "0.5"), ("12.3", "12,3", "12.3"),
                                         (3, "3", "3"), ("v1.2.3", "v1.2.3", "v1.2.3"), ("(1, 28, 28)", "(1, 28, 28)",
                                                                                     "(1, 28, 28)")])
def test_a_measurement_keeps_its_digits_and_takes_the_languages_separator(value, es, en):
    assert number(value, "es") == es and number(value, "en") == en
    assert localized(str(value), "es") == es


def test_a_share_is_a_whole_percentage_with_a_space_before_the_sign_in_spanish():
    assert percent(0.4, "en") == "40%" and percent(1.0, "es") == "100\u00a0%"


def test_a_message_writes_its_numbers_as_its_language_does():
    reason = msg("reported_ok", reported="0.9731", reproduced="0.9650", tolerance="0.1")
    assert "0,9731" in render(reason, "es") and "0,1" in render(reason, "es")
    assert "0.9731" in render(reason, "en")
    assert "se descuentan 0,5 puntos" in render(msg("score_late_penalty", days=1, penalty="0.5"), "es")
