"""Side-by-side HTML pages of flagged pairs, shared fragments highlighted, and an index ranking them.

For instructors only: the pages live under <out>/similarity/ and nothing links them from a student's
feedback. Every text taken from a notebook is HTML-escaped. Written in the course language, practicals by
their titles, numbers as the language writes them.
"""
from __future__ import annotations

import re
from pathlib import Path

from copydetect.utils import highlight_overlap
from markupsafe import Markup

from grader.i18n import msg, render
from grader.prose_numbers import number, percent
from grader.reports.templates import render_page
from grader.similarity.compare import Match
from grader.similarity.table import FlaggedPair

PAGES_DIR = "similarity"


def page_path(out_dir: Path, practical: str, a: str, b: str) -> Path:
    return Path(out_dir) / PAGES_DIR / practical / f"{_safe(a)}--{_safe(b)}.html"


def write_pair_page(path: Path, practical: str, found: Match, lang: str = "en") -> Path:
    """One pair's page: both students' code side by side, the shared fragments marked. ``practical``: its
    name as the instructor reads it (its title)."""
    said = lambda code, **params: render(msg(code, **params), lang)  # noqa: E731
    columns = []
    for doc, spans, share in ((found.a, found.spans[0], found.shares[0]), (found.b, found.spans[1], found.shares[1])):
        # copydetect escapes the code itself and adds only the marks around shared fragments
        marked, _ = highlight_overlap(doc.code, spans, "<mark>", "</mark>", escape_html=True)
        columns.append({"key": doc.key, "name": doc.name, "share": said("similarity_pair_share",
                                                                         share=percent(share, lang)),
                        "code": Markup(marked)})
    pair = {"practical": practical, "a": found.a.key, "b": found.b.key}
    return _write(path, "similarity_pair.html.j2", lang, title=said("similarity_pair_title", **pair),
                  heading=said("similarity_pair_heading", **pair),
                  summary=said("similarity_pair_score", score=number(f"{found.score:.3f}", lang),
                               shared=found.shared_lines),
                  columns=columns)


def write_index(out_dir: Path, pairs: list[FlaggedPair], threshold: float, lang: str = "en",
                names: dict[str, str] | None = None) -> Path:
    """<out>/similarity/index.html: every flagged pair, best first, linking its page; ``names``: practical id
    -> its title."""
    said = lambda code, **params: render(msg(code, **params), lang)  # noqa: E731
    # the index sits in <out>/similarity/, pages are named relative to <out>
    rows = [{"pair": p, "practical": (names or {}).get(p.practical, p.practical),
             "score": number(f"{p.score:.3f}", lang),
             "link": p.page.removeprefix(PAGES_DIR + "/") if p.page else ""} for p in pairs]
    columns = [said(code) for code in ("report_col_practical",)] + ["a", "b"] + [
        said(code) for code in ("report_col_score", "report_col_shared", "similarity_col_page")]
    return _write(Path(out_dir) / PAGES_DIR / "index.html", "similarity_index.html.j2", lang,
                  title=said("similarity_index_title"), rows=rows, columns=columns,
                  count=said("similarity_index_count", count=len(rows), threshold=number(f"{threshold:g}", lang)),
                  side_by_side=said("report_side_by_side"))


def _write(path: Path, template: str, lang: str, **context) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # the shared shell: these pages show students' code, so they get the same policy as feedback
    path.write_text(render_page(template, lang=lang, note=render(msg("similarity_note"), lang), **context),
                    encoding="utf-8")
    return path


def _safe(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", key).strip("._") or "_"
