from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import grader
from grader.course import load_course, single_practical_course
from grader.errors import ConfigError
from grader.scoring import apply_late_policy, late_status

COURSE = """\
[course]
name = "Machine Learning I: Deep Learning"
keep_best = 2
round_step = "0.1"
max_grade = "10"
deadline = "2027-03-31T23:59:00"
timezone = "Europe/Madrid"
late_policy = "reject"
runner = "local"
data_dir = "data"
[moodle]
user_key = "email"
course_grade_item = "Prácticas"
decimal_separator = "."
[practicals.mnist_cnn]
submissions = ["moodle/ML1-MNIST-101.zip", "extra"]
worksheet = "moodle/Grades-ML1-MNIST-101.csv"
timeout_s = 1800
parameters = { epochs = 1, lr = 0.01 }
[practicals.rnn_text]
submissions = ["moodle/ML1-RNN-103.zip"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "course.toml"
    path.write_text(text, encoding="utf-8")
    return path


def course_error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_course(path)
    message = str(caught.value)
    assert str(path) in message, message
    return message


def test_documented_course_file_is_understood(tmp_path):
    course = load_course(write(tmp_path, COURSE))
    assert course.path == (tmp_path / "course.toml").resolve()
    assert course.name == "Machine Learning I: Deep Learning"
    assert course.keep_best == 2
    assert course.round_step == Decimal("0.1") and str(course.round_step) == "0.1"
    assert isinstance(course.max_grade, Decimal) and course.max_grade == 10
    assert course.late_policy == "reject" and course.late_penalty_per_day == 0
    assert course.runner == "local"
    assert course.data_dir == (tmp_path / "data").resolve()
    assert course.lms == "moodle"
    assert course.lms_tables["moodle"] == {"user_key": "email", "course_grade_item": "Prácticas",
                                           "decimal_separator": "."}
    assert list(course.practicals) == ["mnist_cnn", "rnn_text"]
    mnist = course.practicals["mnist_cnn"]
    assert mnist.submissions == ((tmp_path / "moodle/ML1-MNIST-101.zip").resolve(), (tmp_path / "extra").resolve())
    assert mnist.worksheet == (tmp_path / "moodle/Grades-ML1-MNIST-101.csv").resolve()
    assert mnist.timeout_s == 1800
    assert mnist.parameters == {"epochs": 1, "lr": 0.01}
    assert mnist.assignment_dir == Path(grader.__file__).resolve().parents[1] / "assignments" / "mnist_cnn"
    rnn = course.practicals["rnn_text"]
    assert rnn.worksheet is None and rnn.timeout_s == 1800 and rnn.parameters == {}


def test_deadline_is_read_in_the_course_time_zone(tmp_path):
    course = load_course(write(tmp_path, COURSE))
    assert course.deadline.tzinfo is not None
    assert course.deadline == datetime(2027, 3, 31, 23, 59, tzinfo=ZoneInfo("Europe/Madrid"))
    # Summer time has begun in Madrid by 31 March 2027: UTC+2.
    assert course.deadline.astimezone(timezone.utc) == datetime(2027, 3, 31, 21, 59, tzinfo=timezone.utc)


def test_optional_keys_take_documented_defaults(tmp_path):
    text = """\
[course]
name = "Tiny"
deadline = "2027-01-10T12:00:00"
timezone = "UTC"
[practicals.p1]
submissions = ["a.zip"]
"""
    course = load_course(write(tmp_path, text))
    assert (course.keep_best, course.round_step, course.max_grade) == (1, Decimal("0.01"), Decimal("10"))
    assert (course.late_policy, course.runner, course.lang, course.workers) == ("reject", "local", "es", None)
    assert course.out_dir == (tmp_path / "out").resolve()
    assert course.lms == "moodle" and course.lms_tables["moodle"]["user_key"] == "email"
    assert course.lms_tables["moodle"]["decimal_separator"] == "."


def test_extensions_are_understood(tmp_path):
    text = COURSE.replace('late_policy = "reject"', 'late_policy = "penalty"\nlate_penalty_per_day = "0.5"\n'
                          'lang = "en"\nout_dir = "results"\nassignments_dir = "specs"\nworkers = 4')
    course = load_course(write(tmp_path, text))
    assert course.late_policy == "penalty" and course.late_penalty_per_day == Decimal("0.5")
    assert course.lang == "en" and course.workers == 4
    assert course.out_dir == (tmp_path / "results").resolve()
    assert course.practicals["mnist_cnn"].assignment_dir == (tmp_path / "specs" / "mnist_cnn").resolve()


def test_native_toml_datetime_deadline_is_accepted(tmp_path):
    text = COURSE.replace('deadline = "2027-03-31T23:59:00"', "deadline = 2027-03-31T23:59:00")
    course = load_course(write(tmp_path, text))
    assert course.deadline == datetime(2027, 3, 31, 23, 59, tzinfo=ZoneInfo("Europe/Madrid"))


def test_float_grade_is_refused_with_a_hint_to_quote_it(tmp_path):
    message = course_error(tmp_path, COURSE.replace('round_step = "0.1"', "round_step = 0.1"))
    assert "course.round_step" in message
    assert 'write round_step = "0.1"' in message


def test_integer_grades_are_accepted(tmp_path):
    course = load_course(write(tmp_path, COURSE.replace('max_grade = "10"', "max_grade = 10")))
    assert course.max_grade == Decimal("10") and isinstance(course.max_grade, Decimal)


@pytest.mark.parametrize("old, new, expected", [
    ('keep_best = 2', 'keep_best = 2\ncolor = "red"', "course.color: unknown key"),
    ('decimal_separator = "."', 'decimal_separator = "."\nfoo = 1', "moodle.foo: unknown key"),
    ('timeout_s = 1800', 'timeout_s = 1800\nepochs = 1', "practicals.mnist_cnn.epochs: unknown key"),
    ('[moodle]', '[grading]\nx = 1\n[moodle]', "grading: unknown top-level table"),
    ('keep_best = 2', 'keep_best = "2"', "course.keep_best: must be an integer"),
    ('keep_best = 2', 'keep_best = 0', "course.keep_best: must be at least 1"),
    ('keep_best = 2', 'keep_best = true', "course.keep_best: must be an integer"),
    ('round_step = "0.1"', 'round_step = "0"', "course.round_step: must be greater than 0"),
    ('round_step = "0.1"', 'round_step = "-0.1"', "course.round_step"),
    ('round_step = "0.1"', 'round_step = "tenth"', "course.round_step: is not a decimal number"),
    ('max_grade = "10"', 'max_grade = 10.0', 'write max_grade = "10.0"'),
    ('deadline = "2027-03-31T23:59:00"', 'deadline = "31/03/2027 23:59"', "course.deadline"),
    ('deadline = "2027-03-31T23:59:00"', 'deadline = "2027-03-31"', "course.deadline: must be a date and time"),
    ('deadline = "2027-03-31T23:59:00"', 'deadline = 2027-03-31', "course.deadline: must be a date and time"),
    ('timezone = "Europe/Madrid"', 'timezone = "Mars/Olympus"', "course.timezone: unknown time zone"),
    ('late_policy = "reject"', 'late_policy = "forgive"', "course.late_policy: must be one of"),
    ('late_policy = "reject"', 'late_policy = "penalty"', "course.late_penalty_per_day: is required"),
    ('late_policy = "reject"', 'late_policy = "reject"\nlate_penalty_per_day = "1"',
     "course.late_penalty_per_day: only applies"),
    ('late_policy = "reject"', 'late_policy = "penalty"\nlate_penalty_per_day = 0.5',
     'write late_penalty_per_day = "0.5"'),
    ('user_key = "email"', 'user_key = "dni"', "moodle.user_key: must be one of"),
    ('decimal_separator = "."', 'decimal_separator = ";"', "moodle.decimal_separator: must be one of"),
    ('[practicals.rnn_text]', '[practicals.RNN-text]', "practicals.RNN-text: practical ids"),
    ('submissions = ["moodle/ML1-RNN-103.zip"]', 'submissions = "moodle/ML1-RNN-103.zip"',
     "practicals.rnn_text.submissions: must be a non-empty list"),
    ('submissions = ["moodle/ML1-RNN-103.zip"]', 'submissions = []', "practicals.rnn_text.submissions"),
    ('submissions = ["moodle/ML1-RNN-103.zip"]', '', "practicals.rnn_text.submissions: is required"),
    ('timeout_s = 1800', 'timeout_s = "1800"', "practicals.mnist_cnn.timeout_s: must be an integer"),
    ('parameters = { epochs = 1, lr = 0.01 }', 'parameters = 3', "practicals.mnist_cnn.parameters: must be a table"),
    ('name = "Machine Learning I: Deep Learning"', '', "course.name: is required"),
    ('runner = "local"', 'runner = 3', "course.runner: must be a non-empty string"),
    ('runner = "local"', 'runner = "local"\nlang = "fr"', "course.lang: must be one of"),
])
def test_bad_course_file_names_the_key(tmp_path, old, new, expected):
    assert old in COURSE
    message = course_error(tmp_path, COURSE.replace(old, new, 1))
    assert expected in message, message


def test_missing_course_table_is_reported(tmp_path):
    text = COURSE.split("[moodle]")[1]
    assert "missing" in course_error(tmp_path, "[moodle]" + text)


def test_course_without_practicals_is_reported(tmp_path):
    message = course_error(tmp_path, COURSE.split("[practicals.mnist_cnn]")[0])
    assert "no practicals" in message


def test_toml_syntax_error_gives_the_line(tmp_path):
    message = course_error(tmp_path, COURSE.replace("keep_best = 2", "keep_best = = 2"))
    assert "TOML syntax error" in message and "line 3" in message


def test_missing_course_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="course file not found"):
        load_course(tmp_path / "nope.toml")


def test_error_reason_carries_key_for_people(tmp_path):
    path = write(tmp_path, COURSE.replace("keep_best = 2", "keep_best = 0"))
    with pytest.raises(ConfigError) as caught:
        load_course(path)
    assert caught.value.reason.code == "config_error"
    assert caught.value.reason.params["key"] == "course.keep_best"


def test_single_practical_course_never_counts_lateness(tmp_path):
    course = single_practical_course("mnist_cnn", [tmp_path / "a.ipynb", Path("b.zip")], Path("data"), tmp_path / "o")
    assert course.path is None and course.keep_best == 1 and list(course.practicals) == ["mnist_cnn"]
    cfg = course.practicals["mnist_cnn"]
    assert cfg.submissions == ((tmp_path / "a.ipynb").resolve(), Path("b.zip").resolve())
    assert cfg.worksheet is None and cfg.assignment_dir.name == "mnist_cnn"
    late, days = late_status(datetime(2030, 1, 1, tzinfo=timezone.utc), course.deadline)
    assert (late, days) == ("no", 0)
    # Even if something called it late, the single-practical policy deducts nothing.
    assert apply_late_policy(Decimal("7.5"), "yes", 3, course) == (Decimal("7.5"), Decimal("0"))


def test_single_practical_course_checks_the_id():
    with pytest.raises(ConfigError, match="practical id"):
        single_practical_course("MNIST CNN", [Path("x.ipynb")], Path("data"), Path("out"))


def _with_docker(tmp_path, table: str):
    path = tmp_path / "course.toml"
    path.write_text('[course]\nname = "c"\ndeadline = "2027-03-31T23:59:00"\ntimezone = "Europe/Madrid"\n'
                    'runner = "docker"\n[practicals.mnist_cnn]\nsubmissions = ["a.zip"]\n[docker]\n' + table,
                    encoding="utf-8")
    return path


def test_docker_options_reach_the_runner_only_when_docker_is_chosen(tmp_path):
    course = load_course(_with_docker(tmp_path, 'memory = "2g"\ncpus = 1.5\npids = 128\ngpus = [0, 1]\n'))
    assert course.runner_options("docker") == {"memory": "2g", "cpus": 1.5, "pids": 128, "gpus": [0, 1]}
    assert course.runner_options("local") == {}


def test_a_docker_typo_names_the_key_and_the_file(tmp_path):
    path = _with_docker(tmp_path, 'memroy = "2g"\n')
    with pytest.raises(ConfigError, match=r"docker\.memroy: unknown key") as err:
        load_course(path)
    assert str(path) in str(err.value)
    with pytest.raises(ConfigError, match=r"docker\.gpus"):
        load_course(_with_docker(tmp_path, 'gpus = "some"\n'))


def test_a_practical_may_be_graded_by_the_contracts_letter(tmp_path):
    course = load_course(write(tmp_path, COURSE.replace('parameters = { epochs = 1, lr = 0.01 }',
                                                         'parameters = { epochs = 1, lr = 0.01 }\nadaptations = []')))
    assert course.practicals["mnist_cnn"].adaptations == () and course.practicals["rnn_text"].adaptations is None
    with pytest.raises(ConfigError, match="practicals.mnist_cnn.adaptations.*'precision' is not one of"):
        load_course(write(tmp_path, COURSE.replace('timeout_s = 1800', 'timeout_s = 1800\nadaptations = ["precision"]')))
