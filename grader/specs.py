"""Records of a loaded assignment (what a practical is worth, which checks grade it) and ``resolve``,
which turns a "module:attribute" reference of assignment.toml into the object.

Both the loader (grader.assignment) and the check kinds (grader.checks) import this module; it imports
neither of them, so the two never import each other at module level.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from grader.errors import ConfigError
from grader.schema import REFERENCE


@dataclass(frozen=True)
class CheckSpec:
    id: str
    kind: str
    points: Decimal
    hidden: bool
    options: dict[str, Any]     # kind-specific, already validated and typed by the kind's schema


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
    keras_layouts: dict[str, str] = field(default_factory=dict)   # [keras] input_layout: object -> "NHWC"
    keras_edition: str | None = None     # [keras] edition: the Keras edition's template file

    def check(self, check_id: str) -> CheckSpec:
        for spec in self.checks:
            if spec.id == check_id:
                return spec
        raise KeyError(check_id)


def resolve(ref: str) -> Any:
    """``"package.module:attr"`` -> the object; ConfigError (not ImportError) when it is not there."""
    if not isinstance(ref, str) or not REFERENCE.match(ref):
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
