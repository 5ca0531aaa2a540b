"""A language model's cross-entropy measured causally by construction (the ``metric`` kind's ``causal`` option).

Each scored position's future is replaced at random before the model sees it: for a cut position c, every row
of the pass keeps its ids up to c and gets random ids after it, and only the logits at c are scored against the
id that really followed. A model that reads ahead then reads noise, and its cross-entropy says so; nothing marks
a batch as a test to answer differently, since every scored batch is such a batch; and a model that mixes the
rows of a batch (an LSTM without ``batch_first``) is judged by the cross-entropy its outputs really earn.
For a causal model the logits at c are the ones the whole window gives, so the figure estimates the same
cross-entropy the reference is measured with.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from grader.checks.base import PlanContext

DEFAULT_CUTS = 16


def plan_cuts(windows: np.ndarray, targets: np.ndarray, ctx: PlanContext, cuts: int) -> dict[str, Any] | None:
    """The causal inputs (cut-major: all rows of one cut together, so a batch holds one cut), the position
    kept in each row and its target; None when the inputs are not windows of ids."""
    if windows.ndim != 2 or windows.dtype.kind not in "iu" or targets.shape != windows.shape:
        return None
    count, length = windows.shape
    cuts = max(1, min(int(cuts), length))
    # one cut per stratum of the window, the same for every row: positions spread like the whole window's
    edges = np.linspace(0, length, cuts + 1).astype(np.int64)
    positions = np.array([int(ctx.rng.integers(lo, max(lo + 1, hi))) for lo, hi in zip(edges[:-1], edges[1:])])
    pool = windows.reshape(-1)      # random ids drawn from the held-out text's own: every one a valid id
    inputs = np.repeat(windows[None], cuts, axis=0)
    for number, cut in enumerate(positions):
        noise = pool[ctx.rng.integers(0, len(pool), size=(count, length - cut - 1))]
        inputs[number, :, cut + 1:] = noise
    keep = np.repeat(positions, count)
    labels = np.concatenate([targets[:, cut] for cut in positions])
    return {"inputs": inputs.reshape(cuts * count, length), "keep": keep.astype(np.int64), "labels": labels,
            "positions": [int(p) for p in positions]}
