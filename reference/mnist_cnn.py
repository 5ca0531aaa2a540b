"""The MNIST practical's reference side: data splits, probe inputs and a reference CNN.

The grader decides what students train on (the training split) and what they are scored on
(the held-out split, whose labels never leave the grader). Plain numpy/torch, no torchvision.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from reference.idx import read_idx, write_idx

IMAGES = "t10k-images-idx3-ubyte.gz"
LABELS = "t10k-labels-idx1-ubyte.gz"
# The names torchvision's raw MNIST uses: what the student's notebook finds in its data_dir.
STUDENT_IMAGES = "train-images-idx3-ubyte.gz"
STUDENT_LABELS = "train-labels-idx1-ubyte.gz"
DEFAULT_EVAL_FRACTION = 0.2
N_CLASSES = 10


@dataclass(frozen=True)
class Split:
    train_images: np.ndarray   # uint8 [n, 28, 28]
    train_labels: np.ndarray   # int64 [n]
    eval_images: np.ndarray    # uint8 [m, 28, 28]
    eval_labels: np.ndarray    # int64 [m]


def load_split(data_dir: Path, params: dict) -> Split:
    """The course's MNIST files split by index: the last ``eval_fraction`` is held out."""
    images, labels = _load_source(Path(data_dir) / "mnist")
    fraction = float(params.get("eval_fraction", DEFAULT_EVAL_FRACTION))
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"eval_fraction must lie strictly between 0 and 1, got {fraction}")
    cut = len(images) - int(round(len(images) * fraction))
    return Split(images[:cut], labels[:cut], images[cut:], labels[cut:])


def student_data(data_dir: Path, dest: Path, params: dict) -> None:
    """Write the training split, and only it, where the student's notebook will read it."""
    split = load_split(data_dir, params)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    write_idx(dest / STUDENT_IMAGES, split.train_images)
    write_idx(dest / STUDENT_LABELS, split.train_labels.astype(np.uint8))


def evaluation_data(data_dir: Path, params: dict) -> tuple[np.ndarray, np.ndarray]:
    """The held-out split as the model sees it: float32 [M, 1, 28, 28] in [0, 1], labels int64 [M]."""
    split = load_split(data_dir, params)
    return to_model_input(split.eval_images), split.eval_labels


def to_model_input(images: np.ndarray) -> np.ndarray:
    return (np.asarray(images, dtype=np.float32) / 255.0)[:, None, :, :]


def softmax_cases(rng: np.random.Generator) -> list[tuple[np.ndarray, ...]]:
    """Inputs for a student's softmax: ordinary, peaked, constant, and logits that overflow exp()."""
    return [(logits,) for logits in _logit_cases(rng)]


def cross_entropy_cases(rng: np.random.Generator) -> list[tuple[np.ndarray, ...]]:
    """Inputs for a student's cross_entropy: (logits, targets), large logits included."""
    cases = []
    for logits in _logit_cases(rng):
        targets = rng.integers(0, N_CLASSES, size=len(logits), dtype=np.int64)
        cases.append((logits, targets))
    # A confident wrong answer at large scale: the loss is ~2000, finite only when computed stably.
    logits = np.full((4, N_CLASSES), -1000.0, dtype=np.float32)
    logits[:, 0] = 1000.0
    cases.append((logits, np.array([0, 1, 2, 3], dtype=np.int64)))
    return cases


def _logit_cases(rng: np.random.Generator) -> list[np.ndarray]:
    def normal(n: int, scale: float) -> np.ndarray:
        return (rng.standard_normal((n, N_CLASSES)) * scale).astype(np.float32)

    constant = np.full((3, N_CLASSES), 7.0, dtype=np.float32)
    huge = rng.uniform(-1000.0, 1000.0, size=(5, N_CLASSES)).astype(np.float32)
    huge[:, 0] = 1000.0
    shifted = (normal(6, 1.0) + 900.0).astype(np.float32)   # every exp() overflows in float32
    return [normal(8, 1.0), normal(1, 3.0), normal(16, 10.0), constant, huge, shifted]


class ReferenceCNN(nn.Module):
    """conv32-pool-conv64-pool-fc128-fc10; [N, 1, 28, 28] in [0, 1] -> [N, 10] logits."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, N_CLASSES),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # MNIST's mean and std: normalisation belongs to the model, so callers pass raw [0, 1] pixels.
        return self.classifier(self.features((x - 0.1307) / 0.3081))


def train_reference(split: Split, params: dict, device: str = "cpu") -> tuple[nn.Module, dict]:
    """Train ReferenceCNN under the students' budget; metrics on the held-out split."""
    seed = int(params.get("seed", 0))
    torch.manual_seed(seed)
    n = min(int(params.get("train_size", len(split.train_images))), len(split.train_images))
    x = torch.from_numpy(to_model_input(split.train_images[:n]))
    y = torch.from_numpy(split.train_labels[:n].astype(np.int64))
    model = ReferenceCNN().to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=float(params.get("lr", 1e-3)))
    batch_size = int(params.get("batch_size", 64))
    generator = torch.Generator().manual_seed(seed)
    for _ in range(int(params.get("epochs", 2))):
        model.train()
        for idx in torch.randperm(n, generator=generator).split(batch_size):
            optimiser.zero_grad()
            loss = nn.functional.cross_entropy(model(x[idx].to(device)), y[idx].to(device))
            loss.backward()
            optimiser.step()
    predictions = predict(model, to_model_input(split.eval_images), device)
    accuracy = float(np.mean(predictions == split.eval_labels)) if len(predictions) else 0.0
    return model, {"accuracy": accuracy}


@torch.no_grad()
def predict(model: nn.Module, images: np.ndarray, device: str = "cpu", batch_size: int = 500) -> np.ndarray:
    """Predicted classes (int64) for model-ready images, in batches."""
    model.eval()
    out = [model(torch.from_numpy(images[i:i + batch_size]).to(device)).argmax(1).cpu()
           for i in range(0, len(images), batch_size)]
    return torch.cat(out).numpy().astype(np.int64) if out else np.zeros(0, dtype=np.int64)


def _load_source(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    images_path, labels_path = _find(folder, IMAGES), _find(folder, LABELS)
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"{folder}: images {images.shape} and labels {labels.shape} do not match")
    return images.astype(np.uint8), labels.astype(np.int64)


def _find(folder: Path, name: str) -> Path:
    for candidate in (folder / name, folder / name.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{folder}: neither {name} nor {name.removesuffix('.gz')} is there")


def build_reference(data_dir: Path, params: dict) -> dict[str, float]:
    """Metrics of the reference CNN trained under the grading budget (``grader reference build``)."""
    device = str(params.get("device", "cpu"))
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    _, metrics = train_reference(load_split(data_dir, params), params, device)
    return metrics


# What the reference's cache key hashes (the first name of each pair present is the one read).
build_reference.data_files = [f"mnist/{name}" for name in (IMAGES, LABELS, IMAGES.removesuffix(".gz"),
                                                           LABELS.removesuffix(".gz"))]


DECREASE = 0.95       # last epoch's loss / first epoch's loss, at most
BELOW_CHANCE = 0.9    # one epoch, and the grader's own measurement: loss / ln(classes), at most
HELD_OUT = 512        # held-out images the grader measures the trained model's loss on


def history_items(ctx) -> list[dict]:
    """Probe item of the loss check: the notebook's ``history`` as it is after training."""
    return [{"item": "history", "kind": "value", "name": "history"}]


def training_items(ctx) -> tuple[list[dict], dict]:
    """``history``, and the logits of ``model`` on a secret sample of held-out images: the grader's own
    measurement of the trained model's loss (the labels stay here, in ``kept``)."""
    try:
        images, labels = evaluation_data(ctx.data_dir, ctx.parameters)
    except OSError:   # a student's self-check has no held-out data: it judges the history alone
        return history_items(ctx), {}
    pick = np.sort(ctx.rng.choice(len(images), size=min(HELD_OUT, len(images)), replace=False))
    held_out = {"item": "held_out", "kind": "model", "name": "model",
                "args": [{"npy": ctx.write_input("loss_held_out", images[pick])}]}
    return history_items(ctx) + [held_out], {"labels": labels[pick].tolist()}


def loss_decreasing(ctx):
    """Full points when training is shown by evidence the student cannot type in:

    1. ``history`` is not written into the code as numbers (``history = {"loss": [2.3, 1.1]}``): such a
       history is no evidence of anything, and scores 0 however it looks;
    2. ``history`` as the grader's own run left it goes down: the last epoch at least 5 % below the first
       (an untrained model's loss wanders by less), or, with a one-epoch grading budget, 10 % below ln 10,
       the loss of guessing, where a model that never trained stays;
    3. when ``training_items`` planned it, the grader measures the model's cross-entropy on held-out
       images itself, which must also be 10 % below ln 10: a history computed by some other loop, or
       by a model that is not ``model``, does not make ``model`` trained. (Only the model's logits are
       read, so a model that returns probabilities still passes when trained: its loss stays under 1.5.)
    """
    from decimal import Decimal

    from grader.evidence import literal_assignments
    from grader.i18n import msg
    from grader.notebooks import cell_refs

    typed = literal_assignments(ctx.notebook, ctx.names.get("history", "history"))
    if typed:
        return Decimal("0"), msg("checks2_history_typed", cells=cell_refs(ctx.notebook, typed[:5]))
    output = ctx.output("history")
    if output.reason is not None:
        return Decimal("0"), output.reason
    losses = _losses(output.value if output.is_value else output.array.tolist())
    if losses is None:
        return Decimal("0"), msg("checks2_history_no_loss")
    fraction, reason = _history_verdict(losses)
    if fraction == 0 or "held_out" not in ctx.names:
        return fraction, reason
    return _measured_verdict(ctx)


def _history_verdict(losses: list[float]):
    from decimal import Decimal

    from grader.i18n import msg

    chance = math.log(N_CLASSES)
    if len(losses) >= 2:
        ok = losses[-1] < DECREASE * losses[0]
        shown = {"first": f"{losses[0]:.4f}", "last": f"{losses[-1]:.4f}", "epochs": len(losses)}
        return (Decimal("1"), msg("checks2_history_decreasing", **shown)) if ok else \
            (Decimal("0"), msg("checks2_history_not_decreasing", **shown))
    shown = {"loss": f"{losses[0]:.4f}", "chance": f"{chance:.2f}"}
    if losses[0] < BELOW_CHANCE * chance:
        return Decimal("1"), msg("checks2_history_one_epoch_ok", **shown)
    return Decimal("0"), msg("checks2_history_one_epoch_high", **shown)


def _measured_verdict(ctx):
    """The grader's measurement of ``model`` on held-out images confirms (or refutes) the history."""
    from decimal import Decimal

    from grader.checks.metric import cross_entropy_per_char
    from grader.i18n import msg

    output = ctx.output("held_out")
    if output.reason is not None:
        return Decimal("0"), output.reason
    labels = np.asarray(ctx.kept["labels"], dtype=np.int64)
    logits = output.array
    if logits.ndim != 2 or len(logits) != len(labels) or logits.shape[1] < N_CLASSES:
        return Decimal("0"), msg("checks2_training_unmeasured", shape=list(logits.shape))
    measured = cross_entropy_per_char(logits, labels)
    chance = math.log(N_CLASSES)
    shown = {"measured": f"{measured:.4f}", "images": len(labels), "chance": f"{chance:.2f}"}
    if not measured.is_finite() or measured >= Decimal(repr(BELOW_CHANCE * chance)):
        return Decimal("0"), msg("checks2_training_not_shown", **shown)
    return Decimal("1"), msg("checks2_training_shown", **shown)


def _losses(history) -> list[float] | None:
    """The per-epoch losses of ``history`` ({"loss": [...]} or a plain list), finite numbers, or None."""
    if isinstance(history, dict):
        history = history.get("loss", history.get("train_loss"))
    if not isinstance(history, list) or not history:
        return None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in history):
        return None
    return [float(v) for v in history]
