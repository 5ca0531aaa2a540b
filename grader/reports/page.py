"""The Content-Security-Policy every HTML page of the grader carries (grader/templates/base.html.j2 writes it).

Pages show what students wrote (names, code, outputs). Escaping and sanitising are the first wall; the
policy is the second: should anything slip through, the browser still runs no script and fetches
nothing, so a student's page cannot act on whoever opens it (instructor or student).
"""
from __future__ import annotations

# default-src 'none' also blocks fetching fonts, frames, media and connections; images only inline
# (the report's plots, a notebook's outputs), styles only inline (the page's own <style>).
CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'none'; "
       "base-uri 'none'; form-action 'none'")
