from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from grader.course import load_course
from grader.i18n import catalogue
from grader.records import CheckResult, Reason
from grader.scoring import (apply_late_policy, course_grade, feedback_line, late_status, round_up, scale,
                            sum_points)

D = Decimal
MADRID = ZoneInfo("Europe/Madrid")
DEADLINE = datetime(2027, 3, 31, 23, 59, tzinfo=MADRID)


def make_course(tmp_path: Path, *, keep_best: int = 2, round_step: str = "0.1", max_grade: str = "10",
                late: str = 'late_policy = "reject"'):
    text = f"""\
[course]
name = "ML1"
keep_best = {keep_best}
round_step = "{round_step}"
max_grade = "{max_grade}"
deadline = "2027-03-31T23:59:00"
timezone = "Europe/Madrid"
{late}
[practicals.mnist]
submissions = ["m.zip"]
[practicals.imagenet]
submissions = ["i.zip"]
[practicals.rnn]
submissions = ["r.zip"]
"""
    path = tmp_path / "course.toml"
    path.write_text(text, encoding="utf-8")
    return load_course(path)


def three(a, b, c) -> dict:
    return {"mnist": None if a is None else D(a), "imagenet": None if b is None else D(b),
            "rnn": None if c is None else D(c)}


@pytest.mark.parametrize("scores, expected", [
    (("7.35", "8.25", None), "7.8"),
    (("7.3", "8.25", "3.0"), "7.8"),
    (("9.95", "10", "9.9"), "10.0"),
    (("8.0", None, None), "4.0"),
    (("6.65", "6.65", "6.65"), "6.7"),
])
def test_best_two_of_three_rounds_up_exactly(tmp_path, scores, expected):
    grade, _ = course_grade(three(*scores), make_course(tmp_path))
    assert isinstance(grade, Decimal)
    assert grade == D(expected)
    assert str(grade) == expected


def test_counted_practicals_are_the_best_handed_in(tmp_path):
    course = make_course(tmp_path)
    assert course_grade(three("7.3", "8.25", "3.0"), course)[1] == ("mnist", "imagenet")
    assert course_grade(three("2", "8.25", "9"), course)[1] == ("imagenet", "rnn")
    assert course_grade(three("8.0", None, None), course)[1] == ("mnist",)
    assert course_grade(three(None, None, None), course) == (D("0.0"), ())
    # Equal scores: the practical listed first counts.
    assert course_grade(three("5", "5", "5"), course)[1] == ("mnist", "imagenet")


def test_course_grade_never_exceeds_max_grade(tmp_path):
    grade, _ = course_grade(three("10", "10.5", None), make_course(tmp_path))
    assert str(grade) == "10.0"
    grade, _ = course_grade(three("12", "12", "12"), make_course(tmp_path, round_step="0.3"))
    assert grade == D("10")


def test_rounding_up_uses_exact_arithmetic_for_thirds(tmp_path):
    course = make_course(tmp_path, keep_best=3)
    # (7 + 7.1 + 7.2) / 3 = 7.1 exactly: must not become 7.2 through a division error.
    assert str(course_grade(three("7", "7.1", "7.2"), course)[0]) == "7.1"
    # (7 + 7 + 7.1) / 3 = 7.0333...: rounds up to 7.1.
    assert str(course_grade(three("7", "7", "7.1"), course)[0]) == "7.1"


def test_round_step_other_than_a_tenth(tmp_path):
    course = make_course(tmp_path, round_step="0.5", keep_best=1)
    assert str(course_grade(three("7.01", None, None), course)[0]) == "7.5"
    course = make_course(tmp_path, round_step="1", keep_best=1)
    assert str(course_grade(three("7.01", None, None), course)[0]) == "8"


@pytest.mark.parametrize("value, step, expected", [
    ("7.35", "0.1", "7.4"), ("7.3", "0.1", "7.3"), ("7.30", "0.1", "7.3"), ("0", "0.1", "0.0"),
    ("9.95", "0.1", "10.0"), ("7.01", "0.25", "7.25"), ("7.351", "0.01", "7.36"), ("-7.35", "0.1", "-7.3"),
    ("7.000000000000000000000000000000001", "0.1", "7.1"),
])
def test_round_up_ceils_to_a_multiple_of_the_step(value, step, expected):
    result = round_up(D(value), D(step))
    assert isinstance(result, Decimal) and str(result) == expected


def test_floats_are_refused_not_rounded():
    with pytest.raises(TypeError):
        round_up(7.35, D("0.1"))
    with pytest.raises(TypeError):
        scale(D("5"), 10.0, D("10"))
    with pytest.raises(ValueError):
        round_up(D("1"), D("0"))


def check(points: str, max_points: str = "5") -> CheckResult:
    return CheckResult(check_id="c", kind="function", points=D(points), max_points=D(max_points),
                       reason=Reason("ok"))


def test_points_are_summed_capped_and_floored():
    assert str(sum_points([check("1.5"), check("2.25")], D("10"))) == "3.75"
    assert sum_points([check("6"), check("6")], D("10")) == D("10")
    assert sum_points([check("-3"), check("1")], D("10")) == D("0")
    assert sum_points([], D("10")) == D("0")
    assert isinstance(sum_points([check("1")], D("10")), Decimal)


@pytest.mark.parametrize("submitted, expected", [
    (DEADLINE - timedelta(hours=3), ("no", 0)),
    (DEADLINE, ("no", 0)),
    (DEADLINE + timedelta(minutes=1), ("yes", 1)),
    (DEADLINE + timedelta(days=1), ("yes", 1)),
    (DEADLINE + timedelta(days=1, minutes=1), ("yes", 2)),
    (None, ("unknown", 0)),
])
def test_lateness_counts_started_days(submitted, expected):
    assert late_status(submitted, DEADLINE) == expected


def test_lateness_compares_instants_not_wall_clocks():
    # 22:30 UTC on 31 March is 00:30 on 1 April in Madrid: 31 minutes late.
    assert late_status(datetime(2027, 3, 31, 22, 30, tzinfo=timezone.utc), DEADLINE) == ("yes", 1)
    assert late_status(datetime(2027, 3, 31, 21, 30, tzinfo=timezone.utc), DEADLINE) == ("no", 0)


def test_naive_submission_time_is_refused():
    with pytest.raises(ValueError):
        late_status(datetime(2027, 4, 1), DEADLINE)


def test_reject_policy_zeroes_a_late_submission(tmp_path):
    course = make_course(tmp_path)
    assert apply_late_policy(D("8.5"), "yes", 2, course) == (D("0"), D("8.5"))
    assert apply_late_policy(D("8.5"), "no", 0, course) == (D("8.5"), D("0"))


def test_penalty_policy_deducts_per_day_down_to_zero(tmp_path):
    course = make_course(tmp_path, late='late_policy = "penalty"\nlate_penalty_per_day = "1.5"')
    score, penalty = apply_late_policy(D("8.5"), "yes", 2, course)
    assert (str(score), str(penalty)) == ("5.5", "3.0")
    assert apply_late_policy(D("2"), "yes", 3, course) == (D("0"), D("2"))
    assert all(isinstance(x, Decimal) for x in apply_late_policy(D("2"), "yes", 3, course))


def test_unknown_lateness_is_never_penalised(tmp_path):
    for late in ('late_policy = "reject"', 'late_policy = "penalty"\nlate_penalty_per_day = "1"'):
        course = make_course(tmp_path, late=late)
        assert apply_late_policy(D("8.5"), "unknown", 0, course) == (D("8.5"), D("0"))


def test_scale_maps_practical_points_to_the_course_scale():
    assert str(scale(D("82.5"), D("100"), D("10"))) == "8.25"
    assert str(scale(D("8.25"), D("10"), D("10"))) == "8.25"
    assert scale(D("7"), D("20"), D("10")) == D("3.5")
    with pytest.raises(ValueError):
        scale(D("1"), D("0"), D("10"))


def test_scaled_thirds_still_round_up_correctly(tmp_path):
    course = make_course(tmp_path, keep_best=1)
    third = scale(D("1"), D("3"), D("10"))          # 3.333...
    assert str(course_grade({"mnist": third}, course)[0]) == "3.4"
    exact = scale(D("3"), D("3"), D("9.9"))         # 9.9 exactly
    assert str(course_grade({"mnist": exact}, course)[0]) == "9.9"


def test_feedback_line_names_every_practical_in_one_line():
    scores = {"mnist": D("9"), "rnn": D("8.25"), "imagenet": None}
    line = feedback_line(scores, ("mnist", "rnn"), "es")
    assert line == "mnist 9,00 (computa) · rnn 8,25 (computa) · imagenet no entregada"
    assert "\n" not in line
    line = feedback_line({"mnist": D("9"), "rnn": D("3.3333"), "imagenet": D("8")}, ("mnist", "imagenet"), "en")
    assert line == "mnist 9.00 (counts) · rnn 3.33 · imagenet 8.00 (counts)"
    names = {"mnist": "MNIST digits", "rnn": "Text", "imagenet": "ImageNet"}
    assert feedback_line(scores, ("mnist", "rnn"), "en", names).startswith("MNIST digits 9.00 (counts) · Text 8.25")


def test_scoring_messages_exist_in_both_languages():
    entries = catalogue()
    for code in ("scoring_feedback_counted", "scoring_feedback_not_counted", "scoring_feedback_missing"):
        assert entries[code]["es"] and entries[code]["en"]
