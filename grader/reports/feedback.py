"""Feedback for students after grading: one HTML page per (practical, participant), the executed notebook
rendered beside it, and the short plain-text comment Moodle shows.

Written in the course's language. A hidden check never appears by name, input, threshold or reason:
hidden checks are summed into one "hidden checks: x/y" line.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from functools import lru_cache
from decimal import Decimal
from pathlib import Path
from string import Template

from grader.notebook_tags import INJECTED_TAG, PAPERMILL_PARAMETERS_TAG
from grader.i18n import msg, render
from grader.records import CheckResult, PracticalScore, Reason

# Inline, so an installed package needs no data file for it; one look for feedback and the report.
PAGE = Template("""<!DOCTYPE html>
<html lang="$lang">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 2em auto;
       max-width: 1100px; padding: 0 1em; color: #202124; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .6em 0; } th, td { padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f1f3f4; } tr + tr td { border-top: 1px solid #eee; }
tr.pass { background: #e6f4ea; } tr.partial { background: #fff4e5; } tr.fail { background: #fdecea; }
tr.hidden { background: #f1f3f4; font-style: italic; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.grid { display: flex; flex-wrap: wrap; gap: 1em; } .grid figure { margin: 0; }
.muted { color: #5f6368; } img { max-width: 100%; }
pre { background: #f8f9fa; padding: .5em; overflow-x: auto; }
</style>
</head>
<body>
$body
</body>
</html>
""")
_POLICY_CODES = ("score_",)       # late, override and missing reasons have lines of their own


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


def comment_text(score: PracticalScore, lang: str) -> str:
    """The Moodle 'Feedback comments' cell: score, reason, every public check, the hidden total."""
    # starts with a word: a leading "-" would make Moodle 5.1 add an apostrophe it then shows
    parts = [render(msg("feedback_comment_no_score") if score.score is None else
                    msg("feedback_comment_score", score=score.score, max_score=score.max_score), lang)]
    if score.reason is not None:
        parts.append(render(score.reason, lang))
    public, hidden = split_hidden(score.checks)
    for check in public:
        mark = "OK" if check.passed else "X"
        parts.append(f"{mark} {check.check_id} {check.points}/{check.max_points}"
                     + ("" if check.passed else f": {render(check.reason, lang)}"))
    if hidden is not None:
        parts.append(render(msg("feedback_hidden", points=hidden.points, max_points=hidden.max_points), lang))
    return " | ".join(parts)


def write_feedback(out_dir: Path, scores: list[PracticalScore], lang: str) -> tuple[list[Path], list[str]]:
    """``<out>/feedback/<practical>/<participant>.html`` for every score, and ``...-notebook.html``
    beside it when the grader executed the notebook. Returns (pages written, warnings)."""
    pages, warnings = [], []
    for score in scores:
        folder = out_dir / "feedback" / score.practical
        folder.mkdir(parents=True, exist_ok=True)
        executed = out_dir / "work" / score.practical / score.participant / "executed.ipynb"
        notebook_page = folder / f"{score.participant}-notebook.html"
        notebook_note: Reason | None = msg("feedback_no_notebook")
        error_cell = None
        if executed.is_file():
            try:
                nb = _read(executed)
                error_cell = _first_error_cell(nb)
                if not _up_to_date(notebook_page, executed):   # a re-run batch renders only what changed
                    notebook_page.write_text(html_page(f"{score.practical} · {score.participant}",
                                                       render_notebook(nb), lang), encoding="utf-8")
                pages.append(notebook_page)
                notebook_note = None
            except Exception as err:  # nbconvert on a student's odd notebook: lose the rendering, not the page
                warnings.append(f"feedback: {executed} could not be rendered ({type(err).__name__}: {err})")
                notebook_note = msg("feedback_notebook_failed")
        page = folder / f"{score.participant}.html"
        link = notebook_page.name if notebook_note is None else None
        page.write_text(feedback_page(score, lang, link, notebook_note, error_cell), encoding="utf-8")
        pages.append(page)
    return pages, warnings


def feedback_page(score: PracticalScore, lang: str, notebook_link: str | None = None,
                  notebook_note: Reason | None = None, error_cell: dict[str, int] | None = None) -> str:
    esc = html.escape
    t = lambda code, **params: esc(render(msg(code, **params), lang))  # noqa: E731
    facts = [t("feedback_student", name=score.full_name, participant=score.participant),
             t("feedback_no_score") if score.score is None
             else f"<strong>{t('feedback_score', score=score.score, max_score=score.max_score)}</strong>",
             t(f"feedback_status_{score.status}")]
    if score.reason is not None and not score.reason.code.startswith(_POLICY_CODES):
        facts.append(t("feedback_runner", reason=render(score.reason, lang)))
    elif error_cell is not None and score.status in ("error", "timeout"):
        facts.append(t("feedback_error_cell", number=error_cell))
    if score.override_reason:
        facts.append(t("feedback_override", reason=score.override_reason))
    if score.status != "missing":
        facts.append(_lateness(score, lang))
    public, hidden = split_hidden(score.checks)
    rows = "".join(_check_row(check, lang) for check in public)
    if hidden is not None:
        line = t("feedback_hidden", points=hidden.points, max_points=hidden.max_points)
        rows += f"<tr class='hidden'><td colspan='4'>{line}</td></tr>"
    head = "".join(f"<th>{t(f'student_col_{c}')}</th>" for c in ("check", "points", "status", "reason"))
    table = f"<h2>{t('feedback_checks')}</h2><table><tr>{head}</tr>{rows}</table>" if rows else ""
    notebook = (f"<p><a href='{esc(notebook_link)}'>{t('feedback_notebook_link')}</a></p>" if notebook_link
                else f"<p>{esc(render(notebook_note, lang))}</p>" if notebook_note else "")
    body = (f"<h1>{t('feedback_title', practical=score.practical)}</h1>"
            + "".join(f"<p>{fact}</p>" for fact in facts) + table + notebook)
    return html_page(render(msg("feedback_title", practical=score.practical), lang), body, lang)


def _lateness(score: PracticalScore, lang: str) -> str:
    if score.late == "yes":
        if score.reason is not None and score.reason.code.startswith("score_late"):
            return html.escape(render(score.reason, lang))
        return html.escape(render(msg("feedback_late_yes", penalty=score.penalty), lang))
    return html.escape(render(msg("feedback_late_unknown" if score.late == "unknown" else "feedback_late_no"), lang))


def _check_row(check: CheckResult, lang: str) -> str:
    state = "pass" if check.passed else ("partial" if check.points > 0 else "fail")
    cells = (check.check_id, f"{check.points}/{check.max_points}", render(msg(f"student_state_{state}"), lang),
             render(check.reason, lang))
    return f"<tr class='{state}'>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"


def render_notebook(nb) -> str:
    """The executed notebook as HTML (nbconvert, sanitised: nothing runs when a reviewer opens it),
    without the grader's probe cell."""
    nb = nb.copy()
    nb.cells = [c for c in nb.cells if not _is_probe_cell(c)]
    body, _ = _exporter().from_notebook_node(nb)
    return body


@lru_cache(maxsize=1)
def _exporter():
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name="basic", sanitize_html=True)


def _read(path: Path):
    import nbformat

    return nbformat.read(path, as_version=4)


def _up_to_date(page: Path, source: Path) -> bool:
    return page.is_file() and page.stat().st_mtime_ns >= source.stat().st_mtime_ns


def _is_probe_cell(cell) -> bool:
    tags = cell.get("metadata", {}).get("tags", [])
    return INJECTED_TAG in tags and PAPERMILL_PARAMETERS_TAG not in tags


def _first_error_cell(nb) -> dict[str, int] | None:
    """The first student cell with an error, named as the student's notebook showed it (In [n])."""
    from grader.execution.prepare import handed_in_ref

    for position, cell in enumerate(nb.cells):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            ref = handed_in_ref(nb.cells, position)
            if ref is not None:
                return ref
    return None


def html_page(title: str, body: str, lang: str) -> str:
    """One self-contained page (styles inline) around ``body``; ``title`` is plain text."""
    return PAGE.substitute(title=html.escape(title), body=body, lang=html.escape(lang))
