"""``grader reference outputs``: run each edition's solution as the grader runs a notebook, and record which
of its template's cells print or plot (assignments/<id>/template_outputs.json).

The solution is the template filled in (the same code cells, in order), so its run says where an executed
notebook shows output; the record is the practical author's, made once and shipped with the practical
(the student wheel too). Runs only the practical's own solutions, with the local runner; never a student's.
"""
from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grader.assignment import load_assignment
from grader.course import DEFAULT_ASSIGNMENTS_DIR
from grader.errors import ConfigError, GraderError
from grader.evidence import prints
from grader.execution import get_runner
from grader.execution.base import RunRequest
from grader.execution.prepare import source_index
from grader.i18n import render
from grader.notebooks import read_notebook
from grader.records import Reason
from grader.student_data import data_for_run
from grader.template_outputs import FILE_NAME, digest, notebook_code, solution_for

DEFAULT_TIMEOUT_S = 3600.0


def build_template_outputs(practical: str, data_dir: Path, *, assignments_dir: Path | None = None,
                           parameters: dict[str, Any] | None = None, timeout_s: float = DEFAULT_TIMEOUT_S,
                           log: Callable[[str], None] = print) -> Path:
    """Run every edition's solution of ``practical`` under its grading parameters (``parameters`` override
    them) and write the record; GraderError naming the edition when a solution does not run cleanly."""
    directory = Path(assignments_dir or DEFAULT_ASSIGNMENTS_DIR) / practical
    if not (directory / "assignment.toml").is_file():
        raise ConfigError(f"no practical {practical!r} in {directory.parent}")
    if not Path(data_dir).is_dir():
        raise ConfigError(f"--data {data_dir}: no such folder")
    # the record is among what loading checks: it may be missing or stale now
    assignment = load_assignment(directory, check_files=False)
    editions = []
    for template in assignment.template_files():
        solution = directory / solution_for(template.name)
        log(f"{practical}: running {solution.name} to see which cells of {template.name} print...")
        printing = _printing_cells(template, solution, assignment, Path(data_dir), parameters or {}, timeout_s)
        editions.append({"template": template.name, "template_digest": digest(notebook_code(template)),
                         "solution": solution.name, "solution_digest": digest(notebook_code(solution)),
                         "printing": printing})
        log(f"{practical}: {len(printing)} cells of {template.name} print or plot")
    if not editions:
        raise ConfigError(f"{directory}: no template.ipynb: nothing to record")
    path = directory / FILE_NAME
    path.write_text(json.dumps({
        "about": "Written by `grader reference outputs`: the code cells of each template (0-based, counting its "
                 "non-empty code cells) that print or plot when the grader runs the edition's solution. An "
                 "executed hand-in must show output where these do. Do not edit; build it again after "
                 "changing a template or a solution.",
        "editions": editions}, indent=1) + "\n", encoding="utf-8")
    return path


def _printing_cells(template: Path, solution: Path, assignment, data_dir: Path,
                    parameters: dict[str, Any], timeout_s: float) -> list[int]:
    theirs, ours = notebook_code(template), notebook_code(solution) if solution.is_file() else None
    if ours is None:
        raise ConfigError(f"{solution}: missing or unreadable (the solution of {template.name})")
    if theirs is None or len(theirs) != len(ours):
        raise ConfigError(f"{solution}: must hold the code cells of {template.name}, in order, filled in "
                          f"({len(ours)} code cells against {0 if theirs is None else len(theirs)})")
    executed = _run(solution, assignment, data_dir, parameters, timeout_s)
    run, _ = read_notebook(executed)
    position = {cell.index: ordinal for ordinal, cell in enumerate(ours)}
    return sorted(position[index] for index in (source_index(c) for c in run.cells if prints(c))
                  if index in position)


def _run(solution: Path, assignment, data_dir: Path, parameters: dict[str, Any], timeout_s: float) -> Path:
    """The executed copy of one clean run of ``solution`` (kept in a temporary folder until the process ends)."""
    work = Path(tempfile.mkdtemp(prefix="grader-outputs-"))
    merged = {**assignment.parameters, **parameters}
    data = data_for_run(assignment, solution, data_dir, work, merged)
    if isinstance(data, Reason):
        raise GraderError(f"{solution.name}: {render(data, 'en')}")
    (work / "probe").mkdir()
    run = get_runner("local").run(RunRequest(
        notebook=solution, work_dir=work / "run", probe_dir=work / "probe", data_dir=data.student.resolve(),
        parameters={**merged, "data_dir": str(data.student.resolve())}, extra_cells=(), timeout_s=timeout_s,
        cell_timeout_s=assignment.cell_timeout_s, dataset_caches=assignment.dataset_caches))
    if run.status != "ok" or run.executed_notebook is None:
        why = render(run.reason, "en") if run.reason else run.status
        raise GraderError(f"{solution.name} did not run cleanly ({run.status}: {why}); its record cannot be built")
    return run.executed_notebook
