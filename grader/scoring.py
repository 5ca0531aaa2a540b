"""Grade arithmetic: points of a practical, lateness, the course scale, best-k and rounding up.

Decimal only: a float passed in is a bug and raises TypeError rather than being rounded silently.
Pure functions; they read nothing and write nothing.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from grader.course import Course
from grader.i18n import msg, render
from grader.prose_numbers import grade
from grader.records import CheckResult

ZERO = Decimal("0")
_DAY = timedelta(days=1)
_SEPARATOR = " · "


def _check(*values: Decimal) -> None:
    for value in values:
        if not isinstance(value, Decimal):
            raise TypeError(f"grades must be Decimal, got {type(value).__name__} {value!r}")


def round_up(value: Decimal, step: Decimal) -> Decimal:
    """The smallest multiple of ``step`` that is >= ``value``, written with ``step``'s exponent."""
    _check(value, step)
    if step <= 0:
        raise ValueError(f"round_up step must be positive, not {step}")
    return _ceil_quotient(value, step) * step


def _ceil_quotient(value: Decimal, divisor: Decimal) -> Decimal:
    """ceil(value / divisor) computed exactly: divmod never rounds, a division may."""
    quotient, remainder = divmod(value, divisor)   # quotient truncated toward zero
    if remainder > 0:
        quotient += 1
    return quotient.quantize(Decimal(1))


def sum_points(checks: Iterable[CheckResult], max_score: Decimal) -> Decimal:
    """Points of all checks, never below 0 nor above the practical's maximum."""
    _check(max_score)
    total = ZERO
    for check in checks:
        _check(check.points)
        total += check.points
    return min(max(total, ZERO), max_score)


def late_status(submitted_at: datetime | None, deadline: datetime) -> tuple[str, int]:
    """("no"|"yes"|"unknown", days late); a day late is any started day after the deadline."""
    if submitted_at is None:
        return "unknown", 0
    if submitted_at.tzinfo is None or deadline.tzinfo is None:
        raise ValueError("submission time and deadline must both be timezone-aware")
    delay = submitted_at - deadline
    if delay <= timedelta(0):
        return "no", 0
    return "yes", -(-delay // _DAY)


def apply_late_policy(score: Decimal, late: str, days_late: int, course: Course) -> tuple[Decimal, Decimal]:
    """(new score, penalty). Unknown lateness is never penalised: the caller reports it instead."""
    _check(score)
    if late != "yes" or days_late <= 0:
        return score, ZERO
    if course.late_policy == "reject":
        return ZERO, score
    if course.late_policy == "penalty":
        penalty = min(course.late_penalty_per_day * days_late, max(score, ZERO))
        return score - penalty, penalty
    raise ValueError(f"unknown late policy {course.late_policy!r}")


def scale(score: Decimal, max_score: Decimal, max_grade: Decimal) -> Decimal:
    """A practical's score on the course scale (0..max_grade)."""
    _check(score, max_score, max_grade)
    if max_score <= 0:
        raise ValueError(f"a practical's maximum score must be positive, not {max_score}")
    if max_score == max_grade:
        return score
    return score * max_grade / max_score


def course_grade(scores: dict[str, Decimal | None], course: Course) -> tuple[Decimal, tuple[str, ...]]:
    """Mean of the best ``keep_best`` scores (course scale; missing = 0), rounded UP, capped at max_grade.

    Returns the grade and the ids of the handed-in practicals that made it, in the order of ``scores``.
    """
    handed_in = [(pid, s) for pid, s in scores.items() if s is not None]
    _check(*(s for _, s in handed_in))
    # Stable sort: among equal scores the practical listed first counts.
    best = sorted(handed_in, key=lambda item: item[1], reverse=True)[:course.keep_best]
    total = sum((max(s, ZERO) for _, s in best), ZERO)
    # ceil(total / keep_best / step) exactly, so a mean like 7.775 never loses a digit to division.
    grade = _ceil_quotient(total, course.round_step * course.keep_best) * course.round_step
    if grade > course.max_grade:
        grade = course.max_grade.quantize(course.round_step) if _fits(course) else course.max_grade
    counted = {pid for pid, _ in best}
    return grade, tuple(pid for pid in scores if pid in counted)


def _fits(course: Course) -> bool:
    """Whether max_grade can be written with round_step's decimals (10 with 0.1 -> 10.0)."""
    return course.max_grade % course.round_step == 0


def feedback_line(scores: dict[str, Decimal | None], counted: tuple[str, ...], lang: str,
                  names: dict[str, str] | None = None) -> str:
    """One line for the gradebook, e.g. "MNIST digits 9.00 (counts) · Text 8.00 (counts) · ImageNet not
    submitted": each practical by its name in ``names`` (its title; the id without one), grades written as
    the language writes a grade (grader/prose_numbers.py)."""
    parts = []
    for pid, score in scores.items():
        name = (names or {}).get(pid, pid)
        if score is None:
            parts.append(render(msg("scoring_feedback_missing", name=name), lang))
        else:
            _check(score)
            code = "scoring_feedback_counted" if pid in counted else "scoring_feedback_not_counted"
            parts.append(render(msg(code, name=name, score=grade(score, lang)), lang))
    return _SEPARATOR.join(parts)
