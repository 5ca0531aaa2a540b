"""Text that goes into a cell Moodle imports (worksheet feedback, gradebook feedback, new worksheets).

Moodle 5.1 stores feedback as HTML, parses CSV with PHP's fgetcsv (a backslash before a quote escapes
it, so one student's error text could make Moodle refuse everyone's rows) and puts an apostrophe
before a cell starting with = + - @. This module makes any text safe for all three; it decides no
grade and never adds a character Moodle would show.
"""
from __future__ import annotations

import html

# Moodle's CSV-injection guard looks at the first character only (and tabs/line breaks).
_FORMULA_STARTS = {"=": "&#61;", "+": "&#43;", "-": "&#45;", "@": "&#64;"}


def moodle_cell(text: str | None) -> str:
    """Plain text -> the HTML Moodle should store and show as that same text.

    ``<``, ``>`` and ``&`` become entities; every backslash becomes ``/`` (visible, and a Windows path
    stays readable: ``C:/Users/ana``); line breaks become spaces (one cell, one line); a leading
    = + - @ becomes its HTML entity, which Moodle shows as the character without adding an apostrophe.
    """
    if not text:
        return ""
    clean = " ".join(text.replace("\\", "/").split())
    clean = html.escape(clean, quote=False)
    first = clean[:1]
    return _FORMULA_STARTS[first] + clean[1:] if first in _FORMULA_STARTS else clean

