"""Causality of a token model, for the ``metric`` kind's ``causal`` option: the logits at position t may
depend on the ids up to t only. A model that reads ahead (a bidirectional layer, logits computed from the
whole window) predicts held-out text from the very characters it is asked to predict: its cross-entropy
would earn points for nothing.

The test is a pair of windows per row that agree on their first half and differ after it: the logits of
the first half must not change. Drawn from the held-out inputs themselves, so every id is a valid one,
and fed through the student's numbering like the metric's own inputs.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from grader.checks.base import PlanContext, ScoreContext
from grader.checks.numbering import translate
from grader.i18n import msg
from grader.records import Reason

ROWS = 4                    # pairs of windows
ATOL, RTOL = 1e-3, 1e-3     # batch composition moves float32 logits by ~1e-6; reading ahead, by far more


def plan_causality(item_id: str, name: str, windows: np.ndarray, ctx: PlanContext, numbering: dict[str, Any],
                   batch_size: int) -> tuple[list[dict], dict | None]:
    """The probe item feeding [first rows; same rows with their second half replaced], and what scoring
    needs of it; no item (and None) when the inputs are not windows of ids long enough to split."""
    if windows.ndim != 2 or windows.dtype.kind not in "iu" or windows.shape[1] < 4 or len(windows) < 2:
        return [], None
    rows = min(ROWS, len(windows) // 2)
    split = windows.shape[1] // 2
    changed = windows[:rows].copy()
    changed[:, split:] = windows[rows:2 * rows, split:]
    item = {"item": item_id, "kind": "model", "name": name, "batch_size": batch_size,
            "inputs": [ctx.write_input(item_id, np.concatenate([windows[:rows], changed]))]}
    if numbering:
        item = translate(item, numbering["numbering"], numbering["size"])
    return [item], {"item": item_id, "rows": rows, "split": split}


def reads_ahead(ctx: ScoreContext, name: str, plan: dict) -> Reason | None:
    """Why the model's early logits changed with later ids, or None (causal, or nothing to judge by)."""
    output = ctx.outputs.get(plan["item"], name, want="array")
    rows, split = plan["rows"], plan["split"]
    if output.reason is not None or output.array.ndim != 3 or len(output.array) != 2 * rows:
        return None    # the metric's own item says what is wrong with such a model
    early = output.array[:, :split].astype(np.float64)
    if not np.isfinite(early).all():
        return None
    before, after = early[:rows], early[rows:]
    moved = float(np.abs(before - after).max())
    if np.allclose(before, after, atol=ATOL, rtol=RTOL):
        return None
    return msg("metric_reads_ahead", name=name, first=split, length=output.array.shape[1], moved=f"{moved:.3g}")
