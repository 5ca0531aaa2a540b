"""The Keras edition of MNIST is graded like the PyTorch one: the solution earns 10, a defect costs its check."""
from __future__ import annotations

import importlib.util
from decimal import Decimal

import nbformat
import pytest

from conftest import as_handed_in_executed, variant
from grader.course import single_practical_course
from grader.i18n import render
from grader.pipeline import grade_course

pytestmark = [pytest.mark.slow,   # the kernel imports Keras (KERAS_BACKEND=torch); this process never does
              pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="keras is not installed")]

UNSTABLE = ("    shifted = logits - ops.max(logits, axis=1, keepdims=True)   # the largest logit becomes 0: no overflow\n",
            "    shifted = logits\n")
NO_CONV = [('layers.Conv2D(32, 3, padding="same", activation="relu")', 'layers.Dense(32, activation="relu")'),
           ('layers.Conv2D(64, 3, padding="same", activation="relu")', 'layers.Dense(64, activation="relu")')]


@pytest.fixture(scope="module")
def graded(tmp_path_factory, repo, shared_data):
    root = tmp_path_factory.mktemp("mnist_keras")
    folder = repo / "assignments" / "mnist_cnn"
    solution = nbformat.read(folder / "solution_keras.ipynb", as_version=4)
    no_conv = solution
    for old, new in NO_CONV:
        no_conv = variant(no_conv, old, new)
    notebooks = {"keras_solution": solution, "keras_unstable": variant(solution, *UNSTABLE), "keras_no_conv": no_conv}
    for name, nb in notebooks.items():
        nb = as_handed_in_executed(nb)
        for cell in nb.cells:
            if cell.cell_type == "code" and "Test accuracy" in cell.source:
                cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="Test accuracy: 0.9600\n")]
        nbformat.write(nb, root / f"{name}.ipynb")
    nbformat.write(nbformat.read(folder / "template_keras.ipynb", as_version=4), root / "keras_template.ipynb")
    paths = [root / f"{name}.ipynb" for name in [*notebooks, "keras_template"]]
    course = single_practical_course("mnist_cnn", paths, shared_data, root / "out")
    result = grade_course(course, root / "out")
    scores = {s.participant: s for s in result.scores}
    return scores, scores


def _lost(score):
    return {c.check_id: (c.max_points - c.points, render(c.reason, "en")) for c in score.checks if c.points < c.max_points}


def test_the_keras_solution_earns_full_marks_and_is_told_it_follows_the_keras_edition(graded):
    scores, evaluations = graded
    assert scores["keras_solution"].score == Decimal("10"), _lost(scores["keras_solution"])
    notes = [render(n, "en") for n in evaluations["keras_solution"].notes]
    assert any("Keras edition" in n and "template_keras.ipynb" in n for n in notes), notes


def test_an_unstable_keras_softmax_loses_exactly_the_stable_part(graded):
    scores, _ = graded
    assert _lost(scores["keras_unstable"]).keys() == {"softmax"}, _lost(scores["keras_unstable"])
    assert scores["keras_unstable"].score == Decimal("9.5")


def test_a_keras_model_without_conv2d_loses_the_convolution_check(graded):
    scores, _ = graded
    lost = _lost(scores["keras_no_conv"])
    assert "convolution" in lost and lost["convolution"][0] == Decimal("0.5"), lost
    # a per-pixel Dense network learns less in one epoch: its accuracy (and the 0.96 typed in) may cost too,
    # nothing else does
    assert set(lost) <= {"convolution", "accuracy", "reported_accuracy"}, lost


def test_the_unfilled_keras_template_earns_next_to_nothing(graded):
    scores, _ = graded
    assert scores["keras_template"].score <= Decimal("1"), _lost(scores["keras_template"])
