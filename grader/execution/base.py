"""What every runner accepts and promises: a RunRequest in, a RunResult out, never an exception.

A runner executes one notebook copy with the grader's parameters and extra cells; it never grades,
never reads evaluation labels, and never modifies the notebook it was handed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.records import RunResult
from grader.notebook_tags import INJECTED_TAG  # noqa: F401  (runners' callers read it here too)


@dataclass(frozen=True)
class RunRequest:
    notebook: Path               # as handed in (never modified)
    work_dir: Path               # the runner creates work_dir/"scratch" (holds the copy) and work_dir/"out"
    probe_dir: Path              # prepared by the caller; offered read-only (under local: just a path)
    data_dir: Path | None        # the student-visible data folder (no evaluation labels)
    parameters: dict[str, Any]   # injected by papermill after the cell tagged `parameters`
    extra_cells: tuple[str, ...]  # code appended after the student's cells; runs even if a student cell raised
    timeout_s: float             # whole run, wall clock
    cell_timeout_s: float        # per cell
    env: dict[str, str] = field(default_factory=dict)

    @property
    def scratch_dir(self) -> Path:
        return self.work_dir / "scratch"

    @property
    def out_dir(self) -> Path:
        return self.work_dir / "out"

    @property
    def executed_path(self) -> Path:
        return self.work_dir / "executed.ipynb"


class Runner:
    """Base of every runner backend; subclasses set ``name`` and implement ``run``."""

    name: str = ""

    def run(self, request: RunRequest) -> RunResult:
        raise NotImplementedError(f"runner {type(self).__name__} does not implement run()")
