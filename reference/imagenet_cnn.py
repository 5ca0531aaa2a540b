"""The ImageNet practical's reference side: preprocessing, top-k accuracy, data for the notebook and
the grader, and the inputs the probe feeds to the student's functions.

The held-out labels stay here; the notebook gets example images under neutral names, the class
index and the pretrained weights. PIL + numpy here (the grader's process calls these during a batch and never
imports torch); the pretrained network (torch, efficientnet_lite.py) only where the reference is built.
"""
from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from reference.cases import Case

RESIZE = 256
CROP = 224
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
CLASS_INDEX = "imagenet_class_index.json"
LABELS_CSV = "labels.csv"
DEFAULT_EXAMPLES = 8


@dataclass(frozen=True)
class LabelledImage:
    path: Path
    label: int


def preprocess(image: Image.Image) -> np.ndarray:
    """Shorter side to 256 (bilinear), centre crop 224, [0, 1], ImageNet mean/std -> float32 [3, 224, 224] (the
    same float32 arithmetic as torch's ``(pixels - mean) / std``, element by element)."""
    image = image.convert("RGB")
    width, height = image.size
    if width <= height:
        size = (RESIZE, int(RESIZE * height / width))
    else:
        size = (int(RESIZE * width / height), RESIZE)
    image = image.resize(size, Image.BILINEAR)
    left = int(round((size[0] - CROP) / 2.0))
    top = int(round((size[1] - CROP) / 2.0))
    image = image.crop((left, top, left + CROP, top + CROP))
    pixels = (np.asarray(image, dtype=np.float32) / np.float32(255.0)).transpose(2, 0, 1)
    mean = np.asarray(MEAN, dtype=np.float32).reshape(3, 1, 1)
    std = np.asarray(STD, dtype=np.float32).reshape(3, 1, 1)
    return np.ascontiguousarray((pixels - mean) / std)


def topk_accuracy(logits, targets, k) -> float:
    """Share of rows whose target is among the k largest logits (ties: the lower class index first)."""
    logits = np.asarray(logits, dtype=np.float64)
    targets = np.asarray(targets).astype(np.int64).reshape(-1)
    k = int(k)
    if logits.ndim != 2 or len(logits) != len(targets) or not 1 <= k <= logits.shape[1]:
        raise ValueError(f"topk_accuracy: logits {logits.shape}, targets {targets.shape}, k={k} do not fit")
    # Stable sort of the negated logits: the same order torch.topk gives on distinct values.
    top = np.argsort(-logits, axis=1, kind="stable")[:, :k]
    return float(np.mean((top == targets[:, None]).any(axis=1)))


def load_images(data_dir: Path) -> list[LabelledImage]:
    """The course's ImageNet images with their class index, in labels.csv order."""
    folder = Path(data_dir) / "imagenet"
    table = folder / LABELS_CSV
    if not table.is_file():
        raise FileNotFoundError(f"{table} is missing (the imagenet folder needs labels.csv, images and "
                                f"{CLASS_INDEX})")
    with table.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    images = []
    for number, row in enumerate(rows, start=2):
        try:
            path, label = folder / row["file"], int(row["class_index"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{table}, line {number}: needs columns file and class_index (an integer)") from None
        if not path.is_file() or not 0 <= label < 1000:
            raise ValueError(f"{table}, line {number}: {row['file']} is missing or its class {label} is not 0-999")
        images.append(LabelledImage(path, label))
    if not images:
        raise ValueError(f"{table} lists no images")
    return images


def student_data(data_dir: Path, dest: Path, params: dict) -> None:
    """Example images under neutral names (no labels), the class index and the pretrained weights: the .pth
    for the PyTorch edition, the same arrays as an .npz for the Keras one."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    images = load_images(data_dir)
    examples = dest / "examples"
    examples.mkdir(exist_ok=True)
    count = min(int(params.get("example_images", DEFAULT_EXAMPLES)), len(images))
    # Spread over the list, so the examples are not one corner of the class range.
    for number, index in enumerate(np.linspace(0, len(images) - 1, count).astype(int), start=1):
        shutil.copyfile(images[index].path, examples / f"example_{number:02d}{images[index].path.suffix.lower()}")
    shutil.copyfile(Path(data_dir) / "imagenet" / CLASS_INDEX, dest / CLASS_INDEX)
    from reference.efficientnet_lite import NUMPY_WEIGHTS_FILE, WEIGHTS_FILE, save_numpy_weights, weights_path

    shutil.copyfile(weights_path(), dest / WEIGHTS_FILE)
    save_numpy_weights(dest / NUMPY_WEIGHTS_FILE)


def evaluation_data(data_dir: Path, params: dict) -> tuple[np.ndarray, np.ndarray]:
    """The first ``eval_images`` images as the reference pipeline prepares them: float32 [M, 3, 224, 224],
    labels int64 [M]."""
    images = load_images(data_dir)
    count = int(params.get("eval_images", len(images)))
    if not 1 <= count <= len(images):
        raise ValueError(f"eval_images must lie between 1 and {len(images)}, got {count}")
    # Every fifth class from the first image on is what the data holds; taking a stride keeps a subset
    # spread over the whole class range.
    chosen = images[::max(1, len(images) // count)][:count]
    batch = np.stack([_prepared(item.path) for item in chosen]).astype(np.float32)
    return batch, np.array([item.label for item in chosen], dtype=np.int64)


def _prepared(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return preprocess(image)


def build_reference(data_dir: Path, params: dict, batch_size: int = 50) -> dict[str, float]:
    """The metrics relative thresholds refer to: top-1 ("accuracy") and top-5 of the pretrained
    EfficientNet-Lite0 on the evaluation images (no training: the weights are the ImageNet ones)."""
    import torch

    from reference.efficientnet_lite import load_pretrained

    images, labels = evaluation_data(data_dir, params)
    model = load_pretrained()
    with torch.no_grad():
        logits = torch.cat([model(torch.from_numpy(images[i:i + batch_size]))
                            for i in range(0, len(images), batch_size)]).numpy()
    return {"accuracy": topk_accuracy(logits, labels, 1), "top5_accuracy": topk_accuracy(logits, labels, 5)}


# ---- Probe cases and the tolerance of the preprocessing check ----------------------------------

# compare 8x8-pixel block means within 0.12 (see the README): a comparison, not a solution, so it lives in the
# grader and ships in the student wheel with the precomputed expected outputs (grader.public_cases); named here
# because assignment.toml names it so (compare = "reference.imagenet_cnn:compare_preprocessed")
from grader.checks.comparisons import compare_preprocessed  # noqa: E402, F401
# (width, height, mode): landscape, portrait, smaller than the resize (upsampled), very wide; then the part
# "greyscale", landscape and portrait. No image is near square: a squashed resize or a corner crop shows.
_CASE_SHAPES = ((400, 300, "RGB"), (240, 420, "RGB"), (180, 130, "RGB"), (600, 250, "RGB"),
                (380, 240, "L"), (240, 400, "L"))
_MODES = {"RGB": ("imagen RGB", "RGB image"), "L": ("imagen en escala de grises", "greyscale image")}


def preprocess_cases(rng: np.random.Generator) -> list[Case]:
    """Photo-like synthetic images (smooth shading, blurred shapes, grain) of varied shape; the
    greyscale ones form the part ``greyscale``, so a pipeline that cannot turn them into three
    channels loses that part exactly, and one that mishandles colour (BGR) loses the rest."""
    cases = []
    for width, height, mode in _CASE_SHAPES:
        es, en = _MODES[mode]
        image = synthetic_photo(rng, width, height).convert(mode)
        if mode == "L":     # grey flattens colours of equal brightness: stretched back, geometry errors still show
            image = ImageOps.autocontrast(image, cutoff=1)
        cases.append(Case(image, part="greyscale" if mode == "L" else None,
                          es=f"{es} de {width}×{height}", en=f"{en} {width}×{height}"))
    return cases


def synthetic_photo(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    from PIL import ImageDraw, ImageFilter

    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    corners = rng.uniform(0, 255, size=(3, 3)).astype(np.float32)
    shade = corners[0] + np.multiply.outer(x / width, corners[1] - corners[0]) \
        + np.multiply.outer(y / height, corners[2] - corners[0]) * 0.5
    image = Image.fromarray(np.clip(shade, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    # Many shapes of every size: detail at all scales, as in a photograph, so geometry errors show. As many
    # per 300 x 300 pixels in a large image as in a small one: the centre crop of a wide one is not bare.
    for _ in range(int(rng.integers(60, 90) * max(1.0, width * height / 90_000))):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        rx, ry = rng.uniform(0.02, 0.3, 2) ** 1.5 * (width, height) * 2
        fill = tuple(int(c) for c in rng.integers(0, 256, 3))
        shape = int(rng.integers(3))
        if shape == 0:
            draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=fill)
        elif shape == 1:
            draw.rectangle((cx - rx, cy - ry, cx + rx, cy + ry), fill=fill)
        else:
            draw.line((cx - rx, cy - ry, cx + rx, cy + ry), fill=fill, width=int(rng.integers(1, 6)))
    image = image.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.5, 1.2))))
    grain = rng.normal(0.0, 4.0, size=(height, width, 3))
    return Image.fromarray(np.clip(np.asarray(image, dtype=np.float64) + grain, 0, 255).astype(np.uint8), "RGB")


# (rows, classes, k): never k = classes (every row a hit) nor one row (an error shows only by chance); never
# rows = k (a forgotten targets[:, None] would broadcast); classes > 3k (the k smallest logits hold no target).
_TOPK_SHAPES = ((64, 1000, 5), (40, 1000, 2), (30, 10, 3), (6, 20, 2), (25, 50, 10), (8, 16, 4))


def topk_cases(rng: np.random.Generator) -> list[Case]:
    """(logits, targets, k): targets placed at ranks around k. In every case one row's target is at
    rank k - 1 (a hit) and one at rank k (a miss), so the accuracy lies strictly between 0 and 1 and
    k - 1, k + 1, a percentage, a count or an integer division each give another answer."""
    cases = []
    for rows, classes, k in _TOPK_SHAPES:
        # Distinct values in every row: with ties, which class is "in the top k" is a convention.
        logits = (np.argsort(rng.random((rows, classes)), axis=1) * (6.0 / classes) - 3.0).astype(np.float32)
        order = np.argsort(-logits, axis=1, kind="stable")
        ranks = rng.integers(0, min(classes, 2 * k + 1), size=rows)
        ranks[:2] = (k - 1, k)
        targets = order[np.arange(rows), ranks].astype(np.int64)
        cases.append(Case(logits, targets, k, es=f"k = {k} de {classes} clases, {rows} filas",
                          en=f"k = {k} of {classes} classes, {rows} rows"))
    return cases
