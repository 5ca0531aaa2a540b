"""Loading ``assignments/<id>/assignment.toml``: what a practical is worth and which checks grade it.

Every mistake in the instructor's file becomes a ConfigError naming the file and the key; this
module never runs a notebook and never scores anything (check kinds do, in ``grader.checks``).
"""
from __future__ import annotations

import hashlib
import importlib
import re
import tomllib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from grader.errors import ConfigError

FILE_NAME = "assignment.toml"
_ID = re.compile(r"^[A-Za-z0-9_-]+$")
_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
_COMMON_CHECK_KEYS = {"id", "kind", "points", "hidden"}


@dataclass(frozen=True)
class CheckSpec:
    id: str
    kind: str
    points: Decimal
    hidden: bool
    options: dict[str, Any]     # kind-specific, already validated and typed by the kind


@dataclass(frozen=True)
class Assignment:
    id: str
    title: str
    version: str
    max_points: Decimal
    cell_timeout_s: int
    parameters: dict[str, Any]
    checks: tuple[CheckSpec, ...]
    student_data: str | None
    spec_hash: str              # sha256 of the assignment.toml bytes
    directory: Path
    reference_build: str | None = None   # [reference] build: the hook whose metrics relative thresholds use

    def check(self, check_id: str) -> CheckSpec:
        for spec in self.checks:
            if spec.id == check_id:
                return spec
        raise KeyError(check_id)


def load_assignment(directory: Path) -> Assignment:
    """Read and validate ``directory/assignment.toml``; references ("module:attr") must resolve."""
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

    _reject_unknown(data, {"assignment", "parameters", "checks", "reference"}, "", path)
    head = _table(data, "assignment", path, required=True)
    _reject_unknown(head, {"id", "title", "version", "max_points", "cell_timeout_s", "student_data"},
                    "assignment.", path)
    max_points = parse_points(_get(head, "max_points", "assignment.max_points", path), "assignment.max_points", path)
    student_data = _opt_ref(head, "student_data", "assignment.student_data", path)
    checks = _parse_checks(data.get("checks"), path)
    reference = _table(data, "reference", path, required=False)
    _reject_unknown(reference, {"build"}, "reference.", path)
    reference_build = _opt_ref(reference, "build", "reference.build", path)
    relative = [c.id for c in checks if any(getattr(v, "is_relative", False) for v in c.options.values())]
    if relative and reference_build is None:
        raise ConfigError(f"{path}: check {relative[0]!r} has a threshold relative to the reference, but there "
                          "is no [reference] build = \"module:function\" to measure it")

    total = sum((c.points for c in checks), Decimal("0"))
    if total != max_points:
        raise ConfigError(f"{path}: the points of [[checks]] add up to {total}, "
                          f"but assignment.max_points is {max_points}")
    assignment = Assignment(
        id=_string(head, "id", "assignment.id", path, pattern=_ID),
        title=_string(head, "title", "assignment.title", path),
        version=_string(head, "version", "assignment.version", path),
        max_points=max_points,
        cell_timeout_s=_positive_int(head.get("cell_timeout_s", 600), "assignment.cell_timeout_s", path),
        parameters=_parameters(_table(data, "parameters", path, required=False), path),
        checks=checks,
        student_data=student_data,
        spec_hash=hashlib.sha256(raw_bytes).hexdigest(),
        directory=directory,
        reference_build=reference_build,
    )
    _resolve_all(assignment, path)
    return assignment


def resolve(ref: str) -> Any:
    """``"package.module:attr"`` -> the object; ConfigError (not ImportError) when it is not there."""
    if not isinstance(ref, str) or not _REF.match(ref):
        raise ConfigError(f"reference {ref!r} is not of the form 'module:attribute'")
    module_name, attr_path = ref.split(":", 1)
    try:
        obj = importlib.import_module(module_name)
    except ImportError as err:
        raise ConfigError(f"reference {ref!r}: module {module_name!r} cannot be imported ({err})") from None
    for attr in attr_path.split("."):
        try:
            obj = getattr(obj, attr)
        except AttributeError:
            raise ConfigError(f"reference {ref!r}: {module_name!r} has no attribute {attr_path!r}") from None
    return obj


def parse_points(value: Any, key: str, path: Path) -> Decimal:
    """Points are strings ("1.5") or integers; a TOML float would carry binary rounding into grades."""
    if isinstance(value, bool) or isinstance(value, float):
        raise ConfigError(f"{path}: {key} = {value!r} must be a string such as \"1.5\" or an integer, "
                          "not a float")
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, str):
        number = parse_decimal(value, key, path)
    else:
        raise ConfigError(f"{path}: {key} must be a string such as \"1.5\" or an integer")
    if number < 0:
        raise ConfigError(f"{path}: {key} = {value!r} must not be negative")
    return number


def parse_decimal(value: Any, key: str, path: Path) -> Decimal:
    if not isinstance(value, str):
        raise ConfigError(f"{path}: {key} must be a decimal written as a string (e.g. \"0.9\"), "
                          f"got {value!r}")
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        raise ConfigError(f"{path}: {key} = {value!r} is not a decimal number") from None
    if not number.is_finite():
        raise ConfigError(f"{path}: {key} = {value!r} must be a finite number")
    return number


def _parse_checks(raw: Any, path: Path) -> tuple[CheckSpec, ...]:
    from grader.checks import get_check   # late: the registry's kinds import this module's CheckSpec

    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{path}: at least one [[checks]] table is required")
    seen: set[str] = set()
    specs = []
    for index, entry in enumerate(raw):
        where = f"checks[{index}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: {where} must be a table")
        check_id = _string(entry, "id", f"{where}.id", path, pattern=_ID)
        where = f"checks[{index}] (id {check_id!r})"
        if check_id in seen:
            raise ConfigError(f"{path}: {where}: the id is used by another check")
        seen.add(check_id)
        kind_name = _string(entry, "kind", f"{where}.kind", path)
        try:
            kind = get_check(kind_name)
        except ConfigError as err:
            raise ConfigError(f"{path}: {where}.kind: {err}") from None
        hidden = entry.get("hidden", False)
        if not isinstance(hidden, bool):
            raise ConfigError(f"{path}: {where}.hidden must be true or false")
        options = {k: v for k, v in entry.items() if k not in _COMMON_CHECK_KEYS}
        points = parse_points(_get(entry, "points", f"{where}.points", path), f"{where}.points", path)
        options = kind.parse_options(options, where, path)
        kind.validate_points(options, points, where, path)
        specs.append(CheckSpec(id=check_id, kind=kind_name, points=points, hidden=hidden, options=options))
    return tuple(specs)


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


def _parameters(table: dict[str, Any], path: Path) -> dict[str, Any]:
    for key, value in table.items():
        if isinstance(value, (dict, list)) or not isinstance(value, (str, int, float, bool)):
            raise ConfigError(f"{path}: parameters.{key} must be a string, number or boolean")
    return dict(table)


def _reject_unknown(table: dict[str, Any], allowed: set[str], prefix: str, path: Path) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(f"{path}: unknown key {prefix}{unknown[0]} (allowed: {', '.join(sorted(allowed))})")


def _table(data: dict[str, Any], key: str, path: Path, *, required: bool) -> dict[str, Any]:
    if key not in data:
        if required:
            raise ConfigError(f"{path}: the [{key}] table is missing")
        return {}
    if not isinstance(data[key], dict):
        raise ConfigError(f"{path}: {key} must be a table ([{key}])")
    return data[key]


def _get(table: dict[str, Any], key: str, full_key: str, path: Path) -> Any:
    if key not in table:
        raise ConfigError(f"{path}: {full_key} is missing")
    return table[key]


def _string(table: dict[str, Any], key: str, full_key: str, path: Path, pattern: re.Pattern | None = None) -> str:
    value = _get(table, key, full_key, path)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{path}: {full_key} must be a non-empty string, got {value!r}")
    if pattern is not None and not pattern.match(value):
        raise ConfigError(f"{path}: {full_key} = {value!r} may hold only letters, digits, '_' and '-'")
    return value


def _opt_ref(table: dict[str, Any], key: str, full_key: str, path: Path) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not _REF.match(value):
        raise ConfigError(f"{path}: {full_key} = {value!r} must be a reference 'module:attribute'")
    return value


def _positive_int(value: Any, key: str, path: Path) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{path}: {key} must be a positive integer, got {value!r}")
    return value
