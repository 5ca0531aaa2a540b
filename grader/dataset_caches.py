"""Datasets the course provides offline, where students' usual download calls look before downloading.

The grading machine has no network: ``keras.datasets.mnist.load_data()`` and
``torchvision.datasets.MNIST(root, download=True)`` only work there if their files already sit in the
caches those libraries read. A practical names the caches it provides (assignment.toml,
``[assignment] dataset_caches``); each name is one writer in this registry that makes its files from the
**student data folder** (what ``student_data`` wrote: training data only), never from the course data
folder, so evaluation images and labels cannot reach a cache. Nothing here downloads, and nothing here
imports torchvision or keras: the files are written in the layout their sources read (quoted below).

A writer puts its files under one of the run's ``ROOTS`` (a folder per root); the runner's child copies
each root where the kernel will look (child.py) before the notebook starts.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from grader.errors import ConfigError

# Where a root's files end up inside the run (the child copies them there):
#   keras_home: the kernel's Keras home ($KERAS_HOME, which both runners set to a writable per-run folder)
#   cwd:        the kernel's working directory (the notebook's folder), where relative paths resolve
ROOTS = ("keras_home", "cwd")
# MNIST's own proportion (60,000 training and 10,000 test images): the share of the student's training
# images a cache offers as its "test" split, taken from the end, so that a student's own test split never
# overlaps their training split (and never holds an evaluation image: those are not in the student folder).
TEST_SHARE = (1, 7)
# Where students' usual torchvision roots resolve, relative to the notebook's folder: root="data",
# "./data" and "data/" give data/MNIST/raw; root="." and "./" give MNIST/raw.
TORCHVISION_ROOTS = ("data", ".")
MNIST_IMAGES, MNIST_LABELS = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"


@dataclass(frozen=True)
class DatasetCache:
    name: str                          # as assignment.toml names it
    root: str                          # one of ROOTS
    reads: tuple[str, ...]             # the student files it is made from (``.gz`` or not)
    write: Callable[[Path, Path], None]   # (student data folder, this root's folder) -> its files there


_REGISTRY: dict[str, DatasetCache] = {}


def register(cache: DatasetCache) -> DatasetCache:
    if cache.root not in ROOTS:
        raise ValueError(f"dataset cache {cache.name}: unknown root {cache.root!r}")
    _REGISTRY[cache.name] = cache
    return cache


def names() -> tuple[str, ...]:
    return tuple(sorted(_REGISTRY))


def get(name: str) -> DatasetCache:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown dataset cache {name!r}; known: {', '.join(names())}") from None


def provide(cache_names: tuple[str, ...], student_data: Path, dest: Path) -> list[str]:
    """Write the named caches under ``dest/<root>/`` from ``student_data``; the names written.

    A cache whose student files are missing is left out (the notebook that needs it then meets the
    no-network reason, which names the download it tried): a run never fails for a cache alone."""
    shutil.rmtree(dest, ignore_errors=True)
    written = []
    for name in cache_names:
        cache = get(name)
        if not all(_student_file(Path(student_data), wanted) for wanted in cache.reads):
            continue
        folder = Path(dest) / cache.root
        folder.mkdir(parents=True, exist_ok=True)
        cache.write(Path(student_data), folder)
        written.append(name)
    return written


def _student_file(folder: Path, name: str) -> Path | None:
    for candidate in (folder / f"{name}.gz", folder / name):
        if candidate.is_file():
            return candidate
    return None


# --- MNIST ---------------------------------------------------------------------------------------

def mnist_splits(student_data: Path):
    """(x_train, y_train, x_test, y_test), uint8, from the student's training files: the last
    ``TEST_SHARE`` of them is the test split, the rest the training split (disjoint)."""
    # start-up: numpy only when a cache is written or read
    import numpy as np

    # start-up: numpy only when a cache is written or read
    from grader.idx import read_idx

    images = read_idx(_student_file(student_data, MNIST_IMAGES))
    labels = read_idx(_student_file(student_data, MNIST_LABELS))
    if images.ndim != 3 or labels.shape != images.shape[:1]:
        raise ValueError(f"{student_data}: MNIST images {images.shape} and labels {labels.shape} do not match")
    share, whole = TEST_SHARE
    cut = len(images) - max(1, round(len(images) * share / whole))
    images, labels = images.astype(np.uint8), labels.astype(np.uint8)
    return images[:cut], labels[:cut], images[cut:], labels[cut:]


def write_keras_mnist(student_data: Path, keras_home: Path) -> None:
    """``<keras home>/datasets/mnist.npz`` with the keys keras.datasets.mnist.load_data() reads.

    keras/src/datasets/mnist.py: ``path = get_file(fname=path, origin=f"{origin_folder}mnist.npz", ...)``
    then ``x_train, y_train = f["x_train"], f["y_train"]`` and ``x_test, y_test = f["x_test"], f["y_test"]``;
    keras/src/utils/file_utils.py: ``cache_dir = config.keras_home()`` (``$KERAS_HOME``, else ~/.keras),
    ``datadir = os.path.join(datadir_base, cache_subdir)`` with cache_subdir "datasets" (and a fallback to
    /tmp/.keras when the home is not writable: the runners make it writable). get_file also compares the
    file's sha256 with the real MNIST's and downloads again on a mismatch: the kernel's start-up hook
    (execution/standins/_grader_dataset_caches.py) accepts exactly these copies."""
    # start-up: numpy only when a cache is written or read
    import numpy as np

    x_train, y_train, x_test, y_test = mnist_splits(student_data)
    folder = keras_home / "datasets"
    folder.mkdir(parents=True, exist_ok=True)
    # uncompressed, as np.load reads either: writing it stays a copy's cost at every run
    np.savez(folder / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


def write_torchvision_mnist(student_data: Path, cwd: Path) -> None:
    """``<root>/MNIST/raw/`` for each of TORCHVISION_ROOTS: the four uncompressed IDX files.

    torchvision/datasets/mnist.py: ``raw_folder = os.path.join(self.root, self.__class__.__name__, "raw")``;
    ``_check_exists`` is ``check_integrity(os.path.join(self.raw_folder,
    os.path.splitext(os.path.basename(url))[0]))`` for each of the four ``resources`` (train-images-idx3-ubyte,
    train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte), and ``download()`` returns at
    once ``if self._check_exists()``; torchvision/datasets/utils.py: ``check_integrity(fpath, md5=None)`` is
    ``os.path.isfile(fpath)`` when no md5 is given. ``_load_data`` reads
    ``f"{'train' if self.train else 't10k'}-images-idx3-ubyte"`` with ``open(path, "rb")`` (no gzip) and
    checks the type byte (uint8) and the number of dimensions (3 for images, 1 for labels)."""
    # start-up: numpy only when a cache is written or read
    from grader.idx import write_idx

    x_train, y_train, x_test, y_test = mnist_splits(student_data)
    for root in TORCHVISION_ROOTS:
        raw = cwd / root / "MNIST" / "raw"
        for prefix, images, labels in (("train", x_train, y_train), ("t10k", x_test, y_test)):
            write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
            write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)


register(DatasetCache("keras.mnist", "keras_home", (MNIST_IMAGES, MNIST_LABELS), write_keras_mnist))
register(DatasetCache("torchvision.MNIST", "cwd", (MNIST_IMAGES, MNIST_LABELS), write_torchvision_mnist))

__all__ = ["DatasetCache", "ROOTS", "TEST_SHARE", "TORCHVISION_ROOTS", "get", "mnist_splits", "names", "provide",
           "register"]
