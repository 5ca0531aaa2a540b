"""Which cells of a hand-in stand for each code cell of the template it was started from.

Students split, merge, move, add and delete cells, and may lose the cells' ids (Colab), so a template
cell is matched to at most one hand-in cell, in order, by the id Jupyter keeps or else by how much of
the template cell's text survives there; the unmatched hand-in cells around a match belong to it. This
module only aligns sources: it never reads outputs and never scores (grader.template_outputs does).
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

# A hand-in cell stands for a template cell when at least this share of the template cell's words
# (rare words weigh more) is found in it; below it, only the id Jupyter keeps can match them.
MIN_SHARE = 0.3
# Beyond this many code cells a hand-in is cut for the alignment: honest notebooks have a few dozen, and
# the matching grows with template cells x hand-in cells.
MAX_CELLS = 2000
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class CodeCell:
    """One non-empty code cell: its position in its notebook's cell list, its id (None: none or not
    unique), and its source."""

    index: int
    cell_id: str | None
    source: str


@dataclass(frozen=True)
class Alignment:
    """``matched[i]``: the hand-in position matched to template cell i (None: none); ``spans[i]``: the
    hand-in positions that stand for template cell i (positions in the hand-in's code-cell list)."""

    matched: tuple[int | None, ...]
    spans: tuple[tuple[int, ...], ...]
    score: float                  # the sum of the matches' scores: how closely the hand-in follows the template


def code_cells(cells: list) -> list[CodeCell]:
    """The non-empty code cells of a notebook's cell list (nbformat nodes or plain dicts); an id shared by
    two cells is dropped, as it no longer tells them apart."""
    found = []
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(s for s in source if isinstance(s, str)) if isinstance(source, list) else source
        if isinstance(source, str) and source.strip():
            cell_id = cell.get("id")
            found.append(CodeCell(index, cell_id if isinstance(cell_id, str) and cell_id else None, source))
    ids = Counter(c.cell_id for c in found if c.cell_id is not None)
    return [c if c.cell_id is None or ids[c.cell_id] == 1 else CodeCell(c.index, None, c.source) for c in found]


def align(template: list[CodeCell], handed_in: list[CodeCell]) -> Alignment:
    """The in-order matching of template cells to hand-in cells with the largest total score (each pair
    scored by ``_score``), and the span of hand-in cells each template cell owns."""
    handed_in = handed_in[:MAX_CELLS]
    weights = _weights(template)
    template_words = [_words(cell.source) for cell in template]
    handed_words = [_words(cell.source) for cell in handed_in]
    scores = [[_score(t, h, tw, hw, weights) for h, hw in zip(handed_in, handed_words)]
              for t, tw in zip(template, template_words)]
    matched = _best_matching(scores, len(template), len(handed_in))
    total = sum(scores[i][j] for i, j in enumerate(matched) if j is not None)
    return Alignment(tuple(matched), tuple(_spans(matched, len(handed_in))), total)


def _words(source: str) -> set[str]:
    return set(_WORD.findall(source))


def _weights(template: list[CodeCell]) -> dict[str, float]:
    """Words found in few template cells tell the cells apart (``softmax``); words in most of them
    (``YOUR``, ``raise``, ``print``) hardly do."""
    counts = Counter(word for cell in template for word in _words(cell.source))
    return {word: math.log(1 + len(template) / n) for word, n in counts.items()}


def _score(template: CodeCell, handed: CodeCell, template_words: set[str], handed_words: set[str],
           weights: dict[str, float]) -> float:
    """0 when the two cannot stand for each other; else the kept share of the template cell's words, plus
    1 when both carry the same id (Jupyter keeps it however the code changes)."""
    whole = sum(weights[w] for w in template_words)
    share = sum(weights[w] for w in template_words & handed_words) / whole if whole else 0.0
    same_id = template.cell_id is not None and template.cell_id == handed.cell_id
    if same_id:
        return 1.0 + share
    return share if share >= MIN_SHARE else 0.0


def _best_matching(scores: list[list[float]], rows: int, cols: int) -> list[int | None]:
    """Weighted longest common subsequence: order kept, each cell matched at most once."""
    best = [[0.0] * (cols + 1) for _ in range(rows + 1)]
    for i in range(rows - 1, -1, -1):
        for j in range(cols - 1, -1, -1):
            take = scores[i][j] + best[i + 1][j + 1] if scores[i][j] > 0 else 0.0
            best[i][j] = max(take, best[i + 1][j], best[i][j + 1])
    matched: list[int | None] = [None] * rows
    i = j = 0
    while i < rows and j < cols:
        if scores[i][j] > 0 and best[i][j] == scores[i][j] + best[i + 1][j + 1]:
            matched[i] = j
            i, j = i + 1, j + 1
        elif best[i][j] == best[i + 1][j]:
            i += 1
        else:
            j += 1
    return matched


def _spans(matched: list[int | None], cols: int) -> list[tuple[int, ...]]:
    """A matched template cell owns every hand-in cell between the matches of its neighbours (a cell split
    in two, a print moved into a cell of its own); an unmatched one (merged into a neighbour, or
    rewritten) owns those neighbours' matches too."""
    spans = []
    for i, j in enumerate(matched):
        before = next((m for m in reversed(matched[:i]) if m is not None), -1)
        after = next((m for m in matched[i + 1:] if m is not None), cols)
        if j is not None:
            spans.append(tuple(range(before + 1, after)))
        else:
            spans.append(tuple(range(max(before, 0), min(after, cols - 1) + 1)))
    return spans
