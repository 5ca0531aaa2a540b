"""The one small base every check kind subclasses, its option schema, and the registry of kinds.

A kind declares its options (``Option``: a type of grader.config_types, whether required, a default, a
meaning; built into a pydantic model), its flags (static, needs evaluation data) and the message codes
it emits; optionally plans probe items (inputs the probe feeds to the student's objects), and scores.
It never runs student code in this process.
"""
from __future__ import annotations

import importlib
import pkgutil
import re
import threading
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import BaseModel, BeforeValidator, Field, ValidationInfo, create_model

from grader.assignment_file import COMMON_CHECK_KEYS
from grader.checks.parts import Parts
from grader.errors import ConfigError
from grader.records import CheckResult, InspectionReport, Reason, RunResult
from grader.config_types import (Boolean, Reference, Table, Text, decimal, integer, positive_ints, problem, text_list,
                           to_decimal, validated)
from grader.loaded_assignment import CheckSpec



@dataclass(frozen=True)
class Option:
    """One key of a check table. type: str, int, bool, decimal, threshold, ints, strs, ref, parts
    (the field types of ``option_types``); ``meaning`` documents it."""

    type: str
    required: bool = True
    default: Any = None
    meaning: str = ""


@dataclass
class PlanContext:
    """What a kind may use to draw inputs for one check; arrays land in ``probe_dir`` as .npy."""

    probe_dir: Path
    data_dir: Path              # the course data folder (labels included): read here, never by the probe
    parameters: dict[str, Any]
    rng: np.random.Generator    # secret, per run and per check
    # per run, across checks: lets checks that need the same probe answer plan it once (e.g. top-1 and
    # top-5 of one model on one data set: one pass over the images, one copy of them in the probe folder)
    shared: dict[Any, Any] = field(default_factory=dict)

    def write_input(self, name: str, array: np.ndarray) -> str:
        file_name = f"{name}.npy"
        target = self.probe_dir / file_name
        target.unlink(missing_ok=True)      # a re-planned folder: the old copy is read-only
        np.save(target, np.ascontiguousarray(array), allow_pickle=False)
        target.chmod(0o444)
        return file_name

    def write_image(self, name: str, image: Any) -> str:
        """A PIL image as a read-only PNG (lossless, mode kept) for an {"image": file} argument."""
        file_name = f"{name}.png"
        target = self.probe_dir / file_name
        target.unlink(missing_ok=True)
        image.save(target, format="PNG")
        target.chmod(0o444)
        return file_name


@dataclass
class ScoreContext:
    """What a kind may read when scoring one check."""

    inspection: InspectionReport
    run: RunResult | None
    outputs: Any                # grader.checks.outputs.ProbeOutputs
    private: dict[str, Any] = field(default_factory=dict)   # what this check's plan kept back
    notebook: Path | None = None    # the notebook as handed in (its outputs are the student's own run)
    earlier: dict[str, CheckResult] = field(default_factory=dict)   # checks scored before this one, by id
    templates: tuple[Path, ...] = ()   # the notebooks students start from (PyTorch and Keras editions)


class Check:
    """Base of every check kind: subclasses set ``options`` and override ``score`` (and ``plan``)."""

    kind: ClassVar[str] = ""
    options: ClassVar[dict[str, Option]] = {}
    uses_probe: ClassVar[bool] = False          # plans probe items answered inside the student's kernel
    static: ClassVar[bool] = False              # scored from the notebook as handed in alone, without a run
    needs_evaluation_data: ClassVar[bool] = False   # needs labels that exist only at grading time
    codes: ClassVar[tuple[str, ...]] = ()       # message codes the kind emits (grader/messages/*.toml)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A kind registers itself under its name when its class is defined (one class in one file)."""
        super().__init_subclass__(**kwargs)
        if cls.kind:
            KINDS.register(cls.kind, cls)

    @classmethod
    def options_model(cls) -> type[BaseModel]:
        """The kind's options as a pydantic model (built once from ``options``)."""
        model = _MODELS.get(cls)
        if model is None:
            types = option_types()
            fields = {key: (types[o.type], Field(... if o.required else o.default, description=o.meaning))
                      for key, o in cls.options.items()}
            model = _MODELS[cls] = create_model(f"{cls.__name__}Options", __base__=Table,
                                                **fields)
        return model

    @classmethod
    def parse_options(cls, raw: dict[str, Any], where: str, path: Path) -> dict[str, Any]:
        model = validated(cls.options_model(), raw, path, where, also_known=COMMON_CHECK_KEYS,
                          known_note=f" for kind {cls.kind!r}")
        parsed = {key: getattr(model, key) for key in cls.options}
        cls.validate(parsed, where, path)
        return parsed

    @classmethod
    def validate(cls, options: dict[str, Any], where: str, path: Path) -> None:
        """Cross-key rules of a kind (e.g. zero_at below full_at); raise ConfigError."""

    @classmethod
    def validate_points(cls, options: dict[str, Any], points: Decimal, where: str, path: Path) -> None:
        """Rules between a kind's options and the check's points (e.g. parts within them); raise ConfigError."""

    @classmethod
    def check_files(cls, spec: CheckSpec, assignment: Any) -> None:
        """Files of the practical's folder that the check relies on (``assignment``: grader.loaded_assignment.Assignment),
        checked while loading, after the options; raise ConfigError."""

    @classmethod
    def references(cls, spec: CheckSpec) -> list[tuple[str, str]]:
        """(key, "module:attr") pairs the loader must be able to resolve."""
        return [(key, spec.options[key]) for key, option in cls.options.items()
                if option.type == "ref" and spec.options.get(key)]

    @classmethod
    def plan(cls, spec: CheckSpec, ctx: PlanContext) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Return (probe items, private facts kept for scoring). Kinds without a probe plan nothing."""
        return [], {}

    @classmethod
    def score(cls, spec: CheckSpec, ctx: ScoreContext) -> CheckResult:
        raise NotImplementedError


def result(spec: CheckSpec, points: Decimal, reason: Reason, **details: Any) -> CheckResult:
    points = min(max(points, Decimal("0")), spec.points)
    return CheckResult(check_id=spec.id, kind=spec.kind, points=points, max_points=spec.points,
                       reason=reason, hidden=spec.hidden, details=details)


def fmt_shape(shape) -> str:
    return "(" + ", ".join(str(int(n)) for n in shape) + ("," if len(shape) == 1 else "") + ")"


class CheckRegistry:
    """Kinds registered by name, as papermill registers its engines. ``load`` (called before the first
    lookup) imports the modules that define kinds, so a kind's module registers it by being imported."""

    def __init__(self, load: Any = None) -> None:
        self._kinds: dict[str, type[Check]] = {}
        self._load, self._loaded, self._loading = load, load is None, False
        # two threads asking first (a batch's workers loading assignments) must both find every kind: the second
        # waits for the first's load, never reads a registry half filled
        self._lock = threading.RLock()

    def register(self, name: str, kind: type[Check]) -> None:
        self._kinds[name] = kind

    def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        with self._lock:
            if self._loaded or self._loading:   # loaded meanwhile, or asked again by a module being loaded
                return
            self._loading = True
            try:
                self._load()
                self._loaded = True
            finally:
                self._loading = False

    def get(self, name: str) -> type[Check]:
        self._ensure_loaded()
        kind = self._kinds.get(name)
        if kind is None:
            raise ConfigError(f"no check kind named {name!r} (known: {', '.join(sorted(self._kinds))})")
        return kind

    def names(self) -> list[str]:
        self._ensure_loaded()
        return sorted(self._kinds)

    def kinds(self) -> list[type[Check]]:
        return [self.get(name) for name in self.names()]


def _load_kind_modules() -> None:
    """Import every module of grader.checks: each kind's class registers itself (at the first lookup, not when
    the package is imported: loading a course never pays for the kinds)."""
    for module in sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)])):
        importlib.import_module(f"grader.checks.{module}")


KINDS = CheckRegistry(_load_kind_modules)


@dataclass(frozen=True)
class Relative:
    """A threshold relative to the reference's metric: "reference", "reference - 0.01", "reference * 0.95".

    Resolved to a Decimal once per batch (grader.references), before any check scores."""

    op: str             # "", "+", "-" or "*"
    operand: Decimal
    is_relative: ClassVar[bool] = True

    def resolve(self, reference: Decimal) -> Decimal:
        if self.op == "*":
            return (reference * self.operand).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
        return reference + self.operand if self.op == "+" else reference - self.operand if self.op else reference

    def __str__(self) -> str:
        return "reference" + (f" {self.op} {self.operand}" if self.op else "")


_RELATIVE = re.compile(r"^\s*reference\s*(?:([-+*])\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?))?\s*$")


def _threshold(value: Any, info: ValidationInfo) -> Decimal | Relative:
    """A score threshold: a decimal ("0.9") or relative to the reference ("reference - 0.01")."""
    if isinstance(value, str) and "reference" in value:
        match = _RELATIVE.match(value)
        if match is None:
            raise problem(f"{value!r} is not a threshold: write a decimal such as \"0.9\", \"reference\", "
                          "\"reference - 0.01\", \"reference + 0.1\" or \"reference * 0.95\"")
        op, operand = match.group(1) or "", match.group(2)
        return Relative(op, Decimal(operand) if operand else Decimal("0"))
    return to_decimal(value, info.field_name)


_MODELS: dict[type, type[BaseModel]] = {}


def option_types() -> dict[str, Any]:
    """Option type name -> the pydantic field type (grader.config_types's words for every problem)."""
    return {"str": Text, "ref": Reference, "bool": Boolean, "int": integer(None), "decimal": decimal(),
            "threshold": Annotated[Any, BeforeValidator(_threshold)],
            "ints": positive_ints(), "strs": text_list(), "parts": Parts}
