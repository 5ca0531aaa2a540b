"""The imagenet_cnn practical graded end to end on the real ImageNet images: the solution earns full
marks, each broken variant loses exactly the checks it should, and the template earns almost nothing."""
from __future__ import annotations

from decimal import Decimal

import nbformat
import pytest

from conftest import moodle_entry, notebook_bytes, as_handed_in_executed, variant
from one_practical import grade_archive
from grader.i18n import render

pytestmark = pytest.mark.slow

CHECKS = {"executed", "preprocess", "topk_accuracy", "model_shape", "top1", "top5"}
# participant -> (what is wrong, the checks it must lose)
VARIANTS = {
    "201": ("the solution", set()),
    "202": ("preprocess without normalisation", {"preprocess"}),
    "203": ("topk_accuracy with k off by one", {"topk_accuracy"}),
    "204": ("weights never loaded", {"top1", "top5"}),
}






@pytest.fixture(scope="module")
def batch(tmp_path_factory, repo, shared_data):
    if not (shared_data / "imagenet" / "labels.csv").is_file():
        pytest.fail(f"the real ImageNet images are missing from {shared_data / 'imagenet'}")
    root = tmp_path_factory.mktemp("imagenet_course")
    folder = repo / "assignments" / "imagenet_cnn"
    solution = nbformat.read(folder / "solution.ipynb", as_version=4)
    notebooks = {
        "201": solution,
        "202": variant(solution, "return (pixels - MEAN) / STD", "return pixels"),
        "203": variant(solution, "topk(int(k), dim=1)", "topk(int(k) + 1, dim=1)"),
        "204": variant(solution, "model.load_state_dict(state, strict=True)", "state = None   # never loaded"),
        "205": nbformat.read(folder / "template.ipynb", as_version=4),
    }
    entries = {moodle_entry(f"Student {n}", n, "imagenet.ipynb"): notebook_bytes(as_handed_in_executed(nb))
               for n, nb in notebooks.items()}
    # Ten held-out images and two examples keep the five runs to seconds each; the README has the full budget.
    result, _ = grade_archive(root, "imagenet_cnn", entries, shared_data,
                              parameters="eval_images = 10, example_images = 2", timeout_s=600)
    return {score.participant: score for score in result.scores}


def _checks(score) -> dict:
    return {check.check_id: check for check in score.checks}


def test_the_solution_scores_full_marks(batch):
    score = batch["201"]
    checks = _checks(score)
    assert set(checks) == CHECKS
    assert score.status == "graded" and score.score == Decimal("10"), \
        {c.check_id: render(c.reason, "en") for c in checks.values()}
    assert Decimal(checks["top1"].details["accuracy"]) >= Decimal("0.7")
    assert Decimal(checks["top5"].details["top5_accuracy"]) >= Decimal("0.9")


@pytest.mark.parametrize("participant", sorted(set(VARIANTS) - {"201"}))
def test_a_broken_variant_loses_exactly_its_checks(batch, participant):
    what, lost = VARIANTS[participant]
    checks = _checks(batch[participant])
    failed = {check_id for check_id, check in checks.items() if check.points < check.max_points}
    assert failed == lost, f"{what}: " + "; ".join(render(checks[c].reason, "en") for c in failed ^ lost)


def test_preprocessing_without_normalisation_fails_every_case_and_says_by_how_much(batch):
    check = _checks(batch["202"])["preprocess"]
    assert check.points == 0 and check.details["cases_passed"] == "0/6"
    assert "block means" in render(check.reason, "en")


def test_an_off_by_one_k_loses_every_topk_point_and_the_case_is_described_in_words(batch):
    check = _checks(batch["203"])["topk_accuracy"]
    assert check.points == 0 and check.details["cases_passed"] == "0/6"
    assert "First failure, k = 5 of 1000 classes, 64 rows: differs by up to" in render(check.reason, "en")
    assert "Primer fallo, k = 5 de 1000 clases, 64 filas" in render(check.reason, "es")


def test_an_untrained_model_keeps_its_shape_points(batch):
    checks = _checks(batch["204"])
    assert checks["model_shape"].points == checks["model_shape"].max_points
    assert checks["top1"].points == 0 and checks["top5"].points == 0
    assert Decimal(checks["top1"].details["accuracy"]) <= Decimal("0.1")


def test_the_unfilled_template_scores_near_zero_with_a_reason_per_check(batch):
    score = batch["205"]
    checks = _checks(score)
    assert score.score <= Decimal("1")
    for check_id in ("preprocess", "topk_accuracy", "model_shape", "top1", "top5"):
        assert checks[check_id].points == 0
    texts = {check_id: render(check.reason, "en") for check_id, check in checks.items()}
    assert "NotImplementedError" in texts["preprocess"] and "NotImplementedError" in texts["topk_accuracy"]
    assert "`model`" in texts["model_shape"] and "`model`" in texts["top1"]
