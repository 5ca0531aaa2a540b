"""Drives one batch through the stages, in order; the only module that knows that order.

intake -> join students -> (per submission: inspect, run, check) -> store -> score -> export.
Every evaluation is stored the moment it finishes, so an interrupted batch loses nothing and a
re-run executes only what is missing.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from grader.assignment import Assignment
from grader.course import Course
from grader.errors import ConfigError, GraderError
from grader.execution import get_runner, runner_class
from grader.execution.dask_backend import DaskDispatcher
from grader.execution.marker import MARK_VAR, batch_lock, stop_marked
from grader.execution.pool import Finished, LocalPool, Started
from grader.execution.safe_files import private_dir
from grader.exports import ExportReport, write_all
from grader.jobs import JobSpec, run_job
from grader.lms.base import Lms
from grader.out_layout import OutLayout
from grader.outcomes import course_grades, missing_score, practical_score
from grader.overrides import load_overrides
from grader.preflight import check_course_inputs
from grader.progress import BatchProgress
from grader.reference_child import call_hook
from grader.references import with_reference
from grader.records import CourseGrade, Evaluation, Flag, PracticalScore, Student, Submission
from grader.similarity import run_similarity
from grader.store import Store
from grader.students import join_students
from grader.submissions import collect


@dataclass
class BatchResult:
    out_dir: Path
    scores: list[PracticalScore]
    grades: list[CourseGrade]
    files: list[Path]
    warnings: list[str] = field(default_factory=list)
    attention: list[Flag] = field(default_factory=list)   # students the LMS will not take as exported
    lms: str = ""              # the LMS's name as instructors call it (its adapter's title)
    executed: int = 0          # jobs run in this batch (the rest came from the store)
    reused: int = 0


@dataclass
class _Intake:
    submissions: dict[str, list[Submission]]
    warnings: list[str]


def grade_course(course: Course, out_dir: Path | None = None, *, force: bool = False,
                 runner_name: str | None = None, timeout_s: float | None = None,
                 only: str | None = None, student: str | None = None, workers: int | None = None,
                 gpus: Any = None, dask: str | None = None, static: bool = False,
                 progress: BatchProgress | None = None) -> BatchResult:
    """Grade what the store does not hold yet (``force``: again; ``only``/``student``: just those), on a
    local pool of ``workers`` (GPU slots from ``gpus``) or on the Dask cluster ``dask``; ``static``
    scores the notebooks as handed in without running them."""
    out_dir = Path(out_dir or course.out_dir).resolve()   # runners work from other folders
    out = OutLayout(out_dir)
    runner_name = runner_name or course.runner
    runner_class(runner_name)   # an unknown --runner stops here, listing the registered ones
    _check_selection(course, only, student)
    # a bad input stops here, before anything is written: the course's inputs, its practicals, its overrides
    inputs = check_course_inputs(course, static=static)
    assignments, lms = inputs.assignments, inputs.lms
    max_scores = {pid: a.max_points for pid, a in assignments.items()}
    overrides = (load_overrides(course.path.parent / "overrides.csv", course, max_scores=max_scores)
                 if course.path else {})
    told = progress or BatchProgress()
    with batch_lock(out_dir) as mark:
        # first of all: a grader killed mid-batch (kill -9) left its jobs running; they are ours to stop
        stop_marked(mark, runner_name)
        # runs leave notebooks' files under work/: no other account of the host may enter it
        private_dir(out.work_dir)
        # relative thresholds made absolute for every practical, selected or not: the job keys of the
        # practicals a partial run leaves alone must stay those of their stored results
        assignments = {pid: a if static else
                       with_reference(a, course.data_dir, {**a.parameters, **course.practicals[pid].parameters},
                                      out_dir, log=told.note)
                       for pid, a in assignments.items()}
        intake = _intake(course, out, lms)
        roster = join_students(intake.submissions, lms.rosters, lms)
        result = BatchResult(out_dir, [], [], [], warnings=intake.warnings + lms.warnings + list(roster.warnings),
                             lms=lms.title)
        plan = _Dispatch(runner_name, course.runner_options(runner_name), workers or course.workers, gpus, dask,
                         static, mark)

        try:
            with Store(out.store) as store:
                if force:
                    store.forget(practical=only, participant=student)
                evaluations, missing = {}, {}
                for pid, subs in intake.submissions.items():
                    specs = _job_specs(course, pid, assignments[pid], subs, out, timeout_s, static, mark)
                    missing[pid] = _reuse_stored(store, specs, evaluations, result, only, student)
                # the runner starts what its first runs need (fork servers) while the student data is prepared
                plan.warm_up(next((specs[0] for specs in missing.values() if specs), None))
                todo = [spec for pid, specs in missing.items()
                        for spec in _with_student_data(specs, pid, assignments[pid], course.data_dir, out, static)]
                # course policy, applied once per evaluation: the progress line shows the final score (lateness,
                # overrides) as it finishes, and the same score is what the store, the feedback and the LMS get
                final = _Policy(course, intake, lms, roster.students, overrides)
                with told as shown:
                    shown.start(len(todo), result.reused)
                    with closing(plan.events(todo)) as events:
                        for event in events:
                            _record(event, store, evaluations, result, shown, final)
                result.scores = _scores(final, assignments, roster.students, evaluations)
                if not static:   # a static look never replaces the real scores
                    store.put_scores(result.scores)
                    store.put_students(roster.students)   # `grader report` grades the same people
        finally:
            plan.close()   # what the runner kept warm, whether or not the batch got to run it
        result.grades = course_grades(course, roster.students, result.scores)
        exports = out.static if static else out   # a static look never touches the real files
        similar_files: list[Path] = []
        if course.similarity.enabled:   # flags for a human, never a grade: see grader/similarity/
            # before the exports: the report lists this run's flags, not the previous run's
            similar = run_similarity(course, exports.root,
                                     {p: s for p, s in intake.submissions.items() if only in (None, p)},
                                     assignments=assignments, titles=inputs.titles)
            similar_files, result.warnings = similar.files[:2], result.warnings + similar.warnings
        exported: ExportReport = write_all(exports, course, result.scores, result.grades, lms, inputs.titles)
        result.files = [out.store, *exported.files, *similar_files]
        result.warnings = result.warnings + exported.warnings
        result.attention = exported.attention
        return result


def _intake(course: Course, out: OutLayout, lms: Lms) -> _Intake:
    submissions, warnings = {}, []
    for pid, cfg in course.practicals.items():
        found = collect(pid, list(cfg.submissions), out.intake(pid), lms=lms)
        submissions[pid] = found.submissions
        warnings += found.problems
    return _Intake(submissions, warnings)


def _check_selection(course: Course, only: str | None, student: str | None) -> None:
    if only is not None and only not in course.practicals:
        raise ConfigError(f"--only {only}: the course has no such practical (it has {', '.join(course.practicals)})")
    if student is not None and only is None and len(course.practicals) > 1:
        raise ConfigError("--student N needs --only PRACTICAL: participant numbers differ between practicals")


def _job_specs(course: Course, pid: str, assignment: Assignment, subs: list[Submission], out: OutLayout,
               timeout_s: float | None, static: bool, mark: str) -> list[JobSpec]:
    cfg = course.practicals[pid]
    parameters = {**assignment.parameters, **cfg.parameters}
    if assignment.student_data is None:
        # dataset caches are made from the student data folder; without a student_data hook the notebook
        # reads the course data folder itself, which may hold evaluation labels: no cache is made from it
        assignment = replace(assignment, dataset_caches=())
    adaptations = {} if cfg.adaptations is None else {"adaptations": tuple(cfg.adaptations)}
    return [JobSpec(submission=s, assignment=assignment, parameters=parameters, course_data_dir=course.data_dir,
                    student_data_dir=course.data_dir, work_dir=out.run_dir(pid, s.participant),
                    timeout_s=float(timeout_s or cfg.timeout_s), static=static,
                    env={MARK_VAR: mark, "KERAS_BACKEND": course.keras_backend}, **adaptations)
            for s in subs]


def _reuse_stored(store: Store, specs: list[JobSpec], evaluations: dict, result: BatchResult,
                  only: str | None, student: str | None) -> list[JobSpec]:
    """Take what the store holds; return what is missing and selected (the rest shows as missing)."""
    missing = []
    for spec in specs:
        sub = spec.submission
        evaluation = store.get_evaluation(spec.key)
        if evaluation is not None:
            evaluations[(sub.practical, sub.participant)] = evaluation
            result.reused += 1
        elif only in (None, sub.practical) and student in (None, sub.participant):
            missing.append(spec)
    return missing


def _with_student_data(specs: list[JobSpec], pid: str, assignment: Assignment, data_dir: Path, out: OutLayout,
                       static: bool) -> list[JobSpec]:
    """The notebook's data is prepared only when something of this practical is going to run."""
    if not specs or static:
        return specs
    dest = out.student_data(pid)
    student_data = _student_data(assignment, data_dir, dest, specs[0].parameters)
    return [replace(spec, student_data_dir=student_data) for spec in specs]


def _record(event: Started | Finished, store: Store, evaluations: dict, result: BatchResult,
            shown: BatchProgress, final: "_Policy | None" = None) -> None:
    """One event of the pool or cluster: a finished evaluation is stored before anything else happens."""
    submission = event.item.submission
    if isinstance(event, Started):
        shown.job_started(submission)
        return
    if event.result is not None:
        store.put_evaluation(event.result)   # one transaction: a kill a moment later loses nothing
        evaluations[(submission.practical, submission.participant)] = event.result
        result.executed += 1
    else:
        result.warnings.append(f"{submission.practical} {submission.participant}: not graded ({event.error}); "
                               "run the same command again to grade it")
    score = final.score(event.result) if final is not None and event.result is not None else None
    shown.job_finished(submission, event.result, event.error, score=score)


@dataclass(frozen=True)
class _Dispatch:
    """Where the jobs run: in this process (static), on the local pool, or on a Dask cluster."""

    runner_name: str
    runner_options: dict[str, Any]
    workers: int | None
    gpus: Any
    dask: str | None
    static: bool
    mark: str
    _made: dict = field(default_factory=dict)   # the pool's runner, made once (by warm_up or the first event)

    def warm_up(self, first: JobSpec | None) -> None:
        """Let the pool's runner start what the first runs need (fork servers), in the background."""
        if first is None or self.static or self.dask:
            return
        runner, workers, _ = self._pool_runner()
        runner.warm_up(first.assignment.preload, dict(first.env), workers)

    def close(self) -> None:
        if self._made:
            self._made["pool"][0].close()

    def _pool_runner(self):
        """(runner, workers, slots) for the local pool: the runner decides how its jobs get GPUs (pool slots as
        CUDA_VISIBLE_DEVICES, or its own options)."""
        if not self._made:
            kind = runner_class(self.runner_name)
            options, slots = kind.assign_gpus(self.runner_options, self.gpus, self.workers)
            workers = self.workers or kind.default_workers(options, slots)
            self._made["pool"] = (get_runner(self.runner_name, **options), workers, slots)
        return self._made["pool"]

    def events(self, todo: list[JobSpec]) -> Iterator[Started | Finished]:
        if self.static or not todo:   # inspection only: nothing to wait for, no runner, no threads
            return (Finished(spec, run_job(spec, None)) for spec in todo)
        if self.dask:
            return self._on_dask(todo)
        return self._on_pool(todo)

    def _on_pool(self, todo: list[JobSpec]) -> Iterator[Started | Finished]:
        runner, workers, slots = self._pool_runner()

        def stop_running() -> None:
            runner.stop()
            stop_marked(self.mark, self.runner_name)

        pool = LocalPool(workers, slots, stop_running=stop_running)
        try:
            yield from pool.run(todo, lambda spec, slot: run_job(_on_gpu(spec, slot), runner))
        finally:
            runner.close()   # what it kept warm for the batch (fork servers, a started container)

    def _on_dask(self, todo: list[JobSpec]) -> Iterator[Started | Finished]:
        options, gpu = runner_class(self.runner_name).cluster_options(self.runner_options, self.gpus)
        with DaskDispatcher(self.dask, runner_name=self.runner_name, runner_options=options, gpu=gpu,
                            mark=self.mark) as cluster:
            yield from cluster.run(todo)


def _on_gpu(spec: JobSpec, slot: str | None) -> JobSpec:
    return spec if slot is None else replace(spec, env={**spec.env, "CUDA_VISIBLE_DEVICES": slot})


def _student_data(assignment: Assignment, data_dir: Path, dest: Path, parameters: dict) -> Path:
    """The data a notebook may read (never evaluation labels), written once per batch."""
    if assignment.student_data is None:
        return data_dir
    if not (dest / ".complete").exists():
        dest.mkdir(parents=True, exist_ok=True)
        try:   # in a child interpreter, as the reference is built: a hook may import torch, the grader never does
            call_hook(assignment.student_data, Path(data_dir), Path(dest), dict(parameters))
        except (OSError, ValueError) as err:
            raise GraderError(f"cannot prepare the data of {assignment.id} from {data_dir}: {err}") from err
        (dest / ".complete").write_text("ok")
    return dest


@dataclass
class _Policy:
    """Course policy (lateness, overrides) applied to one evaluation: the score students are given. Each
    evaluation is scored once (kept by its job key): the progress line and the batch's scores are the same."""

    course: Course
    intake: _Intake
    lms: Lms
    students: list[Student]
    overrides: dict

    def __post_init__(self) -> None:
        self.names = {(s.practical, s.participant): s.full_name for subs in self.intake.submissions.values()
                      for s in subs}
        self.people = {(pid, participant): student for student in self.students
                       for pid, participant in student.participants.items()}
        self.given: dict[tuple[str, str, str], PracticalScore] = {}

    def score(self, evaluation: Evaluation, student: Student | None = None) -> PracticalScore | None:
        key = (evaluation.practical, evaluation.participant)
        student = student or self.people.get(key)
        if student is None:
            return None
        done = (*key, evaluation.job_key)
        if done not in self.given:
            roster = self.lms.rosters.get(evaluation.practical)
            row = roster.rows.get(evaluation.participant) if roster else None
            self.given[done] = practical_score(evaluation, student, evaluation.participant,
                                               self.names.get(key, student.full_name), row, self.course,
                                               self.overrides.get(key))
        return self.given[done]


def _scores(policy: _Policy, assignments: dict[str, Assignment], students: list[Student],
            evaluations: dict[tuple[str, str], Evaluation]) -> list[PracticalScore]:
    scores = []
    for student in students:
        for pid, participant in student.participants.items():
            evaluation = evaluations.get((pid, participant))
            if evaluation is None:
                scores.append(missing_score(pid, participant, student, assignments[pid].max_points))
                continue
            scores.append(policy.score(evaluation, student))
    return sorted(scores, key=lambda s: (s.practical, s.full_name.casefold(), s.participant))
