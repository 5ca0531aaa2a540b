"""Reference metrics for relative thresholds: built by the practical's hook in a child interpreter
(grader.reference_child), cached as JSON.

The cache key is (data digest, assignment spec hash, hook, grading parameters), so the metrics
mean "the reference under the same budget, data and spec". This module never grades students.
"""
from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import replace
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from grader.assignment import Assignment, CheckSpec, load_assignment, resolve
from grader.checks import get_check
from grader.course import DEFAULT_ASSIGNMENTS_DIR
from grader.errors import ConfigError, GraderError
from grader.i18n import msg, render
from grader.records import Reason
from grader.reference_child import call_hook

CACHE_FOLDER = "reference"
FOUR_PLACES = Decimal("0.0001")


def _say(line: Reason) -> None:
    print(render(line, "en"))


def needs_reference(assignment: Assignment) -> bool:
    return any(_relative_keys(spec) for spec in assignment.checks)


def reference_metrics(assignment: Assignment, data_dir: Path, parameters: dict[str, Any], out_dir: Path,
                      *, rebuild: bool = False, log: Callable[[Reason], None] = _say) -> dict[str, Decimal]:
    """The hook's metrics, from ``out_dir/reference/`` when cached there, else built (and cached); ``log``
    says what it does, as messages its caller shows in its reader's language."""
    if assignment.reference_build is None:
        raise ConfigError(f"{assignment.id}: assignment.toml has no [reference] build = \"module:function\"")
    hook = resolve(assignment.reference_build)
    key = cache_key(assignment, hook, Path(data_dir), parameters)
    path = Path(out_dir) / CACHE_FOLDER / f"{assignment.id}-{key[:16]}.json"
    if path.is_file() and not rebuild:
        cached = json.loads(path.read_text(encoding="utf-8"))
        if cached.get("key") == key:
            return {name: Decimal(value) for name, value in cached["metrics"].items()}
    log(msg("reference_building", practical=assignment.id))
    started = time.monotonic()
    try:   # in a child interpreter: the grader's own process never imports torch during a batch
        raw = call_hook(assignment.reference_build, Path(data_dir), dict(parameters))
    except (OSError, ValueError) as err:
        raise GraderError(f"{assignment.reference_build} could not build the reference from {data_dir}: {err}") from err
    metrics = _decimals(raw, assignment.reference_build)
    seconds = round(time.monotonic() - started, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"key": key, "practical": assignment.id, "hook": assignment.reference_build,
                                "metrics": {k: str(v) for k, v in metrics.items()}, "seconds": seconds,
                                "parameters": parameters}, indent=1, sort_keys=True, default=str), encoding="utf-8")
    log(msg("reference_built", practical=assignment.id, seconds=str(seconds), path=str(path),
            metrics=[msg("reference_metric", name=k, value=str(v)) for k, v in metrics.items()]))
    return metrics


def with_reference(assignment: Assignment, data_dir: Path, parameters: dict[str, Any], out_dir: Path,
                   log: Callable[[Reason], None] = _say) -> Assignment:
    """The assignment with every relative threshold made absolute; unchanged when it has none.

    The metrics join the spec hash, so results graded against other reference metrics are not reused."""
    if not needs_reference(assignment):
        return assignment
    metrics = reference_metrics(assignment, data_dir, parameters, out_dir, log=log)
    checks = tuple(_resolved(spec, metrics, assignment.id) for spec in assignment.checks)
    material = json.dumps({"spec": assignment.spec_hash, "metrics": {k: str(v) for k, v in metrics.items()}},
                          sort_keys=True)
    return replace(assignment, checks=checks, spec_hash=hashlib.sha256(material.encode()).hexdigest())


def cache_key(assignment: Assignment, hook: Any, data_dir: Path, parameters: dict[str, Any]) -> str:
    material = json.dumps({"data": data_digest(data_dir, getattr(hook, "data_files", None)),
                           "spec": assignment.spec_hash, "hook": assignment.reference_build,
                           "parameters": parameters}, sort_keys=True, default=str)
    return hashlib.sha256(material.encode()).hexdigest()


def data_digest(data_dir: Path, declared: list[str] | None) -> str:
    """sha256 of the files the hook declares (those present), else of the folder's listing and sizes."""
    digest = hashlib.sha256()
    if declared:
        for name in declared:
            file = data_dir / name
            if file.is_file():
                digest.update(name.encode() + b"\0")
                with file.open("rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        digest.update(block)
        return digest.hexdigest()
    if not data_dir.is_dir():
        raise ConfigError(f"data folder {data_dir} does not exist")
    for file in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        digest.update(f"{file.relative_to(data_dir).as_posix()}\0{file.stat().st_size}\n".encode())
    return digest.hexdigest()


def _decimals(raw: Any, hook: str) -> dict[str, Decimal]:
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(f"{hook} must return a dict of metrics such as {{\"accuracy\": 0.975}}, got {raw!r}")
    metrics = {}
    for name, value in raw.items():
        try:
            # a float from training becomes a 4-place Decimal once, here, and never a float again
            number = Decimal(repr(float(value))) if not isinstance(value, Decimal) else value
        except (TypeError, ValueError):
            raise ConfigError(f"{hook} returned {name} = {value!r}, not a number") from None
        if not number.is_finite():
            raise GraderError(f"{hook} measured {name} = {value!r}: the reference did not train")
        metrics[str(name)] = number.quantize(FOUR_PLACES, rounding=ROUND_HALF_EVEN)
    return metrics


def _relative_keys(spec: CheckSpec) -> list[str]:
    return [key for key, value in spec.options.items() if getattr(value, "is_relative", False)]


def _resolved(spec: CheckSpec, metrics: dict[str, Decimal], practical: str) -> CheckSpec:
    keys = _relative_keys(spec)
    if not keys:
        return spec
    name = spec.options.get("metric") or spec.id
    if name not in metrics:
        raise ConfigError(f"{practical}: check {spec.id!r} is relative to the reference's {name!r}, but the "
                          f"reference measured only {', '.join(metrics)}")
    options = dict(spec.options)
    for key in keys:
        options[key] = options[key].resolve(metrics[name])

    try:
        get_check(spec.kind).validate(options, f"check {spec.id!r}", practical)
    except ConfigError as err:
        raise ConfigError(f"{err} once the reference is known (it measured {name} = {metrics[name]} under the "
                          "grading budget: a budget that lets the reference train is needed)") from None
    if options.get("zero_at") is not None and options.get("zero_at") == options.get("full_at"):
        raise ConfigError(f"{practical}: check {spec.id!r}: zero_at and full_at are both {options['zero_at']} "
                          "once the reference is known")
    return replace(spec, options=options)


def build_practical(practical: str, data_dir: Path, out_dir: Path, *, assignments_dir: Path | None = None,
                    parameters: dict[str, Any] | None = None, rebuild: bool = False,
                    log: Callable[[Reason], None] = _say) -> dict[str, Decimal]:
    """``grader reference build``: the practical's reference metrics under its grading parameters."""
    assignment = load_assignment(Path(assignments_dir or DEFAULT_ASSIGNMENTS_DIR) / practical)
    if not Path(data_dir).is_dir():
        raise ConfigError(f"--data {data_dir}: no such folder")
    return reference_metrics(assignment, Path(data_dir), {**assignment.parameters, **(parameters or {})},
                             Path(out_dir), rebuild=rebuild, log=log)
