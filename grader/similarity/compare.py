"""Fingerprints (copydetect: pygments tokens, names/strings/comments/whitespace normalised away, k-gram
hashes, winnowing) and the score of every pair of documents, the template's fingerprints removed.

Scores only: it reads no notebook and writes nothing. A score is copydetect's: the share of one
document's fingerprinted code found in the other; a pair's score is the larger of its two shares.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from copydetect.detector import CodeFingerprint, compare_files
from copydetect.utils import get_token_coverage
from scipy import sparse

# k: the shortest run of normalised characters that counts (copydetect's noise threshold). In normalised
# code "V.V()" is one call, so 25 characters is four or five statements: idioms every solution shares
# (zero_grad, backward, step) are shorter. The window 1 keeps every k-gram (copydetect's default).
NOISE_CHARS = 25
WINDOW = 1
_LANGUAGE = "python"


@dataclass(frozen=True)
class Document:
    key: str                # participant N; "<label>:<N>" for an earlier year's submission
    name: str               # the student's name as Moodle gave it
    code: str               # the student's code (see extract.py)
    reference: bool = False  # an earlier year's: compared with this year's documents only


@dataclass(frozen=True)
class Match:
    a: Document
    b: Document
    score: float                         # max of the two shares, 0..1
    shares: tuple[float, float]          # share of a found in b, of b found in a
    spans: tuple[np.ndarray, np.ndarray]  # copied [start, end) character spans in a.code and in b.code
    shared_lines: int                    # lines holding shared code, the fewer of the two sides


def boilerplate_hashes(code: str, k: int = NOISE_CHARS) -> set[int]:
    """Every k-gram hash of the template's code (window 1, as copydetect treats boilerplate)."""
    if not code.strip():
        return set()
    return set(_fingerprint(code, k, 1).hashes)


def fingerprint(code: str, boilerplate: set[int], k: int = NOISE_CHARS, window: int = WINDOW) -> CodeFingerprint:
    """copydetect's fingerprint of ``code`` with every template hash (all its occurrences) removed."""
    fp = _fingerprint(code, k, window)
    # Not copydetect's own boilerplate argument: it matches with np.intersect1d(assume_unique=True) on
    # hashes that repeat, which drops one occurrence of repeated non-template k-grams and keeps
    # all but one of repeated template ones.
    if boilerplate:
        fp.hashes = fp.hashes - boilerplate
        fp.hash_idx = {h: idx for h, idx in fp.hash_idx.items() if h not in boilerplate}
        fp.token_coverage = get_token_coverage(fp.hash_idx, k, len(fp.filtered_code))
    return fp


def _fingerprint(code: str, k: int, window: int) -> CodeFingerprint:
    return CodeFingerprint("student.py", k, window, fp=io.StringIO(code), language=_LANGUAGE)


def find_matches(docs: list[Document], prints: list[CodeFingerprint], threshold: float) -> list[Match]:
    """Every pair scoring at least ``threshold`` (never two references), best first."""
    candidates = screen(prints, [d.reference for d in docs], threshold)
    matches = [match(docs[i], docs[j], prints[i], prints[j]) for i, j in candidates]
    return sorted((m for m in matches if m.score >= threshold), key=lambda m: (-m.score, m.a.key, m.b.key))


def match(a: Document, b: Document, fa: CodeFingerprint, fb: CodeFingerprint) -> Match:
    """copydetect's comparison of one pair, with the copied spans located in each document's code."""
    _, (share_a, share_b), (spans_a, spans_b) = compare_files(fa, fb)
    shares = (float(share_a), float(share_b))
    if len(spans_a) == 0:
        empty = np.zeros((2, 0), dtype=np.int64)
        return Match(a, b, 0.0, (0.0, 0.0), (empty, empty), 0)
    lines = min(len(_lines_of(a.code, spans_a)), len(_lines_of(b.code, spans_b)))
    return Match(a, b, max(shares), shares, (spans_a, spans_b), lines)


def _lines_of(code: str, spans: np.ndarray) -> set[int]:
    """Indices of the non-blank lines a span touches."""
    starts = np.cumsum([0] + [len(line) + 1 for line in code.split("\n")])
    touched = set()
    for start, end in zip(spans[0], spans[1]):
        first = int(np.searchsorted(starts, start, side="right")) - 1
        last = int(np.searchsorted(starts, max(start, end - 1), side="right")) - 1
        touched.update(range(first, last + 1))
    lines = code.split("\n")
    return {i for i in touched if i < len(lines) and lines[i].strip()}


def screen(prints: list[CodeFingerprint], reference: list[bool], threshold: float) -> list[tuple[int, int]]:
    """The pairs (i < j) whose score can reach ``threshold``; never a pair that copydetect would flag.

    All pairs of 500 documents are 125,000 calls of compare_files, most of them between strangers: here
    each document's shares against all others are counted at once, with the same rule compare_files uses
    (a character is copied when a shared k-gram covers it), and only the pairs that reach the threshold
    go on to compare_files.
    """
    n = len(prints)
    if n < 2:
        return []
    columns: dict[int, int] = {}
    rows, cols = [], []
    for i, fp in enumerate(prints):
        for h in fp.hashes:
            rows.append(i)
            cols.append(columns.setdefault(h, len(columns)))
    present = sparse.csc_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, len(columns)))
    pairs = set()
    for i, fp in enumerate(prints):
        reach = _shares_against_all(fp, columns, present) >= threshold
        for j in np.flatnonzero(reach):
            if j != i and not (reference[i] and reference[j]):
                pairs.add((min(i, j), max(i, j)))
    return sorted(pairs)


def _shares_against_all(fp: CodeFingerprint, columns: dict[int, int], present: sparse.csc_matrix) -> np.ndarray:
    """Share of ``fp``'s covered characters that every document's hashes also cover (one value per doc)."""
    n = present.shape[0]
    if fp.token_coverage == 0:
        return np.zeros(n)
    positions, hashes = [], []
    for h, idx in fp.hash_idx.items():
        positions.extend(idx)
        hashes.extend([columns[h]] * len(idx))
    positions = np.asarray(positions, dtype=np.int64)
    shared = present[:, np.asarray(hashes)].toarray().astype(bool)     # doc x position: hash also there
    rows = np.flatnonzero(shared.any(axis=1))    # most strangers share nothing: no need to count for them
    # The characters a shared k-gram covers: char c is covered when a shared k-gram starts in (c - k, c].
    starts = np.zeros((len(rows), len(fp.filtered_code)), dtype=np.int32)
    starts[:, positions] = shared[rows]          # positions are distinct: one k-gram starts at each
    begun = np.cumsum(starts, axis=1, dtype=np.int32)
    k = fp.k
    covered = np.zeros(n)
    covered[rows] = (np.count_nonzero(begun[:, :k] > 0, axis=1)
                     + np.count_nonzero(begun[:, k:] - begun[:, :-k] > 0, axis=1))
    return covered / fp.token_coverage
