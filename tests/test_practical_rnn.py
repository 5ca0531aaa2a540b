"""The rnn_text practical end to end on real Tiny Shakespeare, under a tiny grading budget: the solution
earns full marks, each broken variant loses exactly the checks its bug should cost, the template
earns next to nothing with a specific message per check."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import nbformat
import pytest

from conftest import moodle_entry, notebook_bytes, as_handed_in_executed, variant
from one_practical import grade_archive
from grader.i18n import render

pytestmark = pytest.mark.slow

ALL_CHECKS = {"executed", "roundtrip", "model_shape", "sample", "generate", "temperature", "cross_entropy"}
TINY_BUDGET = 'steps = 30, hidden_size = 64, seq_len = 50, batch_size = 16, device = "cpu"'






def _notebooks(repo: Path) -> dict[str, nbformat.NotebookNode]:
    folder = repo / "assignments" / "rnn_text"
    solution = nbformat.read(folder / "solution.ipynb", as_version=4)
    return {
        "solution": as_handed_in_executed(solution),
        "no_temperature": as_handed_in_executed(variant(solution, "next_id = sample(logits[0, -1], temperature)",
                                             "next_id = sample(logits[0, -1], 1.0)")),
        "argmax": as_handed_in_executed(variant(solution, "return int(torch.multinomial(probs, 1))",
                                     "return int(torch.argmax(probs))")),
        "untrained": as_handed_in_executed(variant(solution, "for step in range(steps):", "for step in range(0):")),
        "drops_a_character": as_handed_in_executed(variant(solution, 'return "".join(itos[int(i)] for i in ids)',
                                                'return "".join(itos[int(i)] for i in ids[1:])')),
        "no_prompt": as_handed_in_executed(variant(solution, "    out = prompt\n", "    out = \"\"\n")),
        "short_by_one": as_handed_in_executed(variant(solution, "    for _ in range(length):\n        next_id",
                                                      "    for _ in range(length - 1):\n        next_id")),
        "untrained_no_temperature": as_handed_in_executed(variant(
            variant(solution, "for step in range(steps):", "for step in range(0):"),
            "next_id = sample(logits[0, -1], temperature)", "next_id = sample(logits[0, -1], 1.0)")),
        "own_vocabulary_order": as_handed_in_executed(variant(solution, "chars = sorted(set(text))",
                                                              "chars = list(set(text))")),
        "template": nbformat.read(folder / "template.ipynb", as_version=4),
    }


@pytest.fixture(scope="module")
def graded(tmp_path_factory, repo, shared_data):
    if not (shared_data / "text" / "tinyshakespeare.txt").is_file():
        pytest.fail(f"Tiny Shakespeare is missing from {shared_data / 'text'} (see ../shared/data/README.md)")
    root = tmp_path_factory.mktemp("rnn_course")
    names = list(_notebooks(repo))
    entries = {moodle_entry(name, str(200 + i), "rnn_text.ipynb"): notebook_bytes(nb)
               for i, (name, nb) in enumerate(_notebooks(repo).items())}
    batch, wall = grade_archive(root, "rnn_text", entries, shared_data, parameters=TINY_BUDGET, timeout_s=400,
                                one_thread=True)
    by_name = {s.full_name: s for s in batch.scores}
    assert set(by_name) == set(names)
    print(f"\nrnn_text: {len(names)} notebooks graded in {wall:.1f} s; "
          + ", ".join(f"{n} {s.duration_s:.1f} s" for n, s in by_name.items()))
    for name, score in by_name.items():     # the measured table, to set beside the intended one
        print(f"  {name}: {score.score} = " + " · ".join(f"{c.check_id} {c.points}" for c in score.checks))
    return by_name, root


def _points(score) -> dict[str, Decimal]:
    return {c.check_id: c.points for c in score.checks}


def _lost(score) -> set[str]:
    return {c.check_id for c in score.checks if c.points < c.max_points}


def test_the_solution_earns_full_marks_under_a_tiny_budget(graded):
    scores, root = graded
    solution = scores["solution"]
    assert solution.status == "graded" and solution.score == Decimal("10"), [
        (c.check_id, c.points, render(c.reason, "en")) for c in solution.checks]
    assert {c.check_id for c in solution.checks} == ALL_CHECKS
    cross_entropy = next(c for c in solution.checks if c.check_id == "cross_entropy")
    assert Decimal(cross_entropy.details["cross_entropy_per_char"]) < Decimal("3.5")
    assert list((root / "out" / "reference").glob("rnn_text-*.json")), "the reference metrics were not cached"


def test_generate_ignoring_temperature_loses_only_the_temperature_check(graded):
    score = graded[0]["no_temperature"]
    assert _lost(score) == {"temperature"}
    reason = next(c.reason for c in score.checks if c.check_id == "temperature")
    assert reason.code == "temperature_unchanged" and "0.01" in reason.params["temperatures"]


def test_an_argmax_sample_loses_the_sample_check_and_the_temperature_its_generate_ignores(graded):
    score = graded[0]["argmax"]
    # generate draws through sample: with argmax, generate is greedy at every temperature too.
    assert _lost(score) == {"sample", "temperature"}
    assert _points(score)["sample"] == Decimal("0")
    reason = next(c.reason for c in score.checks if c.check_id == "sample")
    assert reason.code == "distribution_mismatch" and reason.params["top_observed"] == "100.0"


def test_a_model_that_never_trained_loses_only_the_cross_entropy(graded):
    score = graded[0]["untrained"]
    assert _lost(score) == {"cross_entropy"} and _points(score)["cross_entropy"] == Decimal("0")
    check = next(c for c in score.checks if c.check_id == "cross_entropy")
    assert Decimal(check.details["cross_entropy_per_char"]) > Decimal("4.1")


def test_a_decode_that_drops_a_character_loses_only_the_round_trip(graded):
    score = graded[0]["drops_a_character"]
    assert _lost(score) == {"roundtrip"} and _points(score)["roundtrip"] == Decimal("0")
    reason = next(c.reason for c in score.checks if c.check_id == "roundtrip")
    assert reason.code == "roundtrip_differs" and reason.params["position"] == 0


def test_the_unfilled_template_earns_next_to_nothing_and_says_why_per_check(graded):
    score = graded[0]["template"]
    assert score.score is not None and score.score <= Decimal("1")
    for check in score.checks:
        if check.check_id != "executed":
            assert check.points == Decimal("0"), check.check_id
        text = render(check.reason, "en")
        assert text and "{" not in text, (check.check_id, text)
    codes = {c.check_id: c.reason.code for c in score.checks}
    assert codes["model_shape"] == "checks_missing_name" and codes["cross_entropy"] == "checks_missing_name"
    assert codes["roundtrip"] == "roundtrip_failed" and "NotImplementedError" in render(
        next(c.reason for c in score.checks if c.check_id == "roundtrip"), "en")


# One defect, one deduction. Intended scores, from the point table (assignment.toml, README) before
# any run: no_prompt 9.67 (generate keeps 2 of 3 thirds: 0.67), short_by_one 9.67 (the length third),
# own_vocabulary_order 9 (roundtrip 0), no_temperature 8.5 (temperature 0), untrained_no_temperature 5.5
# (two defects: cross_entropy 0 and temperature 0).

def test_a_generate_without_the_prompt_loses_a_third_of_the_format_point_and_nothing_else(graded):
    score = graded[0]["no_prompt"]
    assert _lost(score) == {"generate"} and _points(score)["generate"] == Decimal("0.67"), [
        (c.check_id, c.points, render(c.reason, "en")) for c in score.checks]
    assert score.score == Decimal("9.67")
    generate = next(c for c in score.checks if c.check_id == "generate")
    assert generate.reason.code == "generation_no_prompt" and generate.details["failed"] == ["prompt"]


def test_an_own_vocabulary_order_loses_the_round_trip_only_and_no_temperature_hint(graded):
    score = graded[0]["own_vocabulary_order"]
    assert _lost(score) == {"roundtrip"} and _points(score)["roundtrip"] == Decimal("0"), [
        (c.check_id, c.points, render(c.reason, "en")) for c in score.checks]
    assert score.score == Decimal("9")
    reasons = {c.check_id: c.reason for c in score.checks}
    assert reasons["roundtrip"].code == "roundtrip_numbering"
    assert reasons["temperature"].code == "temperature_follows"
    details = {c.check_id: c.details for c in score.checks}
    assert details["cross_entropy"]["numbering"] == "student"
    spanish = render(reasons["roundtrip"], "es")
    assert "numeración del enunciado le da" in spanish and "contract" not in spanish and "got id" not in spanish


def test_a_generate_ignoring_temperature_is_asked_whether_it_passes_it_on(graded):
    score = graded[0]["no_temperature"]
    assert score.score == Decimal("8.5") and _points(score)["temperature"] == Decimal("0")
    reason = next(c.reason for c in score.checks if c.check_id == "temperature")
    assert "¿Pasa `generate` la temperatura al muestreo?" in render(reason, "es")


def test_an_untrained_model_that_ignores_temperature_loses_the_temperature_too(graded):
    # two defects: the untrained model (cross_entropy) and a generate at T = 1 always (temperature)
    score = graded[0]["untrained_no_temperature"]
    assert _lost(score) == {"cross_entropy", "temperature"} and _points(score)["temperature"] == Decimal("0")


def test_a_generate_short_by_one_loses_its_length_third_only(graded):
    score = graded[0]["short_by_one"]
    assert _lost(score) == {"generate"} and _points(score)["generate"] == Decimal("0.67"), [
        (c.check_id, c.points, render(c.reason, "en")) for c in score.checks]
    assert next(c for c in score.checks if c.check_id == "generate").details["failed"] == ["length"]
