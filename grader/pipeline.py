"""Drives one batch through the stages, in order; the only module that knows that order.

intake -> join students -> (per submission: inspect, run, check) -> store -> score -> export.
Every evaluation is stored the moment it finishes, so an interrupted batch loses nothing and a
re-run executes only what is missing.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from grader.assignment import Assignment, load_assignment, resolve
from grader.course import Course
from grader.errors import GraderError, InputError
from grader.execution import get_runner
from grader.exports import ExportReport, write_all
from grader.jobs import JobSpec, run_job
from grader.lms.moodle import Worksheet, read_worksheet
from grader.outcomes import missing_score, practical_score
from grader.overrides import load_overrides
from grader.records import CourseGrade, Evaluation, PracticalScore, Student, Submission
from grader.scoring import course_grade, scale
from grader.store import Store
from grader.students import join_students
from grader.submissions import collect

Progress = Callable[[str, Submission, Evaluation | None], None]


@dataclass
class BatchResult:
    out_dir: Path
    scores: list[PracticalScore]
    grades: list[CourseGrade]
    files: list[Path]
    warnings: list[str] = field(default_factory=list)
    executed: int = 0          # jobs run in this batch (the rest came from the store)
    reused: int = 0


@dataclass
class _Intake:
    submissions: dict[str, list[Submission]]
    worksheets: dict[str, Worksheet | None]
    warnings: list[str]


def grade_course(course: Course, out_dir: Path | None = None, *, force: bool = False,
                 runner_name: str | None = None, timeout_s: float | None = None,
                 only: str | None = None, progress: Progress | None = None) -> BatchResult:
    out_dir = Path(out_dir or course.out_dir).resolve()   # runners work from other folders
    out_dir.mkdir(parents=True, exist_ok=True)
    assignments = {pid: load_assignment(cfg.assignment_dir) for pid, cfg in course.practicals.items()}
    max_scores = {pid: a.max_points for pid, a in assignments.items()}
    overrides = (load_overrides(course.path.parent / "overrides.csv", course, max_scores=max_scores)
                 if course.path else {})
    intake = _intake(course, out_dir)
    roster = join_students(intake.submissions, intake.worksheets, course.moodle.user_key)
    runner_name = runner_name or course.runner
    runner = get_runner(runner_name, **course.runner_options(runner_name))
    result = BatchResult(out_dir, [], [], [], warnings=intake.warnings + list(roster.warnings))

    with Store(out_dir / "grader.sqlite") as store:
        if force:
            store.forget(practical=only)
        evaluations: dict[tuple[str, str], Evaluation] = {}
        for pid, subs in intake.submissions.items():
            if only and pid != only:
                continue
            for spec in _job_specs(course, pid, assignments[pid], subs, out_dir, timeout_s):
                evaluation = store.get_evaluation(spec.key)
                if evaluation is not None:
                    result.reused += 1
                elif only is None or pid == only:
                    evaluation = run_job(spec, runner)
                    store.put_evaluation(evaluation)  # stored before anything else can go wrong
                    result.executed += 1
                else:
                    continue  # outside --only and never graded: shown as missing, not run
                evaluations[(pid, spec.submission.participant)] = evaluation
                if progress:
                    progress(pid, spec.submission, evaluation)
        result.scores = _scores(course, assignments, intake, roster.students, evaluations, overrides)
        store.put_scores(result.scores)
    result.grades = _course_grades(course, roster.students, result.scores)
    exported: ExportReport = write_all(out_dir, course, result.scores, result.grades, intake.worksheets)
    result.files, result.warnings = [out_dir / "grader.sqlite", *exported.files], result.warnings + exported.warnings
    return result


def _intake(course: Course, out_dir: Path) -> _Intake:
    submissions, worksheets, warnings = {}, {}, []
    for pid, cfg in course.practicals.items():
        found = collect(pid, list(cfg.submissions), out_dir / "intake" / pid)
        submissions[pid] = found.submissions
        warnings += found.problems
        worksheets[pid] = None
        if cfg.worksheet is not None:
            try:
                worksheets[pid] = read_worksheet(cfg.worksheet, course.timezone)
            except InputError as err:
                warnings.append(f"{err} - practical {pid} is graded without its worksheet")
    return _Intake(submissions, worksheets, warnings)


def _job_specs(course: Course, pid: str, assignment: Assignment, subs: list[Submission], out_dir: Path,
               timeout_s: float | None) -> list[JobSpec]:
    cfg = course.practicals[pid]
    parameters = {**assignment.parameters, **cfg.parameters}
    student_data = _student_data(assignment, course.data_dir, out_dir / "work" / pid / "_data", parameters)
    return [JobSpec(submission=s, assignment=assignment, parameters=parameters, course_data_dir=course.data_dir,
                    student_data_dir=student_data, work_dir=out_dir / "work" / pid / s.participant,
                    timeout_s=float(timeout_s or cfg.timeout_s)) for s in subs]


def _student_data(assignment: Assignment, data_dir: Path, dest: Path, parameters: dict) -> Path:
    """The data a notebook may read (never evaluation labels), written once per batch."""
    if assignment.student_data is None:
        return data_dir
    if not (dest / ".complete").exists():
        dest.mkdir(parents=True, exist_ok=True)
        try:
            resolve(assignment.student_data)(data_dir, dest, parameters)
        except (OSError, ValueError) as err:
            raise GraderError(f"cannot prepare the data of {assignment.id} from {data_dir}: {err}") from err
        (dest / ".complete").write_text("ok")
    return dest


def _scores(course: Course, assignments: dict[str, Assignment], intake: _Intake, students: list[Student],
            evaluations: dict[tuple[str, str], Evaluation], overrides: dict) -> list[PracticalScore]:
    names = {(s.practical, s.participant): s.full_name for subs in intake.submissions.values() for s in subs}
    scores = []
    for student in students:
        for pid, participant in student.participants.items():
            evaluation = evaluations.get((pid, participant))
            if evaluation is None:
                scores.append(missing_score(pid, participant, student, assignments[pid].max_points))
                continue
            ws = intake.worksheets.get(pid)
            row = ws.entries.get(participant) if ws else None
            scores.append(practical_score(evaluation, student, participant,
                                          names.get((pid, participant), student.full_name), row, course,
                                          overrides.get((pid, participant))))
    return sorted(scores, key=lambda s: (s.practical, s.full_name.casefold(), s.participant))


def _course_grades(course: Course, students: list[Student], scores: list[PracticalScore]) -> list[CourseGrade]:
    by_key = {(s.practical, s.participant): s for s in scores}
    grades = []
    for student in students:
        per_practical = {}
        for pid in course.practicals:
            s = by_key.get((pid, student.participants.get(pid, "")))
            per_practical[pid] = None if s is None or s.score is None else scale(s.score, s.max_score,
                                                                                 course.max_grade)
        grade, counted = course_grade(per_practical, course)
        grades.append(CourseGrade(student, per_practical, counted, grade))
    return sorted(grades, key=lambda g: g.student.full_name.casefold())
