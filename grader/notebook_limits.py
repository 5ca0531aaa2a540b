"""Structural limits of a student's notebook, counted on its bytes before any object is built.

A notebook is JSON that a student, or the student's code (the executed copy), wrote: 9 MB of ``{}`` are
3 million objects, gigabytes once parsed. The scan walks the tokens with a regular expression, counting
JSON nodes, nesting and cell outputs, keeps nothing but a few counters and the keys of the open
containers, and stops at the first limit passed: only a notebook within every limit is ever parsed, at
a cost the limits bound (README, "Benchmarks"). It never decodes, parses or keeps what it scans.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from grader.i18n import msg
from grader.records import Reason


@dataclass(frozen=True)
class NotebookLimits:
    """Generous for real notebooks (a 50 MB output, 2 MB code cells, Colab and widget metadata, a
    plotly figure), far below what hurts the host (the worst case within them: README)."""

    max_bytes: int = 100 << 20      # the file as handed in (or as the run left it)
    # ... when it holds a character beyond U+FFFF (an emoji): Python then keeps its text at 4 bytes a
    # character, and the text and the parsed strings are held together while it is parsed
    max_wide_bytes: int = 50 << 20
    max_nodes: int = 500_000        # every object, array, key, string, number, true/false/null
    max_depth: int = 64             # containers nested in containers, the notebook itself being 1
    max_outputs: int = 50_000       # output records of all code cells together


LIMITS = NotebookLimits()


@dataclass(frozen=True)
class Breach:
    """The first limit a notebook passes: which one, and the figure it may not exceed."""

    limit: str                      # "nodes", "depth" or "outputs"
    allowed: int


_LIMIT_REASONS = {"nodes": "inspect_limit_nodes", "depth": "inspect_limit_depth", "outputs": "inspect_limit_outputs"}


def too_complex(file: str, breach: Breach) -> Reason:
    """The student's reason: the file, and the limit it passes with its figure."""
    return msg("inspect_too_complex", file=file,
               limit=msg(_LIMIT_REASONS[breach.limit], allowed=breach.allowed).to_json())


_ASTRAL_LEADS = (b"\xf0", b"\xf1", b"\xf2", b"\xf3", b"\xf4")   # UTF-8 of U+10000 and above


def wide_breach(raw: bytes, limits: NotebookLimits = LIMITS) -> bool:
    """True when ``raw`` is above ``max_wide_bytes`` and holds a character beyond U+FFFF."""
    return len(raw) > limits.max_wide_bytes and any(lead in raw for lead in _ASTRAL_LEADS)


# One match per token or run of tokens, told apart by its last group: none, one value (a short string,
# a number, true, false or null); _KEY, a short string that is a key (the colon follows); _LONG, the
# opening quote of a long string (its end is found with bytes.find: the regex engine would step through
# it byte by byte); _OPEN and _CLOSE, a bracket; _STRINGS, a run of short strings in a list, none
# holding an escaped quote (so its quotes, counted, are two per string), and _SCALARS, a run of numbers
# (or true, false, null), a comma between each two: the lines of a printed log and a plot's data are
# counted by C code, not one token at a time. Commas, colons and white space are skipped by the search.
# For valid JSON this is exactly the parser's reading; for anything else the counts are what the
# parser would build before it fails, at most.
_SHORT = rb'"[^"\\]{0,256}+(?:\\.[^"\\]{0,256}+){0,16}+"'
_PLAIN = rb'"[^"\\]{0,256}+(?:\\[^"][^"\\]{0,256}+){0,16}+"'
_SCALAR = rb'[^\s,:\[\]{}"]++'
_TOKEN = re.compile(rb"(" + _PLAIN + rb"(?:\s*+,\s*+" + _PLAIN + rb"(?!\s*+:))++)|" + _SHORT
                    + rb"(\s*+:)?|(\")|([\[{])|([\]}])|(" + _SCALAR + rb"(?:\s*+,\s*+" + _SCALAR + rb")++)|"
                    + _SCALAR, re.DOTALL)
_STRINGS, _KEY, _LONG, _OPEN, _CLOSE, _SCALARS = 1, 2, 3, 4, 5, 6
_COLON = re.compile(rb"\s*+:")
_OPEN_OBJECT = ord("{")
_BACKSLASH = ord("\\")
_ESCAPED_KEY_BYTES = 64     # "worksheets" written with a \uXXXX escape per letter is 60 bytes
_NO_KEY = b""


def structure_breach(raw: bytes, limits: NotebookLimits = LIMITS) -> Breach | None:
    """The first of the nodes, depth and outputs limits that ``raw`` passes, None when within all.
    Time grows with the tokens (stopped at ``max_nodes``) and memory with the depth, never with the file."""
    counts = _Counts(limits)
    pos = 0
    while pos is not None:
        pos = counts.scan(raw, pos)
        if counts.breach is not None:
            return counts.breach
    return None


class _Counts:
    """The running counts of one scan, and the keys of the containers open at this point (the path
    that tells a cell's output from any other object)."""

    def __init__(self, limits: NotebookLimits) -> None:
        self.limits = limits
        self.nodes = 0
        self.outputs = 0
        self.path: list[bytes | None] = []     # per open container: the key it is the value of
        self.breach: Breach | None = None

    def scan(self, raw: bytes, pos: int) -> int | None:
        """Count from ``pos`` to the end, or to a long string: then the position after it (or None
        when it never ends: the parser will say the file is not JSON)."""
        key = None
        nodes, max_nodes = self.nodes, self.limits.max_nodes
        path = self.path
        for match in _TOKEN.finditer(raw, pos):
            kind = match.lastindex
            if kind == _CLOSE:
                if path:
                    path.pop()
                continue
            if kind == _STRINGS:
                nodes += raw.count(b'"', match.start(), match.end()) // 2
            elif kind == _SCALARS:
                nodes += raw.count(b",", match.start(), match.end()) + 1
            else:
                nodes += 1
            if nodes > max_nodes:
                self.breach = Breach("nodes", max_nodes)
                return None
            if kind == _KEY:
                key = _key(raw, match.start() + 1, match.start(_KEY) - 1)
            elif kind == _OPEN:
                if not self._open(raw[match.start()] == _OPEN_OBJECT, key):
                    return None
                key = None
            elif kind == _LONG:             # found by its closing quote
                self.nodes = nodes
                end = _string_end(raw, match.end())
                if end < 0:
                    return None
                colon = _COLON.match(raw, end + 1)
                return colon.end() if colon else end + 1    # a long key is never one the path needs
            else:                           # values: no key is pending after them
                key = None
        self.nodes = nodes
        return None

    def _open(self, is_object: bool, key: bytes | None) -> bool:
        """Enter a container: False (the breach noted) when it passes the depth or the outputs limit."""
        if is_object and self._is_output():
            self.outputs += 1
            if self.outputs > self.limits.max_outputs:
                self.breach = Breach("outputs", self.limits.max_outputs)
                return False
        self.path.append(key)
        if len(self.path) > self.limits.max_depth:
            self.breach = Breach("depth", self.limits.max_depth)
            return False
        return True

    def _is_output(self) -> bool:
        """An object opened right inside cells[i].outputs (nbformat 4) or worksheets[j].cells[i].outputs (3)."""
        path = self.path
        if not path or path[-1] != b"outputs":
            return False
        if len(path) == 4:
            return path[1] == b"cells"
        return len(path) == 6 and path[1] == b"worksheets" and path[3] == b"cells"


def _key(raw: bytes, start: int, end: int) -> bytes:
    """A short key as the parser will read it (escapes decoded); a long one can be none the path needs."""
    if end - start > _ESCAPED_KEY_BYTES:
        return _NO_KEY
    text = raw[start:end]
    if _BACKSLASH not in text:
        return text
    try:
        return json.loads(b'"' + text + b'"').encode("utf-8", "surrogatepass")
    except ValueError:
        return _NO_KEY


def _string_end(raw: bytes, pos: int) -> int:
    """Index of the quote closing the string whose content starts at ``pos``; -1 when there is none."""
    end = raw.find(b'"', pos)
    while end > 0 and raw[end - 1] == _BACKSLASH:
        first = end - 1
        while raw[first - 1] == _BACKSLASH:
            first -= 1
        if (end - first) % 2 == 0:      # an even run of backslashes escapes itself, not the quote
            break
        end = raw.find(b'"', end + 1)
    return end
