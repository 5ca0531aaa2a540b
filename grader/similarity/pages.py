"""Side-by-side HTML pages of flagged pairs, shared fragments highlighted, and an index ranking them.

For instructors only: the pages live under <out>/similarity/ and nothing links them from a student's
feedback. Every text taken from a notebook is HTML-escaped.
"""
from __future__ import annotations

import re
from pathlib import Path

from copydetect.utils import highlight_overlap
from markupsafe import Markup

from grader.reports.templates import render_page
from grader.similarity.compare import Match
from grader.similarity.table import FlaggedPair

PAGES_DIR = "similarity"
# in English, as the rest of what similarity writes for the instructor
LANG = "en"


def page_path(out_dir: Path, practical: str, a: str, b: str) -> Path:
    return Path(out_dir) / PAGES_DIR / practical / f"{_safe(a)}--{_safe(b)}.html"


def write_pair_page(path: Path, practical: str, found: Match) -> Path:
    """One pair's page: both students' code side by side, the shared fragments marked."""
    columns = []
    for doc, spans, share in ((found.a, found.spans[0], found.shares[0]), (found.b, found.spans[1], found.shares[1])):
        # copydetect escapes the code itself and adds only the marks around shared fragments
        marked, _ = highlight_overlap(doc.code, spans, "<mark>", "</mark>", escape_html=True)
        columns.append({"key": doc.key, "name": doc.name, "share": f"{share:.0%}", "code": Markup(marked)})
    return _write(path, "similarity_pair.html.j2", title=f"Similarity {practical} {found.a.key} {found.b.key}",
                  practical=practical, a=found.a.key, b=found.b.key, score=f"{found.score:.3f}",
                  shared_lines=found.shared_lines, columns=columns)


def write_index(out_dir: Path, pairs: list[FlaggedPair], threshold: float) -> Path:
    """<out>/similarity/index.html: every flagged pair, best first, linking its page."""
    # the index sits in <out>/similarity/, pages are named relative to <out>
    rows = [{"pair": p, "score": f"{p.score:.3f}", "link": p.page.removeprefix(PAGES_DIR + "/") if p.page else ""}
            for p in pairs]
    return _write(Path(out_dir) / PAGES_DIR / "index.html", "similarity_index.html.j2", title="Similar submissions",
                  rows=rows, threshold=f"{threshold:g}")


def _write(path: Path, template: str, **context) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # the shared shell: these pages show students' code, so they get the same policy as feedback
    path.write_text(render_page(template, lang=LANG, **context), encoding="utf-8")
    return path


def _safe(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", key).strip("._") or "_"
