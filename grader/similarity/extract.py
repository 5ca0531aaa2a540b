"""The code a student wrote, out of a notebook: code cells minus the template's cells, the grader's cells
and notebook magics, joined in notebook order.

Reads notebooks only; never executes, writes or judges anything. What is left of the template inside an
edited cell is removed later, by fingerprint (see compare.py), so that renaming cannot hide a copy.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader.notebook_tags import INJECTED_TAG, PAPERMILL_ERROR_TAG, PAPERMILL_PARAMETERS_TAG, PARAMETERS_TAG
from grader.notebooks import read_notebook

# Cells that are the grader's or papermill's, never the student's: the parameters cell is the grader's
# contract (its values change from run to run), the others are what a papermill run leaves behind.
_NOT_STUDENT_TAGS = frozenset({INJECTED_TAG, PARAMETERS_TAG, PAPERMILL_PARAMETERS_TAG, PAPERMILL_ERROR_TAG})
# A marker line between cells: a comment, so the tokenizer drops it and it never counts as code.
CELL_MARK = "# %% cell {number}"


@dataclass(frozen=True)
class Template:
    """The code students start from: whole cells (to drop untouched ones) and the code to fingerprint."""

    cells: frozenset[str]      # normalised sources of the template's code cells
    code: str                  # every code cell of the template, joined as a submission's cells are
    lines: frozenset[str]      # its stripped lines, so a submission's own lines can be counted

    @classmethod
    def empty(cls) -> "Template":
        return cls(frozenset(), "", frozenset())


@dataclass(frozen=True)
class StudentCode:
    code: str                  # the student's cells, each headed by CELL_MARK
    own_lines: int             # lines of code that are not the template's (blank lines and comments aside)


def load_template(*paths: Path | None) -> Template:
    """The template notebooks' code, every edition's together (two Keras students share the Keras template's
    code, not each other's); absent or unreadable templates add nothing."""
    cells = [cell for path in paths if path is not None and Path(path).is_file()
             for cell in (_code_cells(Path(path)) or [])]
    if not cells:
        return Template.empty()
    code = "\n".join(source for _, source in cells)
    return Template(cells=frozenset(_normalise(source) for _, source in cells), code=code,
                    lines=frozenset(_code_lines(code)))


def student_code(notebook: Path, template: Template) -> StudentCode | None:
    """The student's own code cells of ``notebook``; None when it cannot be read as a notebook."""
    cells = _code_cells(Path(notebook))
    if cells is None:
        return None
    kept = [(index, source) for index, source in cells if _normalise(source) not in template.cells]
    code = "\n".join(CELL_MARK.format(number=index + 1) + "\n" + source for index, source in kept)
    own = sum(1 for line in _code_lines(code) if line not in template.lines)
    return StudentCode(code=code, own_lines=own)


def _code_cells(path: Path) -> list[tuple[int, str]] | None:
    """(index in the notebook, source without magics) of every code cell that is the student's."""
    nb, _ = read_notebook(path)
    if nb is None:
        return None
    cells = []
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code" or _NOT_STUDENT_TAGS & set(_tags(cell)):
            continue
        source = _without_magics(cell.get("source", ""))
        if source.strip():
            cells.append((index, source))
    return cells


def _without_magics(source: str) -> str:
    # `!pip install`, `%matplotlib inline`, `%%time` are IPython, not Python: the tokenizer would
    # read them as errors, and they say nothing about who wrote the code.
    return "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))


def _normalise(source: str) -> str:
    """A cell's source compared regardless of trailing spaces and blank lines (editors change both)."""
    return "\n".join(line.rstrip() for line in source.splitlines() if line.strip())


def _code_lines(code: str) -> list[str]:
    return [s for s in (line.strip() for line in code.splitlines()) if s and not s.startswith("#")]


def _tags(cell: dict) -> list[str]:
    tags = cell.get("metadata", {}).get("tags", [])
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []
