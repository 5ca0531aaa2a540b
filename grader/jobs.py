"""One grading job: a single submission of one practical, from notebook to Evaluation.

A job never raises for anything the student did: every failure becomes an Evaluation with a
status and a reason, so one bad submission can never stop a batch.
"""
from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.assignment import Assignment
from grader.checks.evaluate import evaluate, probe_outputs
from grader.checks.plan import ADAPTATIONS, ProbePlan, plan_probe
from grader.errors import GraderError
from grader.execution.base import Runner, RunRequest
from grader.execution.safe_files import UnsafeFile, remove
from grader.judge.request import annotated, judge_models, judge_notes, keep_answers
from grader.parameters_in_force import changed_parameters
from grader.i18n import msg
from grader.editions import edition_notes
from grader.execution.reassign import reassignment_notes
from grader.notebooks import inspect, read_notebook
from grader.records import Evaluation, InspectionReport, RunResult, Submission
from grader.version import __version__

# runner status -> the submission's status; anything unlisted is an error
_RUN_STATUS = {"ok": "graded", "timeout": "timeout"}


@dataclass(frozen=True)
class JobSpec:
    """Everything one job needs, picklable so that a pool or a Dask worker can run it."""

    submission: Submission
    assignment: Assignment
    parameters: dict[str, Any]     # grading parameters, before data_dir is added
    course_data_dir: Path          # holds evaluation labels: read by the grader only
    student_data_dir: Path         # what the notebook may read
    work_dir: Path
    timeout_s: float
    static: bool = False           # inspect and score without running the notebook
    env: dict[str, str] = field(default_factory=dict)   # for the runner's processes (batch mark, GPU); not keyed
    # what the probe and the judge may adapt between the contract's inputs and a model (practicals.<id>.adaptations)
    adaptations: tuple[str, ...] = ADAPTATIONS
    judge: bool = True     # export the models for the judge; False: the in-kernel probe answers (benchmarks/judge_bench.py)

    @property
    def key(self) -> str:
        return job_key(self.submission, self.assignment, self.parameters, static=self.static,
                       adaptations=self.adaptations)


def job_key(submission: Submission, assignment: Assignment, parameters: dict[str, Any], *,
            static: bool = False, adaptations: tuple[str, ...] = ADAPTATIONS) -> str:
    """Same notebook bytes, spec, grader and parameters -> same key. The participant is part of it:
    two students handing in identical files are two submissions (and a case for a human). A static
    evaluation has a key of its own: it must never pass for a run."""
    material = {"practical": submission.practical, "participant": submission.participant,
                "sha256": submission.sha256, "spec": assignment.spec_hash,
                "version": assignment.version, "grader": __version__, "parameters": parameters}
    if static:
        material["mode"] = "static"
    if tuple(sorted(adaptations)) != tuple(sorted(ADAPTATIONS)):   # a course grading by the contract's letter
        material["adaptations"] = sorted(adaptations)
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()


def run_job(spec: JobSpec, runner: Runner | None) -> Evaluation:
    """Grade one submission; ``runner`` may be None for a static job."""
    started = time.monotonic()
    sub = spec.submission
    try:
        return _grade(spec, runner, started)
    except GraderError as err:
        return _evaluation(spec, "error", (), err.reason, started)
    except Exception as err:  # a grader bug must cost one submission, not the batch
        return _evaluation(spec, "error", (), msg("job_internal_error", detail=f"{type(err).__name__}: {err}",
                                                  participant=sub.participant), started)


def _grade(spec: JobSpec, runner: Runner, started: float) -> Evaluation:
    sub = spec.submission
    if sub.notebook is None:
        return _evaluation(spec, "invalid", (), msg("job_no_notebook"), started)
    inspection = inspect(sub.notebook)
    if not inspection.readable:
        reason = inspection.problems[0] if inspection.problems else msg("job_unreadable_notebook")
        return _evaluation(spec, "invalid", (), reason, started, notes=inspection.problems)
    if spec.static:
        return _static(spec, inspection, started)

    _start_clean(spec.work_dir)
    probe_dir = spec.work_dir / "probe"
    probe_dir.mkdir(parents=True)
    parameters = {**spec.parameters, "data_dir": str(spec.student_data_dir)}
    plan = plan_probe(spec.assignment, probe_dir, spec.course_data_dir, parameters, secrets.randbits(63),
                      export=spec.judge, adaptations=spec.adaptations)
    run = runner.run(RunRequest(
        notebook=sub.notebook, work_dir=spec.work_dir, probe_dir=probe_dir, data_dir=spec.student_data_dir,
        parameters=parameters, extra_cells=(plan.cell_source,), timeout_s=spec.timeout_s,
        cell_timeout_s=spec.assignment.cell_timeout_s, env=dict(spec.env),
        dataset_caches=spec.assignment.dataset_caches, expected_outputs=plan.expected_outputs,
        preload=spec.assignment.preload))
    # the models' answers come from the judge, which runs each exported program where no student code runs
    judged = judge_models(plan, probe_outputs(run, plan.nonce), runner, spec.work_dir / "judge", probe_dir,
                          timeout_s=spec.timeout_s, env=dict(spec.env), warm_dir=spec.work_dir.parent)
    checks = tuple(annotated(evaluate(spec.assignment, plan, inspection, run, notebook=sub.notebook,
                                      outputs=judged.outputs), plan, judged))
    # the program and the drawn inputs are large and secret; the executed copy and the judge's answers stay
    keep_answers(spec.work_dir / "judge", spec.work_dir / "answers")
    left = run.leftovers + _removed(spec.work_dir / "judge") + _removed(probe_dir)
    status, reason = _status(inspection, run, checks)
    notes = (inspection.problems + tuple(judge_notes(judged, judged.outputs))
             + tuple(changed_parameters(judged.outputs, parameters))
             + tuple(edition_notes(sub.notebook, spec.assignment))
             + tuple(_reassigned_parameters(sub.notebook, parameters))
             + ((msg("run_host_leftovers", found="; ".join(left)),) if left else ()))
    return _evaluation(spec, status, checks, reason, started, notes=notes)


def _start_clean(work_dir: Path) -> None:
    """A leftover of an earlier or interrupted run goes, whatever a notebook made of it (removed without
    recursion, never through a link); one that cannot go stops this job only."""
    try:
        remove(work_dir)
    except (OSError, UnsafeFile) as err:
        raise GraderError(f"{work_dir}: {err}", reason=msg("job_work_dir_stuck", detail=str(err))) from None


def _removed(folder: Path) -> tuple[str, ...]:
    """() once ``folder`` is gone; else the phrase naming it, for the post-condition's note."""
    try:
        remove(folder)
    except (OSError, UnsafeFile) as err:
        return (f"{folder.name} ({err}), not removed",)
    return ()


def _static(spec: JobSpec, inspection: InspectionReport, started: float) -> Evaluation:
    """Only what the notebook as handed in shows: the checks that need a run score 0, saying why."""
    checks = tuple(evaluate(spec.assignment, ProbePlan(nonce="", cell_source=""), inspection, None,
                            notebook=spec.submission.notebook))
    executed = inspection.executed and not _forged(checks)
    status, reason = ("graded", msg("job_static")) if executed else ("not_executed", msg("job_not_executed"))
    if _untouched(checks):
        status, reason = "untouched", msg("job_untouched_template")
    return _evaluation(spec, status, checks, reason, started, notes=inspection.problems)


def _reassigned_parameters(notebook: Path, parameters: dict[str, Any]):
    """Notes naming the cells that assign a grading parameter after the grader set it (static)."""
    nb, _ = read_notebook(notebook)
    return reassignment_notes(list(nb.cells), parameters) if nb is not None else []


# the notebook check's verdict that the hand-in shows no outputs where an executed notebook shows them
_NOT_RUN_CODES = frozenset({"notebook_outputs_missing", "notebook_end_not_shown",
                            "notebook_run_outputs_missing"})
# ... and that it is the template as handed out: a status of its own, whatever its run did (the template's
# own stubs raise NotImplementedError, which is no crash of the student's)
_TEMPLATE_CODES = frozenset({"notebook_template"})


def _forged(checks) -> bool:
    """Execution counts without the outputs of a run: the notebook check said so."""
    return any(check.reason.code in _NOT_RUN_CODES for check in checks)


def _untouched(checks) -> bool:
    return any(check.reason.code in _TEMPLATE_CODES for check in checks)


def _status(inspection: InspectionReport, run: RunResult, checks=()):
    """Forged execution counts make a hand-in look executed; the run's evidence says it was not."""
    if _untouched(checks):
        return "untouched", msg("job_untouched_template")
    status = _RUN_STATUS.get(run.status, "error")
    if status == "graded" and (not inspection.executed or _forged(checks)):
        return "not_executed", msg("job_not_executed")
    return status, run.reason


def _evaluation(spec: JobSpec, status: str, checks, reason, started: float, notes=()) -> Evaluation:
    sub = spec.submission
    return Evaluation(job_key=spec.key, practical=sub.practical, participant=sub.participant, sha256=sub.sha256,
                      status=status, checks=tuple(checks), reason=reason,
                      duration_s=round(time.monotonic() - started, 3), max_points=spec.assignment.max_points,
                      notes=tuple(notes) + tuple(sub.notes))
