"""similarity.csv: the flagged pairs, best first, for the instructor's report and for people.

Reads and writes that one file; it decides nothing. A flag is a place for a human to look: it never
changes a grade and never reaches a student.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from grader.lms.csvcells import guard, unguard

CSV_NAME = "similarity.csv"
# The first five columns are the contract; the names and the page are there so a reader needs no join.
COLUMNS = ("practical", "participant_a", "participant_b", "score", "shared_lines", "name_a", "name_b", "page")


@dataclass(frozen=True)
class FlaggedPair:
    practical: str
    participant_a: str
    participant_b: str          # "<label>:<N>" when b is an earlier year's submission (--against)
    score: float                # 0..1, the larger share of either side's code found in the other
    shared_lines: int
    name_a: str = ""
    name_b: str = ""
    page: str = ""              # side-by-side page, relative to the output folder ("" when none)


def flagged_pairs(out_dir: Path) -> list[FlaggedPair]:
    """The pairs the last similarity run flagged, best first; [] when it has not run."""
    path = Path(out_dir) / CSV_NAME
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return ranked([_pair(row) for row in rows if row.get("practical")])


def write_pairs(out_dir: Path, pairs: list[FlaggedPair]) -> Path:
    path = Path(out_dir) / CSV_NAME
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for p in ranked(pairs):
            # names and file names come from students: a spreadsheet must open them as text
            writer.writerow([guard(str(c)) for c in (p.practical, p.participant_a, p.participant_b,
                                                     f"{p.score:.3f}", p.shared_lines, p.name_a, p.name_b, p.page)])
    return path


def ranked(pairs: list[FlaggedPair]) -> list[FlaggedPair]:
    return sorted(pairs, key=lambda p: (-p.score, p.practical, p.participant_a, p.participant_b))


def _pair(row: dict[str, str]) -> FlaggedPair:
    row = {k: unguard(v or "") for k, v in row.items() if k is not None}
    return FlaggedPair(practical=row["practical"], participant_a=row.get("participant_a", ""),
                       participant_b=row.get("participant_b", ""), score=_number(row.get("score"), float),
                       shared_lines=_number(row.get("shared_lines"), int), name_a=row.get("name_a") or "",
                       name_b=row.get("name_b") or "", page=row.get("page") or "")


def _number(text: str | None, kind):
    try:
        return kind(text)
    except (TypeError, ValueError):   # a hand-edited cell: the row is still listed
        return kind(0)
