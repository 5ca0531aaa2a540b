"""Feedback for students after grading: one HTML page per (practical, participant), the executed notebook
rendered beside it, and the short plain-text comment an LMS shows beside a grade.

Written in the course's language, numbers as it writes them (grader/prose_numbers.py: a grade with two
decimals, points as the point table writes them). A hidden check never appears by name, input, threshold
or reason: hidden checks are summed into one "hidden checks: x/y" line.
"""
from __future__ import annotations

import sys
from contextlib import nullcontext
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from markupsafe import Markup

from grader.execution.prepare import handed_in_ref
from grader.i18n import code_html, msg, render, render_html
from grader.loaded_assignment import Titles
from grader.notebooks import read_notebook
from grader.out_layout import OutLayout
from grader.prose_numbers import grade_of, points, points_of
from grader.records import CheckResult, PracticalScore, Reason
from grader.reports.notebook_page import not_rendered_page, page_state
from grader.reports.render_worker import LimitedRenderer
from grader.reports.templates import render_page

_POLICY_CODES = ("score_",)       # late, override and missing reasons have lines of their own
# statuses whose reason the page and the comment already state elsewhere (the "executed" check's row)
_SAID_BY_A_CHECK = ("not_executed", "untouched")


@dataclass(frozen=True)
class HiddenTotal:
    count: int
    points: Decimal
    max_points: Decimal


def split_hidden(checks: tuple[CheckResult, ...]) -> tuple[list[CheckResult], HiddenTotal | None]:
    """The public checks, and the hidden ones as a single total (None when there are none)."""
    public = [c for c in checks if not c.hidden]
    hidden = [c for c in checks if c.hidden]
    if not hidden:
        return public, None
    return public, HiddenTotal(len(hidden), sum((c.points for c in hidden), Decimal("0")),
                               sum((c.max_points for c in hidden), Decimal("0")))


def comment_text(score: PracticalScore, lang: str, titles: Titles | None = None,
                 on_sheet: tuple[Decimal, Decimal] | None = None) -> str:
    """The short plain-text comment beside a grade: score, reason, every public check, the hidden total.
    ``on_sheet``: (grade, maximum) as the LMS stores the grade; on another scale than the practical's (an
    assignment out of 100), the comment gives that grade first, as the LMS shows it, and the practical's beside
    it, which its checks' points add up to."""
    titles = titles or Titles(score.practical)
    # starts with a word: a leading "-" makes a spreadsheet (and Moodle 5.1) add an apostrophe it then shows
    parts = [render(_comment_score(score, lang, on_sheet), lang)]
    if score.reason is not None and score.status not in _SAID_BY_A_CHECK:
        parts.append(render(score.reason, lang))
    public, hidden = split_hidden(score.checks)
    for check in public:
        mark = "OK" if check.passed else "X"
        parts.append(f"{mark} {titles.of_check(check.check_id, lang)} {points_of(check.points, check.max_points, lang)}"
                     + ("" if check.passed else f": {render(check.reason, lang)}"))
    if hidden is not None:
        parts.append(render(_hidden(hidden, lang), lang))
    return " | ".join(parts)


def _comment_score(score: PracticalScore, lang: str, on_sheet: tuple[Decimal, Decimal] | None) -> Reason:
    if score.score is None:
        return msg("feedback_comment_no_score")
    practical = grade_of(score.score, score.max_score, lang)
    if on_sheet is None or on_sheet[0] is None or on_sheet[1] in (None, score.max_score):
        return msg("feedback_comment_score", score=practical)
    return msg("feedback_comment_score_on_sheet", score=grade_of(on_sheet[0], on_sheet[1], lang), practical=practical)


def _hidden(hidden: HiddenTotal, lang: str) -> Reason:
    return msg("feedback_hidden", points=points_of(hidden.points, hidden.max_points, lang))


def write_feedback(out: OutLayout | Path, scores: list[PracticalScore], lang: str,
                   renderer: LimitedRenderer | None = None,
                   titles: dict[str, Titles] | None = None, hide: list[Path] = ()) -> tuple[list[Path], list[str]]:
    """Each score's feedback page and, when the grader executed the notebook, its notebook page beside it, where
    ``out`` (grader/out_layout.py) puts them. Returns (pages written, warnings).
    Notebook pages are rendered by ``renderer`` (a limited child process; one is made when not given).
    ``titles``: per practical, what students read instead of ids (the ids themselves when absent);
    ``hide``: host folders besides ``out_dir`` (the course data) that no notebook page may show."""
    out = out if isinstance(out, OutLayout) else OutLayout(Path(out))
    pages, warnings = [], []
    titles = titles or {}
    # the worker process starts only if a page needs rendering; a renderer passed in stays open
    with nullcontext(renderer) if renderer else LimitedRenderer() as rendering:
        for score in scores:
            page = out.feedback_page(score.practical, score.participant)
            page.parent.mkdir(parents=True, exist_ok=True)
            named = titles.get(score.practical) or Titles(score.practical)
            executed = out.executed(score.practical, score.participant)
            notebook_page = out.notebook_page(score.practical, score.participant)
            notebook_note: Reason | None = msg("feedback_no_notebook")
            error_cell = None
            if executed.is_file():
                title = f"{named.of_practical(lang)} · {score.full_name}"
                notebook_note = _notebook_page(executed, notebook_page, title, lang, rendering, warnings,
                                               hide=_host_paths([out.root, *hide]))
                error_cell = _error_cell(executed)
                pages.append(notebook_page)
            link = notebook_page.name if notebook_note is None else None
            page.write_text(feedback_page(score, lang, link, notebook_note, error_cell, named), encoding="utf-8")
            pages.append(page)
    return pages, warnings


def _host_paths(folders: list[Path]) -> list[str]:
    """The grader's own folders (and its Python's, in a virtual environment), as a notebook's outputs
    may print them: never shown to a student."""
    found = {str(Path(f)) for f in folders} | {str(Path(f).resolve()) for f in folders}
    if sys.prefix != sys.base_prefix:
        found.add(sys.prefix)
    return sorted(found, key=len, reverse=True)


def _notebook_page(executed: Path, page: Path, title: str, lang: str, renderer: LimitedRenderer,
                   warnings: list[str], hide: list[str] = ()) -> Reason | None:
    """Render ``page`` unless this renderer already did (a re-run pays nothing, not even for a page that
    failed). None when the page shows the notebook, else the note for the feedback page."""
    state = page_state(page, lang) if _up_to_date(page, executed) else None
    if state is None:
        why = renderer.render(executed, page, title, lang, hide=list(hide))
        if why is None:
            return None
        warnings.append(f"feedback: {executed} could not be rendered ({render(why, 'en')})")
        # a small page in its place says why, and tells a re-run not to try again
        page.write_text(not_rendered_page(title, render(why, lang), lang), encoding="utf-8")
        state = "not-rendered"
    return None if state == "rendered" else msg("feedback_notebook_failed")


def _error_cell(executed: Path) -> int | None:

    nb, _ = read_notebook(executed)
    if nb is None:   # an unreadable or refused copy has no error cell to point at; its page says why
        return None
    try:
        return _first_error_cell(nb)
    except Exception:  # outputs that are not output records: nothing to point at either
        return None


def feedback_page(score: PracticalScore, lang: str, notebook_link: str | None = None,
                  notebook_note: Reason | None = None, error_cell: dict[str, int] | None = None,
                  titles: Titles | None = None) -> str:
    titles = titles or Titles(score.practical)
    t = lambda code, **params: _html(msg(code, **params), lang)  # noqa: E731
    # (text, shown strong): catalogue texts, already escaped with code names as <code>
    facts = [(t("feedback_student", name=score.full_name, participant=score.participant), False),
             (t("feedback_no_score"), False) if score.score is None
             else (t("feedback_score", score=grade_of(score.score, score.max_score, lang)), True),
             (t(f"feedback_status_{score.status}"), False)]
    if (score.reason is not None and not score.reason.code.startswith(_POLICY_CODES)
            and score.status not in _SAID_BY_A_CHECK):
        facts.append((t("feedback_runner", reason=render(score.reason, lang)), False))
    elif error_cell is not None and score.status in ("error", "timeout"):
        facts.append((t("feedback_error_cell", number=error_cell), False))
    if score.override_reason:
        facts.append((t("feedback_override", reason=score.override_reason), False))
    if score.status != "missing":
        facts.append((_lateness(score, lang), False))
    public, hidden = split_hidden(score.checks)
    practical = titles.of_practical(lang)
    return render_page(
        "feedback.html.j2", lang=lang,
        title=render(msg("feedback_title", practical=practical), lang).replace("`", ""),
        heading=t("feedback_title", practical=practical), facts=facts,
        checks_heading=t("feedback_checks"),
        columns=[t(f"student_col_{c}") for c in ("check", "points", "status", "reason")],
        rows=[_check_row(check, lang, titles) for check in public],
        hidden=None if hidden is None else _html(_hidden(hidden, lang), lang),
        # what intake and the run noticed (which file was graded, a parameter set again, the edition followed)
        notes_heading=t("feedback_notes"), notes=[_html(n, lang) for n in score.notes],
        notebook_link=notebook_link, notebook_link_text=t("feedback_notebook_link"),
        notebook_note=_html(notebook_note, lang) if notebook_note else None)


def _html(reason: Reason | None, lang: str) -> Markup:
    """A catalogue text as safe HTML for a template: escaped, code names as <code>."""
    return Markup(render_html(reason, lang))


def _lateness(score: PracticalScore, lang: str) -> Markup:
    if score.late == "yes":
        if score.reason is not None and score.reason.code.startswith("score_late"):
            return _html(score.reason, lang)
        return _html(msg("feedback_late_yes", penalty=points(score.penalty, lang)), lang)
    return _html(msg("feedback_late_unknown" if score.late == "unknown" else "feedback_late_no"), lang)


def _check_row(check: CheckResult, lang: str, titles: Titles) -> dict:
    """One public check's row: its state (the row's class) and its cells, each safe HTML."""
    state = "pass" if check.passed else ("partial" if check.points > 0 else "fail")
    cells = (Markup(code_html(titles.of_check(check.check_id, lang))), points_of(check.points, check.max_points, lang),
             _html(msg(f"student_state_{state}"), lang), _html(check.reason, lang))
    return {"state": state, "cells": cells}


def _up_to_date(page: Path, source: Path) -> bool:
    return page.is_file() and page.stat().st_mtime_ns >= source.stat().st_mtime_ns


def _first_error_cell(nb) -> dict[str, int] | None:
    """The first student cell with an error, named as the student's notebook showed it (In [n])."""
    for position, cell in enumerate(nb.cells):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            ref = handed_in_ref(nb.cells, position)
            if ref is not None:
                return ref
    return None
