"""The declared schema of course.toml (pydantic): every key's type, default and meaning in one place.

grader.course builds its records from these models; grader.config_doc prints the README's key table
from them. The tables of runners and LMS adapters stay raw here: each validates its own (their registries).
"""
from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from grader.lms.registry import DEFAULT_LMS
from grader.config_types import (Boolean, Table, Text, choices_list, decimal, doc, integer, kind_of, one_of, problem,
                           table_of, text_list)

PRACTICAL_ID = re.compile(r"[a-z0-9_]+")
LATE_POLICIES = ("reject", "penalty")
LANGS = ("es", "en")
EDITIONS = ("pytorch", "keras")   # a practical's editions (grader/editions.py); keras needs its [keras] table
# what the probe and the judge may adapt between the contract's inputs and a model (grader.checks.plan.ADAPTATIONS)
ADAPTATIONS = ("dtype", "device", "layout")
KERAS_BACKENDS = ("torch", "jax", "tensorflow")   # KERAS_BACKEND of the kernels; torch is the default
# the course file's own tables; each registered runner and LMS adapter adds its own (grader.course)
TOP_TABLES = ("course", "practicals", "similarity")
_EXAMPLE_DEADLINE = '"2027-03-31T23:59:00"'


def _path(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise problem(f"must be a path (a string), not {kind_of(value)}")
    return value


def _zone(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise problem(f"must be a non-empty string, not {kind_of(value)}")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise problem(f"unknown time zone {value!r} (use an IANA name such as 'Europe/Madrid')") from None
    return value


def _deadline(value: Any) -> datetime:
    if isinstance(value, str):
        # A date alone would silently mean midnight at the start of that day.
        if not re.search(r"\d[T ]\d", value.strip()):
            raise problem(f"must be a date and time, e.g. {_EXAMPLE_DEADLINE}, not {value!r}")
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            raise problem(f"is not an ISO date and time (e.g. {_EXAMPLE_DEADLINE}): {value!r}") from None
    if not isinstance(value, datetime):
        kind = "a date without a time" if isinstance(value, date) else kind_of(value)
        raise problem(f"must be a date and time, e.g. {_EXAMPLE_DEADLINE}, not {kind}")
    return value


def _plain_name(example: str):
    def check(value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise problem(f"must be a non-empty string, not {kind_of(value)}")
        if not PRACTICAL_ID.fullmatch(value):
            raise problem(f"must be a plain name such as {example!r}, not {value!r}")
        return value
    return check


def _threshold(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise problem(f"must be a number above 0 and at most 1 (e.g. 0.6), not {value!r}")
    return float(value)


def _practical_id(value: str) -> str:
    if not PRACTICAL_ID.fullmatch(value):
        raise problem("practical ids may use only lowercase letters, digits and '_'")
    return value


Path_ = Annotated[str, BeforeValidator(_path)]
Paths = text_list(what="paths", example='["lms/export.zip"]', entry="a path (a non-empty string)")


class CourseTable(Table):
    name: Text = Field(..., **doc("string", "", "shown in reports"))
    keep_best: integer(1) = Field(1, **doc("int ≥ 1", "1", "the best N practicals make the course grade "
                                                            "(missing ones count 0)"))
    round_step: decimal(positive=True) = Field(Decimal("0.01"), **doc(
        '"decimal"', '"0.01"', "the course grade is rounded **up** to a multiple of this"))
    max_grade: decimal(positive=True) = Field(Decimal("10"), **doc(
        '"decimal"', '"10"', "the course scale; practicals are rescaled to it, the grade never exceeds it"))
    deadline: Annotated[datetime, BeforeValidator(_deadline)] = Field(..., **doc(
        "ISO date-time", "", f"local time in `timezone`, e.g. `{_EXAMPLE_DEADLINE}`"))
    timezone: Annotated[str, BeforeValidator(_zone)] = Field(..., **doc("IANA name", "", 'e.g. `"Europe/Madrid"`'))
    late_policy: one_of(*LATE_POLICIES) = Field("reject", **doc(
        "string", '"reject"', '`"reject"`: a late practical scores 0; `"penalty"`: minus `late_penalty_per_day` '
        "per started day"))
    late_penalty_per_day: decimal(positive=True) = Field(None, **doc(
        '"decimal"', '(required with "penalty")', "points of the practical's own scale"))
    runner: Annotated[str, BeforeValidator(_plain_name("local"))] = Field("local", **doc(
        "string", '"local"', '`"local"` (child process) or `"docker"` (one isolated container per notebook)'))
    data_dir: Path_ = Field("data", **doc("path", '"data"', "data sets; evaluation labels stay here, never "
                                                            "reach a notebook"))
    lang: one_of(*LANGS) = Field("es", **doc("string", '"es"', 'language of everything people read (feedback, report, '
                                             'similarity pages, the LMS\'s comments, command lines; numbers with the '
                                             'decimal comma in Spanish): `"es"` or `"en"`'))
    out_dir: Path_ = Field("out", **doc("path", '"out"', "results, worksheets, the store"))
    assignments_dir: Path_ = Field(None, **doc("path", "the repo's `assignments/`",
                                               "holds `<practical>/assignment.toml`"))
    workers: integer(1) = Field(None, **doc("int ≥ 1", "one per GPU, else one per core",
                                            "parallel jobs (`--workers` overrides)"))
    keras_backend: one_of(*KERAS_BACKENDS) = Field("torch", **doc(
        "string", '"torch"', "`KERAS_BACKEND` of the notebooks' kernels: `\"torch\"`, `\"jax\"` or "
        "`\"tensorflow\"` (the runtime image has the torch backend only)"))
    lms: Annotated[str, BeforeValidator(_plain_name(DEFAULT_LMS))] = Field(DEFAULT_LMS, **doc(
        "string", f'"{DEFAULT_LMS}"', "the LMS the submissions come from and the grades go back to: its adapter "
        "reads the archives' names and the rosters and writes the files to upload (README, *Architecture*)"))

    @model_validator(mode="after")
    def _late_penalty_goes_with_its_policy(self) -> "CourseTable":
        given = "late_penalty_per_day" in self.model_fields_set
        if self.late_policy == "penalty" and not given:
            raise problem('is required when late_policy = "penalty"', key="late_penalty_per_day")
        if self.late_policy != "penalty" and given:
            # Silently ignoring it would let an instructor believe a penalty applies.
            raise problem(f'only applies with late_policy = "penalty" (late_policy is {self.late_policy!r})',
                          key="late_penalty_per_day")
        return self


class PracticalTable(Table):
    submissions: Paths = Field(..., **doc("list of paths", "", 'the LMS\'s "download all submissions" zips and/or '
                                                              "folders"))
    worksheet: Path_ = Field(None, **doc("path", "none", "the downloaded grading worksheet (English or Spanish, "
                                                         "BOM or not)"))
    timeout_s: integer(1) = Field(1800, **doc("int ≥ 1", "1800", "wall-clock limit of one notebook's whole run"))
    parameters: table_of("{ epochs = 1 }") = Field({}, **doc(
        "table", "{}", "overrides of the assignment's grading parameters (e.g. `{ epochs = 1 }`)"))
    editions: choices_list(*EDITIONS) = Field(None, **doc(
        "list", "every edition the practical has", 'the editions the course offers, e.g. `["pytorch"]`: a '
        "notebook following another is graded the same, with a note to the student and a line in the "
        "report's \"Needs a human\""))
    adaptations: choices_list(*ADAPTATIONS, empty=True) = Field(None, **doc(
        "list", 'all: ["dtype", "device", "layout"]', "what the grader adapts between the contract's inputs and a "
        "model (README, *Leniencies*): its weights' dtype, its device, a Keras model's declared layout; `[]` "
        "grades this practical by the contract's letter"))


class SimilarityTable(Table):
    enabled: Boolean = Field(True, **doc("bool", "true", "compare every pair of submissions of a practical after "
                                                      "`grader grade`"))
    threshold: Annotated[float, BeforeValidator(_threshold)] = Field(0.6, **doc(
        "number", "0.6", "flag pairs scoring at least this (0 to 1; a score, not a grade, so a plain number)"))
    min_lines: integer(1) = Field(5, **doc("int ≥ 1", "5", "submissions with fewer lines of their own (the "
                                                           "template's aside) are not compared"))
    against: text_list(what="paths", example='["../2025/submissions"]', entry="a path (a non-empty string)",
                       empty=True) = Field((), **doc("list of paths", "[]", "earlier years' archives or folders, "
                                                                           "always compared as with `--against`"))


def _some_practicals(value: dict[str, PracticalTable]) -> dict[str, PracticalTable]:
    if not value:
        raise problem("no practicals: add at least one [practicals.<id>] table")
    return value


class CourseFile(Table):
    """The whole file; unknown top-level tables are refused by grader.course before this model."""

    course: CourseTable
    practicals: Annotated[dict[Annotated[str, AfterValidator(_practical_id)], PracticalTable],
                          AfterValidator(_some_practicals)] = Field(default_factory=dict, validate_default=True)
    similarity: SimilarityTable = Field(default_factory=SimilarityTable)
