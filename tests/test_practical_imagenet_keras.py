"""The Keras edition of imagenet_cnn is graded like the PyTorch one, on the real ImageNet images and weights:
the solution earns 10 with the reference's own predictions, each broken variant loses exactly its checks,
and the unfilled template earns next to nothing."""
from __future__ import annotations

import importlib.util
from decimal import Decimal

import nbformat
import numpy as np
import pytest
import torch

from conftest import as_handed_in_executed, moodle_entry, notebook_bytes, variant
from one_practical import grade_archive
from grader.i18n import render
from reference.efficientnet_lite import load_pretrained
from reference.imagenet_cnn import evaluation_data, topk_accuracy

pytestmark = [pytest.mark.slow,   # the kernels import Keras (KERAS_BACKEND=torch); this process never does
              pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="keras is not installed")]

CHECKS = {"executed", "preprocess", "topk_accuracy", "model_shape", "top1", "top5"}
# participant -> (what is wrong, the change to the Keras solution, the checks it must lose: points from the table)
VARIANTS = {
    "302": ("preprocess without normalisation", ("return (pixels - MEAN) / STD", "return pixels"),
            {"preprocess": Decimal("2")}),
    "303": ("topk_accuracy as a percentage",
            ("return float(ops.convert_to_numpy(", "return 100 * float(ops.convert_to_numpy("),
            {"topk_accuracy": Decimal("2")}),
    "304": ("convolution kernels reshaped into Keras's layout, not transposed",
            ('w("weight").transpose(2, 3, 1, 0)', 'w("weight").reshape(layer.kernel.shape)'),
            {"top1": Decimal("2.5"), "top5": Decimal("1.5")}),
}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("imagenet_keras")


@pytest.fixture(scope="module")
def batch(root, repo, shared_data):
    if not (shared_data / "imagenet" / "labels.csv").is_file():
        pytest.fail(f"the real ImageNet images are missing from {shared_data / 'imagenet'}")
    folder = repo / "assignments" / "imagenet_cnn"
    solution = nbformat.read(folder / "solution_keras.ipynb", as_version=4)
    notebooks = {"301": solution, **{n: variant(solution, *change) for n, (_, change, _) in VARIANTS.items()},
                 "305": nbformat.read(folder / "template_keras.ipynb", as_version=4)}
    entries = {moodle_entry(f"Student {n}", n, "imagenet.ipynb"): notebook_bytes(as_handed_in_executed(nb))
               for n, nb in notebooks.items()}
    # As in test_practical_imagenet.py: ten held-out images and two examples keep each run to seconds.
    result, _ = grade_archive(root, "imagenet_cnn", entries, shared_data,
                              parameters="eval_images = 10, example_images = 2", timeout_s=600)
    return {score.participant: score for score in result.scores}


@pytest.fixture(scope="module")
def work(batch, root):
    """The run folders the batch left (out/ holds what the probe saved), by participant."""
    return root / "out" / "work" / "imagenet_cnn"


@pytest.fixture(scope="module")
def reference(shared_data):
    """The PyTorch reference's logits and the labels of the ten held-out images, in their own order."""
    images, labels = evaluation_data(shared_data, {"eval_images": 10})
    with torch.no_grad():
        return load_pretrained()(torch.from_numpy(images)).numpy(), labels


def _checks(score) -> dict:
    return {check.check_id: check for check in score.checks}


def _lost(score) -> dict:
    return {c.check_id: c.max_points - c.points for c in score.checks if c.points < c.max_points}


def test_the_keras_solution_scores_full_marks_with_the_references_accuracy(batch, reference):
    score = batch["301"]
    checks = _checks(score)
    assert set(checks) == CHECKS
    assert score.status == "graded" and score.score == Decimal("10"), \
        {c.check_id: render(c.reason, "en") for c in checks.values()}
    assert all(c.points == c.max_points for c in checks.values())
    # the same network and weights as the PyTorch reference: the same hits on the same images
    logits, labels = reference
    assert float(checks["top1"].details["accuracy"]) == pytest.approx(topk_accuracy(logits, labels, 1))
    assert float(checks["top5"].details["top5_accuracy"]) == pytest.approx(topk_accuracy(logits, labels, 5))


def test_the_keras_solutions_logits_are_the_pytorch_references_image_for_image(work, reference):
    expected, _ = reference
    # the judge's answers, kept beside the executed copy, in the grader's shuffled order
    got = np.load(work / "301" / "answers" / "model" / "top1.npy", allow_pickle=False)
    assert got.shape == expected.shape
    distance = np.abs(got[:, None, :] - expected[None, :, :]).max(axis=2)   # every answer against every image
    match = distance.argmin(axis=1)
    assert sorted(match.tolist()) == list(range(len(expected)))            # one image each
    assert distance[np.arange(len(got)), match].max() < 1e-3, distance.min(axis=1)


def test_the_keras_solution_is_told_it_follows_the_keras_edition_and_its_layouts(batch):
    notes = [render(n, "en") for n in batch["301"].notes]
    assert any("Keras edition" in n and "template_keras.ipynb" in n and "`model` NHWC" in n for n in notes), notes
    assert any("`preprocess` HWC" in n and "channels first" in n for n in notes), notes


@pytest.mark.parametrize("participant", sorted(VARIANTS))
def test_a_broken_keras_variant_loses_exactly_its_checks(batch, participant):
    what, _, lost = VARIANTS[participant]
    score = batch[participant]
    assert _lost(score) == lost, f"{what}: " + "; ".join(
        f"{c.check_id}: {render(c.reason, 'en')}" for c in score.checks if c.points < c.max_points)
    assert score.score == Decimal("10") - sum(lost.values())


def test_keras_preprocessing_without_normalisation_fails_every_case_in_the_contracts_layout(batch):
    check = _checks(batch["302"])["preprocess"]
    assert check.details["cases_passed"] == "0/6"
    assert "block means" in render(check.reason, "en")     # compared pixel for pixel: not a shape mismatch


def test_the_unfilled_keras_template_earns_next_to_nothing(batch):
    score = batch["305"]
    checks = _checks(score)
    assert score.score <= Decimal("1"), _lost(score)
    for check_id in ("preprocess", "topk_accuracy", "model_shape", "top1", "top5"):
        assert checks[check_id].points == 0
    assert "NotImplementedError" in render(checks["preprocess"].reason, "en")
