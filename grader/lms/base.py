"""What every LMS adapter is asked, and the records it answers with: entry names of its "download all
submissions" archive, its roster and lateness rows, its export and the lines naming whom it will not take.

An adapter reads and writes its own formats only; it never grades, never decides a score, and never raises for
one student's data (a student its files cannot carry is an attention line, not an error).
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Iterable

from grader.errors import ConfigError
from grader.records import CourseGrade, Flag, PracticalScore, PracticalRoster
from grader.config_types import validated

if TYPE_CHECKING:   # annotations only: the course and the out/ layout are above this module
    from grader.course import Course
    from grader.out_layout import OutLayout
    from grader.loaded_assignment import Titles


@dataclass(frozen=True)
class EntryName:
    """One archive entry name understood: who, which team, which file."""

    full_name: str          # the LMS's blind-marking word under blind marking
    participant: str        # the LMS's participant id of this practical
    group: str | None       # team prefix, None when absent
    relpath: str            # path inside the student's submission ("mnist_cnn.ipynb", "sub/a.ipynb")
    blind: bool
    plugin: str = "file"    # which of the LMS's submission plugins wrote it (Moodle: "file", "onlinetext")


@dataclass(frozen=True)
class LmsExport:
    files: list[Path]
    warnings: list[str] = field(default_factory=list)   # instructor-facing lines
    attention: list[Flag] = field(default_factory=list)  # students the LMS will not take from the files as written


class Lms:
    """Base of every LMS adapter; subclasses set the class attributes and implement the methods that raise.

    One instance serves one course: ``open`` reads its inputs (rosters) and checks them, so that a bad input
    stops a batch before anything is written; ``strict=False`` (a report rebuilt later) makes each unreadable
    input a warning instead."""

    name: ClassVar[str] = ""                    # its registry name, course.toml's `course.lms`
    title: ClassVar[str] = ""                   # as instructors call it, in their lines
    options_table: ClassVar[str | None] = None  # the course.toml table it owns; None: no options
    options_model: ClassVar[type | None] = None  # the declared schema of that table (pydantic, extra forbidden)
    blind_words: ClassVar[tuple[str, ...]] = ()  # the names it gives a hidden identity (blind marking)

    def __init__(self, course: "Course", titles: "dict[str, Titles]", **options: Any) -> None:
        self.course = course
        self.titles = titles          # practical id -> what students read instead of ids
        self.options = options
        self.rosters: dict[str, PracticalRoster | None] = {pid: None for pid in course.practicals}
        self.warnings: list[str] = []

    @classmethod
    def validate_options(cls, raw: dict, where: str) -> dict:
        """The keyword options for the constructor from the adapter's raw table, by ``options_model``;
        ConfigError naming "<where>: <table>.<key>: <problem>"."""
        table = cls.options_table or cls.name
        if cls.options_model is None:
            if raw:
                raise ConfigError(f"{where}: {table}.{sorted(raw)[0]}: unknown key (the {cls.name} LMS has no "
                                  "options)", key=f"{table}.{sorted(raw)[0]}")
            return {}
        return validated(cls.options_model, raw, where, table).model_dump()

    @classmethod
    def open(cls, course: "Course", titles: "dict[str, Titles]", *, strict: bool = True) -> "Lms":
        """The course's adapter with its inputs read and checked (InputError, when ``strict``)."""
        table = cls.options_table
        lms = cls(course, titles, **(course.lms_tables.get(table, {}) if table else {}))
        lms.read_inputs(strict=strict)
        return lms

    # --- intake: the "download all submissions" archive --------------------------------------------------
    @classmethod
    def entry_name(cls, name: str, groups: Iterable[str] | None) -> EntryName | None:
        """A path inside an archive or folder (any parents) understood; None: not one of this LMS's entries."""
        return None

    @classmethod
    def infer_groups(cls, prefixes: Iterable[tuple[str, str]]) -> set[str]:
        """Team names among (name prefix, participant) pairs of one archive; none by default."""
        return set()

    # --- people -----------------------------------------------------------------------------------------
    @classmethod
    def name_key(cls, full_name: str) -> str:
        """Names compared as this LMS may have written them: NFC, casefolded, spaces collapsed."""
        return " ".join(unicodedata.normalize("NFC", full_name).casefold().split())

    def match_key(self, key: str) -> str:
        """User keys compared as this LMS compares them (exactly, by default)."""
        return key.strip()

    @classmethod
    def is_blind(cls, full_name: str) -> bool:
        return cls.name_key(full_name) in {cls.name_key(word) for word in cls.blind_words}

    # --- roster and lateness ----------------------------------------------------------------------------
    def read_inputs(self, *, strict: bool = True) -> None:
        """Fill ``rosters`` (None where the course gives the practical none) and ``warnings``."""

    # --- export -----------------------------------------------------------------------------------------
    def export(self, out: "OutLayout", scores: list[PracticalScore], grades: list[CourseGrade]) -> LmsExport:
        """Write what the LMS imports under ``out``; its attention lines name every student it will not take."""
        raise NotImplementedError(f"LMS {type(self).__name__} does not implement export()")

    def attention(self, scores: list[PracticalScore], grades: list[CourseGrade]) -> list[Flag]:
        """What ``export`` would name for a human, without writing a file (``grader report`` asks)."""
        return []
