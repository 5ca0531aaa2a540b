"""Which edition of a practical a notebook follows: PyTorch (the contract's own) or Keras.

Static, from the notebook's code: a notebook whose top-level code imports Keras (``import keras``,
``from keras import ...``, ``from tensorflow import keras``) follows the Keras edition when the
assignment has one (``[keras] edition``). The probe decides again, inside the kernel, from the objects
themselves; this only tells the student and the instructor which edition the feedback assumed.
"""
from __future__ import annotations

import ast
import types
from pathlib import Path
from typing import Any

from grader.i18n import msg
from grader.notebooks import read_notebook
from grader.records import Reason
from grader.loaded_assignment import Assignment


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


def notebook_edition(notebook: Path) -> str | None:
    """"keras" or "pytorch" for a readable notebook (from its imports), None for an unreadable one."""
    nb, _ = read_notebook(notebook)
    if nb is None:
        return None
    return "keras" if imports_keras(list(nb.cells)) else "pytorch"


def namespace_edition(namespace: dict[str, Any]) -> str | None:
    """The edition a live kernel's objects follow (``grader.selfcheck()``): Keras when an object of Keras
    is there (a keras.Model on the torch backend is a torch Module too: Keras wins), else PyTorch for a
    torch object; failing objects, the modules imported; None when nothing tells."""
    objects, modules = set(), set()
    for name, value in namespace.items():
        if name.startswith("_"):
            continue
        if isinstance(value, types.ModuleType):
            modules.add(_framework([value.__name__]))
        else:
            objects.add(_framework([getattr(cls, "__module__", "") or "" for cls in type(value).__mro__]))
    for found in (objects, modules):
        for edition in ("keras", "pytorch"):
            if edition in found:
                return edition
    return None


def _framework(module_names: list[str]) -> str | None:
    if any(_keras_module(name.split(".")) or name.split(".")[0] == "tf_keras" for name in module_names):
        return "keras"
    if any(name.split(".")[0] == "torch" for name in module_names):
        return "pytorch"
    return None


def edition_notes(notebook: Path, assignment: Assignment) -> list[Reason]:
    """One note naming the edition, for an assignment that has a Keras edition; none otherwise."""
    if not assignment.keras_edition:
        return []
    edition = notebook_edition(notebook)
    if edition is None:
        return []
    if edition == "pytorch":
        return [msg("edition_pytorch")]
    if assignment.keras_layouts:
        notes = [msg("edition_keras", template=assignment.keras_edition,
                     layouts=layouts_shown(assignment.keras_layouts))]
    else:    # the model takes the contract's inputs as they are (token ids, say)
        notes = [msg("edition_keras_as_given", template=assignment.keras_edition)]
    channels_last = {name: layout for name, layout in assignment.keras_output_layouts.items() if layout.endswith("C")}
    if channels_last:   # answers turned around before comparing: say so, or a shape message would puzzle
        notes.append(msg("edition_keras_outputs", layouts=layouts_shown(channels_last)))
    return notes


def layouts_shown(layouts: dict[str, str]) -> str:
    """"`model` NHWC, `preprocess` HWC": the Keras layouts of a practical's objects, for a student."""
    return ", ".join(f"`{name}` {layout}" for name, layout in sorted(layouts.items()))


_EDITION_NOTES = {"edition_pytorch": "pytorch", "edition_keras": "keras", "edition_keras_as_given": "keras"}


def edition_of(notes: tuple[Reason, ...] | list[Reason]) -> str | None:
    """The edition an evaluation's notes say its notebook follows (None: the practical has one edition)."""
    return next((_EDITION_NOTES[n.code] for n in notes if n.code in _EDITION_NOTES), None)


def not_offered(notes: tuple[Reason, ...] | list[Reason], offered: tuple[str, ...] | None) -> Reason | None:
    """A note when the notebook follows an edition the course does not offer: graded the same (the checks
    and points are the same in every edition), but the student and the instructor should know."""
    edition = edition_of(notes)
    if offered is None or edition is None or edition in offered:
        return None
    return msg("edition_not_offered", edition=_SHOWN[edition], offered=", ".join(_SHOWN[e] for e in offered))


_SHOWN = {"pytorch": "PyTorch", "keras": "Keras"}


def _keras_module(parts: list[str]) -> bool:
    return parts[0] == "keras" or (parts[0] == "tensorflow" and "keras" in parts)


def _python_only(source: str) -> str:
    """IPython's magics and shell lines (``%matplotlib``, ``!pip``) blanked, so the rest parses."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
