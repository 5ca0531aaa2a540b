"""The scratch copy a runner executes: the student's cells, the injected parameters, the extra cells.

Works on a copy only: the notebook as handed in is read, never written. Every cell the grader adds is
tagged ``grader-injected``; every student cell remembers its index in the original notebook.
"""
from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path, PurePath
from typing import Any

import nbformat

from grader.errors import InputError
from grader.execution.base import RunRequest, with_kernel_dirs
from grader.execution.child import write_notebook
from grader.execution.habits import neutralise
from grader.execution.reassign import injection_point
from grader.execution.safe_files import remove
from grader.notebook_tags import INJECTED_TAG, PAPERMILL_ERROR_TAG, PAPERMILL_PARAMETERS_TAG
from grader.notebooks import read_notebook
from grader.dataset_caches import provide

# Cell metadata key holding a student cell's index in the notebook as handed in.
SOURCE_INDEX_KEY = "grader_source_index"
# ... and the execution count it was handed in with (or None), so later pages name it as Jupyter did.
SOURCE_COUNT_KEY = "grader_source_count"
PREPARED_NAME = "notebook.ipynb"
_PAPERMILL_INJECTED = PAPERMILL_PARAMETERS_TAG
_PAPERMILL_ERROR_MARKER = PAPERMILL_ERROR_TAG


def fresh_dirs(request: RunRequest) -> None:
    """scratch/ and out/ belong to the runner: stale files of an earlier run must not pass for this one's."""
    request.work_dir.mkdir(parents=True, exist_ok=True)
    for folder in (request.scratch_dir, request.out_dir):
        remove(folder)   # a link left there by an earlier run is removed, never followed
        folder.mkdir()
    for stale in (request.executed_path, request.work_dir / "run.json"):
        stale.unlink(missing_ok=True)


def prepare(request: RunRequest, kernel_name: str, kernel_dirs: tuple[str, str] | None = None) -> Path:
    """Write scratch/notebook.ipynb ready to execute and return its path; InputError if unreadable.
    ``kernel_dirs``: the probe and out folders as the kernel sees them (default: the request's own paths)."""
    nb, reasons = read_notebook(request.notebook)
    if nb is None:
        raise InputError(f"{request.notebook} cannot be read", reason=reasons[0] if reasons else None)
    nb = nbformat.v4.upgrade(nb)  # to 4.5, so new cells may carry ids
    nb.setdefault("metadata", nbformat.NotebookNode())  # hand-written notebooks may lack it
    # Papermill's marker cells and a previous papermill run's injected-parameters cell (which would
    # override the grader's values) are dropped, as papermill itself replaces the latter.
    nb.cells = [_student_cell(cell, index) for index, cell in enumerate(nb.cells)
                if not {_PAPERMILL_ERROR_MARKER, _PAPERMILL_INJECTED} & set(_tags(cell))]
    nb.metadata["kernelspec"] = {"name": kernel_name, "language": "python", "display_name": "Python 3 (grader)"}
    nb.metadata["papermill"] = {"parameters": {}, "default_parameters": {}, "environment_variables": {}}
    if request.parameters:
        nb = _inject_parameters(nb, request.parameters, kernel_name)
    probe_dir, out_dir = kernel_dirs or (request.probe_dir, request.out_dir)
    for source in request.extra_cells:
        nb.cells.append(injected_cell(with_kernel_dirs(source, probe_dir, out_dir)))
    target = request.scratch_dir / PREPARED_NAME
    write_notebook(nb, target)   # this run's own copy: changed in place
    return target


def provide_datasets(request: RunRequest, dest: Path) -> Path | None:
    """The request's dataset caches written under ``dest`` (one folder per root, for the child to copy into
    place), made from the student data folder only; None when there is nothing to provide."""
    if not request.dataset_caches or request.data_dir is None:
        return None
    return dest if provide(request.dataset_caches, Path(request.data_dir), dest) else None


def injected_cell(source: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source=source)
    # an id from the source, not a random one: the same run renders the same page, byte for byte
    cell.id = "grader-" + hashlib.sha256(source.encode()).hexdigest()[:16]
    cell.metadata["tags"] = [INJECTED_TAG]
    return cell


def source_index(cell: dict[str, Any]) -> int | None:
    """Index of this cell in the notebook as handed in; None for cells the grader added."""
    value = cell.get("metadata", {}).get(SOURCE_INDEX_KEY)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def handed_in_ref(cells: list[Any], position: int) -> dict[str, int] | None:
    """cells[position] of an executed copy named as the hand-in showed it: {"in": n}, else {"code": k}
    (k counts the student's code cells only); None for a cell the grader added."""
    cell = cells[position]
    if source_index(cell) is None:
        return None
    count = cell.get("metadata", {}).get(SOURCE_COUNT_KEY)
    if isinstance(count, int) and not isinstance(count, bool):
        return {"in": count}
    return {"code": sum(1 for c in cells[:position + 1]
                        if c.get("cell_type") == "code" and source_index(c) is not None)}


def _student_cell(cell: nbformat.NotebookNode, index: int) -> nbformat.NotebookNode:
    cell.metadata[SOURCE_INDEX_KEY] = index
    tags = [t for t in _tags(cell) if t != INJECTED_TAG]
    # papermill reads cell.metadata.tags as an attribute: every cell needs the list.
    cell.metadata["tags"] = tags
    if cell.cell_type == "code":
        cell.metadata[SOURCE_COUNT_KEY] = cell.get("execution_count")
        # Old outputs of cells this run never reaches would pass for this run's results.
        cell.outputs = []
        cell.execution_count = None
        cell.source = neutralise(cell.source)[0]   # `!pip install ...`: no shell at grading
    return cell


def _inject_parameters(nb: nbformat.NotebookNode, parameters: dict[str, Any], kernel_name: str):
    """Insert the parameters cell after the LAST cell tagged `parameters` (papermill takes the first, and a
    second tagged cell would then override the grading values), else on top, as papermill does."""
    # papermill is imported here so that importing a runner stays cheap for the CLI. Its own
    # parameterize_notebook is not used: it logs a warning to the grader's stderr for every notebook
    # without a `parameters` cell, which the inspection already reports to the student.
    # start-up: papermill's translators only when a notebook is prepared
    from papermill.translators import translate_parameters

    plain = _plain(parameters)
    cell = injected_cell(translate_parameters(kernel_name, "python", plain, "Parameters"))
    cell.metadata["tags"] = [_PAPERMILL_INJECTED, INJECTED_TAG]
    nb.cells.insert(injection_point(nb.cells), cell)
    nb.metadata["papermill"]["parameters"] = plain
    return nb


def _plain(value: Any) -> Any:
    """Parameters as the JSON types papermill can write as Python literals."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (PurePath, Decimal)):
        return str(value)
    return value


def _tags(cell: dict[str, Any]) -> list[str]:
    tags = cell.get("metadata", {}).get("tags", [])
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []
