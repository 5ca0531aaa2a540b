"""Comparison functions a ``function`` check may name in ``compare``: tolerances, not solutions.

They live in the grader, not in reference/, because the student wheel (grader.public_cases) ships every
public check's comparison with its expected outputs, and never anything of reference/.
"""
from __future__ import annotations

import numpy as np

POOL = 8                    # compare 8x8-pixel block means: resampling noise averages out, geometry does not
POOLED_TOLERANCE = 0.12     # mean |difference| of the block means, in normalised units (see the README)


def compare_preprocessed(got, expected) -> tuple[bool, str]:
    """Same shape, finite, and block means within POOLED_TOLERANCE of the reference pipeline's."""
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if got.shape != expected.shape:
        return False, f"shape {_shape(got.shape)}, expected {_shape(expected.shape)}"
    if not np.isfinite(got).all():
        return False, "the result holds nan or inf"
    difference = float(np.mean(np.abs(_block_means(got) - _block_means(expected))))
    if difference <= POOLED_TOLERANCE:
        return True, ""
    return False, (f"mean |difference| of {POOL}x{POOL}-pixel block means {difference:.3f} > {POOLED_TOLERANCE} "
                   f"(values in [{got.min():.2f}, {got.max():.2f}], expected [{expected.min():.2f}, "
                   f"{expected.max():.2f}])")


def _block_means(array: np.ndarray) -> np.ndarray:
    channels, height, width = array.shape
    h, w = height // POOL * POOL, width // POOL * POOL
    return array[:, :h, :w].reshape(channels, h // POOL, POOL, w // POOL, POOL).mean(axis=(2, 4))


def _shape(shape) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ")"
