"""The char-RNN practical's reference side and its check statistics: the corpus split, the contract's
vocabulary, held-out windows, the reference LSTM, cross-entropy per character, and the sampling test
whose false-failure rate the assignment states. No kernels here: the notebooks are graded in
test_practical_rnn.py."""
from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from grader.assignment import load_assignment
from grader.checks.distribution import MIN_SEPARATION, allowed_distance, draw_logits, fit, softmax, total_variation
from grader.checks.metric import METRICS, cross_entropy_per_char
from reference.rnn_text import (
    STUDENT_FILE, CharLSTM, build_reference, encode, evaluation_data, held_out_cross_entropy, held_out_text,
    load_split, load_text, student_data, vocabulary,
)

ASSIGNMENT = Path(__file__).resolve().parents[1] / "assignments" / "rnn_text"
PARAMETER_NAMES = ["data_dir", "steps", "hidden_size", "seq_len", "batch_size", "device", "seed"]
CONTRACT = ["encode", "decode", "model", "sample", "generate"]


@pytest.fixture(scope="module")
def text_data(shared_data) -> Path:
    if not (shared_data / "text" / "tinyshakespeare.txt").is_file():
        pytest.fail(f"the corpora are missing: expected {shared_data / 'text'} (see ../shared/data/README.md)")
    return shared_data


def test_the_split_keeps_the_last_tenth_and_the_vocabulary_is_the_training_texts(text_data):
    text = load_text(text_data, {})
    split = load_split(text_data, {})
    assert split.train + split.held_out == text
    assert len(split.held_out) == round(len(text) * 0.1)
    assert split.vocabulary == "".join(sorted(set(split.train)))
    assert len(split.vocabulary) == 65 and vocabulary(text_data, {}) == split.vocabulary


def test_the_student_gets_the_training_text_and_never_the_held_out_part(text_data, tmp_path):
    student_data(text_data, tmp_path, {})
    assert [p.name for p in tmp_path.iterdir()] == [STUDENT_FILE]
    given = (tmp_path / STUDENT_FILE).read_text(encoding="utf-8")
    split = load_split(text_data, {})
    assert given == split.train
    assert split.held_out[:200] not in given


def test_the_spanish_corpus_loses_its_gutenberg_licence(text_data):
    text = load_text(text_data, {"corpus": "quijote"})
    assert "PROJECT GUTENBERG" not in text.upper()[:2000] and "PROJECT GUTENBERG" not in text.upper()[-5000:]
    assert "ñ" in vocabulary(text_data, {"corpus": "quijote"})
    assert set(held_out_text(text_data, {"corpus": "quijote"})) <= set(vocabulary(text_data, {"corpus": "quijote"}))
    with pytest.raises(ValueError, match="unknown corpus"):
        load_split(text_data, {"corpus": "klingon"})


def test_held_out_windows_predict_the_next_character_and_never_overlap(text_data):
    inputs, targets = evaluation_data(text_data, {"eval_windows": 16, "eval_seq_len": 50})
    assert inputs.shape == targets.shape == (16, 50) and inputs.dtype == np.int64
    assert np.array_equal(inputs[:, 1:], targets[:, :-1])
    ids = encode(held_out_text(text_data, {}), vocabulary(text_data, {}))
    starts = [int(np.flatnonzero(np.all(np.lib.stride_tricks.sliding_window_view(ids, 50) == row, axis=1))[0])
              for row in inputs[:3]]
    assert all(b - a >= 50 for a, b in zip(starts, starts[1:]))


def test_cross_entropy_per_char_is_ln_v_for_uniform_logits_and_agrees_with_torch():
    rng = np.random.default_rng(3)
    targets = rng.integers(0, 65, size=(4, 30))
    assert cross_entropy_per_char(np.zeros((4, 30, 65), np.float32), targets) == Decimal(
        repr(math.log(65))).quantize(Decimal("0.0001"))
    logits = (rng.standard_normal((4, 30, 65)) * 3).astype(np.float32)
    expected = torch.nn.functional.cross_entropy(torch.from_numpy(logits).double().reshape(-1, 65),
                                                 torch.from_numpy(targets).reshape(-1)).item()
    assert abs(float(cross_entropy_per_char(logits, targets)) - expected) < 1e-4
    assert "cross_entropy_per_char" in METRICS


def test_cross_entropy_of_nan_logits_or_a_too_small_vocabulary_earns_nothing():
    targets = np.full((2, 5), 64)
    broken = np.zeros((2, 5, 65), np.float32)
    broken[0, 0, 0] = np.nan
    assert cross_entropy_per_char(broken, targets) == Decimal("Infinity")
    assert cross_entropy_per_char(np.zeros((2, 5, 10), np.float32), targets) == Decimal("Infinity")


@pytest.mark.slow
def test_the_reference_lstm_learns_under_a_tiny_budget(text_data):
    params = {"steps": 15, "hidden_size": 32, "seq_len": 32, "batch_size": 8, "eval_windows": 16,
              "device": "cpu"}
    metrics = build_reference(text_data, params)
    assert metrics["cross_entropy_per_char"] < math.log(65) - 0.5
    inputs, targets = evaluation_data(text_data, params)
    untrained = held_out_cross_entropy(CharLSTM(65, 32), inputs, targets)
    assert abs(untrained - math.log(65)) < 0.1


def test_a_right_sampler_passes_and_argmax_or_ignored_temperature_fail():
    rng = np.random.default_rng(0)
    for temperature in (0.5, 2.0):
        logits = draw_logits(rng, 6, temperature)
        p = softmax(logits, temperature)
        assert total_variation(p, softmax(logits, 1.0)) >= MIN_SEPARATION and 1 - p.max() >= MIN_SEPARATION
        assert fit(rng.choice(6, size=2000, p=p), p, 1e-6).ok
        assert not fit(np.full(2000, int(np.argmax(p))), p, 1e-6).ok
        assert not fit(rng.choice(6, size=2000, p=softmax(logits, 1.0)), p, 1e-6).ok


def test_the_stated_false_failure_rate_holds_with_room_to_spare():
    # At 1e-6 a correct sampler should essentially never fail; at 0.05 the bound is conservative,
    # so fewer than 5 % of 400 honest runs fail.
    rng = np.random.default_rng(1)
    p = softmax(np.array([1.5, 0.3, -0.2, 0.8, -1.0, 0.0]), 1.0)
    runs = [rng.choice(6, size=300, p=p) for _ in range(400)]
    assert sum(not fit(draws, p, 0.05).ok for draws in runs) < 20
    assert all(fit(draws, p, 1e-6).ok for draws in runs)
    assert allowed_distance(2000, 6, 1e-6) == pytest.approx(0.5 * math.sqrt(2 * (6 * math.log(2) + math.log(1e6)) / 2000))


def test_many_classes_are_pooled_into_few_bins_so_the_bound_stays_tight():
    rng = np.random.default_rng(2)
    p = softmax(rng.standard_normal(65) * 2, 1.0)
    assert fit(rng.choice(65, size=300, p=p), p, 1e-6).ok
    assert fit(rng.choice(65, size=300, p=p), p, 1e-6).allowed == pytest.approx(allowed_distance(300, 8, 1e-6))


def test_the_assignment_totals_ten_and_uses_the_text_kinds():
    assignment = load_assignment(ASSIGNMENT)
    assert assignment.max_points == Decimal("10")
    assert {c.kind for c in assignment.checks} >= {"notebook", "roundtrip", "sequence_shape", "distribution",
                                                   "generation", "metric"}
    assert assignment.reference_build == "reference.rnn_text:build_reference"


@pytest.mark.parametrize("name", ["template", "solution", "template_keras", "solution_keras"])
def test_template_and_solution_share_the_contract(name):
    nb = nbformat.read(ASSIGNMENT / f"{name}.ipynb", as_version=4)
    assert nb.metadata["grader"] == {"practical": "rnn_text"}
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    assigned = [line.split("=")[0].strip() for line in tagged[0].source.splitlines()
                if "=" in line and not line.lstrip().startswith("#")]
    assert assigned == PARAMETER_NAMES
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for contract_name in CONTRACT:
        assert f"def {contract_name}(" in code or f"{contract_name} = " in code
    intro = nb.cells[0].source
    assert "Español" in intro and "English" in intro and "sorted(set(text))" in intro
    assert ("NotImplementedError" in code) == name.startswith("template")


def test_the_keras_edition_is_the_pytorch_one_in_keras_words():
    """Same cells, same parameters cell; no torch in its code; its solution is Chollet's character model."""
    pytorch = nbformat.read(ASSIGNMENT / "template.ipynb", as_version=4)
    keras_template = nbformat.read(ASSIGNMENT / "template_keras.ipynb", as_version=4)
    solution = nbformat.read(ASSIGNMENT / "solution_keras.ipynb", as_version=4)
    assert [c.cell_type for c in keras_template.cells] == [c.cell_type for c in pytorch.cells]
    parameters = [[c.source for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
                  for nb in (pytorch, keras_template, solution)]
    assert parameters[0] == parameters[1] == parameters[2]
    code = "\n".join(c.source for c in solution.cells if c.cell_type == "code")
    assert "import torch" not in code and "from torch" not in code
    for piece in ("layers.Embedding(", "return_sequences=True", "layers.Dense(vocab_size)", "model.compile(",
                  "SparseCategoricalCrossentropy(from_logits=True)", "model.fit("):
        assert piece in code, piece
    assert load_assignment(ASSIGNMENT).keras_edition == "template_keras.ipynb"
