"""Every mutant kept beside a practical loses the points the point table means it to lose, for every
seed: scored in-process through the check's own plan, the real probe and the check's scoring."""
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import torch

from grader.assignment import load_assignment
from grader.i18n import render
from grader.mutants import load_mutants, points_lost

ASSIGNMENTS = Path(__file__).resolve().parents[1] / "assignments"
PRACTICALS = ("mnist_cnn", "imagenet_cnn", "rnn_text")
SEEDS = range(20)


def _assignment(practical: str):
    return load_assignment(ASSIGNMENTS / practical)


def _function_checks(assignment) -> list[str]:
    return [spec.id for spec in assignment.checks if spec.kind == "function"]


@pytest.fixture(scope="module")
def losses() -> dict[tuple[str, str], list[Decimal]]:
    """(practical, mutant) -> points lost, one per seed; each seed's cases scored for all mutants at once."""
    lost: dict[tuple[str, str], list[Decimal]] = {}
    for practical in PRACTICALS:
        assignment = _assignment(practical)
        mutants = load_mutants(assignment)
        for check_id in _function_checks(assignment):
            functions = {m.name: m.function for m in mutants if m.check == check_id}
            for seed in SEEDS:
                for name, res in points_lost(assignment, check_id, functions, seed).items():
                    lost.setdefault((practical, name), []).append(res.max_points - res.points)
    return lost


def _all_mutants():
    return [pytest.param(p, m, id=f"{p}-{m.name}") for p in PRACTICALS for m in load_mutants(_assignment(p))]


@pytest.mark.slow
@pytest.mark.parametrize("practical, mutant", _all_mutants())
def test_each_mutant_loses_its_share_of_the_points_for_every_seed(losses, practical, mutant):
    lost = losses[(practical, mutant.name)]
    assert len(lost) == len(SEEDS)
    assert min(lost) >= mutant.loses, f"{mutant.name} lost only {min(lost)} of the {mutant.loses} it should"
    if mutant.exact:    # right in every other respect: it keeps the rest, every run
        assert max(lost) == mutant.loses, f"{mutant.name} lost {max(lost)}, more than its {mutant.loses}"


@pytest.mark.parametrize("practical", PRACTICALS)
def test_every_function_check_of_a_practical_has_mutants_with_docstrings(practical):
    assignment = _assignment(practical)
    mutants = load_mutants(assignment)
    assert {m.check for m in mutants} == set(_function_checks(assignment))
    for m in mutants:
        assert m.function.__doc__ and m.function.__doc__.strip(), m.name
        assert Decimal("0") < m.loses <= assignment.check(m.check).points, m.name


def _correct_functions() -> dict[str, dict[str, object]]:
    """Right answers written the ways students write them: they must keep every point, every seed."""
    from reference.imagenet_cnn import preprocess

    def manual_softmax(t):
        e = torch.exp(t - t.max(dim=1, keepdim=True).values)
        return e / e.sum(dim=1, keepdim=True)

    def manual_cross_entropy(logits, targets):
        logp = logits - torch.logsumexp(logits, dim=1, keepdim=True)
        return -logp[torch.arange(len(targets)), targets].mean()

    def numpy_topk(logits, targets, k):
        top = np.argsort(-np.asarray(logits), axis=1)[:, :int(k)]
        return float(np.mean(np.any(top == np.asarray(targets)[:, None], axis=1)))

    return {"softmax": {"torch": lambda t: torch.softmax(t, dim=1), "manual": manual_softmax},
            "cross_entropy": {"torch": torch.nn.functional.cross_entropy, "manual": manual_cross_entropy},
            "preprocess": {"reference": preprocess},
            "topk_accuracy": {"numpy": numpy_topk}}


@pytest.mark.slow
@pytest.mark.parametrize("practical, check_id", [("mnist_cnn", "softmax"), ("mnist_cnn", "cross_entropy"),
                                                 ("imagenet_cnn", "preprocess"), ("imagenet_cnn", "topk_accuracy")])
def test_correct_implementations_keep_every_point_for_every_seed(practical, check_id):
    assignment = _assignment(practical)
    for seed in range(5):
        for label, res in points_lost(assignment, check_id, _correct_functions()[check_id], seed).items():
            assert res.points == res.max_points, f"{label}, seed {seed}: {render(res.reason, 'en')}"


def test_an_unstable_softmax_loses_exactly_the_stable_part_and_the_reason_says_so_in_both_languages():
    assignment = _assignment("mnist_cnn")
    mutant = next(m for m in load_mutants(assignment) if m.name == "softmax_without_max_shift")
    res = points_lost(assignment, "softmax", {"naive": mutant.function}, seed=3)["naive"]
    assert res.points == Decimal("1.00") and res.details["parts_passed"] == {"rest": "4/4", "stable": "0/3"}
    en, es = render(res.reason, "en"), render(res.reason, "es")
    assert "points lost for “stable with logits of ±1000” (0/3 cases, −0.5)" in en
    assert "First failure, 5 rows of logits between −1000 and +1000: got nan" in en
    assert "«estable con logits de ±1000» (0/3 casos, −0,5)" in es and "Primer fallo, 5 filas de logits" in es


def test_a_failing_case_is_described_in_words_not_by_its_number():
    assignment = _assignment("imagenet_cnn")
    mutant = next(m for m in load_mutants(assignment) if m.name == "preprocess_without_greyscale_to_rgb")
    res = points_lost(assignment, "preprocess", {"rgb_only": mutant.function}, seed=0)["rgb_only"]
    assert res.points == Decimal("1.50")
    en, es = render(res.reason, "en"), render(res.reason, "es")
    assert "First failure, greyscale image 380×240:" in en and "“greyscale images turned into RGB”" in en
    assert "Primer fallo, imagen en escala de grises de 380×240:" in es and "case 5" not in en
