"""Students' self-check before the deadline: the public checks of one practical on their own work.

Shared core of ``grader check NOTEBOOK`` (static inspection; with ``run`` a local re-execution with the
probe) and ``grader.selfcheck()`` in a live kernel (the kernel's own objects, nothing re-executed), for
either edition of a practical (PyTorch or Keras: the same checks; the report names the edition). The
records and their rendering are grader/selfcheck_report.py.
It never names, plans or runs a hidden check (students learn only how many there are), and it never
reads evaluation labels other than those in a data folder it was explicitly given.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import secrets
import sys
import tempfile
import types
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from grader.errors import GraderError, InputError
from grader.i18n import msg, render
from grader.records import InspectionReport, Reason
from grader.selfcheck_report import (SEED_TIMEZONE, ZERO, CheckLine, Deadline, SelfCheck, as_html, as_text,
                                     default_deadline)
from grader.loaded_assignment import Titles

# heavy modules (torch via the checks, papermill, the course loader) are imported inside functions:
# `import grader` in a student's kernel must stay cheap.

# In a live kernel the notebook file is not at hand: notebook-kind checks are not judged there, so
# this report stands in only to satisfy the scoring context of the probe checks.
LIVE_KERNEL = InspectionReport(readable=True, nbformat=4, code_cells=0, executed_cells=0, executed=True,
                                in_order=True, error_cells=(), has_plot=False, colab=False,
                                has_parameters_cell=False, practical_hint=None)


# --- grader check NOTEBOOK ---------------------------------------------------------------------------
def check_notebook(path: Path, *, practical: str | None = None, run: bool = False, data_dir: Path | None = None,
                   course_file: Path | None = None, timeout_s: float | None = None,
                   now: datetime | None = None) -> SelfCheck:
    """Inspect (and with ``run`` execute) one notebook; InputError (with a student Reason) when unusable."""
    # start-up: `import grader` in a student's kernel stays cheap: the checks, torch and papermill only when asked
    from grader.assignment import load_assignment
    from grader.course import load_course
    from grader.notebooks import inspect

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file", reason=msg("student_no_file", file=str(path)))
    inspection = inspect(path)
    if not inspection.readable:
        first = inspection.problems[0] if inspection.problems else msg("student_not_a_notebook", file=path.name)
        raise InputError(f"{path}: not a usable notebook", reason=first)
    course = load_course(course_file) if course_file else None
    known = known_practicals(course)
    pid = _which_practical(practical, inspection.practical_hint, known, path.name)
    assignment = load_assignment(known[pid])
    public = [spec for spec in assignment.checks if not spec.hidden]
    now = now or datetime.now(ZoneInfo(SEED_TIMEZONE))
    blocker = None
    if run:
        parameters = {**assignment.parameters, **(course.practicals[pid].parameters if course else {})}
        source = data_dir or (course.data_dir if course else None)   # None: where the template reads
        limit = timeout_s or (course.practicals[pid].timeout_s if course else None)
        results, problems, blocker = _run_locally(path, assignment, public, source, parameters, limit)
        if blocker is not None:   # nothing ran: what the notebook shows as handed in is still judged
            results = _judge_statically(assignment, public, inspection, path)
    else:
        results, problems = _judge_statically(assignment, public, inspection, path), ()
    lines = tuple(_line(spec, results.get(spec.id), run, blocked=blocker is not None) for spec in public)
    return _report(assignment, path.name, lines, problems, _deadline(course, now), now, blocker,
                   edition=_edition_of_notebook(path, assignment))


def known_practicals(course=None, assignments_dir: Path | None = None) -> dict[str, Path]:
    """Practical id -> its assignment folder: the course's practicals, else every assignment of
    ``assignments_dir`` (default: the bundled ones)."""
    if course is not None:
        return {pid: cfg.assignment_dir for pid, cfg in course.practicals.items()}
    # start-up: `import grader` in a student's kernel stays cheap: the checks, torch and papermill only when asked
    from grader.course import DEFAULT_ASSIGNMENTS_DIR
    from grader.public_copies import PUBLIC_DIR

    # a pip-installed grader (Colab) has no repository beside it: the public copies shipped in the wheel
    bundled = DEFAULT_ASSIGNMENTS_DIR if DEFAULT_ASSIGNMENTS_DIR.is_dir() else PUBLIC_DIR
    folder = Path(assignments_dir or bundled)
    return {p.parent.name: p.parent for p in sorted(folder.glob("*/assignment.toml"))}


def _which_practical(asked: str | None, hint: str | None, known: dict[str, Path], file: str) -> str:
    if asked and hint and asked != hint:
        raise InputError(f"{file} looks like practical {hint}, not {asked}",
                         reason=msg("student_wrong_practical", file=file, asked=asked, looks_like=hint))
    chosen = asked or hint
    if chosen is None:
        raise InputError(f"{file}: which practical? pass --practical",
                         reason=msg("student_unknown_practical", file=file, known=sorted(known)))
    if chosen not in known:
        raise InputError(f"no practical {chosen}", reason=msg("student_no_such_practical", practical=chosen,
                                                               known=sorted(known)))
    return chosen


def _judge_statically(assignment, public, inspection, path: Path) -> dict[str, Any]:
    """Checks of the notebook's own facts; the rest (probe checks, comparisons with a run) wait for --run."""
    # start-up: `import grader` in a student's kernel stays cheap: the checks, torch and papermill only when asked
    from grader.checks import get_check
    from grader.checks.evaluate import evaluate
    from grader.checks.plan import ProbePlan

    static = tuple(spec for spec in public if get_check(spec.kind).static)
    results = evaluate(replace(assignment, checks=static), ProbePlan(nonce="", cell_source=""), inspection, None,
                       notebook=path)
    return {r.check_id: r for r in results}


def _run_locally(path: Path, assignment, public, source: Path | None, parameters: dict[str, Any],
                 timeout_s: float | None) -> tuple[dict[str, Any], tuple[Reason, ...], Reason | None]:
    """One local run of the notebook with the probe, as a grading job would, on the public checks that
    can be planned with the data found (a metric check without its labels waits for the submission).
    Without the data the template reads, nothing runs: the reason naming the missing file comes back."""
    # start-up: `import grader` in a student's kernel stays cheap: the checks, torch and papermill only when asked
    from grader.course import DEFAULT_TIMEOUT_S
    from grader.execution import get_runner
    from grader.jobs import JobSpec, run_job
    from grader.records import Submission
    from grader.student_data import data_for_run

    with tempfile.TemporaryDirectory(prefix="grader-check-") as tmp:
        work = Path(tmp)
        data = data_for_run(assignment, path, Path(source).resolve() if source else None, work, parameters)
        if isinstance(data, Reason):
            return {}, (), data
        judged = tuple(spec for spec in public
                       if _absolute(spec) and _plannable(assignment, spec, work / "trial", data.course, parameters))
        submission = Submission(practical=assignment.id, participant="selfcheck", full_name="", source=str(path),
                                files=(path,), notebook=path, sha256=hashlib.sha256(path.read_bytes()).hexdigest())
        spec = JobSpec(submission=submission, assignment=replace(assignment, checks=judged), parameters=parameters,
                       course_data_dir=data.course, student_data_dir=data.student.resolve(),
                       work_dir=work / "run", timeout_s=float(timeout_s or DEFAULT_TIMEOUT_S))
        evaluation = run_job(spec, get_runner("local"))
    problems = (_on_own_machine(evaluation.reason),) if evaluation.status in ("timeout", "error") and evaluation.reason \
        else ()
    return {r.check_id: r for r in evaluation.checks}, problems, None


def _on_own_machine(reason: Reason) -> Reason:
    """The runner's words are about the grading environment; a package missing from the student's own
    Python is theirs to install (when the course lists it), which the runner cannot know."""
    if reason.code == "habit_missing_module":
        return msg("student_missing_module", **reason.params)
    return reason


def _absolute(spec) -> bool:
    """False for thresholds relative to the reference: training it is the grader's job, not a laptop's."""
    return not any(getattr(value, "is_relative", False) for value in spec.options.values())


def _plannable(assignment, spec, trial_dir: Path, data_dir: Path, parameters: dict[str, Any]) -> bool:
    # start-up: `import grader` in a student's kernel stays cheap: the checks, torch and papermill only when asked
    from grader.checks.plan import plan_probe

    try:
        plan_probe(replace(assignment, checks=(spec,)), trial_dir / spec.id, data_dir, parameters, 0)
    except (GraderError, OSError, ValueError, KeyError):
        return False
    return True


def _line(spec, result, ran: bool, blocked: bool = False) -> CheckLine:
    if result is not None:
        return CheckLine(spec.id, result.points, result.max_points, result.reason)
    later = msg("student_waits_for_data") if blocked else msg("student_later_data") if ran else msg("student_needs_run")
    return CheckLine(spec.id, None, spec.points, later)


def _report(assignment, source: str, lines, problems, deadline: Deadline, now: datetime,
            blocker: Reason | None = None, edition: str | None = None) -> SelfCheck:
    hidden = [spec for spec in assignment.checks if spec.hidden]
    return SelfCheck(practical=assignment.id, source=source, lines=tuple(lines), hidden_count=len(hidden),
                     hidden_points=sum((spec.points for spec in hidden), ZERO), max_points=assignment.max_points,
                     problems=tuple(problems), deadline=deadline, now=now, blocker=blocker,
                     edition=_edition_line(assignment, edition), titles=Titles.of(assignment).public())


def _edition_of_notebook(path: Path, assignment) -> str | None:
    # start-up: `import grader` in a student's kernel stays cheap: the checks, torch and papermill only when asked
    from grader.editions import notebook_edition

    return notebook_edition(path) if assignment.keras_edition else None


def _edition_line(assignment, edition: str | None) -> Reason | None:
    """Which edition the checks judged, for a practical that has two (none is named otherwise)."""
    if edition is None or not assignment.keras_edition:
        return None
    if edition == "keras" and not assignment.keras_layouts:   # inputs as the contract gives them (token ids)
        return msg("student_edition_keras_as_given", template=assignment.keras_edition)
    if edition == "keras":
        # start-up: `import grader` in a student's kernel stays cheap: the checks, torch and papermill only when asked
        from grader.editions import layouts_shown

        return msg("student_edition_keras", template=assignment.keras_edition,
                   layouts=layouts_shown(assignment.keras_layouts))
    return msg("student_edition_pytorch")


def _deadline(course, now: datetime) -> Deadline:
    if course is not None:
        return Deadline(course.deadline, True)
    return Deadline(default_deadline(now), False)


# --- grader.selfcheck() in a live kernel -----------------------------------------------------------------
def kernel_report(namespace: dict[str, Any], *, practical: str | None = None, assignments_dir: Path | None = None,
                  now: datetime | None = None) -> SelfCheck:
    """The public probe checks on the objects of ``namespace``, with inputs drawn here and now."""
    # start-up: `import grader` in a student's kernel stays cheap: the checks, torch and papermill only when asked
    from grader.assignment import load_assignment
    from grader.checks import get_check

    known = known_practicals(assignments_dir=assignments_dir)
    if not known:
        raise InputError("no assignments installed", reason=msg("student_no_assignments"))
    pid = practical or guess_practical(namespace, known)
    if pid not in known:
        raise InputError(f"no practical {pid}", reason=msg("student_no_such_practical", practical=pid,
                                                            known=sorted(known)))
    assignment = load_assignment(known[pid])
    public = [spec for spec in assignment.checks if not spec.hidden]
    judged = tuple(spec for spec in public   # labels exist only at grading time, never in a student's kernel
                   if get_check(spec.kind).uses_probe and not get_check(spec.kind).needs_evaluation_data
                   and _absolute(spec))
    results = _probe_in_process(replace(assignment, checks=judged), namespace)
    lines = []
    for spec in public:
        if spec.id in results:
            r = results[spec.id]
            lines.append(CheckLine(spec.id, r.points, r.max_points, r.reason))
        else:
            later = "student_later_data" if get_check(spec.kind).needs_evaluation_data else "student_later_notebook"
            lines.append(CheckLine(spec.id, None, spec.points, msg(later)))
    now = now or datetime.now(ZoneInfo(SEED_TIMEZONE))
    # start-up: `import grader` in a student's kernel stays cheap: the checks, torch and papermill only when asked
    from grader.editions import namespace_edition

    return _report(assignment, "kernel", lines, (), _deadline(None, now), now, edition=namespace_edition(namespace))


def guess_practical(namespace: dict[str, Any], known: dict[str, Path]) -> str:
    """The practical whose checked names (model, softmax...) the namespace defines most of."""
    # start-up: `import grader` in a student's kernel stays cheap: the checks, torch and papermill only when asked
    from grader.assignment import load_assignment

    best, best_share = None, 0.0
    for pid, folder in known.items():
        names = {spec.options["name"] for spec in load_assignment(folder).checks if "name" in spec.options}
        share = len(names & set(namespace)) / len(names) if names else 0.0
        if share > best_share:
            best, best_share = pid, share
    if best is None:
        raise InputError("cannot tell the practical", reason=msg("student_unknown_practical_kernel",
                                                                 known=sorted(known)))
    return best


def _probe_in_process(assignment, namespace: dict[str, Any]) -> dict[str, Any]:
    # start-up: `import grader` in a student's kernel stays cheap: the checks, torch and papermill only when asked
    from grader.checks.evaluate import evaluate
    from grader.checks.plan import plan_probe
    from grader.probe import load_probe
    from grader.records import RunResult

    with tempfile.TemporaryDirectory(prefix="grader-selfcheck-") as tmp:
        probe_dir, out_dir = Path(tmp) / "probe", Path(tmp) / "out"
        # no data folder: kinds needing one were left out; function cases are drawn from the seed alone
        plan = plan_probe(assignment, probe_dir, Path(tmp), dict(assignment.parameters), secrets.randbits(63))
        probe = load_probe("grader_probe")
        with contextlib.redirect_stdout(io.StringIO()):   # the probe's "n/m items answered" is for the grader
            probe.main(namespace, plan.nonce, str(probe_dir), str(out_dir))
        run = RunResult(status="ok", duration_s=0.0, executed_notebook=None, out_dir=out_dir)
        return {r.check_id: r for r in evaluate(assignment, plan, LIVE_KERNEL, run)}


def selfcheck(practical: str | None = None, *, lang: str = "es", namespace: dict[str, Any] | None = None,
              assignments_dir: Path | None = None) -> None:
    """``import grader; grader.selfcheck()`` as a notebook's last cell: an HTML table in Jupyter or
    Colab, text elsewhere. Problems print one line; nothing here raises into the student's notebook."""
    namespace = namespace if namespace is not None else _caller_namespace()
    try:
        report = kernel_report(namespace, practical=practical, assignments_dir=assignments_dir)
    except GraderError as err:
        print(render(err.reason, lang) if err.reason else str(err))
        return
    shell = _ipython()
    if shell is not None and type(shell).__name__ != "TerminalInteractiveShell":
        # start-up: `import grader` in a student's kernel stays cheap: the checks, torch and papermill only when asked
        from IPython.display import display

        display({"text/html": as_html(report, lang), "text/plain": as_text(report, lang)}, raw=True)
    else:
        print(as_text(report, lang))


def _ipython():
    ipython = sys.modules.get("IPython")
    return ipython.get_ipython() if ipython is not None else None


def _caller_namespace() -> dict[str, Any]:
    shell = _ipython()
    if shell is not None:
        return shell.user_ns
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__") == __name__:   # skip our own frames
        frame = frame.f_back
    return frame.f_globals if frame is not None else {}


class _CallableModule(types.ModuleType):
    """``import grader.selfcheck`` replaces the package's lazy ``grader.selfcheck`` function with this
    module; calling the module keeps ``grader.selfcheck()`` working whichever of the two it finds."""

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        return selfcheck(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
