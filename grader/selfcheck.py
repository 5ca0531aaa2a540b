"""Students' self-check before the deadline: the public checks of one practical on their own work.

Shared core of ``grader check NOTEBOOK`` (static inspection; with ``run`` a local re-execution with the
probe) and ``grader.selfcheck()`` in a live kernel (the kernel's own objects, nothing re-executed).
It never names, plans or runs a hidden check (students learn only how many there are), and it never
reads evaluation labels other than those in a data folder it was explicitly given.
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import secrets
import sys
import tempfile
import types
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from grader.errors import GraderError, InputError
from grader.i18n import msg, render
from grader.records import InspectionReport, Reason

# heavy modules (torch via the checks, papermill, the course loader) are imported inside functions:
# `import grader` in a student's kernel must stay cheap.

SEED_TIMEZONE = "Europe/Madrid"          # the seed course's deadline: 31 March 23:59, Madrid time
ZERO = Decimal("0")

# In a live kernel the notebook file is not at hand: notebook-kind checks are not judged there, so
# this report stands in only to satisfy the scoring context of the probe checks.
_LIVE_KERNEL = InspectionReport(readable=True, nbformat=4, code_cells=0, executed_cells=0, executed=True,
                                in_order=True, error_cells=(), has_plot=False, colab=False,
                                has_parameters_cell=False, practical_hint=None)


@dataclass(frozen=True)
class CheckLine:
    """One public check as a student sees it; ``points`` is None when it could not be judged here."""

    check_id: str
    points: Decimal | None
    max_points: Decimal
    reason: Reason

    @property
    def state(self) -> str:
        if self.points is None:
            return "later"
        if self.points >= self.max_points:
            return "pass"
        return "partial" if self.points > 0 else "fail"


@dataclass(frozen=True)
class Deadline:
    at: datetime                 # timezone-aware
    from_course: bool            # False: the seed course's default, said so to the student


@dataclass(frozen=True)
class SelfCheck:
    practical: str
    source: str                  # the notebook's file name, or "kernel"
    lines: tuple[CheckLine, ...]
    hidden_count: int
    hidden_points: Decimal
    max_points: Decimal
    problems: tuple[Reason, ...]
    deadline: Deadline
    now: datetime
    blocker: Reason | None = None    # what stopped the run before it started (no data): fixed before any check

    @property
    def judged(self) -> tuple[CheckLine, ...]:
        return tuple(line for line in self.lines if line.points is not None)

    @property
    def estimated(self) -> Decimal:
        return sum((line.points for line in self.judged), ZERO)

    @property
    def fix_first(self) -> CheckLine | None:
        """The failing check that gives back the most points (the first one on a tie)."""
        failing = [line for line in self.judged if line.state != "pass"]
        return max(failing, key=lambda line: line.max_points - line.points, default=None)

    @property
    def exit_code(self) -> int:
        return 0 if self.fix_first is None and self.blocker is None else 1


# --- grader check NOTEBOOK ---------------------------------------------------------------------------
def check_notebook(path: Path, *, practical: str | None = None, run: bool = False, data_dir: Path | None = None,
                   course_file: Path | None = None, timeout_s: float | None = None,
                   now: datetime | None = None) -> SelfCheck:
    """Inspect (and with ``run`` execute) one notebook; InputError (with a student Reason) when unusable."""
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
    return _report(assignment, path.name, lines, problems, _deadline(course, now), now, blocker)


def known_practicals(course=None, assignments_dir: Path | None = None) -> dict[str, Path]:
    """Practical id -> its assignment folder: the course's practicals, else every assignment of
    ``assignments_dir`` (default: the bundled ones)."""
    if course is not None:
        return {pid: cfg.assignment_dir for pid, cfg in course.practicals.items()}
    from grader.course import DEFAULT_ASSIGNMENTS_DIR
    from grader.public_specs import PUBLIC_DIR

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
    problems = (evaluation.reason,) if evaluation.status in ("timeout", "error") and evaluation.reason else ()
    return {r.check_id: r for r in evaluation.checks}, problems, None


def _absolute(spec) -> bool:
    """False for thresholds relative to the reference: training it is the grader's job, not a laptop's."""
    return not any(getattr(value, "is_relative", False) for value in spec.options.values())


def _plannable(assignment, spec, trial_dir: Path, data_dir: Path, parameters: dict[str, Any]) -> bool:
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
            blocker: Reason | None = None) -> SelfCheck:
    hidden = [spec for spec in assignment.checks if spec.hidden]
    return SelfCheck(practical=assignment.id, source=source, lines=tuple(lines), hidden_count=len(hidden),
                     hidden_points=sum((spec.points for spec in hidden), ZERO), max_points=assignment.max_points,
                     problems=tuple(problems), deadline=deadline, now=now, blocker=blocker)


def _deadline(course, now: datetime) -> Deadline:
    if course is not None:
        return Deadline(course.deadline, True)
    return Deadline(default_deadline(now), False)


def default_deadline(now: datetime) -> datetime:
    """The seed course's deadline in the current academic year (September to August)."""
    zone = ZoneInfo(SEED_TIMEZONE)
    local = now.astimezone(zone)
    year = local.year + 1 if local.month >= 9 else local.year
    return datetime(year, 3, 31, 23, 59, tzinfo=zone)


# --- grader.selfcheck() in a live kernel -----------------------------------------------------------------
def kernel_report(namespace: dict[str, Any], *, practical: str | None = None, assignments_dir: Path | None = None,
                  now: datetime | None = None) -> SelfCheck:
    """The public probe checks on the objects of ``namespace``, with inputs drawn here and now."""
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
    return _report(assignment, "kernel", lines, (), _deadline(None, now), now)


def guess_practical(namespace: dict[str, Any], known: dict[str, Path]) -> str:
    """The practical whose checked names (model, softmax...) the namespace defines most of."""
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
    from grader.checks.evaluate import evaluate
    from grader.checks.plan import plan_probe
    from grader.probe import PROBE_SOURCE
    from grader.records import RunResult

    with tempfile.TemporaryDirectory(prefix="grader-selfcheck-") as tmp:
        probe_dir, out_dir = Path(tmp) / "probe", Path(tmp) / "out"
        # no data folder: kinds needing one were left out; function cases are drawn from the seed alone
        plan = plan_probe(assignment, probe_dir, Path(tmp), dict(assignment.parameters), secrets.randbits(63))
        spec = importlib.util.spec_from_file_location("grader_probe", PROBE_SOURCE)
        probe = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(probe)
        with contextlib.redirect_stdout(io.StringIO()):   # the probe's "n/m items answered" is for the grader
            probe.main(namespace, plan.nonce, str(probe_dir), str(out_dir))
        run = RunResult(status="ok", duration_s=0.0, executed_notebook=None, out_dir=out_dir)
        return {r.check_id: r for r in evaluate(assignment, plan, _LIVE_KERNEL, run)}


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


# --- presentation: the same rows for the terminal, the notebook and the CLI's table --------------------
def table_rows(report: SelfCheck, lang: str) -> list[tuple[str, str, str, str]]:
    """(check, points, status, reason) per public check."""
    return [(line.check_id, _points(line), render(msg(f"student_state_{line.state}"), lang),
             render(line.reason, lang)) for line in report.lines]


def headers(lang: str) -> tuple[str, str, str, str]:
    return tuple(render(msg(f"student_col_{col}"), lang) for col in ("check", "points", "status", "reason"))


def summary_lines(report: SelfCheck, lang: str) -> list[str]:
    """What follows the table: run problems, the estimate, hidden checks, what to fix first, the deadline."""
    lines = [render(problem, lang) for problem in report.problems]
    judged_max = sum((line.max_points for line in report.judged), ZERO)
    lines.append(render(msg("student_estimate", points=report.estimated, judged=judged_max,
                            max_points=report.max_points), lang))
    waiting = [line for line in report.lines if line.points is None]
    if waiting:
        lines.append(render(msg("student_not_judged", count=len(waiting),
                                points=sum((line.max_points for line in waiting), ZERO)), lang))
    if report.hidden_count:
        lines.append(render(msg("student_hidden", count=report.hidden_count, points=report.hidden_points), lang))
    first = report.fix_first
    if report.blocker is not None:
        lines.append(render(msg("student_fix_first_blocker", reason=report.blocker), lang))
    else:
        lines.append(render(msg("student_fix_first", check=first.check_id, lost=first.max_points - first.points,
                                reason=render(first.reason, lang)) if first else msg("student_all_pass"), lang))
    lines.append(deadline_line(report.deadline, report.now, lang))
    return lines


def deadline_line(deadline: Deadline, now: datetime, lang: str) -> str:
    when = deadline.at.strftime("%Y-%m-%d %H:%M ") + str(deadline.at.tzinfo)
    left = deadline.at - now
    where = "course" if deadline.from_course else "default"
    if left > timedelta(0):
        return render(msg(f"student_deadline_left_{where}", deadline=when, left=_span(left)), lang)
    return render(msg(f"student_deadline_passed_{where}", deadline=when, ago=_span(-left)), lang)


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    return f"{days} d {hours} h" if days else f"{hours} h {minutes} min"


def _points(line: CheckLine) -> str:
    return f"{'-' if line.points is None else line.points}/{line.max_points}"


def title(report: SelfCheck, lang: str) -> str:
    return render(msg("student_title", practical=report.practical, source=report.source), lang)


def as_text(report: SelfCheck, lang: str = "es") -> str:
    rows = [headers(lang), *table_rows(report, lang)]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    out = [title(report, lang)]
    out += ["  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths)) + "  " + row[3] for row in rows]
    return "\n".join(out + [""] + summary_lines(report, lang))


_COLOURS = {"pass": "#e6f4ea", "partial": "#fff4e5", "fail": "#fdecea", "later": "#f1f3f4"}


def as_html(report: SelfCheck, lang: str = "es") -> str:
    """The table as an HTML fragment for the student's notebook (no page around it: no CSP of its own, so
    the template's escaping is its whole wall)."""
    from grader.reports.templates import render_page

    return render_page("selfcheck.html.j2", title=title(report, lang), headers=headers(lang),
                       rows=[{"colour": _COLOURS[line.state], "cells": row}
                             for line, row in zip(report.lines, table_rows(report, lang))],
                       notes=summary_lines(report, lang))


class _CallableModule(types.ModuleType):
    """``import grader.selfcheck`` replaces the package's lazy ``grader.selfcheck`` function with this
    module; calling the module keeps ``grader.selfcheck()`` working whichever of the two it finds."""

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        return selfcheck(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
