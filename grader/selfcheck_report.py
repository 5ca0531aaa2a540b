"""What a self-check found and how students read it: the records (CheckLine, SelfCheck, Deadline) and
their rendering as rows for the CLI's table, plain text for a terminal and an HTML fragment for a notebook.

Shared by ``grader check`` and ``grader.selfcheck()`` (grader/selfcheck.py); it runs nothing, plans nothing
and never names a hidden check (the report holds only their count and points).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from grader.i18n import msg, render
from grader.prose_numbers import points, points_of
from grader.records import Reason
from grader.loaded_assignment import Titles

SEED_TIMEZONE = "Europe/Madrid"          # the seed course's deadline: 31 March 23:59, Madrid time
ZERO = Decimal("0")


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
    edition: Reason | None = None    # which edition (PyTorch, Keras) was judged, for a practical with two
    titles: Titles | None = None     # what students read instead of ids (the ids themselves when absent)

    def named(self, line: "CheckLine", lang: str) -> str:
        return (self.titles or Titles(self.practical)).of_check(line.check_id, lang)

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


def default_deadline(now: datetime) -> datetime:
    """The seed course's deadline in the current academic year (September to August)."""
    zone = ZoneInfo(SEED_TIMEZONE)
    local = now.astimezone(zone)
    year = local.year + 1 if local.month >= 9 else local.year
    return datetime(year, 3, 31, 23, 59, tzinfo=zone)


# --- presentation: the same rows for the terminal, the notebook and the CLI's table --------------------
def table_rows(report: SelfCheck, lang: str) -> list[tuple[str, str, str, str]]:
    """(check, points, status, reason) per public check, each named by its title."""
    return [(report.named(line, lang), _points(line, lang), render(msg(f"student_state_{line.state}"), lang),
             render(line.reason, lang)) for line in report.lines]


def headers(lang: str) -> tuple[str, str, str, str]:
    return tuple(render(msg(f"student_col_{col}"), lang) for col in ("check", "points", "status", "reason"))


def summary_lines(report: SelfCheck, lang: str) -> list[str]:
    """What follows the table: the edition, run problems, the estimate, hidden checks, what to fix first,
    the deadline."""
    lines = [render(report.edition, lang)] if report.edition is not None else []
    lines += [render(problem, lang) for problem in report.problems]
    judged_max = sum((line.max_points for line in report.judged), ZERO)
    lines.append(render(msg("student_estimate", points=points(report.estimated, lang), judged=points(judged_max, lang),
                            max_points=points(report.max_points, lang)), lang))
    waiting = [line for line in report.lines if line.points is None]
    if waiting:
        lines.append(render(msg("student_not_judged", count=len(waiting),
                                points=points(sum((line.max_points for line in waiting), ZERO), lang)), lang))
    if report.hidden_count:
        lines.append(render(msg("student_hidden", count=report.hidden_count,
                                points=points(report.hidden_points, lang)), lang))
    first = report.fix_first
    if report.blocker is not None:
        lines.append(render(msg("student_fix_first_blocker", reason=report.blocker), lang))
    else:
        lines.append(render(msg("student_fix_first", check=report.named(first, lang),
                                lost=points(first.max_points - first.points, lang),
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


def _points(line: CheckLine, lang: str) -> str:
    if line.points is None:
        return "-/" + points(line.max_points, lang)
    return points_of(line.points, line.max_points, lang)


def title(report: SelfCheck, lang: str) -> str:
    practical = (report.titles or Titles(report.practical)).of_practical(lang)
    return render(msg("student_title", practical=practical, source=report.source), lang)


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
    # start-up: jinja2 only when the student's table is shown as HTML
    from grader.reports.templates import render_page

    return render_page("selfcheck.html.j2", title=title(report, lang), headers=headers(lang),
                       rows=[{"colour": _COLOURS[line.state], "cells": row}
                             for line, row in zip(report.lines, table_rows(report, lang))],
                       notes=summary_lines(report, lang))
