"""Course policy applied to evaluations: lateness, overrides, missing hand-ins -> PracticalScore.

Pure functions of stored evaluations and the course file, so a changed policy or a new override
re-scores a batch without running a single notebook again.
"""
from __future__ import annotations

from decimal import Decimal

from grader.course import Course
from grader.editions import not_offered
from grader.i18n import msg
from grader.overrides import Override
from grader.prose_numbers import points
from grader.records import CourseGrade, Evaluation, PracticalScore, RosterRow, Student
from grader.scoring import apply_late_policy, course_grade, late_status, scale, sum_points


def missing_score(practical: str, participant: str, student: Student, max_score: Decimal) -> PracticalScore:
    return PracticalScore(practical=practical, participant=participant, full_name=student.full_name,
                          status="missing", score=None, max_score=max_score, late="no",
                          reason=msg("score_missing"), email=student.email)


def practical_score(evaluation: Evaluation, student: Student, participant: str, full_name: str,
                    row: RosterRow | None, course: Course, override: Override | None) -> PracticalScore:
    max_score = evaluation.max_points
    score = sum_points(evaluation.checks, max_score)
    late, days = late_status(row.submitted_at if row else None, course.deadline)
    score, penalty = apply_late_policy(score, late, days, course)
    reason = evaluation.reason
    if late == "yes":
        code = "score_late_rejected" if course.late_policy == "reject" else "score_late_penalty"
        reason = msg(code, days=days, penalty=points(penalty, "en"))   # written as points are; localized when read
    elif late == "unknown" and reason is None:
        reason = msg("score_late_unknown")
    status, override_reason = evaluation.status, None
    if override is not None:
        status, score, override_reason = "overridden", override.score, override.reason
        reason = msg("score_overridden", reason=override.reason)
    return PracticalScore(practical=evaluation.practical, participant=participant, full_name=full_name,
                          status=status, score=score, max_score=max_score, late=late, reason=reason,
                          checks=evaluation.checks, duration_s=evaluation.duration_s, sha256=evaluation.sha256,
                          email=student.email, penalty=penalty, override_reason=override_reason,
                          notes=evaluation.notes + _offered(evaluation, course))


def _offered(evaluation: Evaluation, course: Course) -> tuple:
    """Course policy, so a changed ``editions`` re-scores without re-running: a note, never a point."""
    config = course.practicals.get(evaluation.practical)
    note = not_offered(evaluation.notes, config.editions if config else None)
    return () if note is None else (note,)


def course_grades(course: Course, students: list[Student], scores: list[PracticalScore]) -> list[CourseGrade]:
    """Each student's course grade: practicals on the course scale, best keep_best, rounded up."""
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
