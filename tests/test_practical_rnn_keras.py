"""The Keras edition of rnn_text is graded like the PyTorch one, end to end on real Tiny Shakespeare under the
tests' tiny budget: the Keras solution earns the PyTorch solution's 10 and is told it follows the Keras edition,
each broken variant loses exactly the checks its bug should cost, the unfilled template earns next to nothing,
and nothing the grader hands the kernel holds evaluation text."""
from __future__ import annotations

import importlib.util
from decimal import Decimal
from pathlib import Path

import nbformat
import pytest

from conftest import as_handed_in_executed, moodle_entry, notebook_bytes, variant
from one_practical import grade_archive
from grader.i18n import render
from reference.rnn_text import held_out_text, load_split

pytestmark = [pytest.mark.slow,   # kernels import Keras (KERAS_BACKEND=torch) and train; this process never imports it
              pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="keras is not installed")]

ALL_CHECKS = {"executed", "roundtrip", "model_shape", "sample", "generate", "temperature", "cross_entropy"}
TINY_BUDGET = 'steps = 30, hidden_size = 64, seq_len = 50, batch_size = 16, device = "cpu"'

# One defect, one deduction. Intended points, from the point table (assignment.toml, README) before any run:
# - sample_ignores_temperature: `sample` draws from softmax(logits) whatever T: of the sample check's three
#   temperatures (1, 0.5, 2) only T = 1 passes, 1/3 of 1.5 = 0.5 (loses 1); generate draws through `sample`,
#   so its draws at T = 0.01, 0.5 and 5 are those of T = 1: temperature 0 (all or nothing, loses 1.5). 10 - 2.5 = 7.5.
# - untrained_no_prompt, two defects whose checks share nothing (one notebook for both: each Keras grading costs
#   ~45 s here): model.fit never called: cross_entropy 0 (logits of an untrained model give about ln 65 = 4.17
#   nats/char, the zero point); generate leaves the prompt out: it keeps 2 of its 3 thirds (0.67). Nothing else
#   pays, the temperature of a generate on an untrained GRU included: 10 - 3 - 0.33 = 6.67.
INTENDED_LOST = {
    "keras_sample_ignores_temperature": {"sample": Decimal("1.00"), "temperature": Decimal("1.5")},
    "keras_untrained_no_prompt": {"generate": Decimal("0.33"), "cross_entropy": Decimal("3")},
}
# - probabilities: Dense(V, activation="softmax") and a generate that samples from softmax(log p / T), the
#   temperature exactly: only cross_entropy pays (scored from the outputs as logits: near a uniform guess).
# keras_bidirectional_reads_held_out, two ways to see what the model must predict, in one notebook (their checks
# share nothing): a Bidirectional(GRU) reads ahead. Each scored position's future is random, so its backward half
# reads noise: it keeps the cross-entropy that figure earns (measured, not fixed in advance), less than the
# solution's. And a search of every place the grader points the kernel to, which finds no held-out text: the
# round trip keeps its point. Nothing but cross_entropy pays.

# A cell a cheater would add: look for held-out text wherever the grader points the kernel (its data_dir, its
# working folder, the folders its probe cell names: probe inputs, out folder) and, when found, say so through `decode`, so that
# the round trip shows it. NEEDLE is a held-out passage, planted by the test (the corpus is public).
SEARCH = '''import os, re
from pathlib import Path


def held_out_found(needle, places):
    """Files under ``places`` that hold ``needle``."""
    found = []
    for place in places:
        paths = place.rglob("*") if place.is_dir() else [place]
        for path in paths:
            try:
                if path.is_file() and path.stat().st_size < 50_000_000 and needle in path.read_text("utf-8", "ignore"):
                    found.append(str(path))
            except OSError:
                continue
    return found


places = {Path(data_dir), Path.cwd()}
_copy = next(p for p in ("notebook.ipynb", "/grader/spec/notebook.ipynb") if os.path.exists(p))
_text = open(_copy, encoding="utf-8").read()   # the copy being run names the grader's folders in its probe cell
places |= {Path(re.findall(r"probe_dir='([^']+)'", _text)[-1]), Path(re.findall(r"out_dir='([^']+)'", _text)[-1])}
leaked = held_out_found(NEEDLE, sorted(places))
print("held-out text found in:", leaked)
if leaked:
    def decode(ids):
        return "LEAKED " + " ".join(leaked)
'''


def _needle(shared_data: Path) -> str:
    """80 characters from the middle of the held-out text, found nowhere in the training text."""
    text = held_out_text(shared_data, {})
    needle = text[len(text) // 2:len(text) // 2 + 80]
    assert needle not in load_split(shared_data, {}).train
    return needle


def _notebooks(repo: Path, needle: str) -> dict[str, nbformat.NotebookNode]:
    folder = repo / "assignments" / "rnn_text"
    solution = nbformat.read(folder / "solution_keras.ipynb", as_version=4)
    # Chollet's text-classification habit, in a language model: it sees the characters it must predict
    reads_held_out = variant(solution, "x = layers.GRU(hidden_size, return_sequences=True)(x)",
                             "x = layers.Bidirectional(layers.GRU(hidden_size, return_sequences=True))(x)")
    # planted as hex: the kernel's own copy of this notebook must not be what the search finds
    reads_held_out.cells.insert(-1, nbformat.v4.new_code_cell(
        f"NEEDLE = bytes.fromhex({needle.encode('utf-8').hex()!r}).decode('utf-8')\n" + SEARCH))
    return {
        "keras_solution": as_handed_in_executed(solution),
        "keras_sample_ignores_temperature": as_handed_in_executed(variant(
            solution, 'logits = np.asarray(logits, dtype="float64").reshape(-1) / temperature',
            'logits = np.asarray(logits, dtype="float64").reshape(-1)')),
        "keras_untrained_no_prompt": as_handed_in_executed(variant(
            variant(solution, "model.fit(x_train, y_train,", "# model.fit(x_train, y_train,"),
            "    out = prompt\n", '    out = ""\n')),
        "keras_bidirectional_reads_held_out": as_handed_in_executed(reads_held_out),
        "keras_probabilities": as_handed_in_executed(variant(variant(variant(
            solution, "outputs = layers.Dense(vocab_size)(x)", 'outputs = layers.Dense(vocab_size, activation="softmax")(x)'),
            "SparseCategoricalCrossentropy(from_logits=True)", "SparseCategoricalCrossentropy()"),
            "next_id = sample(logits[0, -1], temperature)", "next_id = sample(np.log(logits[0, -1]), temperature)")),
        # run and handed in as it came: still nothing of the student's (the notebook check knows its edition)
        "keras_template": as_handed_in_executed(nbformat.read(folder / "template_keras.ipynb", as_version=4)),
    }


@pytest.fixture(scope="module")
def graded(tmp_path_factory, repo, shared_data):
    root = tmp_path_factory.mktemp("rnn_keras")
    notebooks = _notebooks(repo, _needle(shared_data))
    entries = {moodle_entry(name, str(300 + i), "rnn_text.ipynb"): notebook_bytes(nb)
               for i, (name, nb) in enumerate(notebooks.items())}
    batch, wall = grade_archive(root, "rnn_text", entries, shared_data, parameters=TINY_BUDGET, timeout_s=400,
                                one_thread=True)
    by_name = {s.full_name: s for s in batch.scores}
    assert set(by_name) == set(notebooks)
    print(f"\nrnn_text (Keras): {len(by_name)} notebooks graded in {wall:.1f} s; "
          + ", ".join(f"{n} {s.duration_s:.1f} s" for n, s in by_name.items()))
    for name, score in by_name.items():     # the measured table, to set beside the intended one
        print(f"  {name}: {score.score} = " + " · ".join(f"{c.check_id} {c.points}" for c in score.checks))
    return by_name


def _lost(score) -> dict[str, Decimal]:
    return {c.check_id: c.max_points - c.points for c in score.checks if c.points < c.max_points}


def _why(score) -> list[tuple[str, Decimal, str]]:
    return [(c.check_id, c.points, render(c.reason, "en")) for c in score.checks]


def test_the_keras_solution_earns_the_pytorch_solutions_full_marks_and_is_told_its_edition(graded):
    solution = graded["keras_solution"]
    assert solution.status == "graded" and solution.score == Decimal("10"), _why(solution)
    assert {c.check_id for c in solution.checks} == ALL_CHECKS and not _lost(solution)
    cross_entropy = next(c for c in solution.checks if c.check_id == "cross_entropy")
    assert Decimal(cross_entropy.details["cross_entropy_per_char"]) < Decimal("3.5")
    notes = [render(n, "en") for n in solution.notes]
    assert any("Keras edition" in n and "template_keras.ipynb" in n for n in notes), notes
    spanish = [render(n, "es") for n in solution.notes]
    assert any("edición Keras" in n for n in spanish), spanish


@pytest.mark.parametrize("name", sorted(INTENDED_LOST))
def test_a_broken_keras_variant_loses_exactly_its_checks(graded, name):
    score = graded[name]
    assert score.status == "graded" and _lost(score) == INTENDED_LOST[name], _why(score)
    assert score.score == Decimal("10") - sum(INTENDED_LOST[name].values(), Decimal("0"))


def test_a_sample_ignoring_temperature_is_caught_at_the_temperatures_other_than_one(graded):
    checks = {c.check_id: c for c in graded["keras_sample_ignores_temperature"].checks}
    assert checks["sample"].reason.code == "distribution_mismatch" and checks["sample"].details["cases_passed"] == "1/3"
    assert checks["temperature"].reason.code == "temperature_sampler_cause"   # the cause is named: sample


def test_a_probability_model_sampled_from_log_p_keeps_the_temperature_and_loses_only_cross_entropy(graded):
    score = graded["keras_probabilities"]
    assert score.status == "graded" and set(_lost(score)) == {"cross_entropy"}, _why(score)
    assert next(c for c in score.checks if c.check_id == "temperature").reason.code == "temperature_follows"


def test_a_generate_without_the_prompt_is_told_so(graded):
    generate = next(c for c in graded["keras_untrained_no_prompt"].checks if c.check_id == "generate")
    assert generate.reason.code == "generation_no_prompt" and generate.details["failed"] == ["prompt"]


def test_an_untrained_keras_model_scores_about_a_uniform_guess(graded):
    check = next(c for c in graded["keras_untrained_no_prompt"].checks if c.check_id == "cross_entropy")
    assert Decimal(check.details["cross_entropy_per_char"]) > Decimal("4.1"), check.details


def test_the_unfilled_keras_template_earns_next_to_nothing_and_says_why_per_check(graded):
    score = graded["keras_template"]
    assert score.score == Decimal("0"), _why(score)
    for check in score.checks:
        text = render(check.reason, "en")
        assert text and "{" not in text, (check.check_id, text)
    codes = {c.check_id: c.reason.code for c in score.checks}
    assert codes["executed"] == "notebook_template"
    assert codes["model_shape"] == "checks_missing_name" and codes["cross_entropy"] == "checks_missing_name"
    assert codes["roundtrip"] == "roundtrip_failed"


def test_the_search_for_held_out_text_finds_it_where_it_lies(tmp_path, shared_data):
    """The cheater's search is no straw man: given the course's own text folder, it finds the passage."""
    found = {}
    exec(SEARCH.split("places = ")[0], found)
    assert found["held_out_found"](_needle(shared_data), [shared_data / "text"])


def test_nothing_the_grader_hands_a_keras_kernel_holds_evaluation_text(graded):
    score = graded["keras_bidirectional_reads_held_out"]
    roundtrip = next(c for c in score.checks if c.check_id == "roundtrip")
    assert roundtrip.points == roundtrip.max_points and "LEAKED" not in render(roundtrip.reason, "en"), _why(score)



def test_a_bidirectional_model_is_measured_without_the_future_it_reads(graded):
    score, solution = graded["keras_bidirectional_reads_held_out"], graded["keras_solution"]
    entropy = next(c for c in score.checks if c.check_id == "cross_entropy")
    honest = next(c for c in solution.checks if c.check_id == "cross_entropy")
    assert entropy.reason.code == "metric_cross_entropy_causal" and entropy.details["causal_positions"], _why(score)
    assert Decimal(entropy.details["cross_entropy_per_char"]) > Decimal(honest.details["cross_entropy_per_char"])
    assert entropy.points < entropy.max_points and set(_lost(score)) == {"cross_entropy"}, _why(score)
