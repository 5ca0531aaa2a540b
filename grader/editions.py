"""Which edition of a practical a notebook follows: PyTorch (the contract's own) or Keras.

Static, from the notebook's code: a notebook whose top-level code imports Keras (``import keras``,
``from keras import ...``, ``from tensorflow import keras``) follows the Keras edition when the
assignment has one (``[keras] edition``). The probe decides again, inside the kernel, from the objects
themselves; this only tells the student and the instructor which edition the feedback assumed.
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from grader.i18n import msg
from grader.notebooks import read_notebook
from grader.records import Reason
from grader.specs import Assignment


def imports_keras(cells: list[Any]) -> bool:
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        try:
            tree = ast.parse(_python_only(cell.get("source", "")))
        except (SyntaxError, ValueError, RecursionError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import) and any(_keras_module(a.name.split(".")) for a in node.names):
                return True
            if isinstance(node, ast.ImportFrom) and node.module:
                parts = node.module.split(".")
                if _keras_module(parts) or (parts == ["tensorflow"] and any(a.name == "keras" for a in node.names)):
                    return True
    return False


def edition_notes(notebook: Path, assignment: Assignment) -> list[Reason]:
    """One note naming the edition, for an assignment that has a Keras edition; none otherwise."""
    if not assignment.keras_edition:
        return []
    nb, _ = read_notebook(notebook)
    if nb is None:
        return []
    if not imports_keras(list(nb.cells)):
        return [msg("edition_pytorch")]
    if not assignment.keras_layouts:    # the model takes the contract's inputs as they are (token ids, say)
        return [msg("edition_keras_as_given", template=assignment.keras_edition)]
    layouts = ", ".join(f"`{name}` {layout}" for name, layout in sorted(assignment.keras_layouts.items()))
    return [msg("edition_keras", template=assignment.keras_edition, layouts=layouts)]


def edition_template(notebook: Path | None, assignment: Assignment) -> Path | None:
    """The template a notebook started from: the Keras edition's when it imports Keras (and the practical
    has one), else template.ipynb; None when that file is absent."""
    name = "template.ipynb"
    if assignment.keras_edition and notebook is not None:
        nb, _ = read_notebook(notebook)
        name = assignment.keras_edition if nb is not None and imports_keras(list(nb.cells)) else name
    path = Path(assignment.directory) / name
    return path if path.is_file() else None


def _keras_module(parts: list[str]) -> bool:
    return parts[0] == "keras" or (parts[0] == "tensorflow" and "keras" in parts)


def _python_only(source: str) -> str:
    """IPython's magics and shell lines (``%matplotlib``, ``!pip``) blanked, so the rest parses."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
