"""``grader practical check DIR [--data COURSE_DATA]``: whether a practical folder grades as its author means, one
line per finding: it loads; each edition has its template and solution; its messages exist in both languages;
its public specs (the student wheel's copy) build; each mutant loses exactly the points it declares and the right
student none; and, given the course data, its student data hook writes the files the template reads, every
solution earns full marks and every template nothing, each run as a submission is graded (local runner).

It grades only the practical's own notebooks and mutants, never a student's, and writes only under a temporary
folder. A practical is a folder anywhere (README, *Writing a practical*): nothing here is specific to one.
"""
from __future__ import annotations

import ast
import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from grader.assignment import Assignment, load_assignment
from grader.checks.shares import CENT
from grader.errors import GraderError
from grader.execution.base import RunRequest
from grader.execution.registry import get_runner
from grader.i18n import LANGUAGES, PRACTICAL_CATALOGUE, catalogue, render
from grader.jobs import JobSpec, run_job
from grader.mutants import load_mutants, loss_table, reachable, right_student
from grader.public_cases import write_student_assignment
from grader.records import Evaluation, Submission
from grader.references import needs_reference, with_reference
from grader.scoring import sum_points
from grader.student_data import missing_files, write_student_data
from grader.template_outputs import solution_for

DEFAULT_SEEDS = 5
RUN_TIMEOUT_S = 3600.0


@dataclass
class PracticalReport:
    directory: Path
    findings: list[str] = field(default_factory=list)   # one line each: "<what>: <problem>"
    passed: list[str] = field(default_factory=list)     # what was checked and held
    skipped: list[str] = field(default_factory=list)    # what was not checked, and why

    @property
    def ok(self) -> bool:
        return not self.findings


def check_practical(directory: Path, data_dir: Path | None = None, *, seeds: int = DEFAULT_SEEDS,
                    parameters: dict[str, Any] | None = None, log: Callable[[str], None] = lambda line: None
                    ) -> PracticalReport:
    """Every check of the module docstring on the practical in ``directory``; ``data_dir``: the course data
    folder (without it, nothing that needs data runs, and the report says so). ``parameters`` override the
    practical's grading parameters (a smaller budget)."""
    report = PracticalReport(Path(directory))
    try:
        assignment = load_assignment(report.directory)
    except GraderError as err:
        report.findings.append(f"load: {err}")
        return report
    report.passed.append("load")
    parameters = {**assignment.parameters, **(parameters or {})}
    _editions(assignment, report)
    _messages(assignment, report)
    with tempfile.TemporaryDirectory(prefix="grader-practical-") as tmp:
        work = Path(tmp)
        _public(assignment, work, report)
        student_dir, graded = None, assignment
        if data_dir is None:
            report.skipped.append("student data, solutions and templates: give --data COURSE_DATA to run them")
        else:
            student_dir = _student_data(assignment, Path(data_dir), work, parameters, report)
            graded = _resolved(assignment, Path(data_dir), work, parameters, report)
        _mutants(graded, data_dir, student_dir, parameters, seeds, report, log)
        if data_dir is not None and student_dir is not None and graded is not None:
            _notebooks(graded, Path(data_dir), student_dir, work, parameters, report, log)
    return report


def _editions(assignment: Assignment, report: PracticalReport) -> None:
    """Each edition a student may start from has its template and its solution (the template filled in)."""
    names = ["template.ipynb"] + ([assignment.keras_edition] if assignment.keras_edition else [])
    missing = [name for template in names for name in (template, solution_for(template))
               if not (assignment.directory / name).is_file()]
    report.findings += [f"editions: {name} is missing" for name in missing]
    if not missing:
        report.passed.append(f"editions ({', '.join(names)} and their solutions)")


def _messages(assignment: Assignment, report: PracticalReport) -> None:
    """Its own messages in every language, and every code its modules emit found in the catalogue."""
    path = assignment.directory / PRACTICAL_CATALOGUE
    own: dict[str, dict] = {}
    if path.is_file():
        try:
            own = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
            report.findings.append(f"messages: {path.name} cannot be read ({err})")
            return
    before = len(report.findings)
    for code, texts in own.items():
        for lang in LANGUAGES:
            if not isinstance(texts, dict) or not str(texts.get(lang, "")).strip():
                report.findings.append(f"messages: {code} has no {lang!r} text in {path.name}")
    known = catalogue()
    for module in sorted(assignment.directory.glob("*.py")):
        for code in sorted(_codes_in(module)):
            if code not in known:
                report.findings.append(f"messages: {module.name} emits {code}, which no catalogue has "
                                       f"(add it to {path.name} in both languages)")
    if len(report.findings) == before:
        report.passed.append(f"messages ({len(own)} of its own, in {', '.join(LANGUAGES)})")


def _codes_in(module: Path) -> set[str]:
    """The literal codes of ``msg("code", ...)`` and ``Reason("code", ...)`` calls in one module."""
    try:
        tree = ast.parse(module.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return set()
    return {node.args[0].value for node in ast.walk(tree)
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) in
            ("msg", "Reason") and node.args and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)}


def _public(assignment: Assignment, work: Path, report: PracticalReport) -> None:
    """The copy a student's wheel carries: hidden checks redacted, public cases computed from the reference."""
    try:
        write_student_assignment(assignment.directory, work / "public" / assignment.id)
        load_assignment(work / "public" / assignment.id, check_files=False)
    except Exception as err:   # whatever the author's hooks raise is a finding, never a traceback
        report.findings.append(f"public specs: the student wheel's copy does not build ({type(err).__name__}: {err})")
        return
    report.passed.append("public specs (the student wheel's copy)")


def _student_data(assignment: Assignment, data_dir: Path, work: Path, parameters: dict,
                  report: PracticalReport) -> Path | None:
    """What a notebook may read, made by the practical's hook: every file the template reads must be there."""
    try:
        folder = write_student_data(assignment, work / "data", data_dir, parameters)
    except GraderError as err:
        report.findings.append(f"student data: {render(err.reason, 'en') or err}")
        return None
    except Exception as err:
        report.findings.append(f"student data: the hook failed ({type(err).__name__}: {err})")
        return None
    lacking = missing_files(assignment, folder)
    report.findings += [f"student data: the hook did not write {name}, which the template reads" for name in lacking]
    if not lacking:
        report.passed.append(f"student data ({len(assignment.student_files)} files)")
    return folder


def _resolved(assignment: Assignment, data_dir: Path, work: Path, parameters: dict,
              report: PracticalReport) -> Assignment | None:
    """The assignment with thresholds relative to the reference made absolute (the reference built once)."""
    if not needs_reference(assignment):
        return assignment
    try:
        return with_reference(assignment, data_dir, parameters, work / "out", log=lambda line: None)
    except Exception as err:
        report.findings.append(f"reference: it does not build ({type(err).__name__}: {err})")
        return None


def _mutants(assignment: Assignment | None, data_dir: Path | None, student_dir: Path | None, parameters: dict,
             seeds: int, report: PracticalReport, log: Callable[[str], None]) -> None:
    """Each mutant loses exactly the points it declares, on the checks it names, for every seed; the right
    student loses nothing."""
    if assignment is None:
        return
    try:
        mutants = load_mutants(assignment)
        if not mutants:
            report.skipped.append("mutants: the practical keeps none (mutants.py)")
            return
        names = set(right_student(assignment, student_dir)) | {assignment.check(m.check).options.get("name", "")
                                                                for m in mutants}
        if needs_reference(replace(assignment, checks=reachable(assignment, names))):
            report.skipped.append("mutants: their checks are relative to the reference: give --data COURSE_DATA")
            return
        log(f"{assignment.id}: {len(mutants)} mutants over {seeds} seeds...")
        table, right = loss_table(assignment, range(seeds), data_dir, student_dir, parameters)
    except Exception as err:
        if data_dir is None:   # the right student or a check reads the course data: not a defect we can tell
            report.skipped.append(f"mutants: they need the course data ({type(err).__name__}: {err}): give --data "
                                  "COURSE_DATA")
        else:
            report.findings.append(f"mutants: they cannot be graded ({type(err).__name__}: {err})")
        return
    before = len(report.findings)
    report.findings += [f"mutants: the right student lost {max(lost)} on {check_id}"
                        for check_id, lost in right.items() if max(lost) > 0]
    for row in table:
        report.findings += [f"mutant {row.mutant.name}: {problem}" for problem in row.problems()]
    if len(report.findings) == before:
        report.passed.append(f"mutants ({len(table)}, {seeds} seeds each)")


def _notebooks(assignment: Assignment, data_dir: Path, student_dir: Path, work: Path, parameters: dict,
               report: PracticalReport, log: Callable[[str], None]) -> None:
    """Each edition's solution, run as a student runs it and handed in executed, earns full marks; its template,
    handed in as it is, nothing."""
    runner = get_runner("local")
    for template in assignment.template_files():
        solution = template.with_name(solution_for(template.name))
        for notebook, wanted in ((solution, assignment.max_points), (template, Decimal("0"))):
            if not notebook.is_file():
                continue
            if notebook == solution:
                log(f"{assignment.id}: running {notebook.name} as a student would...")
                notebook = _executed(assignment, notebook, student_dir, work, parameters, runner, report)
                if notebook is None:
                    continue
            log(f"{assignment.id}: grading {notebook.name} as a submission...")
            evaluation = _graded(assignment, notebook, data_dir, student_dir, work, parameters, runner)
            got = sum_points(evaluation.checks, assignment.max_points).quantize(CENT)
            if got == wanted.quantize(CENT):
                report.passed.append(f"{notebook.name}: {got}/{assignment.max_points}")
                continue
            lost = [f"{c.check_id} {c.points}/{c.max_points} ({render(c.reason, 'en')})" for c in evaluation.checks
                    if (c.points < c.max_points if wanted else c.points > 0)]
            why = render(evaluation.reason, "en") if evaluation.reason else evaluation.status
            report.findings.append(f"{notebook.name}: earns {got}/{assignment.max_points}, not {wanted} "
                                   f"({why}; {'; '.join(lost) or 'no check says more'})")


def _executed(assignment: Assignment, solution: Path, student_dir: Path, work: Path, parameters: dict, runner,
              report: PracticalReport) -> Path | None:
    """The solution as its author hands it in: run once with the student data (the executed copy, named as the
    solution); None, and a finding, when it does not run cleanly."""
    folder = work / "executed" / solution.stem
    (folder / "probe").mkdir(parents=True)
    run = runner.run(RunRequest(
        notebook=solution, work_dir=folder / "run", probe_dir=folder / "probe", data_dir=student_dir,
        parameters={**parameters, "data_dir": str(student_dir)}, extra_cells=(), timeout_s=RUN_TIMEOUT_S,
        cell_timeout_s=assignment.cell_timeout_s, dataset_caches=assignment.dataset_caches))
    if run.status != "ok" or run.executed_notebook is None:
        why = render(run.reason, "en") if run.reason else run.status
        report.findings.append(f"{solution.name}: does not run cleanly ({run.status}: {why})")
        return None
    handed_in = folder / solution.name
    handed_in.write_bytes(run.executed_notebook.read_bytes())
    return handed_in


def _graded(assignment: Assignment, notebook: Path, data_dir: Path, student_dir: Path, work: Path,
            parameters: dict, runner) -> Evaluation:
    submission = Submission(practical=assignment.id, participant=notebook.stem, full_name=notebook.stem,
                            source=str(notebook.parent), files=(notebook,), notebook=notebook, sha256=None)
    spec = JobSpec(submission=submission, assignment=assignment, parameters=dict(parameters),
                   course_data_dir=data_dir, student_data_dir=student_dir,
                   work_dir=work / "runs" / notebook.stem, timeout_s=RUN_TIMEOUT_S)
    return run_job(spec, runner)
