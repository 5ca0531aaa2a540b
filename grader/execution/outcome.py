"""How a run went, read from what the child left: run.json and the executed notebook -> a RunResult.

Shared by every runner (a runner corrects it with what only it knows: a container's OOM kill). It reads
those two files only as regular files, never through a link, and believes nothing the student's cells
could have written in place of the grader's extra cells.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from grader.execution.base import RunRequest
from grader.execution.habits import diagnose
from grader.execution.prepare import source_index
from grader.execution.safe_files import UnsafeFile, kind_of, read_regular, remove
from grader.i18n import msg
from grader.notebooks import LIMIT_CODES, cell_refs, read_notebook
from grader.records import Reason, RunResult

LOG_CAP_BYTES = 64 * 1024
RUN_RECORD = "run.json"          # the child's record of how it ended, in work_dir
_EVALUE_CAP = 500
_TRACEBACK_CAP = 64 << 10
_FILE_TOO_LARGE = "[Errno 27] File too large"   # EFBIG: a write past the file-size limit
_RUN_RECORD_CAP = 64 << 10


def interpret(request: RunRequest, started: float, timed_out: bool, returncode: int | None,
              log: str) -> RunResult:
    """The RunResult of a finished run: ``timed_out`` when the runner had to stop it, the child's exit
    code and its (capped) log for when it left no record."""
    refused = _refused_results(request)
    if refused:   # a link there would show another notebook (or any file of the host) as this run's
        return result(request, "error", started, log=log,
                      reason=msg("hostile_results_refused", detail="; ".join(refused)))
    cells, refused = _executed_cells(request.executed_path)
    executed = request.executed_path if cells is not None else None
    cells = cells or []
    _forget_planted_outputs(request, cells)
    outcome = _child_outcome(request.work_dir / RUN_RECORD)
    last = _last_started(cells)
    common = {"executed": executed, "log": log}
    if timed_out:
        return result(request, "timeout", started, reason=msg("run_timeout", limit_s=_seconds(request.timeout_s),
                      number=cell_number(request, last)), failed_cell=last, **common)
    if refused is not None:   # the notebook's own outputs made the copy too big or complex to read
        return result(request, "error", started, reason=refused, **common)
    if outcome is None:
        return result(request, "runner_error", started, reason=msg("run_child_failed", exit_code=returncode,
                      detail=_last_line(log)), **common)
    kind = outcome.get("outcome")
    if kind == "cell_timeout":
        return result(request, "timeout", started, reason=msg("run_cell_timeout", number=cell_number(request, last),
                      limit_s=_seconds(request.cell_timeout_s)), failed_cell=last, **common)
    if kind == "kernel_died":
        return result(request, "kernel_died", started,
                      reason=msg("run_kernel_died", number=cell_number(request, last)), failed_cell=last, **common)
    if kind != "completed":
        return result(request, "runner_error", started,
                      reason=msg("run_runner_error", detail=outcome.get("detail", "")), **common)
    return _from_outputs(request, started, cells, common)


def result(request: RunRequest, status: str, started: float, *, reason: Reason | None = None,
           failed_cell: int | None = None, executed: Path | None = None, log: str = "") -> RunResult:
    """A RunResult timed from ``started`` (time.monotonic())."""
    return RunResult(status=status, duration_s=round(time.monotonic() - started, 3), executed_notebook=executed,
                     out_dir=request.out_dir, reason=reason, failed_cell=failed_cell, log=log)


def cell_number(request: RunRequest, index: int | None) -> dict[str, int] | str:
    """The cell as the student finds it in the notebook they handed in (In [n], or the k-th code cell)."""
    return cell_refs(request.notebook, [index])[0] if index is not None else "?"


def _from_outputs(request: RunRequest, started: float, cells: list[dict], common: dict) -> RunResult:
    injected_error = None
    for cell in cells:
        error = _error_output(cell)
        if error is None:
            continue
        index = source_index(cell)
        if index is None:
            injected_error = injected_error or error
            continue
        ename, evalue, traceback = error
        status = "out_of_memory" if ename == "MemoryError" else "error"
        code = "run_out_of_memory" if status == "out_of_memory" else "run_cell_error"
        if _FILE_TOO_LARGE in evalue:
            code = "hostile_file_too_large"
        number = cell_number(request, index)
        reason = (diagnose(ename, evalue, number, traceback)
                  or msg(code, number=number, ename=ename, evalue=evalue))
        return result(request, status, started, failed_cell=index, reason=reason, **common)
    if injected_error:
        return result(request, "runner_error", started, reason=msg(
            "run_injected_cell_error", ename=injected_error[0], evalue=injected_error[1]), **common)
    return result(request, "ok", started, **common)


def _forget_planted_outputs(request: RunRequest, cells: list[dict]) -> None:
    """out/ is the extra cells' (the probe's): when none of them started (the kernel died, or time ran
    out, before them), whatever lies there was written by the student's cells and must never count."""
    extra = [c for c in cells[-len(request.extra_cells):] if source_index(c) is None] if request.extra_cells else []
    if not request.extra_cells or any(_started(c) for c in extra):
        return
    remove(request.out_dir)
    request.out_dir.mkdir(parents=True, exist_ok=True)


def _started(cell: dict) -> bool:
    return bool(cell.get("metadata", {}).get("papermill", {}).get("start_time"))


def _error_output(cell: dict) -> tuple[str, str, str] | None:
    """(ename, evalue, traceback text) of the cell's first error output; the traceback (capped) only
    helps name a cause (habits.diagnose), it is never shown as such."""
    for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
        if output.get("output_type") != "error":
            continue
        ename, evalue = str(output.get("ename", "")), str(output.get("evalue", ""))
        if ename == "SystemExit" and evalue in ("", "0"):  # a clean sys.exit() is no failure (as papermill)
            continue
        lines = output.get("traceback", [])
        traceback = "\n".join(str(line) for line in lines) if isinstance(lines, list) else ""
        return ename, evalue[:_EVALUE_CAP], traceback[:_TRACEBACK_CAP]
    return None


def _last_started(cells: list[dict]) -> int | None:
    """Original index of the last student cell papermill started: where a timeout or death struck."""
    last = None
    for cell in cells:
        if _started(cell):
            last = source_index(cell)
    return last


def _executed_cells(path: Path) -> tuple[list[dict] | None, Reason | None]:
    """The executed copy's cells (None when there are none to read), and the reason when the checked
    reader refused the copy for a limit: the student's code wrote it too."""
    if not path.exists():
        return None, None
    nb, reasons = read_notebook(path)  # a copy cut short by a kill may be truncated JSON
    if nb is not None:
        return list(nb.cells), None
    refused = [r for r in reasons if r.code in LIMIT_CODES]
    return None, (refused[0] if refused else None)


def _refused_results(request: RunRequest) -> list[str]:
    """What stands where the child leaves its files, when it is not a regular file (never followed)."""
    paths = (request.executed_path, request.work_dir / RUN_RECORD)
    return [f"{path.name} is {kind}" for path in paths if (kind := kind_of(path)) is not None]


def _child_outcome(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(read_regular(path, _RUN_RECORD_CAP).decode("utf-8"))
    except (OSError, UnsafeFile, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _seconds(value: float) -> str:
    return f"{value:g}"


def _last_line(log: str) -> str:
    lines = [line for line in log.strip().splitlines() if line.strip()]
    return lines[-1][:_EVALUE_CAP] if lines else ""
