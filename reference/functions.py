"""Ground-truth numerical functions the checks compare students' code against.

Numerically stable float64 numpy; accepts numpy arrays or torch tensors. It must never call
the student's code nor depend on anything of the grader.
"""
from __future__ import annotations

import numpy as np


def _as_array(values, dtype=np.float64) -> np.ndarray:
    if hasattr(values, "detach"):   # a torch tensor, possibly on a GPU
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=dtype)


def log_softmax(logits, axis: int = -1) -> np.ndarray:
    """log(softmax) computed with the max shift, so large logits never overflow."""
    x = _as_array(logits)
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax(logits, axis: int = -1) -> np.ndarray:
    """Probabilities along ``axis``; rows sum to 1 even for logits of +-1000."""
    return np.exp(log_softmax(logits, axis=axis))


def cross_entropy(logits, targets) -> np.ndarray:
    """Mean categorical cross-entropy of logits [N, C] against integer class targets [N]."""
    logp = log_softmax(logits, axis=-1)
    t = _as_array(targets, dtype=np.int64)
    if logp.ndim != 2 or t.shape != logp.shape[:1]:
        raise ValueError(f"cross_entropy wants logits [N, C] and targets [N], got {logp.shape} and {t.shape}")
    if t.size and (t.min() < 0 or t.max() >= logp.shape[1]):
        raise ValueError(f"targets must lie in 0..{logp.shape[1] - 1}")
    picked = logp[np.arange(len(t)), t]
    return np.asarray(-picked.mean(), dtype=np.float64)
