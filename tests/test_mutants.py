"""Every mutant kept beside a practical costs the points the point table means it to cost, for every seed, on
exactly the checks the table names: scored in-process through the checks' own plans, the real probe and the
checks' scoring, beside a right student who keeps every point. One defect, one deduction, as a property of
the table: a second check that pays for the same defect fails the test."""
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import torch

from grader.assignment import load_assignment
from grader.i18n import render
from grader.mutants import load_mutants, loss_table, points_lost, reachable, right_student
from grader.references import with_reference
from grader.student_data import write_student_data

ASSIGNMENTS = Path(__file__).resolve().parents[1] / "assignments"
PRACTICALS = ("mnist_cnn", "imagenet_cnn", "rnn_text")
# rnn_text grades 18 students of 1,600 generate calls each per seed (about a minute): fewer seeds; imagenet_cnn
# preprocesses real images for each of its 24 mutants (1.5 s a seed): 10
SEEDS = {"mnist_cnn": range(20), "imagenet_cnn": range(10), "rnn_text": range(3)}
# the tests' budget (tests/test_practical_rnn.py): the reference that cross_entropy's full_at is relative to
RNN_BUDGET = {"steps": 30, "hidden_size": 64, "seq_len": 50, "batch_size": 16, "device": "cpu"}


def _assignment(practical: str):
    return load_assignment(ASSIGNMENTS / practical)


@pytest.fixture(scope="module")
def tables(shared_data, tmp_path_factory) -> dict:
    """practical -> (a Lost row per mutant, the right student's losses per check), over the practical's seeds."""
    found = {}
    for practical in PRACTICALS:
        assignment, student_dir, parameters = _assignment(practical), None, None
        if practical == "rnn_text":
            tmp = tmp_path_factory.mktemp("rnn_mutants")
            parameters = {**assignment.parameters, **RNN_BUDGET}
            assignment = with_reference(assignment, shared_data, parameters, tmp, log=lambda line: None)
            student_dir = write_student_data(assignment, tmp / "data", shared_data, parameters)
        table, right = loss_table(assignment, SEEDS[practical], shared_data, student_dir, parameters)
        print(f"\n{practical}: points lost per check, least-most over {len(SEEDS[practical])} seeds")
        for row in table:
            print(f"  {row.mutant.name}: " + ", ".join(f"{c} {low}-{high}" for c, (low, high) in row.checks.items()
                                                      if high > 0))
        found[practical] = (table, right)
    return found


def _all_mutants():
    return [pytest.param(p, m.name, id=f"{p}-{m.name}") for p in PRACTICALS for m in load_mutants(_assignment(p))]


@pytest.mark.slow
@pytest.mark.parametrize("practical", PRACTICALS)
def test_the_right_student_keeps_every_point_of_every_check_her_objects_reach(tables, practical):
    _, right = tables[practical]
    assert right and all(max(lost) == 0 for lost in right.values()), right


@pytest.mark.slow
@pytest.mark.parametrize("practical, name", _all_mutants())
def test_each_mutant_costs_exactly_the_checks_the_table_names_for_every_seed(tables, practical, name):
    table, _ = tables[practical]
    row = next(r for r in table if r.mutant.name == name)
    paid = {check_id for check_id, (_, high) in row.checks.items() if high > 0}
    assert paid == set(row.mutant.costs) and not row.problems(), (paid, row.problems())


@pytest.mark.parametrize("practical", PRACTICALS)
def test_every_check_a_student_writes_code_for_has_mutants_that_name_real_checks(practical):
    assignment = _assignment(practical)
    mutants = load_mutants(assignment)
    student = right_student(assignment) if practical != "rnn_text" else None
    written = ({spec.id for spec in reachable(assignment, set(student))} if student is not None
               else {spec.id for spec in assignment.checks if spec.kind != "notebook"})
    assert {m.check for m in mutants} == written
    for m in mutants:
        assert m.function.__doc__ and m.function.__doc__.strip(), m.name
        for check_id, points in m.costs.items():
            assert Decimal("0") < points <= assignment.check(check_id).points, (m.name, check_id)


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
            # F.cross_entropy is right too, but the statement forbids it (a mutant of its own, which loses all)
            "cross_entropy": {"log_softmax": lambda t, y: -torch.log_softmax(t, dim=1).gather(1, y.long()[:, None]).mean(),
                              "manual": manual_cross_entropy},
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


def test_a_second_check_paying_for_the_same_defect_is_reported():
    from grader.mutants import Lost

    sample_ignoring = next(m for m in load_mutants(_assignment("rnn_text")) if m.name == "sample_ignoring_temperature")
    as_declared = {"sample": (Decimal("1.00"), Decimal("1.00")), "temperature": (Decimal("1.5"), Decimal("1.5"))}
    assert Lost(sample_ignoring, as_declared).problems() == []
    twice = Lost(sample_ignoring, {**as_declared, "generate": (Decimal("0"), Decimal("0.33"))})
    assert twice.problems() == ["generate paid 0.33 for the same defect"]
    short = Lost(sample_ignoring, {**as_declared, "temperature": (Decimal("0"), Decimal("1.5"))})
    assert short.problems() == ["temperature lost only 0 of the 1.5 the table takes"]
