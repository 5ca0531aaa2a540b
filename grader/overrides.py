"""overrides.csv beside course.toml: grades an instructor sets by hand, each with a reason.

Reads and validates only; applying an override is outcomes.py's job. Scores stay Decimal, and a
bad row stops the batch with the file, line and problem rather than being skipped silently.

Columns (header required, any order, extra columns ignored): ``practical,participant,score,reason``.
``participant`` is the LMS's participant number of that practical (Moodle's N) ("Participant 123" is accepted);
``score`` is on the practical's own scale, "." or "," as decimal separator.
"""
from __future__ import annotations

import csv
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from grader.course import Course
from grader.errors import ConfigError

COLUMNS = ("practical", "participant", "score", "reason")
_PARTICIPANT_PREFIX = re.compile(r"participante?\s*(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class Override:
    practical: str
    participant: str
    score: Decimal
    reason: str


def load_overrides(path: Path, course: Course,
                   max_scores: Mapping[str, Decimal] | None = None) -> dict[tuple[str, str], Override]:
    """(practical, participant) -> Override; a missing file means no overrides.

    ``max_scores`` (practical -> max points) bounds the scores; without it, each practical's
    assignment.toml ``max_points`` is read, or the course's max_grade when that is unavailable.
    """
    path = Path(path)
    if not path.exists():
        return {}
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read the overrides file (it must be UTF-8 CSV): {err}",
                          file=str(path)) from None
    reader = csv.reader(text.splitlines(keepends=True))
    columns = _header(next(reader, None), path)
    limits = {pid: _max_score(pid, course, max_scores) for pid in course.practicals}
    overrides: dict[tuple[str, str], Override] = {}
    first_line: dict[tuple[str, str], int] = {}
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        override = _override(row, columns, limits, f"{path}, line {line}")
        key = (override.practical, override.participant)
        if key in overrides:
            raise ConfigError(f"{path}, line {line}: duplicate override for practical {key[0]}, participant "
                              f"{key[1]} (first on line {first_line[key]})", file=str(path), line=line)
        overrides[key], first_line[key] = override, line
    return overrides


def _header(row: list[str] | None, path: Path) -> dict[str, int]:
    if row is None:
        raise ConfigError(f"{path}: empty file; the first line must be the header {','.join(COLUMNS)}",
                          file=str(path))
    names = [cell.strip().lower() for cell in row]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise ConfigError(f"{path}, line 1: missing column(s) {', '.join(missing)}; the header must name "
                          f"{','.join(COLUMNS)}", file=str(path), line=1)
    return {c: names.index(c) for c in COLUMNS}


def _override(row: list[str], columns: dict[str, int], limits: dict[str, Decimal], where: str) -> Override:
    if len(row) <= max(columns.values()):
        raise ConfigError(f"{where}: {len(row)} value(s), but the header has the columns {', '.join(COLUMNS)}")
    cell = {c: row[i].strip() for c, i in columns.items()}
    practical = cell["practical"]
    if practical not in limits:
        raise ConfigError(f"{where}: unknown practical {practical!r} (the course has "
                          f"{', '.join(limits) or 'none'})")
    participant = _participant(cell["participant"], where)
    score = _score(cell["score"], limits[practical], where)
    if not cell["reason"]:
        raise ConfigError(f"{where}: the reason is empty; say why this grade is set by hand")
    return Override(practical, participant, score, cell["reason"])


def _participant(text: str, where: str) -> str:
    if not text:
        raise ConfigError(f"{where}: the participant is empty")
    prefixed = _PARTICIPANT_PREFIX.fullmatch(text)
    return prefixed.group(1) if prefixed else text


def _score(text: str, limit: Decimal, where: str) -> Decimal:
    if "," in text and "." in text:
        raise ConfigError(f"{where}: score {text!r}: use one decimal separator, e.g. 8.5 or 8,5")
    try:
        score = Decimal(text.replace(",", "."))
    except InvalidOperation:
        raise ConfigError(f"{where}: score {text!r} is not a number") from None
    if not score.is_finite() or score < 0:
        raise ConfigError(f"{where}: score {text!r} must be a number of at least 0")
    if score > limit:
        raise ConfigError(f"{where}: score {text} is above the practical's maximum of {limit}")
    return score


def _max_score(practical: str, course: Course, max_scores: Mapping[str, Decimal] | None) -> Decimal:
    if max_scores is not None and practical in max_scores:
        return max_scores[practical]
    declared = _declared_max_points(course.practicals[practical].assignment_dir / "assignment.toml")
    return declared if declared is not None else course.max_grade


def _declared_max_points(spec: Path) -> Decimal | None:
    """The assignment's max_points, peeked at so that overrides need not load (and validate) the whole spec."""
    try:
        with spec.open("rb") as fh:
            value = tomllib.load(fh).get("assignment", {}).get("max_points")
        return Decimal(str(value)) if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    except (OSError, tomllib.TOMLDecodeError, InvalidOperation, AttributeError):
        return None
