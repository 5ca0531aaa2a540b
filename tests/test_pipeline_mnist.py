"""End to end on the real MNIST test set: a Moodle archive and worksheet in, Moodle files out."""
from __future__ import annotations

import csv
import io
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import nbformat
import pytest

from conftest import moodle_entry, notebook_bytes, write_zip, as_handed_in_executed, variant
from grader.course import load_course
from grader.pipeline import grade_course

pytestmark = pytest.mark.slow

HEADER = ("Identifier,Full name,Email address,Status,Grade,Maximum Grade,Grade can be changed,"
          "Last modified (submission),Last modified (grade),Feedback comments")
ROWS = [
    ("101", "Ana Pérez", "ana@uni.es", "Tuesday, 30 March 2027, 8:00 PM"),
    ("102", "Sean O'Connor", "sean@uni.es", "Wednesday, 31 March 2027, 11:58 PM"),
    ("103", "García López, María", "maria@uni.es", "Thursday, 1 April 2027, 10:15 AM"),   # late
    ("104", "Bea Ruiz", "bea@uni.es", "Monday, 29 March 2027, 9:00 AM"),
    ("105", "Carl Broken", "carl@uni.es", "-"),
    ("106", "Dora Missing", "dora@uni.es", "-"),                                          # no submission
]


def _handed_in(nb: nbformat.NotebookNode, accuracy: str = "0.9700") -> nbformat.NotebookNode:
    """Executed as a student hands it in, with the accuracy line the notebook printed."""
    nb = as_handed_in_executed(nbformat.from_dict(nb))
    for cell in nb.cells:
        if cell.cell_type == "code" and "Test accuracy:" in cell.source:
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"Test accuracy: {accuracy}\n")]
    return nb


def _worksheet(path: Path) -> Path:
    lines = [HEADER] + [f'Participant {n},"{name}",{mail},Submitted for grading - Not graded,,10.00,Yes,'
                        f'"{when}",-,' for n, name, mail, when in ROWS]
    path.write_bytes(b"\xef\xbb\xbf" + ("\n".join(lines) + "\n").encode("utf-8"))
    return path


@pytest.fixture(scope="module")
def course_dir(tmp_path_factory, repo, shared_data) -> Path:
    root = tmp_path_factory.mktemp("course")
    solution = nbformat.read(repo / "assignments" / "mnist_cnn" / "solution.ipynb", as_version=4)
    untrained = variant(solution, "for epoch in range(epochs):", "for epoch in range(0):")
    naive = variant(solution, "shifted = logits - logits.max(dim=1, keepdim=True).values", "shifted = logits")
    write_zip(root / "ML1-MNIST-101.zip", {
        moodle_entry("Ana Pérez", "101", "mnist_cnn.ipynb"): notebook_bytes(_handed_in(solution)),
        moodle_entry("Sean OConnor", "102", "mnist_cnn.ipynb"): notebook_bytes(_handed_in(untrained, "0.1000")),
        moodle_entry("García López, María", "103", "practica1.ipynb"): notebook_bytes(_handed_in(naive)),
        moodle_entry("Bea Ruiz", "104", "informe.pdf"): b"%PDF-1.4 not a notebook",
        moodle_entry("Carl Broken", "105", "mnist_cnn.ipynb"): b"\xff\xfe{ not json",
    })
    (root / "corrupt.zip").write_bytes(b"PK\x03\x04 this is not really a zip")
    _worksheet(root / "Grades-ML1-MNIST-101.csv")
    (root / "course.toml").write_text(f"""
[course]
name = "ML1 test"
keep_best = 2
round_step = "0.1"
max_grade = "10"
deadline = "2027-03-31T23:59:00"
timezone = "Europe/Madrid"
late_policy = "reject"
runner = "local"
data_dir = "{shared_data}"
lang = "en"
[moodle]
user_key = "email"
course_grade_item = "Prácticas"
decimal_separator = "."
[practicals.mnist_cnn]
submissions = ["ML1-MNIST-101.zip", "corrupt.zip"]
worksheet = "Grades-ML1-MNIST-101.csv"
timeout_s = 600
parameters = {{ epochs = 1, train_size = 8000 }}
""", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def batch(course_dir):
    return grade_course(load_course(course_dir / "course.toml"), course_dir / "out")


def read_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _by_participant(batch):
    return {s.participant: s for s in batch.scores}


def test_every_outcome_gets_its_status_and_score(batch):
    s = _by_participant(batch)
    assert s["101"].status == "graded" and s["101"].score == Decimal("10")
    assert s["102"].status == "graded" and s["102"].late == "no"
    assert s["103"].late == "yes" and s["103"].score == Decimal("0")     # reject policy
    assert s["104"].status == "invalid" and s["104"].score == Decimal("0")
    assert s["105"].status == "invalid" and s["105"].score == Decimal("0")
    assert s["106"].status == "missing" and s["106"].score is None
    assert all(isinstance(x.score, Decimal) for x in batch.scores if x.score is not None)


def test_accuracy_points_are_earned_by_training_not_by_defining_a_model(batch):
    points = {p: {c.check_id: c for c in s.checks} for p, s in _by_participant(batch).items()}
    assert points["101"]["accuracy"].passed and points["101"]["reported_accuracy"].passed
    assert Decimal(points["101"]["accuracy"].details["accuracy"]) >= Decimal("0.9")
    assert points["102"]["accuracy"].points == Decimal("0")
    assert points["102"]["model_shape"].passed and points["102"]["softmax"].passed


def test_a_softmax_without_the_max_shift_loses_only_its_large_logit_cases(batch):
    checks = {c.check_id: c for c in _by_participant(batch)["103"].checks}
    assert Decimal("0") < checks["softmax"].points < checks["softmax"].max_points
    assert checks["cross_entropy"].passed and checks["accuracy"].passed


def test_bad_input_is_one_line_and_the_rest_is_graded(batch):
    corrupt = [w for w in batch.warnings if "corrupt.zip" in w]
    assert len(corrupt) == 1 and "\n" not in corrupt[0]
    assert batch.executed == 5   # five jobs: three notebooks ran, two were judged without running


def test_worksheet_comes_back_with_only_grade_and_feedback_changed(course_dir, batch):
    original = (course_dir / "Grades-ML1-MNIST-101.csv").read_bytes()
    exported = (course_dir / "out" / "moodle" / "mnist_cnn.csv").read_bytes()
    assert exported.startswith(b"\xef\xbb\xbf")
    before, after = read_rows(original), read_rows(exported)
    header = before[0]
    assert after[0] == header and len(after) == len(before)
    changed = {header.index("Grade"), header.index("Feedback comments")}
    for old, new in zip(before[1:], after[1:]):
        assert [c for i, c in enumerate(old) if i not in changed] == [c for i, c in enumerate(new) if i not in changed]
    grades = {row[0]: row[header.index("Grade")] for row in after[1:]}
    assert grades["Participant 101"] == "10.00"
    assert grades["Participant 106"] == ""            # ungraded stays empty
    assert all(g == "" or Decimal(g) <= Decimal("10") for g in grades.values())


def test_course_csv_is_keyed_by_email_with_every_student(course_dir, batch):
    with (course_dir / "out" / "moodle" / "course.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["Email address", "Prácticas", "Feedback"]
    grades = {r[0]: r[1] for r in rows[1:]}
    assert set(grades) == {mail for _, _, mail, _ in ROWS}
    assert grades["ana@uni.es"] == "5.0"       # 10 and two missing practicals' worth of 0, keep_best 2
    assert grades["sean@uni.es"] != ""         # O'Connor (OConnor in the archive) joined to his email
    assert all(r[0] for r in rows[1:])


def test_results_csv_has_the_promised_columns_and_names_survive(course_dir, batch):
    with (course_dir / "out" / "results.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["practical", "participant", "full_name", "email", "status", "score", "max_score",
                             "late", "reason", "duration_s"]
    names = {r["participant"]: r["full_name"] for r in rows}
    assert names["103"] == "García López, María"
    assert {r["status"] for r in rows} <= {"graded", "not_executed", "error", "timeout", "invalid", "missing",
                                           "overridden"}


def test_a_second_run_executes_nothing_and_gives_the_same_grades(course_dir, batch):
    done = subprocess.run([sys.executable, "-m", "grader", "grade", str(course_dir / "course.toml"),
                           "--out", str(course_dir / "out"), "--quiet"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr + done.stdout
    assert "graded 0, reused from the store 5" in done.stdout
    again = grade_course(load_course(course_dir / "course.toml"), course_dir / "out")
    assert again.executed == 0
    assert [(s.participant, s.score) for s in again.scores] == [(s.participant, s.score) for s in batch.scores]


def test_an_override_replaces_the_score_and_says_why(course_dir, batch, tmp_path):
    (course_dir / "overrides.csv").write_text("practical,participant,score,reason\n"
                                              "mnist_cnn,102,7.5,re-graded by hand after review\n")
    try:
        again = grade_course(load_course(course_dir / "course.toml"), course_dir / "out")
    finally:
        (course_dir / "overrides.csv").unlink()
    s = _by_participant(again)["102"]
    assert s.status == "overridden" and s.score == Decimal("7.5")
    assert s.override_reason == "re-graded by hand after review"
    assert again.executed == 0
