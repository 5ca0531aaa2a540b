"""The char-RNN practical's reference side: the corpus split, the vocabulary, held-out windows and a
reference character LSTM trained under the students' budget.

The grader decides what students train on (the first 90 % of the corpus, written as ``train.txt``)
and what they are scored on (the last 10 %, which never leaves the grader). Plain numpy here: the grader's
process calls these during a batch and never imports torch; the reference LSTM (torch) is in rnn_text_model.py,
reached by name.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

CORPORA = {"shakespeare": "tinyshakespeare.txt", "quijote": "quijote.txt"}
STUDENT_FILE = "train.txt"          # what the student's notebook finds in its data_dir
DEFAULT_EVAL_FRACTION = 0.1
DEFAULT_EVAL_WINDOWS = 128
DEFAULT_EVAL_SEQ_LEN = 128
EMBEDDING_SIZE = 64
_GUTENBERG_START = "*** START OF THE PROJECT GUTENBERG EBOOK"
_GUTENBERG_END = "*** END OF THE PROJECT GUTENBERG EBOOK"


@dataclass(frozen=True)
class Split:
    train: str          # what the student receives
    held_out: str       # what the grader scores on
    vocabulary: str     # the training text's distinct characters, sorted: character i has id i


def corpus_path(data_dir: Path, params: dict) -> Path:
    corpus = str(params.get("corpus", "shakespeare"))
    if corpus not in CORPORA:
        raise ValueError(f"unknown corpus {corpus!r} (known: {', '.join(CORPORA)})")
    return Path(data_dir) / "text" / CORPORA[corpus]


def load_text(data_dir: Path, params: dict) -> str:
    """The corpus body: LF line endings, a Project Gutenberg header and licence cut off."""
    path = corpus_path(data_dir, params)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the corpus is not there")
    return strip_gutenberg(path.read_text(encoding="utf-8").replace("\r\n", "\n"))


def strip_gutenberg(text: str) -> str:
    start, end = text.find(_GUTENBERG_START), text.find(_GUTENBERG_END)
    if start == -1 or end == -1 or end < start:
        return text
    return text[text.index("\n", start) + 1:end].strip("\n") + "\n"


def split_text(text: str, eval_fraction: float = DEFAULT_EVAL_FRACTION) -> Split:
    if not 0.0 < eval_fraction < 1.0:
        raise ValueError(f"eval_fraction must lie strictly between 0 and 1, got {eval_fraction}")
    cut = len(text) - int(round(len(text) * eval_fraction))
    train = text[:cut]
    return Split(train=train, held_out=text[cut:], vocabulary="".join(sorted(set(train))))


def load_split(data_dir: Path, params: dict) -> Split:
    corpus_path(data_dir, params)   # an unknown corpus fails here, before the cache
    return _cached_split(str(data_dir), str(params.get("corpus", "shakespeare")),
                         float(params.get("eval_fraction", DEFAULT_EVAL_FRACTION)))


@lru_cache(maxsize=4)
def _cached_split(data_dir: str, corpus: str, fraction: float) -> Split:
    # Several checks of one run ask for the same split; reading 2 MB each time would add up.
    return split_text(load_text(Path(data_dir), {"corpus": corpus}), fraction)


def student_data(data_dir: Path, dest: Path, params: dict) -> None:
    """Write the training part, and only it, where the student's notebook will read it."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    (dest / STUDENT_FILE).write_text(load_split(data_dir, params).train, encoding="utf-8", newline="\n")


def vocabulary(data_dir: Path, params: dict) -> str:
    """The contract's vocabulary: ``sorted(set(train_text))``, character ``vocabulary[i]`` has id i."""
    return load_split(data_dir, params).vocabulary


def held_out_text(data_dir: Path, params: dict) -> str:
    """The held-out text restricted to characters of the vocabulary (a student's encode knows only those)."""
    split = load_split(data_dir, params)
    known = set(split.vocabulary)
    return "".join(c for c in split.held_out if c in known)


def encode(text: str, vocab: str) -> np.ndarray:
    """Ids of ``text`` in ``vocab`` (int64); KeyError names a character outside it."""
    index = {c: i for i, c in enumerate(vocab)}
    return np.fromiter((index[c] for c in text), dtype=np.int64, count=len(text))


def evaluation_data(data_dir: Path, params: dict) -> tuple[np.ndarray, np.ndarray]:
    """Held-out windows as model input ids [N, T] and the next characters' ids [N, T] (the targets).

    Consecutive, non-overlapping windows spread over the whole held-out text; every window starts
    with a fresh state, for the student's model and the reference alike.
    """
    split = load_split(data_dir, params)
    ids = encode(held_out_text(data_dir, params), split.vocabulary)
    seq_len = int(params.get("eval_seq_len", DEFAULT_EVAL_SEQ_LEN))
    available = (len(ids) - 1) // seq_len
    count = min(int(params.get("eval_windows", DEFAULT_EVAL_WINDOWS)), available)
    if count <= 0:
        raise ValueError(f"the held-out text ({len(ids)} characters) is shorter than one window of {seq_len}")
    starts = np.linspace(0, (available - 1) * seq_len, count).astype(np.int64)
    starts -= starts % seq_len   # on the window grid: no two windows overlap
    starts = np.unique(starts)
    inputs = np.stack([ids[s:s + seq_len] for s in starts])
    targets = np.stack([ids[s + 1:s + seq_len + 1] for s in starts])
    return inputs, targets


def build_reference(data_dir: Path, params: dict) -> dict[str, float]:
    """The reference's metrics under the grading budget, for thresholds written "reference + x"."""
    import torch

    from reference.rnn_text_model import held_out_cross_entropy, train_reference

    split = load_split(data_dir, params)
    device = str(params.get("device", "cpu"))
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    model = train_reference(split, params, device)
    inputs, targets = evaluation_data(data_dir, params)
    return {"cross_entropy_per_char": held_out_cross_entropy(model, inputs, targets, device),
            "uniform_cross_entropy": math.log(len(split.vocabulary))}


# The files whose bytes key the cached reference metrics (grader.references hashes them).
build_reference.data_files = [f"text/{name}" for name in CORPORA.values()]


_MODEL_NAMES = ("CharLSTM", "random_batch", "train_reference", "held_out_cross_entropy")


def __getattr__(name: str):
    """The reference LSTM's names, imported (with torch) only when asked for."""
    if name in _MODEL_NAMES:
        from reference import rnn_text_model

        return getattr(rnn_text_model, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
