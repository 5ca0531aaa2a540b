"""The reference of the mlp_csv practical: its data split, the student data hook, the held-out rows, `relu` and
its cases, and the custom check of the loss plot. Loaded from this folder (assignment.toml names it as
`reference:...`); it imports the grader's public pieces only.

The course data folder holds mlp/points.csv: four features and an integer label per row; the first 80 % train,
the rest is held out and never reaches a notebook.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np

from grader.i18n import msg

TRAIN_SHARE = 0.8


def _split(data_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    rows = np.loadtxt(Path(data_dir) / "mlp" / "points.csv", delimiter=",", skiprows=1, dtype=np.float64)
    cut = int(len(rows) * TRAIN_SHARE)
    return rows[:cut], rows[cut:]


def student_data(data_dir: Path, dest: Path, params: dict) -> None:
    """The training rows, and only them, where the template reads them."""
    train, _ = _split(data_dir)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    np.savetxt(dest / "train.csv", train, delimiter=",", header="x1,x2,x3,x4,label", comments="", fmt="%.6g")


def evaluation_data(data_dir: Path, params: dict) -> tuple[np.ndarray, np.ndarray]:
    """The held-out rows as the model takes them: float32 [M, 4], labels int64 [M]."""
    _, held_out = _split(data_dir)
    return held_out[:, :4].astype(np.float32), held_out[:, 4].astype(np.int64)


def relu(z):
    return np.maximum(np.asarray(z, dtype=np.float32), np.float32(0))


def relu_cases(rng: np.random.Generator) -> list[tuple[np.ndarray]]:
    """Mixed signs at several scales, and a batch of features as the model sees them."""
    return [(rng.normal(0, scale, size=(5, 7)).astype(np.float32),) for scale in (0.1, 1.0, 100.0)] + [
        (rng.normal(0, 1, size=(8, 4)).astype(np.float32),)]


def loss_plotted(ctx) -> tuple[Decimal, object]:
    """The notebook as graded shows a plot."""
    if ctx.inspection.has_plot:
        return Decimal(1), msg("mlp_loss_plotted")
    return Decimal(0), msg("mlp_loss_not_plotted")


def make_points(path: Path, rows: int = 600, seed: int = 7) -> Path:
    """A course data file for this practical: three well separated clusters in four dimensions, shuffled."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, size=(3, 4))
    labels = rng.integers(0, 3, size=rows)
    features = centres[labels] + rng.normal(0, 1, size=(rows, 4))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, np.column_stack([features, labels]), delimiter=",", header="x1,x2,x3,x4,label", comments="",
               fmt="%.6g")
    return path
