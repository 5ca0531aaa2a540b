"""Loading ``assignments/<id>/assignment.toml``: what a practical is worth and which checks grade it.

Every mistake in the instructor's file becomes a ConfigError naming the file and the key; the keys are
declared in ``grader.assignment_schema`` and each kind's in the kind. This module never runs a notebook
and never scores anything (check kinds do, in ``grader.checks``, looked up only while loading).
"""
from __future__ import annotations

import hashlib
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

from grader.assignment_schema import COMMON_CHECK_KEYS, AssignmentFile, CheckHead
from grader.errors import ConfigError
from grader.schema import validated
from grader.specs import Assignment, CheckSpec, Titles, resolve, template_paths

FILE_NAME = "assignment.toml"
__all__ = ["FILE_NAME", "Assignment", "CheckSpec", "Titles", "keras_edition_file", "load_assignment", "load_titles",
           "resolve", "template_files"]


def load_titles(practical: str, directory: Path, with_hidden: bool = False) -> Titles:
    """The titles students read (practical and checks), without loading the kinds or their references;
    ids stand in when the file cannot be read (the pages are still written). ``with_hidden``: the hidden
    checks' titles too, for the instructor's report only."""
    try:
        data = tomllib.loads((Path(directory) / FILE_NAME).read_text(encoding="utf-8"))
        parsed: AssignmentFile = validated(AssignmentFile, data, Path(directory) / FILE_NAME)
        checks = {}
        for entry in parsed.checks:
            head = CheckHead.model_validate(entry)
            if head.title and (with_hidden or not head.hidden):   # never named to students, not even by title
                checks[head.id] = dict(head.title)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, ConfigError, ValueError):
        return Titles(practical)
    return Titles(practical, dict(parsed.assignment.title), checks)


def keras_edition_file(directory: Path) -> str | None:
    """The Keras edition's template file an assignment declares (``[keras] edition``; None: none), read from
    the TOML alone, without loading the kinds or their references. ConfigError when the file cannot be read."""
    path = Path(directory) / FILE_NAME
    try:
        keras = tomllib.loads(path.read_text(encoding="utf-8")).get("keras", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"{path}: {err}") from None
    edition = keras.get("edition") if isinstance(keras, dict) else None
    return edition if isinstance(edition, str) and edition else None


def template_files(directory: Path) -> tuple[Path, ...]:
    """Every edition's template of the assignment in ``directory``, those that exist; template.ipynb alone
    when its assignment.toml cannot be read (grading says why)."""
    try:
        return template_paths(directory, keras_edition_file(directory))
    except ConfigError:
        return template_paths(directory, None)


def load_assignment(directory: Path, *, check_files: bool = True) -> Assignment:
    """Read and validate ``directory/assignment.toml``; references ("module:attr") must resolve, and, with
    ``check_files``, the files beside it that checks rely on must be there and current (the tool that
    builds them loads the assignment without)."""
    directory = Path(directory)
    path = directory / FILE_NAME
    try:
        raw_bytes = path.read_bytes()
    except OSError as err:
        raise ConfigError(f"{path}: cannot be read ({err.strerror or err})") from None
    try:
        data = tomllib.loads(raw_bytes.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"{path}: not valid TOML ({err})") from None

    parsed: AssignmentFile = validated(AssignmentFile, data, path)
    head = parsed.assignment
    checks = _parse_checks(parsed.checks, path)
    relative = [c.id for c in checks if any(getattr(v, "is_relative", False) for v in c.options.values())]
    if relative and parsed.reference.build is None:
        raise ConfigError(f"{path}: check {relative[0]!r} has a threshold relative to the reference, but there "
                          "is no [reference] build = \"module:function\" to measure it")
    total = sum((c.points for c in checks), Decimal("0"))
    if total != head.max_points:
        raise ConfigError(f"{path}: the points of [[checks]] add up to {total}, "
                          f"but assignment.max_points is {head.max_points}")
    assignment = Assignment(
        id=head.id, title=head.title["en"], titles=dict(head.title), version=head.version, max_points=head.max_points,
        cell_timeout_s=head.cell_timeout_s, parameters=dict(parsed.parameters), checks=checks,
        student_data=head.student_data, spec_hash=hashlib.sha256(raw_bytes).hexdigest(), directory=directory,
        reference_build=parsed.reference.build, student_files=tuple(head.student_files),
        keras_layouts=dict(parsed.keras.input_layout), keras_edition=parsed.keras.edition,
        keras_output_layouts=dict(parsed.keras.output_layout),
        dataset_caches=tuple(head.dataset_caches), preload=tuple(parsed.execution.preload),
    )
    _resolve_all(assignment, path)
    if check_files:
        _check_files(assignment)
    return assignment


def _parse_checks(raw: list[dict[str, Any]], path: Path) -> tuple[CheckSpec, ...]:
    from grader.checks import get_check   # the registry, looked up only now: the kinds never import this module

    seen: set[str] = set()
    specs = []
    for index, entry in enumerate(raw):
        named = f" (id {entry['id']!r})" if isinstance(entry.get("id"), str) else ""
        where = f"checks[{index}]{named}"
        head: CheckHead = validated(CheckHead, entry, path, where)
        if head.id in seen:
            raise ConfigError(f"{path}: {where}: the id is used by another check")
        seen.add(head.id)
        try:
            kind = get_check(head.kind)
        except ConfigError as err:
            raise ConfigError(f"{path}: {where}.kind: {err}") from None
        options = kind.parse_options({k: v for k, v in entry.items() if k not in COMMON_CHECK_KEYS}, where, path)
        kind.validate_points(options, head.points, where, path)
        specs.append(CheckSpec(id=head.id, kind=head.kind, points=head.points, hidden=head.hidden, options=options,
                               title=dict(head.title) if head.title else None))
    return tuple(specs)


def _check_files(assignment: Assignment) -> None:
    from grader.checks import get_check

    for spec in assignment.checks:
        get_check(spec.kind).check_files(spec, assignment)


def _resolve_all(assignment: Assignment, path: Path) -> None:
    """Fail while loading, not halfway through a batch, when a reference does not exist."""
    from grader.checks import get_check

    refs = [("assignment.student_data", assignment.student_data)] if assignment.student_data else []
    refs += [("reference.build", assignment.reference_build)] if assignment.reference_build else []
    for spec in assignment.checks:
        refs += [(f"checks (id {spec.id!r}).{key}", ref) for key, ref in get_check(spec.kind).references(spec)]
    for key, ref in refs:
        try:
            resolve(ref)
        except ConfigError as err:
            raise ConfigError(f"{path}: {key}: {err}") from None
