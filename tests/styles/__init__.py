"""Students written the way students write, per practical, each with the score the point table gives her.

Data only: each style is a whole notebook of its own (cells) and what the point table
(assignments/<practical>/assignment.toml) takes from it, decided from the table before any run, one
line of reasoning per lost point. tests/test_styles_<practical>.py grades them through the real pipeline
and holds each grade to its intention; tests/test_styles_table.py checks the data itself, without a kernel.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

PARAMETERS = "parameters"   # the tag papermill and the grader look for


@dataclass(frozen=True)
class Style:
    """One student. ``cells``: ("md" | "code" | "parameters", source) in notebook order. ``lost``: check id ->
    (points the table takes, why). ``counts``: execution counts as handed in, when not 1, 2, 3..."""

    name: str
    summary: str
    cells: tuple[tuple[str, str], ...]
    lost: dict[str, tuple[str, str]] = field(default_factory=dict)
    colab: bool = False
    counts: tuple[int, ...] | None = None

    def intended(self, max_points: Decimal) -> Decimal:
        return max_points - sum((Decimal(points) for points, _ in self.lost.values()), Decimal("0"))

    def notebook(self, practical: str) -> nbformat.NotebookNode:
        """The notebook as the student saved it (not yet run: see conftest.as_handed_in_executed)."""
        cells = []
        for kind, source in self.cells:
            if kind == "md":
                cells.append(new_markdown_cell(source))
            else:
                cell = new_code_cell(source)
                if kind == PARAMETERS:
                    cell.metadata["tags"] = [PARAMETERS]
                cells.append(cell)
        nb = new_notebook(cells=cells)
        nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
        nb.metadata["language_info"] = {"name": "python"}
        if self.colab:   # started in Colab: Colab's metadata, none of the template's
            nb.metadata["colab"] = {"provenance": [], "gpuType": "T4"}
            nb.metadata["accelerator"] = "GPU"
        else:            # kept from the template the student started from
            nb.metadata["grader"] = {"practical": practical}
        return nb


def handed_in(style: Style, practical: str) -> nbformat.NotebookNode:
    """What the student uploads: run top to bottom ("Restart & Run All"), or with her own counts."""
    from conftest import as_handed_in_executed

    nb = as_handed_in_executed(style.notebook(practical))
    if style.counts is not None:
        code = [cell for cell in nb.cells if cell.cell_type == "code"]
        assert len(code) == len(style.counts), f"{style.name}: {len(style.counts)} counts for {len(code)} cells"
        for cell, count in zip(code, style.counts):
            cell.execution_count = count
    return nb
