"""Loading a practical's folder (``<folder>/assignment.toml``): what it is worth and which checks grade it.

Every mistake in the instructor's file becomes a ConfigError naming the file and the key; the keys are
declared in ``grader.assignment_file`` and each kind's in the kind. A reference to a module the folder holds
(``reference:student_data`` with ``reference.py`` beside assignment.toml) is that file's, made absolute here;
the folder's ``messages.toml`` joins the message catalogue. So a practical is a folder anywhere, with nothing of
the grader edited. This module never runs a notebook and never scores anything.
"""
from __future__ import annotations

import hashlib
import tomllib
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from grader.assignment_file import COMMON_CHECK_KEYS, AssignmentFile, CheckHead
from grader.errors import ConfigError
from grader.i18n import PRACTICAL_CATALOGUE, add_practical_catalogue
from grader.config_types import validated
from grader.loaded_assignment import Assignment, CheckSpec, Titles, resolve

FILE_NAME = "assignment.toml"
__all__ = ["FILE_NAME", "Assignment", "CheckSpec", "Titles", "load_assignment", "resolve"]


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
    local: set[Path] = set()    # the folder's own modules that references name
    checks = _parse_checks(parsed.checks, path, directory, local)
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
        student_data=_local(head.student_data, directory, local), directory=directory,
        reference_build=_local(parsed.reference.build, directory, local), student_files=tuple(head.student_files),
        spec_hash=_spec_hash(raw_bytes, local),
        keras_layouts=dict(parsed.keras.input_layout), keras_edition=parsed.keras.edition,
        keras_output_layouts=dict(parsed.keras.output_layout),
        dataset_caches=tuple(head.dataset_caches), preload=tuple(parsed.execution.preload),
    )
    _resolve_all(assignment, path)
    if check_files:
        _check_files(assignment)
    if (directory / PRACTICAL_CATALOGUE).is_file():   # its reference's reasons render wherever it is graded
        add_practical_catalogue(assignment.id, directory / PRACTICAL_CATALOGUE)
    return assignment


def _local(ref: str | None, directory: Path, found: set[Path]) -> str | None:
    """A reference to a module of the practical's folder (``reference:f``, ``helpers.data:f``), made absolute
    (``/abs/folder/reference.py:f``); any other (``reference.mnist_cnn:f``: an installed module) as it is."""
    if ref is None:
        return None
    module, _, attr = ref.partition(":")
    file = directory.joinpath(*module.split(".")).with_suffix(".py")
    if not file.is_file():
        return ref
    found.add(file.resolve())
    return f"{file.resolve()}:{attr}"


def _spec_hash(raw_bytes: bytes, local: set[Path]) -> str:
    """The file's bytes and the folder's own modules it names: a changed reference grades again."""
    digest = hashlib.sha256(raw_bytes)
    for file in sorted(local):
        digest.update(b"\0" + file.name.encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def _parse_checks(raw: list[dict[str, Any]], path: Path, directory: Path, local: set[Path]) -> tuple[CheckSpec, ...]:
    # start-up: the check kinds (numpy, each kind's option model) only when a practical is loaded
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
        spec = CheckSpec(id=head.id, kind=head.kind, points=head.points, hidden=head.hidden, options=options,
                         title=dict(head.title) if head.title else None)
        made_local = {key: _local(ref, directory, local) for key, ref in kind.references(spec)}
        specs.append(replace(spec, options={**options, **made_local}) if made_local else spec)
    return tuple(specs)


def _check_files(assignment: Assignment) -> None:
    # start-up: the check kinds (numpy, each kind's option model) only when a practical is loaded
    from grader.checks import get_check

    for spec in assignment.checks:
        get_check(spec.kind).check_files(spec, assignment)


def _resolve_all(assignment: Assignment, path: Path) -> None:
    """Fail while loading, not halfway through a batch, when a reference does not exist."""
    # start-up: the check kinds (numpy, each kind's option model) only when a practical is loaded
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
