"""``executed`` from the record of the solution's run: where an executed hand-in shows output, whatever the
student's code does when the grader runs it. The record ships with each practical and must be current."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import as_handed_in_executed
from grader.assignment import load_assignment
from grader.checks.base import ScoreContext
from grader.checks.notebook import NotebookCheck
from grader.errors import ConfigError
from grader.i18n import render
from grader.notebooks import inspect
from grader.records import RunResult
from grader.template_outputs import FILE_NAME, read_record, solution_for

REPO = Path(__file__).resolve().parents[1]
PRACTICALS = ("mnist_cnn", "rnn_text", "imagenet_cnn")
EDITIONS = [(p, s) for p in PRACTICALS for s in ("solution.ipynb", "solution_keras.ipynb")]


def _score(practical: str, notebook: Path, run: RunResult | None = None, directory: Path | None = None):
    assignment = load_assignment(directory or REPO / "assignments" / practical)
    ctx = ScoreContext(inspection=inspect(notebook), run=run, outputs=None, notebook=notebook,
                       templates=assignment.template_files())
    return NotebookCheck.score(assignment.check("executed"), ctx)


def _never_run(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Execution counts typed in, no output anywhere."""
    nb = as_handed_in_executed(nbformat.from_dict(solution))
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    return nb


def _write(nb, path: Path) -> Path:
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize("practical", PRACTICALS)
def test_every_practical_records_where_each_editions_solution_prints(practical):
    editions = {e.template: e for e in read_record(REPO / "assignments" / practical)}
    assert set(editions) == {"template.ipynb", "template_keras.ipynb"}
    for edition in editions.values():
        assert edition.solution == solution_for(edition.template) and len(edition.printing) >= 5


@pytest.mark.parametrize("practical,solution", EDITIONS)
def test_a_solution_handed_in_as_run_keeps_the_points_and_never_run_with_typed_counts_earns_none(
        tmp_path, practical, solution):
    nb = nbformat.read(REPO / "assignments" / practical / solution, as_version=4)
    assert _score(practical, _write(as_handed_in_executed(nbformat.from_dict(nb)), tmp_path / "run.ipynb")).points == 1
    forged = _score(practical, _write(_never_run(nb), tmp_path / "forged.ipynb"))
    assert forged.points == 0 and forged.reason.code == "notebook_outputs_missing"
    assert forged.details["template"] == solution.replace("solution", "template")


def test_what_the_graders_run_shows_is_not_asked(tmp_path):
    """A never-run notebook that keeps quiet when the grader runs it: the run printed nothing, which
    once meant that nothing had to be shown. The record is the same whatever the run did."""
    nb = _never_run(nbformat.read(REPO / "assignments" / "mnist_cnn" / "solution.ipynb", as_version=4))
    forged = _write(nb, tmp_path / "forged.ipynb")
    silent_run = _write(nb, tmp_path / "executed.ipynb")   # the grader's run, every cell silent
    run = RunResult(status="ok", duration_s=1.0, executed_notebook=silent_run, out_dir=tmp_path)
    scored = _score("mnist_cnn", forged, run)
    assert scored.points == 0 and scored.reason.code == "notebook_outputs_missing"
    assert scored.details["outputs_expected"] == 7 and scored.details["outputs_shown"] == 0
    english, spanish = render(scored.reason, "en"), render(scored.reason, "es")
    assert "7 cells of template.ipynb that print or plot when the grader runs the practical's solution" in english
    assert "In [3]" in english and "at least 4" in english
    assert "de template.ipynb que imprimen o dibujan cuando el corrector ejecuta la solución" in spanish


def test_a_notebook_run_halfway_with_the_rest_numbered_by_hand_has_not_shown_its_end(tmp_path):
    nb = as_handed_in_executed(nbformat.read(REPO / "assignments" / "mnist_cnn" / "solution.ipynb", as_version=4))
    code = [c for c in nb.cells if c.cell_type == "code"]
    for cell in code[len(code) * 2 // 3:]:
        cell.outputs = []
    scored = _score("mnist_cnn", _write(nb, tmp_path / "half.ipynb"))
    assert scored.points == 0 and scored.reason.code == "notebook_end_not_shown"
    assert "run to the end" in render(scored.reason, "en") and "hasta el final" in render(scored.reason, "es")


def _copy(tmp_path: Path, practical: str = "mnist_cnn") -> Path:
    folder = tmp_path / practical
    shutil.copytree(REPO / "assignments" / practical, folder)
    return folder


@pytest.mark.parametrize("changed", ["template_keras.ipynb", "solution.ipynb"])
def test_a_template_or_solution_changed_after_the_record_stops_the_practical_loading(tmp_path, changed):
    folder = _copy(tmp_path)
    nb = nbformat.read(folder / changed, as_version=4)
    next(c for c in nb.cells if c.cell_type == "code").source += "\nprint('one more line')"
    nbformat.write(nb, folder / changed)
    with pytest.raises(ConfigError, match=f"{changed} changed since .*grader reference outputs mnist_cnn"):
        load_assignment(folder)
    assert load_assignment(folder, check_files=False).id == "mnist_cnn"   # what the tool that builds it loads


def test_a_practical_without_its_record_does_not_load(tmp_path):
    folder = _copy(tmp_path)
    (folder / FILE_NAME).unlink()
    with pytest.raises(ConfigError, match="no record of which cells of template.ipynb print"):
        load_assignment(folder)


def test_a_students_copy_without_solutions_still_judges_executed(tmp_path):
    folder = tmp_path / "mnist_cnn"
    folder.mkdir()
    for name in ("assignment.toml", "messages.toml", "template.ipynb", "template_keras.ipynb", FILE_NAME):
        shutil.copyfile(REPO / "assignments" / "mnist_cnn" / name, folder / name)
    nb = _never_run(nbformat.read(REPO / "assignments" / "mnist_cnn" / "solution.ipynb", as_version=4))
    assert _score("mnist_cnn", _write(nb, tmp_path / "forged.ipynb"), directory=folder).points == 0


def test_a_broken_record_is_named_as_such(tmp_path):
    folder = _copy(tmp_path)
    (folder / FILE_NAME).write_text('{"editions": [{"template": "template.ipynb"}]}', encoding="utf-8")
    with pytest.raises(ConfigError, match="not a record written by `grader reference outputs`"):
        load_assignment(folder)



def test_a_static_grading_calls_a_never_run_notebook_with_typed_counts_not_executed(tmp_path):
    from grader.jobs import JobSpec, run_job
    from grader.records import Submission

    nb = _never_run(nbformat.read(REPO / "assignments" / "mnist_cnn" / "solution.ipynb", as_version=4))
    path = _write(nb, tmp_path / "forged.ipynb")
    submission = Submission(practical="mnist_cnn", participant="1", full_name="", source=str(path), files=(path,),
                            notebook=path, sha256="0" * 64)
    spec = JobSpec(submission=submission, assignment=load_assignment(REPO / "assignments" / "mnist_cnn"),
                   parameters={}, course_data_dir=tmp_path, student_data_dir=tmp_path, work_dir=tmp_path / "work",
                   timeout_s=60, static=True)
    evaluation = run_job(spec, None)
    assert evaluation.status == "not_executed" and evaluation.reason.code == "job_not_executed"


@pytest.mark.slow
def test_grader_reference_outputs_rebuilds_the_record_a_changed_template_needs(tmp_path, shared_data):
    """The command runs both editions' solutions (real kernels, the practical's own budget) and writes the
    record the practical then loads with; the printing cells are those shipped."""
    folder = _copy(tmp_path)
    nb = nbformat.read(folder / "template.ipynb", as_version=4)
    nb.cells.insert(0, nbformat.v4.new_markdown_cell("A note the instructor added."))
    next(c for c in nb.cells if c.cell_type == "code").source += "\n# a comment the instructor added"
    nbformat.write(nb, folder / "template.ipynb")
    with pytest.raises(ConfigError):
        load_assignment(folder)
    done = subprocess.run([sys.executable, "-m", "grader", "reference", "outputs", "mnist_cnn", "--data",
                           str(shared_data), "--assignments", str(tmp_path)], capture_output=True, text=True,
                          timeout=900, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "wrote" in done.stdout and "7 cells of template.ipynb print or plot" in done.stdout
    assert load_assignment(folder).id == "mnist_cnn"
    shipped = {e.template: e.printing for e in read_record(REPO / "assignments" / "mnist_cnn")}
    assert {e.template: e.printing for e in read_record(folder)} == shipped
