"""Reading and static inspection of .ipynb files as handed in: is it a notebook, was it run, how.

The one reader of a student's notebook on the host (and of the copy a run left, written by the student's
code as well): the bytes are capped, their structure is counted before anything is parsed
(grader.notebook_limits), and a file past a limit is refused with its reason. Never raises for a bad
file (every problem becomes a Reason) and never executes anything. Inspection parses the JSON once and
reads plain dicts: it must stay fast enough for a whole course.
"""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import nbformat
from nbformat.notebooknode import NotebookNode
from nbformat.v3.rwbase import rejoin_lines as rejoin_lines_v3
from nbformat.v4.rwbase import rejoin_lines, strip_transient

from grader.execution.habits import skipped_commands
from grader.i18n import msg
from grader.notebook_limits import LIMITS, NotebookLimits, structure_breach, too_complex, wide_breach
from grader.notebook_tags import PARAMETERS_TAG
from grader.records import InspectionReport, Reason

PLOT_MIMETYPES = ("image/png", "image/jpeg", "image/svg+xml")
_COLAB_IMPORTS = ("google.colab",)
# the reasons that say a file passed a limit (bytes, structure), not that it is damaged
LIMIT_CODES = frozenset({"inspect_too_large", "inspect_too_large_wide", "inspect_too_complex"})


def read_notebook(path: Path, limits: NotebookLimits = LIMITS) -> tuple[nbformat.NotebookNode | None, list[Reason]]:
    """The notebook as nbformat v4 (v3 upgraded), or None with the reasons it cannot be used."""
    data, version, reasons = _load(Path(path), limits, as_nodes=True)
    if data is None:
        return None, reasons
    try:
        if version == 4:
            _fill_defaults(data)
            node = strip_transient(rejoin_lines(data))
        else:
            node = nbformat.convert(rejoin_lines_v3(data), 4)
    except Exception as err:  # nbformat's converters raise many kinds on odd but well-typed JSON
        return None, reasons + [msg("inspect_invalid_structure", file=Path(path).name,
                                    detail=f"{type(err).__name__}: {err}")]
    return node, reasons


def inspect(path: Path, limits: NotebookLimits = LIMITS) -> InspectionReport:
    """Static facts about one notebook; an unreadable file gives readable=False and its reasons."""
    path = Path(path)
    data, version, reasons = _load(path, limits)
    if data is None:
        return _unreadable(version, reasons)
    if version == 3:
        # v3 keeps cells under worksheets and calls the source "input"; the converter is the one authority
        node, more = read_notebook(path, limits)
        if node is None:
            return _unreadable(version, more)
        data = node
    return _facts(data, version, reasons)


def practical_hint(nb: dict[str, Any]) -> str | None:
    """The practical id an instructor's template wrote into metadata.grader.practical, if any."""
    grader_meta = _dict(_dict(nb.get("metadata")).get("grader"))
    hint = grader_meta.get("practical")
    if isinstance(hint, (str, int)) and not isinstance(hint, bool) and str(hint).strip():
        return str(hint).strip()
    return None


def _unreadable(version: int | None, reasons: list[Reason]) -> InspectionReport:
    return InspectionReport(readable=False, nbformat=version, code_cells=0, executed_cells=0, executed=False,
                            in_order=False, error_cells=(), has_plot=False, colab=False,
                            has_parameters_cell=False, practical_hint=None, problems=tuple(reasons))


# --- loading -------------------------------------------------------------------------------------

def _load(path: Path, limits: NotebookLimits, *, as_nodes: bool = False
          ) -> tuple[dict[str, Any] | None, int | None, list[Reason]]:
    """Parse the file once: (json dict, major version, reasons); dict is None when it is unusable.
    ``as_nodes``: every object a NotebookNode as it is parsed (one tree, never a second copy of it)."""
    name = path.name
    raw, problem = _read_capped(path, limits.max_bytes)
    if problem is not None:
        return None, None, [problem]
    if not raw or raw.isspace():
        return None, None, [msg("inspect_empty_file", file=name)]
    if wide_breach(raw, limits):
        return None, None, [msg("inspect_too_large_wide", file=name, size_mb=_mb(len(raw)),
                                limit_mb=_mb(limits.max_wide_bytes))]
    breach = structure_breach(raw, limits)
    if breach is not None:
        return None, None, [too_complex(name, breach)]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        return None, None, [msg("inspect_not_utf8", file=name, offset=err.start)]
    del raw   # the bytes and the text of a large notebook are not held together with its tree
    try:
        data = json.loads(text, object_pairs_hook=_node if as_nodes else None)
    except json.JSONDecodeError as err:
        return None, None, [msg("inspect_not_json", file=name, line=err.lineno, column=err.colno)]
    except RecursionError:
        return None, None, [msg("inspect_not_json", file=name, line="?", column="?")]
    return _check_shape(data, name)


def _read_capped(path: Path, max_bytes: int) -> tuple[bytes | None, Reason | None]:
    """At most ``max_bytes`` of a regular file; a fifo is never waited on."""
    name = path.name
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as err:
        return None, msg("inspect_unreadable_file", file=name, detail=err.strerror or str(err))
    with os.fdopen(fd, "rb") as fh:
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return None, msg("inspect_unreadable_file", file=name, detail="not a regular file")
            if info.st_size > max_bytes:
                return None, _too_large(name, info.st_size, max_bytes)
            # one byte more than it says it holds: a file that grows while it is read is not read on past it
            raw = fh.read(min(info.st_size, max_bytes) + 1)
        except OSError as err:
            return None, msg("inspect_unreadable_file", file=name, detail=err.strerror or str(err))
    if len(raw) > max_bytes:
        return None, _too_large(name, len(raw), max_bytes)
    return raw, None


def _too_large(name: str, size: int, max_bytes: int) -> Reason:
    return msg("inspect_too_large", file=name, size_mb=_mb(size), limit_mb=_mb(max_bytes))


def _node(pairs: list[tuple[str, Any]]) -> NotebookNode:
    """A NotebookNode made as json parses the object. Made without its __init__, which gives every node
    a dict of its own (430 bytes a node instead of 96): the class attribute says the same."""
    node = NotebookNode.__new__(NotebookNode)
    dict.update(node, pairs)
    return node


def _check_shape(data: Any, name: str) -> tuple[dict[str, Any] | None, int | None, list[Reason]]:
    if not isinstance(data, dict) or "nbformat" not in data:
        return None, None, [msg("inspect_not_notebook", file=name)]
    version = data["nbformat"]
    if not isinstance(version, int) or isinstance(version, bool):
        return None, None, [msg("inspect_not_notebook", file=name)]
    if version < 3:
        return None, version, [msg("inspect_too_old", file=name, version=version)]
    if version > 4:
        return None, version, [msg("inspect_unsupported_version", file=name, version=version)]
    if version == 3:
        if not isinstance(data.get("worksheets", []), list):
            return None, version, [msg("inspect_invalid_structure", file=name, detail="'worksheets' is not a list")]
        return data, version, [msg("inspect_upgraded_v3", file=name)]
    problem = _v4_structure_problem(data)
    if problem:
        return None, version, [msg("inspect_invalid_structure", file=name, detail=problem)]
    return data, version, []


def _v4_structure_problem(data: dict[str, Any]) -> str | None:
    """The few schema rules later stages rely on; full jsonschema validation is too slow for a batch."""
    cells = data.get("cells")
    if not isinstance(cells, list):
        return "'cells' is missing or not a list"
    if not isinstance(data.get("metadata", {}), dict):
        return "'metadata' is not an object"
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict):
            return f"cell {index + 1} is not an object"
        kind = cell.get("cell_type")
        if kind not in ("code", "markdown", "raw"):
            return f"cell {index + 1} has an unknown cell_type {kind!r}"
        if not isinstance(cell.get("source", ""), (str, list)):
            return f"cell {index + 1} has a source that is not text"
        if not isinstance(cell.get("metadata", {}), dict):
            return f"cell {index + 1} has metadata that is not an object"
        if kind == "code" and not isinstance(cell.get("outputs", []), list):
            return f"cell {index + 1} has outputs that are not a list"
    return None


def _fill_defaults(data: dict[str, Any]) -> None:
    """Add the keys the schema requires and hand-written notebooks omit, so nbformat can work on it."""
    data.setdefault("metadata", NotebookNode())
    data.setdefault("nbformat_minor", 0)
    for cell in data["cells"]:
        cell.setdefault("metadata", NotebookNode())
        cell.setdefault("source", "")
        if cell["cell_type"] == "code":
            cell.setdefault("outputs", [])
            cell.setdefault("execution_count", None)


# --- facts ---------------------------------------------------------------------------------------

def _facts(nb: dict[str, Any], version: int, reasons: list[Reason]) -> InspectionReport:
    cells = nb.get("cells", [])
    code = [(i, c) for i, c in enumerate(cells) if c.get("cell_type") == "code"]
    nonempty = [(i, c) for i, c in code if _text(c.get("source")).strip()]
    counts = [(i, c.get("execution_count")) for i, c in code if _is_count(c.get("execution_count"))]
    unexecuted = [i for i, c in nonempty if not _is_count(c.get("execution_count"))]
    executed = bool(nonempty) and not unexecuted
    disorder = _out_of_order(counts)
    in_order = bool(counts) and not disorder
    errors = tuple(i for i, c in code if any(_dict(o).get("output_type") == "error" for o in _outputs(c)))
    has_parameters = any(PARAMETERS_TAG in _tags(c) for _, c in code)

    problems = list(reasons)
    if not nonempty:
        problems.append(msg("inspect_no_code_cells"))
    elif not executed:
        problems.append(msg("inspect_not_executed", unexecuted=len(unexecuted),
                            total=len(nonempty), numbers=_numbers(cells, unexecuted)))
    if counts and disorder:
        problems.append(msg("inspect_out_of_order", numbers=_numbers(cells, disorder)))
    if errors:
        problems.append(msg("inspect_error_outputs", numbers=_numbers(cells, errors)))
    if not has_parameters:
        problems.append(msg("inspect_no_parameters_cell"))
    skipped = skipped_commands([_text(cell.get("source")) for _, cell in code])
    if skipped:
        problems.append(msg("habit_shell_skipped", commands=skipped[:5]))
    return InspectionReport(
        readable=True, nbformat=version, code_cells=len(code), executed_cells=len(counts), executed=executed,
        in_order=in_order, error_cells=errors, has_plot=any(_has_plot(c) for _, c in code),
        colab=_is_colab(nb, code), has_parameters_cell=has_parameters, practical_hint=practical_hint(nb),
        problems=tuple(problems))


def _out_of_order(counts: list[tuple[int, Any]]) -> list[int]:
    """Indices of cells whose count is not above the one of the executed cell before them."""
    return [index for (_, before), (index, count) in zip(counts, counts[1:]) if count <= before]


def _has_plot(cell: dict[str, Any]) -> bool:
    for output in _outputs(cell):
        data = _dict(_dict(output).get("data"))
        if any(mime in data for mime in PLOT_MIMETYPES):
            return True
    return False


def _is_colab(nb: dict[str, Any], code: list[tuple[int, dict[str, Any]]]) -> bool:
    if "colab" in _dict(nb.get("metadata")):
        return True
    for _, cell in code:
        if "colab" in _dict(cell.get("metadata")):
            return True
        source = _text(cell.get("source"))
        if any(marker in source for marker in _COLAB_IMPORTS):
            return True
    return False


def _outputs(cell: dict[str, Any]) -> list[Any]:
    outputs = cell.get("outputs")
    return outputs if isinstance(outputs, list) else []


def _tags(cell: dict[str, Any]) -> list[Any]:
    tags = _dict(cell.get("metadata")).get("tags")
    return tags if isinstance(tags, list) else []


def _text(source: Any) -> str:
    if isinstance(source, list):
        return "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else ""


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def cell_ref(cells: list[Any], index: int) -> dict[str, int]:
    """How the student finds cell ``index`` (of every cell, markdown included): {"in": n} for a cell
    Jupyter shows as ``In [n]``, else {"code": k} for the k-th code cell; grader.i18n renders both."""
    if not 0 <= index < len(cells):
        return {"cell": index + 1}
    count = _dict(cells[index]).get("execution_count")
    if _is_count(count):
        return {"in": count}
    position = sum(1 for c in cells[:index + 1] if _dict(c).get("cell_type") == "code")
    return {"code": position}


def cell_refs(notebook: Path | list[Any] | None, indices) -> list[dict[str, int]]:
    """``cell_ref`` of each index, reading the notebook as handed in when given its path."""
    cells = notebook if isinstance(notebook, list) else _cells_of(notebook)
    return [cell_ref(cells, i) for i in indices]


def _cells_of(path: Path | None) -> list[Any]:
    if path is None or not Path(path).is_file():
        return []
    nb, _ = read_notebook(Path(path))
    return list(nb.cells) if nb is not None else []


def _numbers(cells: list[Any], indices) -> list[dict[str, int]]:
    """Cells as Jupyter shows them (In [n], or the k-th code cell), for messages."""
    return cell_refs(cells, indices)


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}"
