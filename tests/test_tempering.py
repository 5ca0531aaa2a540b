"""The temperature check's statistics (grader.checks.tempering), by simulation, numpy only: a sampler that
honours T rarely fails (the false-fail rate the assignment states is a bound the simulated rates stay
under, on peaked, trained, random-init and flat distributions), and samplers that ignore T, multiply the
logits by T, ignore it at one temperature only, always take the most likely character, or draw greedily
below T = 1 and uniformly above it (what tempering gives at 0.01 and 5, but not at 0.5), fail."""
from __future__ import annotations

import numpy as np
import pytest

from grader.checks.tempering import CHANGE_LEVEL, fit, judge, pooled_g, tempered
from scipy.stats import chi2

TEMPERATURES = (1.0, 0.01, 0.5, 5.0)  # assignments/rnn_text/assignment.toml
INVERSE = 1.0 / np.array(TEMPERATURES)
DRAWS = 400
FALSE_FAILURE = 1e-6
# The next-character logits (log-probabilities, top 0) of the reference LSTM trained under the default budget
# (150 steps, hidden 256) after the held-out prompt "...then, if it be fit, " (Tiny Shakespeare's 65 characters).
TRAINED = np.array([
    -7.19, -6.67, -7.69, -7.78, -7.98, -3.55, -7.13, -7.87, -8.11, -7.78, -7.78, -8.01, -8.3, -5.07, -4.27, -3.02,
    -4.71, -4.08, -4.85, -4.1, -4.04, -1.93, -5.14, -5.17, -3.96, -4.54, -6.35, -5.31, -4.15, -7.42, -3.4, -4.65,
    -4.03, -8.14, -4.87, -4.32, -8.11, -5.01, -9.04, -0.29, -0.97, -1.62, -1.61, -2.27, -0.93, -2.04, -0.33, -0.76,
    -3.76, -2.51, -1.95, -0.25, -1.45, -0.98, -1.54, -3.98, -2.04, -0.28, 0.0, -2.3, -3.06, -0.53, -6.91, -1.22,
    -6.99])
_NOISE = np.random.default_rng(7).standard_normal(len(TRAINED))
SHAPES = {
    "trained": TRAINED,                                          # entropy 3.05 nats, top 0.12
    "peaked": np.where(np.arange(65) == 0, 4.0, -1.3 * np.log(np.arange(1, 66))),   # top 0.91
    "random-init LSTM": 0.05 * _NOISE,                           # a torch LSTM before training
    "flat": 0.008 * _NOISE,                                      # a Keras GRU before training
}


def _draws(rng: np.random.Generator, logits: np.ndarray, used: tuple[float, ...]) -> np.ndarray:
    """Counts of DRAWS characters at each temperature, drawn at the temperatures the sampler really used."""
    return np.stack([rng.multinomial(DRAWS, p) for p in tempered(logits, 1.0 / np.array(used))])


def _g_p_value(counts: np.ndarray) -> float:
    counts = counts[:, counts.sum(axis=0) > 0].astype(np.float64)
    z = fit(counts, INVERSE)
    g, df, _ = pooled_g(counts, tempered(z, INVERSE), z)
    return float(chi2.sf(g, df))


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_sampler_that_honours_t_fails_the_g_test_less_often_than_the_chi_square_bound_says(shape):
    rng = np.random.default_rng(sorted(SHAPES).index(shape))
    p_values = np.array([_g_p_value(_draws(rng, SHAPES[shape], TEMPERATURES)) for _ in range(200)])
    # chi-square with every pooled cell's degrees of freedom is an upper bound: the simulated tail stays below
    # it at every level 200 gradings can see (10 expected below 5 %, 2 below 1 %), and nowhere near 1e-6
    # (benchmarks/temperature_test.py runs 20,000 gradings per shape)
    assert np.mean(p_values < 0.05) <= 0.05 and np.mean(p_values < 0.01) <= 0.01, np.sort(p_values)[:10]
    assert p_values.min() > 1e-3


def test_the_fit_is_the_maximum_of_the_likelihood():
    from scipy.optimize import minimize

    from grader.checks.tempering import _nll

    rng = np.random.default_rng(1)
    counts = _draws(rng, TRAINED, (1.0,) * len(TEMPERATURES))     # a wrong sampler: the fit is far from every sample
    counts = counts[:, counts.sum(axis=0) > 0].astype(np.float64)
    z = fit(counts, INVERSE)
    found = minimize(lambda x: _nll(counts, INVERSE, x), z, method="L-BFGS-B",
                     options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-10})
    assert _nll(counts, INVERSE, z) <= found.fun + 1e-6


@pytest.mark.parametrize("shape", ["trained", "peaked", "random-init LSTM", "flat"])
def test_a_sampler_that_honours_t_passes_both_tests(shape):
    rng = np.random.default_rng(11)
    for _ in range(3):
        verdict = judge(_draws(rng, SHAPES[shape], TEMPERATURES), TEMPERATURES, FALSE_FAILURE)
        assert verdict.changes and verdict.follows, verdict


WRONG = {   # the temperature each wrong sampler really uses when asked for T
    "ignores T": lambda t: 1.0,
    "multiplies the logits by T": lambda t: 1.0 / t,
    "ignores T below 1": lambda t: max(t, 1.0),
    "ignores T above 1": lambda t: min(t, 1.0),
    "takes the most likely character": lambda t: 1e-6,
    # never tempers: the extremes' limits stand in for tempering (p_1^100 is an argmax, p_1^0.2 nearly flat)
    "greedy below 1, uniform above": lambda t: 1e-6 if t < 1 else 1e6 if t > 1 else 1.0,
}
# where a sampler's draws and tempering's differ by more than 400 draws can show (at T = 0.5, greedy draws
# on a model whose top character already has 0.91 are what tempering gives)
SHOWN_ON = {"greedy below 1, uniform above": ("trained", "random-init LSTM")}


@pytest.mark.parametrize("wrong", sorted(WRONG))
def test_samplers_that_misuse_t_fail_on_a_trained_model(wrong):
    rng = np.random.default_rng(3)
    used = tuple(WRONG[wrong](t) for t in TEMPERATURES)
    for shape in SHOWN_ON.get(wrong, ("trained", "peaked")):
        failed = [not (v.changes and v.follows) for v in
                  (judge(_draws(rng, SHAPES[shape], used), TEMPERATURES, FALSE_FAILURE) for _ in range(3))]
        assert all(failed), (shape, failed)


@pytest.mark.parametrize("shape", ["random-init LSTM", "flat"])
def test_a_sampler_that_ignores_t_fails_on_an_untrained_model_too(shape):
    rng = np.random.default_rng(5)
    for _ in range(3):
        verdict = judge(_draws(rng, SHAPES[shape], (1.0,) * len(TEMPERATURES)), TEMPERATURES, FALSE_FAILURE)
        assert not verdict.changes and verdict.change_p > CHANGE_LEVEL, verdict


def test_the_verdict_depends_on_the_counts_alone():
    counts = _draws(np.random.default_rng(2), SHAPES["flat"], TEMPERATURES)
    assert judge(counts, TEMPERATURES, FALSE_FAILURE) == judge(counts.copy(), TEMPERATURES, FALSE_FAILURE)
    # which character is which, and characters never drawn, play no part
    order = np.random.default_rng(4).permutation(counts.shape[1])
    padded = np.concatenate([counts[:, order], np.zeros((len(counts), 20), dtype=counts.dtype)], axis=1)
    first, second = judge(counts, TEMPERATURES, FALSE_FAILURE), judge(padded, TEMPERATURES, FALSE_FAILURE)
    assert first.changes == second.changes and abs(first.g - second.g) < 1e-6 and first.df == second.df


def test_every_draw_of_one_character_is_no_change():
    counts = np.array([[DRAWS, 0]] * len(TEMPERATURES))
    verdict = judge(counts, TEMPERATURES, FALSE_FAILURE)
    assert not verdict.changes and verdict.follows and verdict.shares == (1.0,) * len(TEMPERATURES)
