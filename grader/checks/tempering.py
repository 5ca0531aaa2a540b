"""Whether draws of one character at several temperatures behave as temperature demands: pure statistics
on counts (numpy and scipy), for the temperature check (grader.checks.temperature).

A sampler that honours T draws from p_T proportional to p_1^(1/T), whatever p_1 is (the model's logits,
its probabilities, its vocabulary order). Two tests, on the draws alone:

- *The draws change*: an exact permutation test of "the same distribution at every temperature", on
  how much more concentrated (collision rate) the draws at the lowest temperature are than those at the
  highest; a sampler that ignores T fails it on any model, an untrained one included. Level
  ``CHANGE_LEVEL``. Temperatures in between (T = 0.5 between 0.01 and 5) are there for the second test:
  at the extremes greedy and uniform draws are what tempering gives, in between only tempering fits.
- *They change as temperature demands*: one p_1 fitted by maximum likelihood to every temperature's
  draws jointly, then a likelihood-ratio (G) test of that fit against the draws, on cells pooled to the
  ``POOLED_BINS - 1`` most likely characters and the rest. Fitting on the unpooled cells makes
  chi-square with every pooled cell's degrees of freedom an upper bound (Chernoff and Lehmann), so the
  stated false-fail rate is a bound; tests/test_tempering.py checks it by simulation.

Never reads a student's object or a model: counts in, a frozen verdict out.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

POOLED_BINS = 8            # the 7 most likely characters and the rest, per temperature
CHANGE_LEVEL = 1e-3        # a sampler ignoring T passes "the draws change" with at most this chance
PERMUTATIONS = 1999        # (1 + 1999) permutations: p-values down to 1/2000, below CHANGE_LEVEL
_NEWTON_STEPS = 200


@dataclass(frozen=True)
class Verdict:
    """What the draws say. Index 0 of every tuple is T = 1, the others the temperatures as given."""

    changes: bool                   # the draws differ between temperatures (homogeneity rejected)
    change_p: float                 # its permutation p-value
    follows: bool                   # the fit p_T ~ p_1^(1/T) is not rejected at the false-fail level
    g: float                        # the G statistic of that fit, on pooled cells
    df: int                         # its degrees of freedom (an upper bound: conservative)
    p_value: float                  # chi-square tail of g: below false_failure means "does not follow"
    worst: int                      # the temperature (index >= 1) whose draws fit worst
    top: int                        # the cell of the most likely character at T = 1, by the fit
    shares: tuple[float, ...]       # how often that character came, per temperature
    expected: tuple[float, ...]     # how often the fit expects it, per temperature


def judge(counts: np.ndarray, temperatures: Sequence[float], false_failure: float) -> Verdict:
    """``counts[s, k]``: how often character k came at ``temperatures[s]``; ``temperatures[0]`` is 1."""
    counts = np.asarray(counts, dtype=np.float64)
    if temperatures[0] != 1.0 or len(temperatures) != len(counts) or len(counts) < 2:
        raise ValueError("counts need one row per temperature, the first at T = 1")
    counts = counts[:, counts.sum(axis=0) > 0]          # a character never drawn has no say in the fit
    inverse = 1.0 / np.asarray(temperatures, dtype=np.float64)
    change_p = change_p_value(counts, temperatures)
    z = fit(counts, inverse)
    q = tempered(z, inverse)
    g, df, per_temperature = pooled_g(counts, q, z)
    from scipy.stats import chi2   # start-up: here, not at import: scipy.stats costs every batch 1.4 s to load

    p_value = float(chi2.sf(g, df)) if df > 0 else 1.0
    top = int(np.argmax(z))
    n = counts.sum(axis=1)
    return Verdict(changes=change_p <= CHANGE_LEVEL, change_p=change_p, follows=p_value >= false_failure,
                   g=g, df=df, p_value=p_value, worst=1 + int(np.argmax(per_temperature[1:])), top=top,
                   shares=tuple(float(x) for x in counts[:, top] / n),
                   expected=tuple(float(x) for x in q[:, top]))


def tempered(z: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    """softmax(z / T) for each temperature (rows), from the logits z of p_1."""
    a = inverse[:, None] * z[None, :]
    a = np.exp(a - a.max(axis=1, keepdims=True))
    return a / a.sum(axis=1, keepdims=True)


def _nll(counts: np.ndarray, inverse: np.ndarray, z: np.ndarray) -> float:
    a = inverse[:, None] * z[None, :]
    top = a.max(axis=1)
    log_norm = top + np.log(np.exp(a - top[:, None]).sum(axis=1))
    return float((counts.sum(axis=1) * log_norm - (counts * a).sum(axis=1)).sum())


def fit(counts: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    """Logits z of the p_1 that makes the draws most likely, every temperature at once: Newton's method
    on the negative log-likelihood, which is convex in z (a sum of log-sum-exps of linear maps), with
    backtracking. Every cell was drawn at least once, so the minimum is finite."""
    n = counts.sum(axis=1)
    size = counts.shape[1]
    # start: the best of what each temperature's frequencies alone say of z (T * log frequency); the
    # likelihood is steep along the lowest temperature's direction, so a start far off costs many steps
    starts = [np.log(row + 0.5) / rate for row, rate in zip(counts, inverse)]
    values = [_nll(counts, inverse, start) for start in starts]
    z = starts[int(np.argmin(values))]
    z = z - z.mean()
    value = min(values)
    for _ in range(_NEWTON_STEPS):
        q = tempered(z, inverse)
        gradient = (inverse[:, None] * (n[:, None] * q - counts)).sum(axis=0)
        weight = (n * inverse ** 2)[:, None]
        hessian = np.diag((weight * q).sum(axis=0)) - q.T @ (weight * q)
        # adding every cell the same amount changes nothing: pin that direction
        hessian += np.full((size, size), np.trace(hessian) / size ** 2 + 1e-12)
        step = -np.linalg.solve(hessian, gradient)
        slope = float(gradient @ step)
        if -slope < 1e-12 * max(1.0, value):
            break
        scale = 1.0
        while scale > 1e-12:
            trial = _nll(counts, inverse, z + scale * step)
            if trial <= value + 1e-4 * scale * slope:
                break
            scale /= 2.0
        z, value = z + scale * step, trial
        z -= z.mean()
    return z


def pooled_g(counts: np.ndarray, q: np.ndarray, z: np.ndarray) -> tuple[float, int, np.ndarray]:
    """2 * sum O ln(O / E) per temperature over the ``POOLED_BINS - 1`` cells the fit finds most likely
    and the rest pooled; degrees of freedom: every temperature's bins less one."""
    order = np.argsort(-z, kind="stable")
    kept, rest = order[:POOLED_BINS - 1], order[POOLED_BINS - 1:]
    observed, shares = counts[:, kept], q[:, kept]
    if len(rest):
        observed = np.concatenate([observed, counts[:, rest].sum(axis=1, keepdims=True)], axis=1)
        shares = np.concatenate([shares, q[:, rest].sum(axis=1, keepdims=True)], axis=1)
    expected = counts.sum(axis=1, keepdims=True) * shares
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(observed > 0, observed * np.log(observed / np.maximum(expected, 1e-300)), 0.0)
    per_temperature = 2.0 * terms.sum(axis=1)
    df = counts.shape[0] * (observed.shape[1] - 1)
    return float(max(per_temperature.sum(), 0.0)), int(df), per_temperature


def collision_rates(counts: np.ndarray) -> np.ndarray:
    """The share of pairs of draws that agree, per temperature (rows): how concentrated the draws are."""
    n = counts.sum(axis=-1)
    return (counts * (counts - 1)).sum(axis=-1) / (n * (n - 1))


def change_p_value(counts: np.ndarray, temperatures: Sequence[float]) -> float:
    """Exact permutation p-value of "the draws do not depend on the temperature". The statistic, the
    collision rate at the lowest temperature less the one at the highest, grows with what any honoured
    temperature does to any distribution that is not uniform. Only the two extremes count: near a flat
    model a temperature near 1 changes the draws by little and would add its noise alone (with draws at
    1, 0.01, 0.5 and 5, counting every one by its side of 1 fails a right generate on 141 of 300 models
    of logits' spread 0.006 instead of 3). The permutations deal the draws of every temperature anew and
    come from the counts themselves, so the same answers always get the same p-value."""
    counts = np.asarray(counts, dtype=np.int64)
    weight = np.zeros(len(temperatures))
    weight[int(np.argmin(temperatures))], weight[int(np.argmax(temperatures))] = 1.0, -1.0

    def statistic(table: np.ndarray) -> np.ndarray:
        return (weight * collision_rates(table)).sum(axis=-1)

    rng = np.random.default_rng([int(v) for v in counts.ravel()] + [len(counts)])
    permuted = _permuted_counts(counts, rng, PERMUTATIONS)
    observed = statistic(counts.astype(np.float64))
    as_large = int(np.sum(statistic(permuted.astype(np.float64)) >= observed - 1e-12))
    return (1 + as_large) / (PERMUTATIONS + 1)


def _permuted_counts(counts: np.ndarray, rng: np.random.Generator, times: int) -> np.ndarray:
    """``times`` tables of counts with the draws dealt anew among the temperatures (same totals per
    temperature and per character): the draws of each temperature in turn, one character at a time,
    each a hypergeometric draw from what is left."""
    temperatures, cells = counts.shape
    left = np.broadcast_to(counts.sum(axis=0), (times, cells)).copy()
    dealt = np.zeros((times, temperatures, cells), dtype=np.int64)
    for s in range(temperatures - 1):
        wanted = np.full(times, counts[s].sum())
        others = left.sum(axis=1)
        for k in range(cells):
            others = others - left[:, k]
            drawn = rng.hypergeometric(left[:, k], others, wanted)
            dealt[:, s, k] = drawn
            wanted = wanted - drawn
            left[:, k] -= drawn
    dealt[:, -1] = left
    return dealt
