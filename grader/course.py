"""The course file (course.toml): practicals, deadline, keep-best, rounding, late policy, its LMS and runners.

Parses and validates only: it reads no submission, runs nothing and never turns a grade into a float.
Every problem is a ConfigError naming the file and the dotted key. The keys, their types, defaults and
meanings are declared once in ``grader.course_file`` (the README's table is printed from it by
``grader.config_doc``); the tables of runners and LMS adapters are validated by their own classes (their
registries: grader/execution/registry.py, grader/lms/registry.py).

Without a course file (``grader grade --practical ID PATH...``), ``single_practical_course`` builds one
practical with: keep_best 1, round_step "0.01", max_grade "10", no deadline (lateness never counts:
late_policy "penalty" at 0 per day, deadline in the year 9000), timezone "UTC", runner "local",
lang "es", the default LMS with its defaults, timeout_s 1800, no worksheet.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timezone as dt_timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from grader.course_file import PRACTICAL_ID, TOP_TABLES, CourseFile, PracticalTable
from grader.errors import ConfigError
from grader.execution.registry import runner_class, runner_classes, runner_names
from grader.lms.registry import DEFAULT_LMS, lms_class, lms_classes, lms_names
from grader.config_types import validated

DEFAULT_ASSIGNMENTS_DIR = Path(__file__).resolve().parents[1] / "assignments"
DEFAULT_TIMEOUT_S = 1800
# A deadline nobody reaches: used when grading without a course file, so nothing is ever late.
NO_DEADLINE = datetime(9000, 1, 1, tzinfo=dt_timezone.utc)   # far, yet safe to shift to any zone

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
    editions: tuple[str, ...] | None = None   # the editions the course offers; None: every one it has
    adaptations: tuple[str, ...] | None = None   # what may be adapted to a model (None: all; () the letter)


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
    practicals: dict[str, PracticalConfig]
    # each runner's table (keyed by table name, e.g. "docker"), already its constructor's keyword options
    runner_tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    lms: str = DEFAULT_LMS        # the LMS adapter's name (grader/lms/registry.py)
    # each LMS adapter's table, already its constructor's keyword options (defaults included)
    lms_tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    similarity: SimilaritySettings = field(default_factory=SimilaritySettings)
    keras_backend: str = "torch"  # KERAS_BACKEND of the notebooks' kernels

    def runner_options(self, runner: str) -> dict[str, Any]:
        """The keyword options of ``runner`` from its own table; ConfigError for an unknown runner."""
        table = runner_class(runner).options_table
        return dict(self.runner_tables.get(table, {})) if table else {}


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
    lms_tables = [cls.options_table for cls in lms_classes() if cls.options_table]
    runner_tables = [cls.options_table for cls in runner_classes() if cls.options_table]
    owned = [*lms_tables, *runner_tables]
    unknown = sorted(set(data) - {*TOP_TABLES, *owned})
    if unknown:
        # in the README's order: the course, its LMS's, the practicals, similarity, the runners'
        shown = ["course", *lms_tables, "practicals", "similarity", *runner_tables]
        known = ", ".join("[practicals.<id>]" if t == "practicals" else f"[{t}]" for t in shown)
        raise ConfigError(f"{path}: {unknown[0]}: unknown top-level table (known: {known})",
                          file=str(path), key=unknown[0])
    if "course" not in data:
        raise ConfigError(f"{path}: the [course] table is missing", file=str(path), key="course")
    # a runner's or an LMS's table is its own schema's business (_owned_options), not the course file's
    parsed: CourseFile = validated(CourseFile, {k: v for k, v in data.items() if k not in owned}, path)
    base, course = path.parent, parsed.course
    if course.runner not in runner_names():
        raise ConfigError(f"{path}: course.runner: unknown runner {course.runner!r} (registered: "
                          f"{', '.join(runner_names())})", file=str(path), key="course.runner")
    if course.lms not in lms_names():
        raise ConfigError(f"{path}: course.lms: unknown LMS {course.lms!r} (registered: {', '.join(lms_names())})",
                          file=str(path), key="course.lms")
    assignments_dir = _path(base, course.assignments_dir) if course.assignments_dir else DEFAULT_ASSIGNMENTS_DIR
    deadline = course.deadline
    zone = ZoneInfo(course.timezone)
    return Course(
        path=path,
        name=course.name,
        keep_best=course.keep_best,
        round_step=course.round_step,
        max_grade=course.max_grade,
        deadline=deadline.replace(tzinfo=zone) if deadline.tzinfo is None else deadline.astimezone(zone),
        timezone=course.timezone,
        late_policy=course.late_policy,
        late_penalty_per_day=course.late_penalty_per_day if course.late_policy == "penalty" else Decimal("0"),
        runner=course.runner,
        data_dir=_path(base, course.data_dir),
        lang=course.lang,
        out_dir=_path(base, course.out_dir),
        workers=course.workers,
        keras_backend=course.keras_backend,
        practicals={pid: _practical(table, pid, base, assignments_dir) for pid, table in parsed.practicals.items()},
        runner_tables=_owned_options(runner_classes(), data, path),
        lms=course.lms,
        lms_tables=_owned_options(lms_classes(), data, path),
        similarity=SimilaritySettings(enabled=parsed.similarity.enabled, threshold=parsed.similarity.threshold,
                                      min_lines=parsed.similarity.min_lines,
                                      against=tuple(_path(base, a) for a in parsed.similarity.against)),
    )


def _owned_options(classes: list, data: dict[str, Any], path: Path) -> dict[str, dict[str, Any]]:
    """Each registered runner's (or LMS adapter's) table of course.toml, validated by its class."""
    return {cls.options_table: cls.validate_options(data.get(cls.options_table, {}), str(path))
            for cls in classes if cls.options_table}


def _path(base: Path, value: str | Path) -> Path:
    return (base / Path(value).expanduser()).resolve()


def _practical(table: PracticalTable, pid: str, base: Path, assignments_dir: Path) -> PracticalConfig:
    return PracticalConfig(
        id=pid,
        submissions=tuple(_path(base, s) for s in table.submissions),
        worksheet=_path(base, table.worksheet) if table.worksheet else None,
        timeout_s=table.timeout_s,
        parameters=dict(table.parameters),
        assignment_dir=assignments_dir / pid,
        editions=table.editions,
        adaptations=table.adaptations,
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
                  runner="local", data_dir=Path(data_dir).resolve(), lang="es", out_dir=Path(out_dir).resolve(),
                  workers=None, practicals={practical: config}, lms=DEFAULT_LMS,
                  lms_tables=_owned_options([lms_class(DEFAULT_LMS)], {}, Path("--practical")))
