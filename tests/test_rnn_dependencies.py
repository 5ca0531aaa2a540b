"""One defect, one deduction in the char-RNN checks: a check that depends on another's contract (the
prompt format, the vocabulary numbering) judges its own property through the student's own
conventions, or says which failed check kept it from judging; never a hint about its own property.
The temperature check reads only what generate writes: the model's outputs (logits, probabilities, an
untrained network's), its vocabulary order and its interface never decide it.

Fast: a tiny assignment, students written as plain functions (a bigram "model"), the real probe run
in this process on them, then the real scoring.
"""
from __future__ import annotations

import runpy
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import torch

from grader.assignment import load_assignment
from grader.checks.evaluate import evaluate
from grader.checks.plan import PROBE_FILE, plan_probe
from grader.i18n import render
from grader.records import InspectionReport, RunResult
from test_rnn_messages import english_words

VOCABULARY = " abdehilnorstw"
REFERENCE = f'''
import numpy as np

VOCABULARY = {VOCABULARY!r}
TEXT = "the bird sat on the wall and the wind blew hard on the hill " * 30

def vocabulary(data_dir, params):
    return VOCABULARY

def text(data_dir, params):
    return TEXT

def evaluation_data(data_dir, params):
    ids = np.array([VOCABULARY.index(c) for c in TEXT[:401]], dtype=np.int64)
    return ids[:400].reshape(20, 20), ids[1:401].reshape(20, 20)
'''
ASSIGNMENT = '''
[assignment]
id = "tiny_rnn"
title = "Dependencies between the char-RNN checks"
version = "1"
max_points = "9"
[[checks]]
id = "roundtrip"
kind = "roundtrip"
vocabulary = "tiny_rnn_ref:vocabulary"
text = "tiny_rnn_ref:text"
passages = 2
length = 40
points = "1"
[[checks]]
id = "model_shape"
kind = "sequence_shape"
name = "model"
input_shape = [2, 8]
vocabulary = "tiny_rnn_ref:vocabulary"
points = "1"
[[checks]]
id = "sample"
kind = "distribution"
name = "sample"
points = "1.5"
[[checks]]
id = "generate"
kind = "generation"
test = "format"
vocabulary = "tiny_rnn_ref:vocabulary"
text = "tiny_rnn_ref:text"
length = 20
prompts = 2
points = "1"
[[checks]]
id = "temperature"
kind = "generation"
test = "temperature"
vocabulary = "tiny_rnn_ref:vocabulary"
text = "tiny_rnn_ref:text"
temperatures = ["0.01", "5"]
draws = 400
sampler_check = "sample"
points = "1.5"
[[checks]]
id = "cross_entropy"
kind = "metric"
metric = "cross_entropy_per_char"
name = "model"
data = "tiny_rnn_ref:evaluation_data"
encode = "encode"
vocabulary = "tiny_rnn_ref:vocabulary"
causal = true
zero_at = "2.64"
full_at = "1.5"
points = "3"
'''
FULL = {"roundtrip": Decimal("1"), "model_shape": Decimal("1"), "sample": Decimal("1.5"), "generate": Decimal("1"),
        "temperature": Decimal("1.5"), "cross_entropy": Decimal("3")}
INSPECTED = InspectionReport(readable=True, nbformat=4, code_cells=1, executed_cells=1, executed=True,
                             in_order=True, error_cells=(), has_plot=False, colab=False,
                             has_parameters_cell=True, practical_hint=None)
# A bigram table in the contract's numbering, learned from the text: every student below holds the
# same knowledge, stored in her own numbering.
_TEXT = "the bird sat on the wall and the wind blew hard on the hill " * 30


def _bigram_logits(trained: bool = True) -> torch.Tensor:
    """Log-probabilities of the next character given the last, or (untrained) the logits of a network at
    its random start: all within a few tenths of each other, as a fresh LSTM's are."""
    if not trained:
        return 0.05 * torch.randn(len(VOCABULARY), len(VOCABULARY), generator=torch.Generator().manual_seed(3))
    counts = np.ones((len(VOCABULARY), len(VOCABULARY)))
    for a, b in zip(_TEXT, _TEXT[1:]):
        counts[VOCABULARY.index(a), VOCABULARY.index(b)] += 1
    return torch.tensor(np.log(counts / counts.sum(axis=1, keepdims=True)), dtype=torch.float32)


def student(order: str = VOCABULARY, *, prompt: bool = True, uses_temperature: bool = True,
            encode_works: bool = True, has_model: bool = True, extra: str = "", reads_ahead: bool = False,
            short_by_one: bool = False, probabilities: bool = False, trained: bool = True,
            sample_ignores_temperature: bool = False) -> dict:
    """A student namespace: her vocabulary ``order``, and defects switched on one (or two) at a time.
    ``probabilities``: her model ends in a softmax, and generate samples from softmax(log p / T)."""
    stoi, itos = {c: i for i, c in enumerate(order)}, dict(enumerate(order))
    contract = _bigram_logits(trained)
    fed = torch.tensor([stoi[c] for c in VOCABULARY])       # contract id -> her id
    table = torch.empty_like(contract)
    table[fed[:, None], fed[None, :]] = contract
    outputs = torch.softmax(table, dim=1) if probabilities else table

    def encode(text):
        if not encode_works:
            raise NotImplementedError("encode")
        return [stoi[c] for c in text]

    def decode(ids):
        return "".join(itos[int(i)] for i in ids)

    def sample(logits, temperature=1.0):
        scaled = torch.as_tensor(logits) / (1.0 if sample_ignores_temperature else temperature)
        return int(torch.multinomial(torch.softmax(scaled, dim=0), 1))

    def generate(text, length, temperature=1.0):
        last, out = stoi[text[-1]], (text if prompt else "")
        for _ in range(length - 1 if short_by_one else length):
            row = torch.log(outputs[last]) if probabilities else outputs[last]
            last = sample(row, temperature if uses_temperature else 1.0)
            out += itos[last] + extra
        return out

    namespace = {"encode": encode, "decode": decode, "sample": sample, "generate": generate}
    if has_model and reads_ahead:    # the next id's own one-hot added in: it "predicts" what it was shown
        namespace["model"] = lambda ids: outputs[ids] + 20.0 * torch.nn.functional.one_hot(
            torch.roll(torch.as_tensor(ids), -1, dims=1), len(VOCABULARY)).float()
    elif has_model:
        namespace["model"] = lambda ids: outputs[ids]
    return namespace


@pytest.fixture(scope="module")
def assignment(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny_rnn")
    (folder / "tiny_rnn_ref.py").write_text(REFERENCE)
    (folder / "assignment.toml").write_text(ASSIGNMENT)
    sys.path.insert(0, str(folder))
    yield load_assignment(folder)
    sys.path.remove(str(folder))


def grade(assignment, tmp_path: Path, namespace: dict) -> dict:
    torch.manual_seed(0)
    plan = plan_probe(assignment, tmp_path / "probe", tmp_path, {}, 7)
    out = tmp_path / "out"
    runpy.run_path(str(tmp_path / "probe" / PROBE_FILE))["main"](namespace, plan.nonce, str(tmp_path / "probe"),
                                                                   str(out))
    run = RunResult(status="ok", duration_s=0.1, executed_notebook=None, out_dir=out)
    results = {r.check_id: r for r in evaluate(assignment, plan, INSPECTED, run)}
    for check_id, checked in results.items():      # every real reason reads in Spanish, with no English in it
        spanish = render(checked.reason, "es")
        assert "{" not in spanish and not english_words(spanish), (check_id, spanish)
    return results


def points(results: dict) -> dict:
    return {check_id: r.points for check_id, r in results.items()}


def test_the_contracts_student_earns_everything(assignment, tmp_path):
    results = grade(assignment, tmp_path, student())
    assert points(results) == FULL, {k: render(r.reason, "en") for k, r in results.items()}


def test_an_own_vocabulary_order_costs_the_round_trip_only(assignment, tmp_path):
    order = VOCABULARY[::-1]
    results = grade(assignment, tmp_path, student(order))
    assert points(results) == {**FULL, "roundtrip": Decimal("0")}
    assert results["roundtrip"].reason.code == "roundtrip_numbering"
    contract = grade(assignment, tmp_path / "contract", student())
    assert (results["cross_entropy"].details["cross_entropy_per_char"]
            == contract["cross_entropy"].details["cross_entropy_per_char"])


def test_a_generate_without_the_prompt_costs_a_third_of_the_format_point_only(assignment, tmp_path):
    results = grade(assignment, tmp_path, student(prompt=False))
    assert points(results) == {**FULL, "generate": Decimal("0.67")}
    assert results["generate"].reason.code == "generation_no_prompt"
    assert results["generate"].details["failed"] == ["prompt"]


def test_a_generate_ignoring_temperature_is_asked_whether_it_passes_it_on(assignment, tmp_path):
    results = grade(assignment, tmp_path, student(VOCABULARY[::-1], uses_temperature=False))
    assert points(results) == {**FULL, "roundtrip": Decimal("0"), "temperature": Decimal("0")}
    assert results["temperature"].reason.code == "temperature_unchanged"
    assert "¿Pasa `generate` la temperatura al muestreo?" in render(results["temperature"].reason, "es")


@pytest.mark.parametrize("probabilities, trained", [(False, False), (True, True), (True, False)],
                         ids=["untrained", "probabilities", "untrained-probabilities"])
def test_a_generate_ignoring_temperature_loses_the_temperature_whatever_its_model(assignment, tmp_path,
                                                                                  probabilities, trained):
    honest = grade(assignment, tmp_path / "honest", student(probabilities=probabilities, trained=trained))
    ignoring = grade(assignment, tmp_path / "ignoring", student(probabilities=probabilities, trained=trained,
                                                                uses_temperature=False))
    assert honest["temperature"].points == FULL["temperature"], render(honest["temperature"].reason, "en")
    assert ignoring["temperature"].points == Decimal("0") and ignoring["temperature"].reason.code in (
        "temperature_unchanged", "temperature_mismatch")
    assert points(ignoring) == {**points(honest), "temperature": Decimal("0")}


def test_a_probability_model_sampled_from_log_p_over_t_keeps_the_temperature_and_loses_only_cross_entropy(
        assignment, tmp_path):
    results = grade(assignment, tmp_path, student(probabilities=True))
    lost = {k for k, kept in points(results).items() if kept < FULL[k]}
    assert lost == {"cross_entropy"}, {k: render(r.reason, "en") for k, r in results.items()}
    assert results["temperature"].reason.code == "temperature_follows"


def test_a_generate_short_by_one_loses_only_its_length_third(assignment, tmp_path):
    results = grade(assignment, tmp_path, student(short_by_one=True))
    assert points(results) == {**FULL, "generate": Decimal("0.67")}
    assert results["generate"].details["failed"] == ["length"]
    assert results["temperature"].reason.code == "temperature_follows"


def test_a_sample_ignoring_temperature_is_named_as_the_cause_of_generates_draws(assignment, tmp_path):
    results = grade(assignment, tmp_path, student(sample_ignores_temperature=True))
    assert points(results) == {**FULL, "sample": Decimal("0.50"), "temperature": Decimal("0")}
    reason = results["temperature"].reason
    assert reason.code == "temperature_sampler_cause" and reason.params["problem"]["code"] == "temperature_unchanged"
    assert "La comprobación `sample` vio que `sample` tampoco sigue la temperatura" in render(reason, "es")


def test_without_an_encode_temperature_still_judges_the_draws(assignment, tmp_path):
    results = grade(assignment, tmp_path, student(VOCABULARY[::-1], encode_works=False))
    assert results["roundtrip"].points == Decimal("0")
    assert results["temperature"].points == FULL["temperature"], render(results["temperature"].reason, "en")


def test_a_missing_model_costs_the_model_checks_and_not_the_temperature(assignment, tmp_path):
    results = grade(assignment, tmp_path, student(has_model=False))
    assert points(results) == {**FULL, "model_shape": Decimal("0"), "cross_entropy": Decimal("0")}


def test_two_characters_per_step_cost_the_format_and_temperature_reads_the_first(assignment, tmp_path):
    results = grade(assignment, tmp_path, student(extra="a"))
    assert points(results) == {**FULL, "generate": Decimal("0.67")}
    assert results["generate"].details["failed"] == ["length"]


def test_a_generate_with_no_character_after_the_prompt_is_not_judged_and_names_the_format_check(
        assignment, tmp_path):
    namespace = {**student(), "generate": lambda text, length, temperature=1.0: text}
    results = grade(assignment, tmp_path, namespace)
    reason = results["temperature"].reason
    assert results["temperature"].points == Decimal("0") and results["generate"].points < FULL["generate"]
    assert reason.code == "numbering_not_judged" and reason.params["check"] == "generate"
    assert reason.params["problem"]["code"] == "temperature_no_new_character"


def test_a_generate_that_fails_at_a_small_temperature_is_told_so(assignment, tmp_path):
    right = student()

    def generate(text, length, temperature=1.0):    # float32 exp(logits / T) without the max shift
        if temperature < 0.05:
            raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
        return right["generate"](text, length, temperature)

    results = grade(assignment, tmp_path, {**right, "generate": generate})
    assert points(results) == {**FULL, "temperature": Decimal("0")}
    reason = results["temperature"].reason
    assert reason.code == "temperature_failed" and reason.params["temperature"] == "0.01"
    assert "se desborda" in render(reason, "es")


def test_a_model_that_reads_ahead_reads_noise_and_earns_no_cross_entropy(assignment, tmp_path):
    results = grade(assignment, tmp_path, student(VOCABULARY[::-1], reads_ahead=True))
    entropy = results["cross_entropy"]
    # every scored position's future is random: the character it "sees" is noise, so its figure is far worse
    # than an honest model's, and it earns nothing, without any test it could recognise and answer apart
    assert Decimal(entropy.details["cross_entropy_per_char"]) > Decimal("2.64")
    assert entropy.points == Decimal("0") and entropy.reason.code == "metric_cross_entropy_causal"
    assert "al azar" in render(entropy.reason, "es") and entropy.details["causal_positions"]
    assert results["model_shape"].points == Decimal("1")    # its shape is right: one defect, one deduction
    honest = grade(assignment, tmp_path / "honest", student(VOCABULARY[::-1]))
    assert honest["cross_entropy"].points == FULL["cross_entropy"]


def test_a_causal_model_scores_its_whole_window_figure_at_the_cut_positions(assignment, tmp_path):
    """For a model whose logits at t depend on ids up to t only, replacing the future changes nothing: the
    causal figure is the cross-entropy of the very same positions measured on the untouched windows."""
    from tiny_rnn_ref import evaluation_data

    namespace = student()
    results = grade(assignment, tmp_path, namespace)
    positions = results["cross_entropy"].details["causal_positions"]
    windows, targets = evaluation_data(tmp_path, {})
    logits = namespace["model"](torch.as_tensor(windows)).numpy()
    picked = np.concatenate([logits[:, p] for p in positions])
    wanted = np.concatenate([targets[:, p] for p in positions])
    from grader.checks.metric import cross_entropy_per_char

    assert Decimal(results["cross_entropy"].details["cross_entropy_per_char"]) == cross_entropy_per_char(picked, wanted)

def test_a_model_that_mixes_the_rows_of_a_batch_keeps_the_cross_entropy_its_outputs_earn(assignment, tmp_path):
    """An LSTM without batch_first runs its recurrence across the batch: row i's logits depend on earlier rows,
    never on its own row's future. A defect the cross-entropy prices by what its outputs really are (issue #24):
    no causality verdict takes its points, and nothing else pays for it."""
    namespace = student()
    table = namespace["model"]

    def mixes_rows(ids):    # each row's logits pulled towards the previous row's character at the same place
        ids = torch.as_tensor(ids)
        return table(ids) + 1.5 * torch.nn.functional.one_hot(torch.roll(ids, 1, dims=0), len(VOCABULARY)).float()

    results = grade(assignment, tmp_path, {**namespace, "model": mixes_rows})
    entropy = results["cross_entropy"]
    from grader.checks.metric import linear_points

    value = Decimal(entropy.details["cross_entropy_per_char"])
    honest = Decimal(grade(assignment, tmp_path / "honest", student())["cross_entropy"].details["cross_entropy_per_char"])
    assert value > honest                       # the mixing costs what it costs in predictions ...
    assert entropy.points == linear_points(Decimal("3"), value, Decimal("2.64"), Decimal("1.5")) > Decimal("0")
    assert points(results) == {**FULL, "cross_entropy": entropy.points}    # ... and nothing else pays for it
