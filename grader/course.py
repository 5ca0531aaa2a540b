"""The course file (course.toml): practicals, deadline, keep-best, rounding, late policy, Moodle settings.

Parses and validates only: it reads no submission, runs nothing and never turns a grade into a float.
Every problem is a ConfigError naming the file and the dotted key.

Keys (paths are relative to the course file's folder; ``*`` = required):

=============================  =========  ==================  ==========================================
key                            type       default             meaning
=============================  =========  ==================  ==========================================
course.name *                  string                         shown in reports
course.keep_best               int >= 1   1                   best N practicals make the course grade
course.round_step              "decimal"  "0.01"              course grade is rounded UP to this step
course.max_grade               "decimal"  "10"                course scale; the grade never exceeds it
course.deadline *              ISO time                       e.g. "2027-03-31T23:59:00", local time
course.timezone *              IANA name                      the deadline's zone, e.g. "Europe/Madrid"
course.late_policy             string     "reject"            "reject" (late = 0) or "penalty"
course.late_penalty_per_day    "decimal"  (required with      points of the practical's own scale per
                                          "penalty")          started day late; only with "penalty"
course.runner                  string     "local"             a registered runner ("local", "docker")
course.data_dir                path       "data"              datasets (evaluation labels stay here)
course.lang                    string     "es"                feedback language: "es" or "en"
course.out_dir                 path       "out"               results, worksheets, store
course.assignments_dir         path       <repo>/assignments  holds <practical id>/assignment.toml
course.workers                 int >= 1   (runner decides)    parallel jobs
moodle.user_key                string     "email"             "email", "idnumber" or "username"
moodle.course_grade_item       string     "Prácticas"         gradebook column of the course grade
moodle.decimal_separator       string     "."                 "." or ","
practicals.<id>.submissions *  [paths]                        Moodle zips and/or folders
practicals.<id>.worksheet      path       none                downloaded grading worksheet CSV
practicals.<id>.timeout_s      int >= 1   1800                wall-clock limit of one whole run
practicals.<id>.parameters     table      {}                  overrides of the assignment's parameters
similarity.enabled             bool       true                compare submissions after `grader grade`
similarity.threshold           number     0.6                 flag pairs scoring at least this (0..1]
similarity.min_lines           int >= 1   5                   skip submissions with fewer own lines
similarity.against             [paths]    []                  earlier years' archives/folders to compare with
=============================  =========  ==================  ==========================================

A runner's own table (``[docker]``) is read by that runner (``validate_options``; the docker keys are in
grader/execution/docker_limits.py).

Grades ("decimal") are TOML strings or integers, never TOML floats: ``0.1`` is binary-inexact, so
``round_step = 0.1`` is refused with a hint to write ``"0.1"``. Practical ids match ``[a-z0-9_]+``.

Without a course file (``grader grade --practical ID PATH...``), ``single_practical_course`` builds one
practical with: keep_best 1, round_step "0.01", max_grade "10", no deadline (lateness never counts:
late_policy "penalty" at 0 per day, deadline in the year 9000), timezone "UTC", runner "local",
lang "es", Moodle defaults as above, timeout_s 1800, no worksheet.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, timezone as dt_timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from grader.errors import ConfigError
from grader.execution.registry import DEFAULT_RUNNER, runner_class, runner_classes, runner_names

PRACTICAL_ID = re.compile(r"[a-z0-9_]+")
LATE_POLICIES = ("reject", "penalty")
USER_KEYS = ("email", "idnumber", "username")
DECIMAL_SEPARATORS = (".", ",")
LANGS = ("es", "en")
DEFAULT_ASSIGNMENTS_DIR = Path(__file__).resolve().parents[1] / "assignments"
DEFAULT_TIMEOUT_S = 1800
# A deadline nobody reaches: used when grading without a course file, so nothing is ever late.
NO_DEADLINE = datetime(9000, 1, 1, tzinfo=dt_timezone.utc)   # far, yet safe to shift to any zone

_COURSE_KEYS = {"name", "keep_best", "round_step", "max_grade", "deadline", "timezone", "late_policy",
                "late_penalty_per_day", "runner", "data_dir", "lang", "out_dir", "assignments_dir", "workers"}
_MOODLE_KEYS = {"user_key", "course_grade_item", "decimal_separator"}
_PRACTICAL_KEYS = {"submissions", "worksheet", "timeout_s", "parameters"}
# The course's own tables; each runner brings its own (e.g. [docker]), checked by the runner itself.
_COURSE_TABLES = ("course", "moodle", "practicals", "similarity")
_SIMILARITY_KEYS = {"enabled", "threshold", "min_lines", "against"}


@dataclass(frozen=True)
class MoodleSettings:
    user_key: str
    course_grade_item: str
    decimal_separator: str


@dataclass(frozen=True)
class SimilaritySettings:
    """[similarity]: flags for a human (grader/similarity/); a score, not a grade, so a float is fine."""

    enabled: bool = True
    threshold: float = 0.6
    min_lines: int = 5
    against: tuple[Path, ...] = ()


@dataclass(frozen=True)
class PracticalConfig:
    id: str
    submissions: tuple[Path, ...]
    worksheet: Path | None
    timeout_s: int
    parameters: dict[str, Any]
    assignment_dir: Path          # assignments_dir / id


@dataclass(frozen=True)
class Course:
    path: Path | None
    name: str
    keep_best: int
    round_step: Decimal
    max_grade: Decimal
    deadline: datetime            # timezone-aware
    timezone: str
    late_policy: str
    late_penalty_per_day: Decimal
    runner: str
    data_dir: Path
    lang: str
    out_dir: Path
    workers: int | None
    moodle: MoodleSettings
    practicals: dict[str, PracticalConfig]
    # each runner's table (keyed by table name, e.g. "docker"), already its constructor's keyword options
    runner_tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    similarity: SimilaritySettings = field(default_factory=SimilaritySettings)

    def runner_options(self, runner: str) -> dict[str, Any]:
        """The keyword options of ``runner`` from its own table; ConfigError for an unknown runner."""
        table = runner_class(runner).options_table
        return dict(self.runner_tables.get(table, {})) if table else {}


class _Table:
    """One TOML table of the course file: typed getters whose errors name the dotted key and the file."""

    def __init__(self, data: Any, prefix: str, file: Path, allowed: set[str] | None) -> None:
        self.file, self.prefix = file, prefix
        if not isinstance(data, dict):
            raise self.error("", f"must be a table ([{prefix}]), not {_kind(data)}")
        self.data = data
        if allowed is not None:
            unknown = sorted(set(data) - allowed)
            if unknown:
                raise self.error(unknown[0], f"unknown key (known keys: {', '.join(sorted(allowed))})")

    def key(self, name: str) -> str:
        if not self.prefix or not name:
            return self.prefix or name
        return f"{self.prefix}.{name}"

    def error(self, name: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.file}: {self.key(name)}: {problem}", file=str(self.file), key=self.key(name))

    def raw(self, name: str, default: Any = None, required: bool = False) -> Any:
        if name not in self.data:
            if required:
                raise self.error(name, "is required")
            return default
        return self.data[name]

    def string(self, name: str, default: str | None = None, *, required: bool = False,
               choices: tuple[str, ...] | None = None) -> str:
        value = self.raw(name, default, required)
        if not isinstance(value, str) or not value.strip():
            raise self.error(name, f"must be a non-empty string, not {_kind(value)}")
        if choices is not None and value not in choices:
            raise self.error(name, f"must be one of {', '.join(repr(c) for c in choices)}, not {value!r}")
        return value

    def integer(self, name: str, default: int | None = None, *, minimum: int = 1) -> int | None:
        value = self.raw(name, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(name, f"must be an integer, not {_kind(value)}")
        if value < minimum:
            raise self.error(name, f"must be at least {minimum}, not {value}")
        return value

    def decimal(self, name: str, default: str | None = None, *, positive: bool = False) -> Decimal:
        value = self.raw(name, default, required=default is None)
        if isinstance(value, float):
            raise self.error(name, f'is a TOML float, which is inexact for grades: quote it '
                                   f'(write {name} = "{value}")')
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise self.error(name, f'must be a decimal number as a string (e.g. "0.5"), not {_kind(value)}')
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise self.error(name, f"is not a decimal number: {value!r}") from None
        if not number.is_finite() or number < 0 or (positive and number == 0):
            raise self.error(name, f"must be {'greater than' if positive else 'at least'} 0, not {value!r}")
        return number

    def path(self, name: str, default: str | Path | None, base: Path) -> Path | None:
        value = self.raw(name, default)
        if value is None:
            return None
        if not isinstance(value, (str, Path)) or not str(value).strip():
            raise self.error(name, f"must be a path (a string), not {_kind(value)}")
        return (base / Path(value).expanduser()).resolve()

    def table(self, name: str, allowed: set[str] | None) -> "_Table":
        return _Table(self.raw(name, {}), self.key(name), self.file, allowed)


def load_course(path: Path) -> Course:
    """Read and validate a course file; relative paths are taken from the file's folder."""
    path = Path(path).resolve()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: course file not found", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read the course file: {err}", file=str(path)) from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: TOML syntax error: {err}", file=str(path)) from None
    return _course_from(data, path)


def _course_from(data: dict[str, Any], path: Path) -> Course:
    base = path.parent
    runner_tables = [cls.options_table for cls in runner_classes() if cls.options_table]
    unknown = sorted(set(data) - set(_COURSE_TABLES) - set(runner_tables))
    if unknown:
        known = ["[course]", "[moodle]", "[practicals.<id>]", *(f"[{t}]" for t in sorted(runner_tables)),
                 "[similarity]"]
        raise ConfigError(f"{path}: {unknown[0]}: unknown top-level table (known: {', '.join(known)})",
                          file=str(path), key=unknown[0])
    if "course" not in data:
        raise ConfigError(f"{path}: the [course] table is missing", file=str(path), key="course")
    top = _Table(data, "", path, None)
    course = _Table(data["course"], "course", path, _COURSE_KEYS)
    tz_name = course.string("timezone", required=True)
    late_policy = course.string("late_policy", "reject", choices=LATE_POLICIES)
    assignments_dir = course.path("assignments_dir", DEFAULT_ASSIGNMENTS_DIR, base)
    return Course(
        path=path,
        name=course.string("name", required=True),
        keep_best=course.integer("keep_best", 1),
        round_step=course.decimal("round_step", "0.01", positive=True),
        max_grade=course.decimal("max_grade", "10", positive=True),
        deadline=_deadline(course, _zone(course, tz_name)),
        timezone=tz_name,
        late_policy=late_policy,
        late_penalty_per_day=_late_penalty(course, late_policy),
        runner=_runner(course),
        data_dir=course.path("data_dir", "data", base),
        lang=course.string("lang", "es", choices=LANGS),
        out_dir=course.path("out_dir", "out", base),
        workers=course.integer("workers"),
        moodle=_moodle(top.table("moodle", _MOODLE_KEYS)),
        practicals=_practicals(top.table("practicals", None), base, assignments_dir),
        runner_tables=_runner_tables(data, path),
        similarity=_similarity(top.table("similarity", _SIMILARITY_KEYS), base),
    )


def _runner_tables(data: dict[str, Any], path: Path) -> dict[str, dict[str, Any]]:
    """Every runner checks its own table (present or not), so a typo fails before anything runs."""
    return {cls.options_table: cls.validate_options(data.get(cls.options_table, {}), str(path))
            for cls in runner_classes() if cls.options_table}


def _runner(course: _Table) -> str:
    name = _identifier(course, "runner", DEFAULT_RUNNER)
    if name not in runner_names():
        raise course.error("runner", f"unknown runner {name!r} (registered: {', '.join(runner_names())})")
    return name


def _similarity(table: _Table, base: Path) -> SimilaritySettings:
    enabled = table.raw("enabled", True)
    if not isinstance(enabled, bool):
        raise table.error("enabled", f"must be true or false, not {_kind(enabled)}")
    threshold = table.raw("threshold", SimilaritySettings.threshold)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold <= 1:
        raise table.error("threshold", f"must be a number above 0 and at most 1 (e.g. 0.6), not {threshold!r}")
    against = table.raw("against", [])
    if not isinstance(against, list) or not all(isinstance(a, str) and a.strip() for a in against):
        raise table.error("against", 'must be a list of paths, e.g. ["../2025/moodle"]')
    return SimilaritySettings(enabled=enabled, threshold=float(threshold),
                              min_lines=table.integer("min_lines", SimilaritySettings.min_lines),
                              against=tuple((base / Path(a).expanduser()).resolve() for a in against))


def _zone(course: _Table, name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise course.error("timezone", f"unknown time zone {name!r} (use an IANA name such as "
                                       "'Europe/Madrid')") from None


def _deadline(course: _Table, zone: ZoneInfo) -> datetime:
    value = course.raw("deadline", required=True)
    if isinstance(value, str):
        # A date alone would silently mean midnight at the start of that day.
        if not re.search(r"\d[T ]\d", value.strip()):
            raise course.error("deadline", f"must be a date and time, e.g. \"2027-03-31T23:59:00\", not {value!r}")
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise course.error("deadline", f"is not an ISO date and time (e.g. \"2027-03-31T23:59:00\"): "
                                            f"{value!r}") from None
    if not isinstance(value, datetime):
        kind = "a date without a time" if isinstance(value, date) else _kind(value)
        raise course.error("deadline", f"must be a date and time, e.g. \"2027-03-31T23:59:00\", not {kind}")
    if value.tzinfo is None:
        return value.replace(tzinfo=zone)
    return value.astimezone(zone)


def _late_penalty(course: _Table, policy: str) -> Decimal:
    if policy == "penalty":
        if "late_penalty_per_day" not in course.data:
            raise course.error("late_penalty_per_day", 'is required when late_policy = "penalty"')
        return course.decimal("late_penalty_per_day", positive=True)
    if "late_penalty_per_day" in course.data:
        # Silently ignoring it would let an instructor believe a penalty applies.
        raise course.error("late_penalty_per_day", f'only applies with late_policy = "penalty" '
                                                   f'(late_policy is {policy!r})')
    return Decimal("0")


def _identifier(table: _Table, name: str, default: str) -> str:
    value = table.string(name, default)
    if not PRACTICAL_ID.fullmatch(value):
        raise table.error(name, f"must be a plain name such as 'local', not {value!r}")
    return value


def _moodle(table: _Table) -> MoodleSettings:
    return MoodleSettings(
        user_key=table.string("user_key", "email", choices=USER_KEYS),
        course_grade_item=table.string("course_grade_item", "Prácticas"),
        decimal_separator=table.string("decimal_separator", ".", choices=DECIMAL_SEPARATORS),
    )


def _practicals(table: _Table, base: Path, assignments_dir: Path) -> dict[str, PracticalConfig]:
    if not table.data:
        raise table.error("", "no practicals: add at least one [practicals.<id>] table")
    practicals = {}
    for pid in table.data:
        if not PRACTICAL_ID.fullmatch(pid):
            raise table.error(pid, "practical ids may use only lowercase letters, digits and '_'")
        practicals[pid] = _practical(table.table(pid, _PRACTICAL_KEYS), pid, base, assignments_dir)
    return practicals


def _practical(table: _Table, pid: str, base: Path, assignments_dir: Path) -> PracticalConfig:
    sources = table.raw("submissions", required=True)
    if not isinstance(sources, list) or not sources:
        raise table.error("submissions", f'must be a non-empty list of paths, e.g. ["moodle/export.zip"], '
                                         f"not {_kind(sources)}")
    if not all(isinstance(s, str) and s.strip() for s in sources):
        raise table.error("submissions", "every entry must be a path (a non-empty string)")
    parameters = table.raw("parameters", {})
    if not isinstance(parameters, dict):
        raise table.error("parameters", f"must be a table, e.g. {{ epochs = 1 }}, not {_kind(parameters)}")
    return PracticalConfig(
        id=pid,
        submissions=tuple((base / Path(s).expanduser()).resolve() for s in sources),
        worksheet=table.path("worksheet", None, base),
        timeout_s=table.integer("timeout_s", DEFAULT_TIMEOUT_S),
        parameters=dict(parameters),
        assignment_dir=assignments_dir / pid,
    )


def single_practical_course(practical: str, paths: list[Path], data_dir: Path, out_dir: Path) -> Course:
    """A course of one practical for grading some notebooks without a course file (defaults in the docstring)."""
    if not PRACTICAL_ID.fullmatch(practical):
        raise ConfigError(f"practical id {practical!r}: use only lowercase letters, digits and '_'",
                          key="practical")
    if not paths:
        raise ConfigError("no submissions given: name at least one notebook, folder or archive")
    config = PracticalConfig(id=practical, submissions=tuple(Path(p).resolve() for p in paths), worksheet=None,
                             timeout_s=DEFAULT_TIMEOUT_S, parameters={},
                             assignment_dir=DEFAULT_ASSIGNMENTS_DIR / practical)
    return Course(path=None, name=practical, keep_best=1, round_step=Decimal("0.01"), max_grade=Decimal("10"),
                  deadline=NO_DEADLINE, timezone="UTC", late_policy="penalty", late_penalty_per_day=Decimal("0"),
                  runner=DEFAULT_RUNNER, data_dir=Path(data_dir).resolve(), lang="es", out_dir=Path(out_dir).resolve(),
                  workers=None, moodle=MoodleSettings("email", "Prácticas", "."), practicals={practical: config})


def _kind(value: Any) -> str:
    """A value's type in TOML's words, for error messages."""
    names = {bool: "a boolean", int: "an integer", float: "a float", str: "a string", list: "an array",
             dict: "a table", datetime: "a date-time", date: "a date"}
    return names.get(type(value), type(value).__name__)
