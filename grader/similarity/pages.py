"""Side-by-side HTML pages of flagged pairs, shared fragments highlighted, and an index ranking them.

For instructors only: the pages live under <out>/similarity/ and nothing links them from a student's
feedback. Every text taken from a notebook is HTML-escaped.
"""
from __future__ import annotations

import re
from html import escape
from pathlib import Path

from copydetect.utils import highlight_overlap

from grader.reports.page import CSP_META
from grader.similarity.compare import Match
from grader.similarity.table import FlaggedPair

PAGES_DIR = "similarity"
_STYLE = """body{font-family:system-ui,sans-serif;margin:1.5em}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:1em}
pre{background:#f6f6f6;padding:.8em;overflow-x:auto;font-size:12px;line-height:1.35}
mark{background:#ffd27f}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
.note{color:#555}"""
_NOTE = ("A flag is a place for a human to look, not a verdict: it never changes a grade. Highlighted: code "
         "found in both, after names, strings, comments and spacing are normalised away; the template's code "
         "and the grader's cells are left out.")


def page_path(out_dir: Path, practical: str, a: str, b: str) -> Path:
    return Path(out_dir) / PAGES_DIR / practical / f"{_safe(a)}--{_safe(b)}.html"


def write_pair_page(path: Path, practical: str, found: Match) -> Path:
    """One pair's page: both students' code side by side, the shared fragments marked."""
    columns = []
    for doc, spans, share in ((found.a, found.spans[0], found.shares[0]), (found.b, found.spans[1], found.shares[1])):
        marked, _ = highlight_overlap(doc.code, spans, "<mark>", "</mark>", escape_html=True)
        columns.append(f"<div><h2>{escape(doc.key)} · {escape(doc.name)}</h2>"
                       f"<p>{share:.0%} of this code is found in the other</p><pre>{marked}</pre></div>")
    body = (f"<h1>{escape(practical)}: {escape(found.a.key)} and {escape(found.b.key)}</h1>"
            f"<p>score {found.score:.3f} · {found.shared_lines} shared lines</p>"
            f"<p class='note'>{escape(_NOTE)}</p><div class='pair'>{''.join(columns)}</div>")
    return _write(path, f"Similarity {practical} {found.a.key} {found.b.key}", body)


def write_index(out_dir: Path, pairs: list[FlaggedPair], threshold: float) -> Path:
    """<out>/similarity/index.html: every flagged pair, best first, linking its page."""
    rows = "".join(
        f"<tr><td>{escape(p.practical)}</td><td>{escape(p.participant_a)} {escape(p.name_a)}</td>"
        f"<td>{escape(p.participant_b)} {escape(p.name_b)}</td><td>{p.score:.3f}</td><td>{p.shared_lines}</td>"
        f"<td>{_link(p.page)}</td></tr>" for p in pairs)
    body = (f"<h1>Similar submissions</h1><p>{len(pairs)} pairs scoring at least {threshold:g}.</p>"
            f"<p class='note'>{escape(_NOTE)}</p><table><tr><th>practical</th><th>a</th><th>b</th>"
            f"<th>score</th><th>shared lines</th><th>page</th></tr>{rows}</table>")
    return _write(Path(out_dir) / PAGES_DIR / "index.html", "Similar submissions", body)


def _link(page: str) -> str:
    if not page:
        return ""
    # the index sits in <out>/similarity/, pages are named relative to <out>
    target = page.removeprefix(PAGES_DIR + "/")
    return f"<a href='{escape(target, quote=True)}'>side by side</a>"


def _write(path: Path, title: str, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # the policy too: these pages show students' code, so they get the same second wall as feedback
    path.write_text(f"<!doctype html><html><head><meta charset='utf-8'>{CSP_META}<title>{escape(title)}</title>"
                    f"<style>{_STYLE}</style></head><body>{body}</body></html>\n", encoding="utf-8")
    return path


def _safe(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", key).strip("._") or "_"
