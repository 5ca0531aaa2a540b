"""Typed records that cross module borders: created in one stage, read by the next.

Grades and points are always ``Decimal``; a float never enters a record that holds a grade.
Reasons are stored as (code, params) and rendered in the reader's language only at the edges.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Reason:
    """A message for people, kept language-neutral: a catalogue code plus its parameters."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "params": dict(self.params)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Reason":
        return cls(data["code"], dict(data.get("params", {})))


@dataclass(frozen=True)
class Submission:
    """One student's hand-in for one practical, as found in an LMS's archive or a folder."""

    practical: str
    participant: str            # the LMS's per-practical participant id (Moodle: N, digits), the roster's join key
    full_name: str              # as the LMS wrote it (cleaned); its blind-marking word under blind marking
    source: str                 # archive or folder it came from
    files: tuple[Path, ...]     # every file of this submission, extracted
    notebook: Path | None       # the notebook chosen for grading, None when there is none
    sha256: str | None          # of the chosen notebook's bytes
    group: str | None = None    # team prefix, when team submissions are on
    notes: tuple[Reason, ...] = ()  # why this notebook was chosen, what was ignored


@dataclass(frozen=True)
class RosterRow:
    """One participant of one practical as the LMS lists them (its roster): who, and when they handed in."""

    participant: str
    full_name: str | None
    email: str | None
    key: str | None                   # the course's user key (joins a person across practicals); None: none
    submitted_at: datetime | None     # timezone-aware; None when the LMS does not say (lateness unknown)


@dataclass(frozen=True)
class PracticalRoster:
    """The rows an LMS gave for one practical (a downloaded worksheet, a class list)."""

    source: str                       # where they came from, for the instructor's lines (a file's path)
    rows: dict[str, RosterRow]        # participant -> row
    key_name: str = "user key"        # what the key is, in the instructor's lines ("email")
    keyed: bool = True                # False: the source has no user-key column at all (joined by name)


@dataclass(frozen=True)
class InspectionReport:
    """Static facts about a notebook as handed in, before anything runs."""

    readable: bool
    nbformat: int | None
    code_cells: int
    executed_cells: int
    executed: bool              # every non-empty code cell has an execution count
    in_order: bool              # execution counts strictly increase down the notebook
    error_cells: tuple[int, ...]   # indices of code cells with an error output
    has_plot: bool              # some output holds an image
    colab: bool
    has_parameters_cell: bool
    practical_hint: str | None  # practical id found in the notebook's metadata
    problems: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class RunResult:
    """What executing one notebook produced."""

    status: str                 # "ok", "timeout", "error", "kernel_died", "out_of_memory", "runner_error"
    duration_s: float           # wall time; a measurement, never a grade
    executed_notebook: Path | None
    out_dir: Path
    reason: Reason | None = None
    failed_cell: int | None = None
    log: str = ""
    # what the run left that the runner could not remove or should not have been there (a folder, a
    # setuid file, a container's volume), in short phrases; () is the post-condition met
    leftovers: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckResult:
    check_id: str
    kind: str
    points: Decimal
    max_points: Decimal
    reason: Reason
    hidden: bool = False
    details: dict[str, Any] = field(default_factory=dict)   # JSON-able measurements

    @property
    def passed(self) -> bool:
        return self.points >= self.max_points


@dataclass(frozen=True)
class PracticalScore:
    """The outcome of one (practical, submission): what results.csv and the worksheet show."""

    practical: str
    participant: str
    full_name: str
    status: str                 # graded, not_executed, error, timeout, invalid, missing, overridden
    score: Decimal | None       # None only when ungraded (the worksheet cell stays empty)
    max_score: Decimal
    late: str                   # "no", "yes", "unknown"
    reason: Reason | None
    checks: tuple[CheckResult, ...] = ()
    duration_s: float | None = None
    sha256: str | None = None
    email: str | None = None
    penalty: Decimal = Decimal("0")
    override_reason: str | None = None
    notes: tuple[Reason, ...] = ()   # facts a student and the instructor should read (which file, what changed)


@dataclass(frozen=True)
class Student:
    """A person across practicals, joined by the configured user key (or by name)."""

    key: str | None              # value of the configured user key (email, idnumber, username)
    full_name: str
    email: str | None
    participants: dict[str, str]   # practical id -> participant N of that practical
    ambiguous: bool = False        # joined by a name that several people share


@dataclass(frozen=True)
class CourseGrade:
    student: Student
    scores: dict[str, Decimal | None]   # practical id -> score (None = not handed in)
    counted: tuple[str, ...]            # practicals whose scores made the grade
    grade: Decimal


@dataclass(frozen=True)
class Evaluation:
    """What grading one notebook established, before course policy (lateness, overrides) is applied.

    Stored under ``job_key`` (notebook hash + spec hash + grader version + parameters), so a re-run
    of an unchanged submission reuses it and a changed policy never needs a re-execution.
    """

    job_key: str
    practical: str
    participant: str
    sha256: str | None
    status: str                 # graded, not_executed, error, timeout, invalid
    checks: tuple[CheckResult, ...]
    reason: Reason | None
    duration_s: float
    max_points: Decimal
    notes: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class Flag:
    """One reason for a person to look at one submission (or student): the report's "needs a human"."""

    practical: str
    participant: str
    name: str
    why: str
