"""Points only for evidence from the grader's own run: a forged notebook through the real pipeline.

The forgery: never run, execution counts typed in, a hand-written decreasing ``history``, an nn.Conv2d
defined but unused in forward, and a printed accuracy. The course's solution, handed in as run, keeps
full marks beside it.
"""
from __future__ import annotations

from decimal import Decimal

import nbformat
import pytest

from conftest import as_handed_in_executed
from grader.course import single_practical_course
from grader.i18n import render
from grader.pipeline import grade_course

pytestmark = pytest.mark.slow

UNUSED_CONV = '''class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 32, 3, padding=1)    # defined, never used
        self.fc = nn.Linear(28 * 28, 10)

    def forward(self, x):
        return self.fc(x.flatten(1))
'''
TRAINING = "optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)"
HAND_WRITTEN = 'history = {"loss": [2.1, 1.2, 0.6], "accuracy": [0.41, 0.72, 0.93]}\n'


def _forged(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(solution)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if "class Net(nn.Module)" in cell.source:
            cell.source = UNUSED_CONV + "\n\nmodel = Net().to(device)\nprint(model)"
        elif cell.source.startswith(TRAINING):
            cell.source = HAND_WRITTEN
    count = 0
    for cell in nb.cells:       # numbers typed in, outputs never produced ...
        if cell.cell_type == "code":
            count += 1
            cell.execution_count = count
            if "Test accuracy" in cell.source:   # ... but for the accuracy line
                cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="Test accuracy: 0.9731\n")]
    return nb


def _as_run(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = as_handed_in_executed(nbformat.from_dict(solution))
    for cell in nb.cells:
        if cell.cell_type == "code" and "Test accuracy" in cell.source:
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="Test accuracy: 0.9650\n")]
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory, repo, shared_data):
    root = tmp_path_factory.mktemp("forged")
    solution = nbformat.read(repo / "assignments" / "mnist_cnn" / "solution.ipynb", as_version=4)
    nbformat.write(_forged(solution), root / "forged.ipynb")
    nbformat.write(_as_run(solution), root / "solution.ipynb")
    course = single_practical_course("mnist_cnn", [root / "forged.ipynb", root / "solution.ipynb"],
                                     shared_data, root / "out")
    result = grade_course(course, root / "out")
    return {s.participant: s for s in result.scores}


def _checks(score):
    return {c.check_id: c for c in score.checks}


def test_the_forged_notebook_earns_nothing_for_execution_training_or_convolution(graded):
    checks = _checks(graded["forged"])
    assert graded["forged"].status == "not_executed"    # as its page says: the counts were typed in
    for check_id in ("executed", "loss_decreasing", "convolution"):
        assert checks[check_id].points == 0, (check_id, render(checks[check_id].reason, "en"))
    assert checks["executed"].reason.code == "notebook_outputs_missing"
    assert checks["loss_decreasing"].reason.code == "mnist_history_typed"
    assert "In [" in render(checks["loss_decreasing"].reason, "en")
    # read from the exported program: a convolution defined and never called is not in what the model computes
    assert checks["convolution"].reason.code == "architecture_op_missing"
    assert "no convolution" in render(checks["convolution"].reason, "en")
    assert checks["convolution"].details["judge"] == "outside"
    for check_id in ("executed", "loss_decreasing", "convolution"):
        assert render(checks[check_id].reason, "es") != render(checks[check_id].reason, "en")


def test_the_solution_handed_in_as_run_keeps_full_marks(graded):
    score = graded["solution"]
    lost = {c.check_id: render(c.reason, "en") for c in score.checks if not c.passed}
    assert score.score == Decimal("10") and score.status == "graded", lost
    assert _checks(score)["loss_decreasing"].reason.code == "mnist_training_shown"
