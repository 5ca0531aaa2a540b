"""A practical is a folder anyone can author: tests/practicals/mlp_csv (an MLP on a CSV), outside the grader's
package, carries its own reference module, messages and mutants, passes `grader practical check`, and a course
that names its folder grades it end to end with nothing of grader/ edited. A broken copy of it gets one line per
planted defect; the three shipped practicals pass the same check."""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

import nbformat
import pytest

from grader.course import load_course
from grader.pipeline import grade_course
from grader.practical_check import check_practical

TESTS = Path(__file__).resolve().parent
PRACTICAL = TESTS / "practicals" / "mlp_csv"
SHIPPED = TESTS.parent / "assignments"


def _course_data(root: Path) -> Path:
    """The course data folder of the outside practical, written by its own reference (mlp/points.csv)."""
    spec = importlib.util.spec_from_file_location("mlp_reference_for_tests", PRACTICAL / "reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.make_points(root / "mlp" / "points.csv")
    return root


def _run_as_a_student(nb, data: Path, folder: Path):
    """The notebook executed as a student runs it: in her folder, with the data `grader data` writes there."""
    from nbclient import NotebookClient

    from grader.assignment import load_assignment
    from grader.student_data import write_student_data

    assignment = load_assignment(PRACTICAL)
    write_student_data(assignment, folder / "data", data, dict(assignment.parameters))
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    return nb


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "mlp_csv"
    shutil.copytree(PRACTICAL, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_the_outside_practical_passes_its_check_without_the_course_data():
    report = check_practical(PRACTICAL, seeds=2)
    assert report.ok, report.findings
    assert any(line.startswith("mutants (2,") for line in report.passed), report.passed
    assert any(line.startswith("messages (2 of its own") for line in report.passed), report.passed


def test_a_broken_copy_gets_one_line_per_planted_defect(tmp_path):
    folder = _copy(tmp_path)
    with (folder / "mutants.py").open("a", encoding="utf-8") as fh:   # a "mutant" that is right: loses nothing
        fh.write('\n\n@mutant("relu", "2")\ndef relu_that_is_right(z):\n    """Right after all."""\n'
                 "    return torch.clamp(torch.as_tensor(z), min=0)\n")
    _edit(folder / "messages.toml", 'es = "El cuaderno muestra una gráfica (la curva de pérdida)."\n', "")
    with (folder / "reference.py").open("a", encoding="utf-8") as fh:   # a code no catalogue has
        fh.write('\n\ndef said_nowhere():\n    return msg("mlp_never_written")\n')
    (folder / "solution.ipynb").unlink()
    report = check_practical(folder, seeds=2)
    assert sorted(report.findings) == sorted([
        "editions: solution.ipynb is missing",
        "messages: mlp_loss_plotted has no 'es' text in messages.toml",
        "messages: reference.py emits mlp_never_written, which no catalogue has (add it to messages.toml in both "
        "languages)",
        "mutant relu_that_is_right: relu lost only 0 of the 2 the table takes",
    ]), report.findings


def test_a_copy_that_does_not_load_is_one_line(tmp_path):
    folder = _copy(tmp_path)
    _edit(folder / "assignment.toml", 'reference = "reference:relu"', 'reference = "reference:relu_of_nobody"')
    report = check_practical(folder)
    assert len(report.findings) == 1 and report.findings[0].startswith("load: ")
    assert "relu_of_nobody" in report.findings[0]


@pytest.mark.slow
def test_the_shipped_practicals_pass_the_check_that_needs_no_data():
    for practical in ("mnist_cnn", "imagenet_cnn", "rnn_text"):
        report = check_practical(SHIPPED / practical, seeds=2)
        assert report.ok, (practical, report.findings)


@pytest.mark.slow
def test_with_the_course_data_the_solution_earns_everything_and_the_template_nothing(tmp_path):
    data = _course_data(tmp_path / "data")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "grader", "practical", "check", str(PRACTICAL), "--data", str(data),
                           "--seeds", "2"], capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok: solution.ipynb: 10.00/10" in done.stdout and "ok: template.ipynb: 0.00/10" in done.stdout
    assert "ok: student data (1 files)" in done.stdout and done.stdout.rstrip().endswith(": 0 findings")


@pytest.mark.slow
def test_with_the_course_data_a_wrong_reference_and_a_hook_that_writes_elsewhere_are_found(tmp_path):
    data = _course_data(tmp_path / "data")
    wrong = _copy(tmp_path / "wrong_reference")
    _edit(wrong / "reference.py", "np.maximum(np.asarray(z, dtype=np.float32), np.float32(0))",
          "np.maximum(np.asarray(z, dtype=np.float32), np.float32(0.5))")
    report = check_practical(wrong, data, seeds=1)
    assert any(line.startswith("solution.ipynb: earns 8.00/10, not 10") and "relu 0" in line
               for line in report.findings), report.findings
    elsewhere = _copy(tmp_path / "hook_elsewhere")
    _edit(elsewhere / "reference.py", 'dest / "train.csv"', 'dest / "training.csv"')
    report = check_practical(elsewhere, data, seeds=1)
    assert "student data: the hook did not write train.csv, which the template reads" in report.findings


@pytest.mark.slow
def test_a_course_grades_the_outside_practical_end_to_end_with_its_own_messages(tmp_path):
    data = _course_data(tmp_path / "data")
    solution = _run_as_a_student(nbformat.read(PRACTICAL / "solution.ipynb", as_version=4), data, tmp_path / "ana")
    no_plot = nbformat.read(PRACTICAL / "solution.ipynb", as_version=4)
    no_plot.cells = no_plot.cells[:-1]                                     # forgot the loss curve
    no_plot = _run_as_a_student(no_plot, data, tmp_path / "luis")
    with zipfile.ZipFile(tmp_path / "export.zip", "w") as zf:
        zf.writestr("Ana Pérez_11_assignsubmission_file_/mlp.ipynb", nbformat.writes(solution))
        zf.writestr("Luis Gil_12_assignsubmission_file_/mlp.ipynb", nbformat.writes(no_plot))
    (tmp_path / "course.toml").write_text(f"""[course]
name = "Outside"
deadline = "2027-03-31T23:59:00"
timezone = "Europe/Madrid"
assignments_dir = "{PRACTICAL.parent}"
data_dir = "data"
lang = "es"
[practicals.mlp_csv]
submissions = ["export.zip"]
[similarity]
enabled = false
""", encoding="utf-8")
    result = grade_course(load_course(tmp_path / "course.toml"), tmp_path / "out", workers=1)
    scores = {s.participant: s for s in result.scores}
    assert scores["11"].score == Decimal("10") and scores["12"].score == Decimal("9"), [
        (s.participant, s.score, [(c.check_id, c.points) for c in s.checks]) for s in result.scores]
    page = (tmp_path / "out" / "feedback" / "mlp_csv" / "12.html").read_text(encoding="utf-8")
    # the practical's own message, in the course language: never its raw code
    assert "El cuaderno no muestra ninguna gráfica" in page and "mlp_loss_not_plotted" not in page
    assert "Un MLP sobre un CSV" in page
    assert (tmp_path / "out" / "moodle" / "mlp_csv.csv").is_file()
