from decimal import Decimal
from pathlib import Path

import pytest

from grader.course import load_course
from grader.errors import ConfigError
from grader.overrides import Override, load_overrides

COURSE = """\
[course]
name = "ML1"
keep_best = 2
round_step = "0.1"
max_grade = "10"
deadline = "2027-03-31T23:59:00"
timezone = "Europe/Madrid"
assignments_dir = "assignments"
[practicals.mnist_cnn]
submissions = ["m.zip"]
[practicals.rnn_text]
submissions = ["r.zip"]
"""


@pytest.fixture
def course(tmp_path):
    path = tmp_path / "course.toml"
    path.write_text(COURSE, encoding="utf-8")
    return load_course(path)


def write(tmp_path: Path, text: str, *, bom: bool = False) -> Path:
    path = tmp_path / "overrides.csv"
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))
    return path


def error(path: Path, course, **kwargs) -> str:
    with pytest.raises(ConfigError) as caught:
        load_overrides(path, course, **kwargs)
    message = str(caught.value)
    assert str(path) in message, message
    return message


def test_missing_file_means_no_overrides(tmp_path, course):
    assert load_overrides(tmp_path / "overrides.csv", course) == {}


def test_overrides_are_read_with_bom_and_either_decimal_separator(tmp_path, course):
    path = write(tmp_path, "practical,participant,score,reason\r\n"
                           "mnist_cnn,1234567,8.5,Kernel crashed on our side; graded by hand\r\n"
                           'rnn_text,Participant 42,"7,25","Revisión: el profesor comprobó la generación"\r\n'
                           "\r\n", bom=True)
    overrides = load_overrides(path, course)
    assert overrides == {
        ("mnist_cnn", "1234567"): Override("mnist_cnn", "1234567", Decimal("8.5"),
                                           "Kernel crashed on our side; graded by hand"),
        ("rnn_text", "42"): Override("rnn_text", "42", Decimal("7.25"),
                                     "Revisión: el profesor comprobó la generación"),
    }
    assert str(overrides[("rnn_text", "42")].score) == "7.25"


def test_columns_may_come_in_any_order_with_extra_ones(tmp_path, course):
    path = write(tmp_path, "Full name,Reason,Score,Participant,Practical\nAna Pérez,regrade,10,7,mnist_cnn\n")
    assert load_overrides(path, course)[("mnist_cnn", "7")].score == Decimal("10")


@pytest.mark.parametrize("rows, expected", [
    ("imagenet_cnn,1,5,why", "line 2: unknown practical 'imagenet_cnn'"),
    ("mnist_cnn,1,eight,why", "line 2: score 'eight' is not a number"),
    ("mnist_cnn,1,1.000.5,why", "line 2: score '1.000.5' is not a number"),
    ('mnist_cnn,1,"1.000,5",why', "line 2: score '1.000,5': use one decimal separator"),
    ("mnist_cnn,1,-1,why", "line 2: score '-1' must be a number of at least 0"),
    ("mnist_cnn,1,NaN,why", "line 2: score 'NaN'"),
    ("mnist_cnn,1,10.5,why", "line 2: score 10.5 is above the practical's maximum of 10"),
    ("mnist_cnn,1,5,", "line 2: the reason is empty"),
    ("mnist_cnn,1,5,   ", "line 2: the reason is empty"),
    ("mnist_cnn,,5,why", "line 2: the participant is empty"),
    ("mnist_cnn,1,5", "line 2: 3 value(s)"),
    ("mnist_cnn,1,5,first\nrnn_text,1,5,other\nmnist_cnn,1,6,again",
     "line 4: duplicate override for practical mnist_cnn, participant 1 (first on line 2)"),
    ("mnist_cnn,1,5,first\nmnist_cnn,Participant 1,6,again", "line 3: duplicate override"),
])
def test_bad_row_names_file_line_and_problem(tmp_path, course, rows, expected):
    message = error(write(tmp_path, "practical,participant,score,reason\n" + rows + "\n"), course)
    assert expected in message, message


def test_missing_column_is_reported(tmp_path, course):
    message = error(write(tmp_path, "practical,participant,score\nmnist_cnn,1,5\n"), course)
    assert "line 1: missing column(s) reason" in message


def test_empty_file_is_reported(tmp_path, course):
    assert "empty file" in error(write(tmp_path, ""), course)


def test_non_utf8_file_is_reported(tmp_path, course):
    path = tmp_path / "overrides.csv"
    path.write_bytes("practical,participant,score,reason\nmnist_cnn,1,5,revisión\n".encode("latin-1"))
    assert "UTF-8" in error(path, course)


def test_maximum_comes_from_the_assignment_when_declared(tmp_path, course):
    spec = tmp_path / "assignments" / "rnn_text" / "assignment.toml"
    spec.parent.mkdir(parents=True)
    spec.write_text('[assignment]\nid = "rnn_text"\nmax_points = "20"\n', encoding="utf-8")
    path = write(tmp_path, "practical,participant,score,reason\nrnn_text,1,15,regrade\n")
    assert load_overrides(path, course)[("rnn_text", "1")].score == Decimal("15")
    # mnist_cnn declares nothing: the course's max_grade (10) bounds it.
    path = write(tmp_path, "practical,participant,score,reason\nmnist_cnn,1,15,regrade\n")
    assert "maximum of 10" in error(path, course)


def test_explicit_maximum_wins(tmp_path, course):
    path = write(tmp_path, "practical,participant,score,reason\nmnist_cnn,1,5,regrade\n")
    message = error(path, course, max_scores={"mnist_cnn": Decimal("4")})
    assert "line 2: score 5 is above the practical's maximum of 4" in message
