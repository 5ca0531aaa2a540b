"""Check kinds of the student wheel, which carries no reference implementation (``STUDENT_WHEEL=1``).

``public_function``: a ``function`` check on fixed public inputs whose expected outputs were computed by the
reference when the wheel was built (grader.public_cases): the probe gets the stored inputs, the score is the
``function`` kind's own (tolerances, named parts, the instructor's compare function). The inputs are the same
in every run, so a student can never learn more from them than the built wheel already shows.

``at_submission``: a public check whose hooks live in the reference (a metric, the training checks): kept
with its id and points, judged only when the notebook is graded.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from grader.checks.base import Check, Option, PlanContext, ScoreContext
from grader.checks.function import FunctionCheck
from grader.errors import ConfigError
from grader.public_copies import PUBLIC_DIR

CASES_FILE = "cases.json"


def cases_root() -> Path:

    return PUBLIC_DIR


class PublicFunctionCheck(FunctionCheck):
    kind = "public_function"
    codes = ()                      # the function kind's codes, emitted through its score
    options = {key: option for key, option in FunctionCheck.options.items() if key not in ("reference", "cases")}
    options = {**options, "cases_dir": Option("str")}   # <practical>/<check> under the wheel's public_assignments

    @classmethod
    def plan(cls, spec, ctx: PlanContext) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        folder = cases_root() / spec.options["cases_dir"]
        try:
            stored = json.loads((folder / CASES_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise ConfigError(f"check {spec.id!r}: its public cases cannot be read in {folder} ({err})") from None
        for item in stored["items"]:
            for arg in [*item["args"], *item["kwargs"].values()]:
                _copy_input(folder, ctx.probe_dir, arg)
        kept = [{**case, "expected": _expected(folder, case["expected"])} for case in stored["cases"]]
        return stored["items"], {"cases": kept}


def _copy_input(folder: Path, probe_dir: Path, arg: dict[str, Any]) -> None:
    name = arg.get("npy") or arg.get("image")
    if name:
        target = probe_dir / name
        target.unlink(missing_ok=True)
        shutil.copyfile(folder / name, target)
        target.chmod(0o444)


def _expected(folder: Path, stored: dict[str, Any]) -> Any:
    if "raw" in stored:             # for a compare function: the reference's output as it came
        return np.load(folder / stored["raw"], allow_pickle=False)
    if "array" in stored:
        return "array", np.load(folder / stored["array"], allow_pickle=False).astype(np.float64)
    return "value", stored["value"]


class AtSubmissionCheck(Check):
    kind = "at_submission"
    uses_probe = True               # planned only to be refused: a self-check never judges it
    needs_evaluation_data = True    # "graded at submission" in a live kernel
    options = {"was": Option("str", required=False)}   # the kind it has at grading time

    @classmethod
    def plan(cls, spec, ctx: PlanContext):
        raise ConfigError(f"check {spec.id!r} is judged when the notebook is graded")

    @classmethod
    def score(cls, spec, ctx: ScoreContext):
        raise ConfigError(f"check {spec.id!r} is judged when the notebook is graded")
