"""The student wheel's assignments (``STUDENT_WHEEL=1``, setup.py): public checks without reference code.

At build time, in the instructor's repository, every public ``function`` check draws a few cases from a
fixed public seed, the reference computes their outputs, and both are written as .npy/PNG/JSON into
``public_assignments/<id>/cases/<check>/``; the check becomes ``public_function`` (grader.checks.
public_function), which compares the student's function with those stored outputs (as otter's public
tests do). A public check whose other hooks live in reference/ (metrics, training checks, vocabulary) is
kept as ``at_submission``: its id and points, judged at grading. Hidden checks are placeholders already
(grader.public_copies). The spec names nothing of reference/, so the wheel needs no ``reference`` package.
"""
from __future__ import annotations

import json
import shutil
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from grader.assignment import load_assignment
from grader.checks import get_check
from grader.checks.base import PlanContext
from grader.checks.function import FunctionCheck
from grader.loaded_assignment import resolve
from grader.public_copies import copy_public_files, public_spec

PUBLIC_SEED = 20270331          # the public cases are the same in every build and every run
SHIPPED_PREFIX = "grader."      # hooks a student wheel can resolve


def write_student_assignments(source: Path, dest: Path) -> list[str]:
    """Every practical of ``source`` (assignments/) as the student wheel carries it, into ``dest``."""
    shutil.rmtree(dest, ignore_errors=True)      # nothing of an earlier build's kind stays
    written = []
    for spec in sorted(Path(source).glob("*/assignment.toml")):
        write_student_assignment(spec.parent, Path(dest) / spec.parent.name)
        copy_public_files(spec.parent, Path(dest) / spec.parent.name)
        written.append(spec.parent.name)
    return written


def write_student_assignment(source: Path, dest: Path) -> None:
    """``source`` (assignments/<id>) as a student wheel carries it, into ``dest``."""
    assignment = load_assignment(source)   # the full spec, its references resolved (reference/ is here)
    data = tomllib.loads(public_spec((Path(source) / "assignment.toml").read_text(encoding="utf-8")))
    data["assignment"].pop("student_data", None)   # `grader data` is the instructor's (needs reference/)
    data.pop("reference", None)
    tables = []
    for table in data["checks"]:
        if table.get("hidden") is True:
            tables.append(table)
            continue
        spec = assignment.check(table["id"])
        refs = [ref for _, ref in get_check(spec.kind).references(spec)]
        if spec.kind == "function":
            tables.append(_public_function(table, spec, Path(dest) / "cases" / spec.id, f"{assignment.id}/cases/{spec.id}"))
        elif any(not ref.startswith(SHIPPED_PREFIX) for ref in refs):
            tables.append({"id": spec.id, "kind": "at_submission", "points": table["points"], "was": spec.kind})
        else:
            tables.append(table)
    Path(dest).mkdir(parents=True, exist_ok=True)
    (Path(dest) / "assignment.toml").write_text(tomli_w.dumps({**data, "checks": tables}), encoding="utf-8")


def _public_function(table: dict[str, Any], spec, folder: Path, cases_dir: str) -> dict[str, Any]:

    public = {k: v for k, v in table.items() if k not in ("reference", "cases")}
    if spec.options.get("compare"):
        public["compare"] = _shipped(spec.options["compare"], spec.id)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    ctx = PlanContext(probe_dir=folder, data_dir=Path(tempfile.gettempdir()), parameters={},
                      rng=np.random.default_rng(PUBLIC_SEED))
    items, kept = FunctionCheck.plan(spec, ctx)      # the probe's inputs land in folder, as .npy and PNG
    cases = []
    for number, case in enumerate(kept["cases"], start=1):
        cases.append({**case, "expected": _stored(folder, f"{spec.id}__{number}__expected", case["expected"],
                                                  raw=bool(spec.options.get("compare")))})
    (folder / "cases.json").write_text(json.dumps({"items": items, "cases": cases}, indent=1), encoding="utf-8")
    for path in folder.iterdir():
        path.chmod(0o644)
    return {**public, "kind": "public_function", "cases_dir": cases_dir}


def _stored(folder: Path, name: str, expected: Any, *, raw: bool) -> dict[str, Any]:
    if raw:                                          # a compare function gets the reference's output as it came
        value = expected.detach().cpu().numpy() if hasattr(expected, "detach") else np.asarray(expected)
        np.save(folder / f"{name}.npy", value, allow_pickle=False)
        return {"raw": f"{name}.npy"}
    what, value = expected
    if what == "array":
        np.save(folder / f"{name}.npy", value, allow_pickle=False)
        return {"array": f"{name}.npy"}
    return {"value": value}


def _shipped(ref: str, check_id: str) -> str:
    """A compare function as the wheel can import it: defined in the grader, whatever module re-exports it."""
    obj = resolve(ref)
    module = getattr(obj, "__module__", "") or ""
    if not module.startswith(SHIPPED_PREFIX):
        raise ValueError(f"check {check_id!r}: compare = {ref!r} is defined in {module or 'an unknown module'}, "
                         "which the student wheel does not carry; define it in grader/checks/comparisons.py")
    return f"{module}:{obj.__qualname__}"
