"""The MNIST practical's reference side: data splits, probe inputs and a reference CNN.

The grader decides what students train on (the training split) and what they are scored on
(the held-out split, whose labels never leave the grader). Plain numpy here: the grader's process calls these
during a batch and never imports torch; the reference CNN (torch) is in mnist_cnn_model.py, reached by name.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reference.cases import Case
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


def softmax_cases(rng: np.random.Generator) -> list[Case]:
    """Inputs for a student's softmax: ordinary logits, then the part ``stable`` (logits of ±1000).

    Every case has several rows, so a softmax over the whole array or over the wrong axis fails it;
    ordinary logits stay small enough that exp() never overflows in float32, so a softmax without
    the max shift passes them all; every stable case overflows exp() even in float64, and holds
    rows whose maxima lie ~2000 apart, so a shift by the array's maximum (not each row's) fails too."""
    ordinary = [Case(logits, es=es, en=en) for logits, es, en in _ordinary_logits(rng)]
    return ordinary + [Case(logits, part="stable", es=es, en=en) for logits, es, en in _stable_logits(rng)]


def cross_entropy_cases(rng: np.random.Generator) -> list[Case]:
    """Inputs for a student's cross_entropy: (logits, targets), ordinary, then the part ``stable``.

    Several rows everywhere (a sum instead of the mean fails); in every stable case some target lies
    ~2000 below its row's maximum, so log(softmax(x)) gives -inf there and log(sum(exp(x))) without
    the shift overflows, whatever precision the student computes in."""
    cases = [Case(logits, _targets(rng, logits), es=es, en=en) for logits, es, en in _ordinary_logits(rng)
             if logits.std() > 0]          # equal logits: every target gives ln 10, a wrong pick would pass
    wide, _, _ = _stable_logits(rng)[0]
    targets = _targets(rng, wide)
    top = int(np.argmax(wide[0]))          # the row's +1000 stays: exp() must still overflow without the shift
    targets[0] = (top + 1 + rng.integers(N_CLASSES - 1)) % N_CLASSES
    wide[0, targets[0]] = -1000.0          # a confident wrong answer in the first row
    cases.append(Case(wide, targets, part="stable", es="5 filas de logits entre −1000 y +1000, un objetivo en −1000",
                      en="5 rows of logits between −1000 and +1000, one target at −1000"))
    confident = np.full((4, N_CLASSES), -1000.0, dtype=np.float32)
    confident[:2, 0] = confident[2:, -1] = 1000.0      # the loss is ~1500, finite only when computed stably
    confident[2:] -= 2000.0                # rows topping at -1000: a shift by the array's maximum underflows
    cases.append(Case(confident, np.array([0, 1, 2, 3], dtype=np.int64), part="stable",
                      es="4 filas seguras de sí (la mayor 2000 por encima), 3 equivocadas",
                      en="4 confident rows (the top logit 2000 above the rest), 3 of them wrong"))
    apart = _apart(rng)
    targets = _targets(rng, apart)
    apart[0, targets[0]] -= 2000.0
    cases.append(Case(apart, targets, part="stable", es="6 filas en torno a +900 y −900, una equivocada por 2000",
                      en="6 rows around +900 and −900, one wrong by 2000"))
    return cases


def _ordinary_logits(rng: np.random.Generator) -> list[tuple[np.ndarray, str, str]]:
    def normal(n: int, scale: float) -> np.ndarray:
        return (rng.standard_normal((n, N_CLASSES)) * scale).astype(np.float32)

    constant = np.full((3, N_CLASSES), float(rng.integers(-9, 10)), dtype=np.float32)
    return [(normal(8, 1.0), "8 filas de logits corrientes (escala 1)", "8 rows of ordinary logits (scale 1)"),
            (normal(16, 5.0), "16 filas de logits marcados (escala 5)", "16 rows of peaked logits (scale 5)"),
            (normal(2, 3.0), "2 filas de logits (escala 3)", "2 rows of logits (scale 3)"),
            (constant, "3 filas de logits iguales", "3 rows of equal logits")]


def _stable_logits(rng: np.random.Generator) -> list[tuple[np.ndarray, str, str]]:
    wide = rng.uniform(-1000.0, 1000.0, size=(5, N_CLASSES)).astype(np.float32)
    wide[0, rng.integers(N_CLASSES)] = 1000.0
    wide[-1] = rng.uniform(-1000.0, -990.0, size=N_CLASSES)     # a row entirely near -1000
    extremes = np.array([[1000.0] * N_CLASSES, [-1000.0] * N_CLASSES], dtype=np.float32)
    return [(wide, "5 filas de logits entre −1000 y +1000", "5 rows of logits between −1000 and +1000"),
            (_apart(rng), "6 filas en torno a +900 y −900", "6 rows around +900 and −900"),
            (extremes, "2 filas de logits iguales, +1000 y −1000", "2 rows of equal logits, +1000 and −1000")]


def _apart(rng: np.random.Generator) -> np.ndarray:
    """Rows around +900 and -900 alternately: exp() overflows in some rows, underflows in others."""
    offsets = np.where(np.arange(6) % 2 == 0, 900.0, -900.0)[:, None]
    return (rng.standard_normal((6, N_CLASSES)) + offsets).astype(np.float32)


def _targets(rng: np.random.Generator, logits: np.ndarray) -> np.ndarray:
    """Random classes, never all the same: with one class for every row, picking a column of the
    whole batch (logp[:, targets]) instead of one entry per row would give the right mean."""
    targets = rng.integers(0, N_CLASSES, size=len(logits), dtype=np.int64)
    if len(targets) > 1 and np.all(targets == targets[0]):
        targets[-1] = (targets[0] + 1) % N_CLASSES
    return targets


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
    import torch

    from reference.mnist_cnn_model import train_reference

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
        return Decimal("0"), msg("mnist_history_typed", cells=cell_refs(ctx.notebook, typed[:5]))
    output = ctx.output("history")
    if output.reason is not None:
        return Decimal("0"), output.reason
    losses = _losses(output.value if output.is_value else output.array.tolist())
    if losses is None:
        return Decimal("0"), msg("mnist_history_no_loss")
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
        return (Decimal("1"), msg("mnist_history_decreasing", **shown)) if ok else \
            (Decimal("0"), msg("mnist_history_not_decreasing", **shown))
    shown = {"loss": f"{losses[0]:.4f}", "chance": f"{chance:.2f}"}
    if losses[0] < BELOW_CHANCE * chance:
        return Decimal("1"), msg("mnist_history_one_epoch_ok", **shown)
    return Decimal("0"), msg("mnist_history_one_epoch_high", **shown)


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
        return Decimal("0"), msg("mnist_training_unmeasured", shape=list(logits.shape))
    measured = cross_entropy_per_char(logits, labels)
    chance = math.log(N_CLASSES)
    shown = {"measured": f"{measured:.4f}", "images": len(labels), "chance": f"{chance:.2f}"}
    if not measured.is_finite() or measured >= Decimal(repr(BELOW_CHANCE * chance)):
        return Decimal("0"), msg("mnist_training_not_shown", **shown)
    return Decimal("1"), msg("mnist_training_shown", **shown)


def _losses(history) -> list[float] | None:
    """The per-epoch losses of ``history`` ({"loss": [...]} or a plain list), finite numbers, or None."""
    if isinstance(history, dict):
        history = history.get("loss", history.get("train_loss"))
    if not isinstance(history, list) or not history:
        return None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in history):
        return None
    return [float(v) for v in history]


_MODEL_NAMES = ("ReferenceCNN", "train_reference", "predict")


def __getattr__(name: str):
    """The reference CNN's names, imported (with torch) only when asked for."""
    if name in _MODEL_NAMES:
        from reference import mnist_cnn_model

        return getattr(mnist_cnn_model, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
