"""Records of a loaded assignment (what a practical is worth, which checks grade it) and ``resolve``,
which turns a "module:attribute" reference of assignment.toml into the object.

Both the loader (grader.assignment) and the check kinds (grader.checks) import this module; it imports
neither of them, so the two never import each other at module level.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import re
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

from grader.errors import ConfigError
from grader.config_types import REFERENCE


def template_paths(directory: Path, keras_edition: str | None) -> tuple[Path, ...]:
    """The notebooks students start from: template.ipynb and the Keras edition's, those that exist."""
    names = ["template.ipynb"] + ([keras_edition] if keras_edition else [])
    return tuple(path for path in (Path(directory) / name for name in names) if path.is_file())


@dataclass(frozen=True)
class CheckSpec:
    id: str
    kind: str
    points: Decimal
    hidden: bool
    options: dict[str, Any]     # kind-specific, already validated and typed by the kind's schema
    title: dict[str, str] | None = None   # {es, en}: what students read instead of the id

    def title_in(self, lang: str) -> str:
        return (self.title or {}).get(lang) or self.id


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
    keras_output_layouts: dict[str, str] = field(default_factory=dict)   # [keras] output_layout: object -> "HWC"
    keras_edition: str | None = None     # [keras] edition: the Keras edition's template file
    student_files: tuple[str, ...] = ()  # what the template reads in its data_dir (grader.student_data)
    dataset_caches: tuple[str, ...] = ()  # offline caches made from the student data (grader.dataset_caches)
    titles: dict[str, str] | None = None   # {es, en}; ``title`` is the English one
    preload: tuple[str, ...] = ()         # [execution] preload: imported once per batch by a warm runner

    def title_in(self, lang: str) -> str:
        return (self.titles or {}).get(lang) or self.title

    def template_files(self) -> tuple[Path, ...]:
        return template_paths(self.directory, self.keras_edition)

    def check(self, check_id: str) -> CheckSpec:
        for spec in self.checks:
            if spec.id == check_id:
                return spec
        raise KeyError(check_id)


@dataclass(frozen=True)
class Titles:
    """What people read instead of ids: the practical's title and each check's, per language. A hidden check's
    title is the instructor's only (``public()`` leaves it out, for whatever a student reads)."""

    practical_id: str
    practical: dict[str, str] | None = None
    checks: dict[str, dict[str, str]] | None = None
    hidden: frozenset[str] = frozenset()

    def of_practical(self, lang: str) -> str:
        return (self.practical or {}).get(lang) or self.practical_id

    def of_check(self, check_id: str, lang: str) -> str:
        return ((self.checks or {}).get(check_id) or {}).get(lang) or check_id

    def public(self) -> "Titles":
        """The titles a student may read: no hidden check is named, not even by its title."""
        checks = {c: t for c, t in (self.checks or {}).items() if c not in self.hidden}
        return Titles(self.practical_id, self.practical, checks)

    @classmethod
    def of(cls, assignment: "Assignment") -> "Titles":
        return cls(assignment.id, assignment.titles or {"es": assignment.title, "en": assignment.title},
                   {c.id: c.title for c in assignment.checks if c.title},
                   frozenset(c.id for c in assignment.checks if c.hidden))


def resolve(ref: str) -> Any:
    """``"package.module:attr"`` -> the object; ConfigError (not ImportError) when it is not there.

    ``"/abs/folder/module.py:attr"`` is a practical folder's own module (grader.assignment makes a reference
    to it absolute when loading, as course.toml's paths are made absolute): loaded from that file."""
    if isinstance(ref, str) and ref.partition(":")[0].endswith(".py"):
        path, _, attr_path = ref.rpartition(":")
        obj, module_name = _folder_module(Path(path), ref), path
    elif not isinstance(ref, str) or not REFERENCE.match(ref):
        raise ConfigError(f"reference {ref!r} is not of the form 'module:attribute'")
    else:
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


def _folder_module(path: Path, ref: str) -> ModuleType:
    """A practical folder's module, loaded once per process under a name of its own (never one an installed
    package has: a folder's ``reference.py`` is not the grader's ``reference`` package)."""
    name = "practical_" + re.sub(r"\W", "_", f"{path.parent.name}_{path.stem}") + "_" + \
        hashlib.sha256(str(path).encode()).hexdigest()[:8]
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None or not path.is_file():
        raise ConfigError(f"reference {ref!r}: no module file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as err:   # the author's module failed to import: said in one line, as an import error is
        del sys.modules[name]
        raise ConfigError(f"reference {ref!r}: {path} cannot be imported ({type(err).__name__}: {err})") from None
    return module
