"""The MNIST practical is fair: a correct solution in another style earns full marks, the template nothing."""
from __future__ import annotations

from decimal import Decimal

import nbformat
import pytest

from conftest import as_handed_in_executed
from grader.course import single_practical_course
from grader.i18n import render
from grader.pipeline import grade_course
from similarity_solutions import SOLUTION_B

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def graded(tmp_path_factory, repo, shared_data):
    """SOLUTION_B: 5x5 convolutions and dropout, SGD with momentum, a logsumexp cross-entropy, its own
    plotting and evaluation loops - nothing like the course's solution but the contract."""
    root = tmp_path_factory.mktemp("mnist_styles")
    template = nbformat.read(repo / "assignments" / "mnist_cnn" / "template.ipynb", as_version=4)
    other = nbformat.from_dict(template)
    for index, source in SOLUTION_B.items():
        other.cells[index].source = source
    other = as_handed_in_executed(other)
    for cell in other.cells:
        if cell.cell_type == "code" and "Test accuracy" in cell.source:
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="Test accuracy: 0.9600\n")]
    nbformat.write(other, root / "other_style.ipynb")
    nbformat.write(template, root / "template.ipynb")
    course = single_practical_course("mnist_cnn", [root / "other_style.ipynb", root / "template.ipynb"],
                                     shared_data, root / "out")
    result = grade_course(course, root / "out")
    return {s.participant: s for s in result.scores}


def test_a_correct_solution_in_another_style_earns_full_marks(graded):
    score = graded["other_style"]
    lost = {c.check_id: render(c.reason, "en") for c in score.checks if not c.passed}
    assert score.score == Decimal("10"), lost


def test_the_unfilled_template_earns_nothing_and_says_why_per_check(graded):
    score = graded["template"]
    assert score.score == Decimal("0"), score
    for check in score.checks:
        if not check.passed:
            assert render(check.reason, "en") and render(check.reason, "es"), check.check_id
