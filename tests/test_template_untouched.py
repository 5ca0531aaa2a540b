"""The template handed in untouched earns nothing, not even the points for handing it in executed."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import nbformat

from grader.assignment import load_assignment
from grader.checks.base import ScoreContext
from grader.checks.notebook import NotebookCheck
from grader.i18n import render
from grader.records import InspectionReport

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "assignments" / "mnist_cnn" / "template.ipynb"
RAN_CLEAN = InspectionReport(readable=True, nbformat=4, code_cells=12, executed_cells=12, executed=True,
                             in_order=True, error_cells=(), has_plot=False, colab=False,
                             has_parameters_cell=True, practical_hint=None)


def _executed_copy(tmp_path: Path, change: str | None = None) -> Path:
    nb = nbformat.read(TEMPLATE, as_version=4)
    count = 0
    for cell in nb.cells:
        if cell.cell_type == "code":
            count += 1
            cell.execution_count = count
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="(output as run)\n")]
    if change is not None:
        nb.cells[7].source = change
    path = tmp_path / "handed_in.ipynb"
    nbformat.write(nb, path)
    return path


def _executed_check():
    return load_assignment(REPO / "assignments" / "mnist_cnn").check("executed")


def test_the_untouched_template_run_in_order_earns_nothing_of_executed(tmp_path):
    ctx = ScoreContext(inspection=RAN_CLEAN, run=None, outputs=None, notebook=_executed_copy(tmp_path),
                       templates=(TEMPLATE,))
    scored = NotebookCheck.score(_executed_check(), ctx)
    assert scored.points == Decimal("0")
    assert "plantilla" in render(scored.reason, "es") and "template" in render(scored.reason, "en")


def test_a_notebook_with_code_of_its_own_is_judged_as_usual(tmp_path):
    own = "def softmax(logits):\n    e = (logits - logits.max(1, keepdims=True)).exp()\n    return e / e.sum(1, keepdims=True)"
    ctx = ScoreContext(inspection=RAN_CLEAN, run=None, outputs=None, notebook=_executed_copy(tmp_path, own),
                       templates=(TEMPLATE,))
    assert NotebookCheck.score(_executed_check(), ctx).points == Decimal("1")


def test_the_untouched_keras_template_earns_nothing_either(tmp_path):
    nb = nbformat.read(REPO / "assignments" / "mnist_cnn" / "template_keras.ipynb", as_version=4)
    for count, cell in enumerate((c for c in nb.cells if c.cell_type == "code"), start=1):
        cell.execution_count = count
    path = tmp_path / "keras_handed_in.ipynb"
    nbformat.write(nb, path)
    assignment = load_assignment(REPO / "assignments" / "mnist_cnn")
    assert len(assignment.template_files()) == 2   # both editions' templates
    ctx = ScoreContext(inspection=RAN_CLEAN, run=None, outputs=None, notebook=path,
                       templates=assignment.template_files())
    assert NotebookCheck.score(_executed_check(), ctx).points == Decimal("0")


def test_the_untouched_rnn_keras_template_earns_nothing(tmp_path):
    rnn = load_assignment(REPO / "assignments" / "rnn_text")
    keras_template = REPO / "assignments" / "rnn_text" / "template_keras.ipynb"
    assert keras_template in rnn.template_files()
    nb = nbformat.read(keras_template, as_version=4)
    for count, cell in enumerate((c for c in nb.cells if c.cell_type == "code"), start=1):
        cell.execution_count = count
    handed_in = tmp_path / "keras.ipynb"
    nbformat.write(nb, handed_in)
    ctx = ScoreContext(inspection=RAN_CLEAN, run=None, outputs=None, notebook=handed_in,
                       templates=rnn.template_files())
    assert NotebookCheck.score(rnn.check("executed"), ctx).points == Decimal("0")


def test_the_untouched_template_is_a_status_of_its_own_never_an_error(tmp_path):
    from grader.jobs import JobSpec, run_job
    from grader.records import Submission

    notebook = _executed_copy(tmp_path)
    assignment = load_assignment(REPO / "assignments" / "mnist_cnn")
    spec = JobSpec(submission=Submission("mnist_cnn", "7", "Eva", "x.zip", (notebook,), notebook, "0" * 64),
                   assignment=assignment, parameters=dict(assignment.parameters), course_data_dir=tmp_path,
                   student_data_dir=tmp_path, work_dir=tmp_path / "work", timeout_s=60, static=True)
    graded = run_job(spec, None)
    assert graded.status == "untouched" and graded.reason.code == "job_untouched_template"
    assert "plantilla" in render(graded.reason, "es") and "no code of the student's" in render(graded.reason, "en")
