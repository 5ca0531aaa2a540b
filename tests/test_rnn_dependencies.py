"""One defect, one deduction in the char-RNN checks: a check that depends on another's contract (the
prompt format, the vocabulary numbering) judges its own property through the student's own
conventions, or says which failed check kept it from judging; never a hint about its own property.

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
max_points = "7.5"
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
temperatures = ["0.05", "2"]
draws = 300
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
FULL = {"roundtrip": Decimal("1"), "model_shape": Decimal("1"), "generate": Decimal("1"),
        "temperature": Decimal("1.5"), "cross_entropy": Decimal("3")}
INSPECTED = InspectionReport(readable=True, nbformat=4, code_cells=1, executed_cells=1, executed=True,
                             in_order=True, error_cells=(), has_plot=False, colab=False,
                             has_parameters_cell=True, practical_hint=None)
# A bigram table in the contract's numbering, learned from the text: every student below holds the
# same knowledge, stored in her own numbering.
_TEXT = "the bird sat on the wall and the wind blew hard on the hill " * 30


def _bigram_logits() -> torch.Tensor:
    counts = np.ones((len(VOCABULARY), len(VOCABULARY)))
    for a, b in zip(_TEXT, _TEXT[1:]):
        counts[VOCABULARY.index(a), VOCABULARY.index(b)] += 1
    return torch.tensor(np.log(counts / counts.sum(axis=1, keepdims=True)), dtype=torch.float32)


def student(order: str = VOCABULARY, *, prompt: bool = True, uses_temperature: bool = True,
            encode_works: bool = True, has_model: bool = True, extra: str = "", reads_ahead: bool = False) -> dict:
    """A student namespace: her vocabulary ``order``, and one defect switched on at a time."""
    stoi, itos = {c: i for i, c in enumerate(order)}, dict(enumerate(order))
    contract = _bigram_logits()
    fed = torch.tensor([stoi[c] for c in VOCABULARY])       # contract id -> her id
    table = torch.empty_like(contract)
    table[fed[:, None], fed[None, :]] = contract

    def encode(text):
        if not encode_works:
            raise NotImplementedError("encode")
        return [stoi[c] for c in text]

    def decode(ids):
        return "".join(itos[int(i)] for i in ids)

    def sample(logits, temperature=1.0):
        return int(torch.multinomial(torch.softmax(torch.as_tensor(logits) / temperature, dim=0), 1))

    def generate(text, length, temperature=1.0):
        last, out = stoi[text[-1]], (text if prompt else "")
        for _ in range(length):
            last = sample(table[last], temperature if uses_temperature else 1.0)
            out += itos[last] + extra
        return out

    namespace = {"encode": encode, "decode": decode, "sample": sample, "generate": generate}
    if has_model and reads_ahead:    # the next id's own one-hot added in: it "predicts" what it was shown
        namespace["model"] = lambda ids: table[ids] + 20.0 * torch.nn.functional.one_hot(
            torch.roll(torch.as_tensor(ids), -1, dims=1), len(VOCABULARY)).float()
    elif has_model:
        namespace["model"] = lambda ids: table[ids]
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
    assert results["temperature"].details["numbering"] == "student"
    contract = grade(assignment, tmp_path / "contract", student())
    assert (results["cross_entropy"].details["cross_entropy_per_char"]
            == contract["cross_entropy"].details["cross_entropy_per_char"])


def test_a_generate_without_the_prompt_costs_a_third_of_the_format_point_only(assignment, tmp_path):
    results = grade(assignment, tmp_path, student(prompt=False))
    assert points(results) == {**FULL, "generate": Decimal("0.67")}
    assert results["generate"].reason.code == "generation_no_prompt"
    assert results["generate"].details["failed"] == ["prompt"]


def test_a_generate_ignoring_temperature_is_told_to_divide_by_it(assignment, tmp_path):
    results = grade(assignment, tmp_path, student(VOCABULARY[::-1], uses_temperature=False))
    assert points(results) == {**FULL, "roundtrip": Decimal("0"), "temperature": Decimal("0")}
    assert results["temperature"].reason.code == "temperature_wrong"
    assert "¿Divide `generate` los logits entre la temperatura?" in render(results["temperature"].reason, "es")


def test_without_an_encode_the_contracts_numbering_is_used_and_a_mismatch_is_not_blamed_on_temperature(
        assignment, tmp_path):
    fine = grade(assignment, tmp_path / "contract", student(encode_works=False))
    assert fine["temperature"].points == Decimal("1.5") and fine["temperature"].details["numbering"] == "contract"
    results = grade(assignment, tmp_path / "own", student(VOCABULARY[::-1], encode_works=False))
    reason = results["temperature"].reason
    assert results["temperature"].points == Decimal("0") and results["roundtrip"].points == Decimal("0")
    assert reason.code == "checks_not_judged" and reason.params["check"] == "roundtrip"
    assert reason.params["problem"]["code"] == "temperature_no_numbering"
    assert "temperatura?" not in render(reason, "es") and "No se ha evaluado porque" in render(reason, "es")


def test_without_a_model_temperature_is_not_judged_and_names_the_model_check(assignment, tmp_path):
    results = grade(assignment, tmp_path, student(has_model=False))
    reason = results["temperature"].reason
    assert results["model_shape"].points == Decimal("0") and results["temperature"].points == Decimal("0")
    assert reason.code == "checks_not_judged" and reason.params["check"] == "model_shape"
    assert "`model` no está definido" in render(reason, "es")


def test_two_characters_per_step_cost_the_format_and_leave_temperature_not_judged(assignment, tmp_path):
    results = grade(assignment, tmp_path, student(extra="a"))
    reason = results["temperature"].reason
    assert results["generate"].points == Decimal("0.67") and results["generate"].details["failed"] == ["length"]
    assert reason.code == "checks_not_judged" and reason.params["check"] == "generate"
    assert reason.params["problem"]["code"] == "temperature_one_character"


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
    from tiny_rnn_ref import evaluation_data, vocabulary

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
