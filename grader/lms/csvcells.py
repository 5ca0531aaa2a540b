"""CSV read and written cell by cell, keeping each cell's original text (quotes included).

Lets a worksheet go back to Moodle with every untouched cell byte-identical; it never
decides what a cell means.
"""
from __future__ import annotations

from dataclasses import dataclass

# PHP's fputcsv quotes a field holding any of these (the space included).
_NEEDS_QUOTES = (",", '"', "\\", "\n", "\r", "\t", " ")


@dataclass(frozen=True)
class Cell:
    value: str
    raw: str        # exactly as it was in the file


@dataclass(frozen=True)
class Table:
    rows: list[list[Cell]]
    newline: str            # the line ending the file used ("\n" or "\r\n")
    final_newline: bool     # whether the last row ended with one


def parse(text: str, delimiter: str = ",") -> Table:
    """Split CSV text into cells; quoted fields may hold delimiters, quotes and newlines."""
    rows: list[list[Cell]] = []
    row: list[Cell] = []
    newline, i, n = None, 0, len(text)
    while i < n:
        start = i
        if text[i] == '"':
            i = _end_of_quoted(text, i)
        while i < n and text[i] not in (delimiter, "\n", "\r"):
            i += 1
        row.append(Cell(_value(text[start:i]), text[start:i]))
        if i < n and text[i] == delimiter:
            i += 1
            if i == n:
                row.append(Cell("", ""))
            continue
        ending = "\r\n" if text.startswith("\r\n", i) else text[i:i + 1]
        newline = newline or ending or None
        i += len(ending)
        rows.append(row)
        row = []
    if row:
        rows.append(row)
    return Table(rows=rows, newline=newline or "\n", final_newline=text.endswith(("\n", "\r")))


def _end_of_quoted(text: str, i: int) -> int:
    i += 1
    while i < len(text):
        if text[i] == '"':
            if text.startswith('""', i):
                i += 2
                continue
            return i + 1
        i += 1
    return i


def _value(raw: str) -> str:
    if not raw.startswith('"'):
        return raw
    closing = _end_of_quoted(raw, 0)
    inner = raw[1:closing - 1] if raw[closing - 1:closing] == '"' and closing > 1 else raw[1:closing]
    return inner.replace('""', '"') + raw[closing:]


def encode(value: str, delimiter: str = ",") -> str:
    """One field the way PHP's fputcsv (Moodle's csv_export_writer) writes it."""
    if value and any(ch in value for ch in (delimiter, *_NEEDS_QUOTES)):
        return '"' + value.replace('"', '""') + '"'
    return value


def render(rows: list[list[str]], newline: str = "\n", final_newline: bool = True,
           delimiter: str = ",") -> str:
    """Join already-encoded cells into CSV text."""
    text = newline.join(delimiter.join(row) for row in rows)
    return text + newline if final_newline and rows else text


def guard(value: str) -> str:
    """Moodle's CSV-injection guard: a cell starting with = + - @, tab or CR/LF gets a "'"."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r", "\n") else value


def unguard(value: str) -> str:
    """Undo the guard when reading a cell."""
    return value[1:] if value[:1] == "'" and value[1:2] in ("=", "+", "-", "@", "\t", "\r", "\n") else value
