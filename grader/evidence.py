"""What the grader's own run says about the notebook as handed in: evidence no hand-edit can supply.

An execution count is one integer in the JSON; a student can type it. Outputs are harder to fake
by accident, so a cell that prints or plots in the grader's run must show some output in the
hand-in. The outputs need not be equal (numbers, timings and devices legitimately differ); only
their presence is compared. Nothing here runs code.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.execution.prepare import source_index
from grader.notebooks import read_notebook

_VISIBLE = ("stream", "display_data", "execute_result")


@dataclass(frozen=True)
class OutputEvidence:
    """Student cells that printed or plotted in the grader's run, and which of them show output as handed in."""

    printing: tuple[int, ...]     # indices (in the hand-in) of cells with visible output in the run
    missing: tuple[int, ...]      # of those, the ones whose hand-in copy shows no output at all

    @property
    def shown(self) -> int:
        return len(self.printing) - len(self.missing)


def output_evidence(handed_in: Path, executed: Path) -> OutputEvidence | None:
    """Compare the two notebooks cell by cell; None when either cannot be read (no evidence either way)."""
    student, _ = read_notebook(handed_in)
    run, _ = read_notebook(executed)
    if student is None or run is None:
        return None
    printing = []
    for cell in run.cells:
        index = source_index(cell)   # None: a cell the grader added (parameters, probe)
        if index is not None and 0 <= index < len(student.cells) and prints(cell):
            printing.append(index)
    missing = [i for i in printing if not _any_output(student.cells[i])]
    return OutputEvidence(tuple(printing), tuple(missing))


def prints(cell: dict[str, Any]) -> bool:
    """Visible output the student's own environment would show too: stdout, results, plots. Stderr is
    left out (library warnings and progress bars depend on versions), and so are errors (the grading
    parameters may make a cell fail that ran well at home)."""
    for output in cell.get("outputs", []):
        kind = output.get("output_type")
        if kind not in _VISIBLE or (kind == "stream" and output.get("name") == "stderr"):
            continue
        if kind == "stream" and not _text(output.get("text")).strip():
            continue
        return True
    return False


def _any_output(cell: dict[str, Any]) -> bool:
    return cell.get("cell_type") == "code" and bool(cell.get("outputs"))


def literal_assignments(notebook: Path, name: str) -> list[int]:
    """Indices of code cells that write numbers typed into the code into ``name`` (``name = {"loss": [2.3,
    1.1]}``, ``name["loss"] = [...]``, ``name["loss"].append(0.5)``, a Keras History's ``name.history = {...}``):
    values no training computed."""
    nb, _ = read_notebook(notebook) if notebook is not None and Path(notebook).is_file() else (None, [])
    if nb is None:
        return []
    return [index for index, cell in enumerate(nb.cells)
            if cell.get("cell_type") == "code" and _writes_literals(_text(cell.get("source")), name)]


def _writes_literals(source: str, name: str) -> bool:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):   # magics and shell lines: nothing to say about this cell
        return False
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(_is_name(t, name) for t in targets) and _numbers_only(node.value):
                return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("append", "extend", "update") and _is_name(node.func.value, name) \
                and node.args and all(_numbers_only(a) for a in node.args):
            return True
    return False


def _is_name(node: ast.AST, name: str) -> bool:
    """``name`` itself, a subscript or an attribute of it (``name["loss"]``, and ``name.history["loss"]``: a
    Keras ``History`` keeps its numbers in ``.history``, where typed-in ones are as much no evidence)."""
    while isinstance(node, (ast.Subscript, ast.Attribute)):
        node = node.value
    return isinstance(node, ast.Name) and node.id == name


def _numbers_only(node: ast.AST) -> bool:
    """A display built of number literals (at least one), e.g. [2.3, 1.1] or {"loss": [2.3]}; a display
    holding any name or call is computed, and empty lists are where training appends its values."""
    numbers = 0
    for part in ast.walk(node):
        if isinstance(part, ast.Constant) and isinstance(part.value, (int, float)) \
                and not isinstance(part.value, bool):
            numbers += 1
        elif not isinstance(part, (ast.Constant, ast.List, ast.Tuple, ast.Dict, ast.UnaryOp, ast.USub,
                                   ast.UAdd, ast.Load, ast.expr_context)):
            return False
    return numbers > 0


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "".join(v for v in value if isinstance(v, str))
    return value if isinstance(value, str) else ""
