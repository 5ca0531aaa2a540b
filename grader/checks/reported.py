"""Check kind ``reported``: the number the student printed vs the number the grader reproduced.

Reads the printed value from the notebook as handed in and compares it with the same line in
the grader's own run and/or another check's measurement. It flags for a human; it never runs code.
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

from grader.checks.base import Check, Option, ScoreContext, result
from grader.errors import ConfigError
from grader.notebook_tags import INJECTED_TAG
from grader.i18n import msg
from grader.notebooks import read_notebook
from grader.records import CheckResult, Reason
from grader.loaded_assignment import CheckSpec

RUN = "run"     # the reproduced value printed by the grader's own run of the notebook


class ReportedCheck(Check):
    kind = "reported"
    codes = (
        "reported_differs", "reported_differs_run", "reported_missing",
        "reported_not_reproduced", "reported_ok",
    )
    options = {
        "pattern": Option("str"),        # a regex whose first group is the number, e.g. "Test accuracy: ([0-9.]+)"
        "tolerance": Option("decimal"),  # absolute; grading budgets are smaller than students' own runs
        "against": Option("strs", required=False, default=(RUN,)),   # "run" and/or ids of earlier checks
        "measure": Option("str", required=False, default="accuracy"),  # the details key of those checks
    }

    @classmethod
    def validate(cls, options, where, path):
        try:
            pattern = re.compile(options["pattern"])
        except re.error as err:
            raise ConfigError(f"{path}: {where}.pattern is not a valid regular expression ({err})") from None
        if pattern.groups < 1:
            raise ConfigError(f"{path}: {where}.pattern needs a group around the number, e.g. \"Accuracy: ([0-9.]+)\"")
        if options["tolerance"] < 0:
            raise ConfigError(f"{path}: {where}.tolerance must not be negative")

    @classmethod
    def score(cls, spec: CheckSpec, ctx: ScoreContext) -> CheckResult:
        pattern = spec.options["pattern"]
        reported = printed_value(ctx.notebook, pattern)
        if reported is None:
            return result(spec, Decimal("0"), msg("reported_missing", pattern=pattern))
        reproduced = _reproduced(spec, ctx)
        shown = {source: str(value) for source, value in reproduced.items()}
        if not reproduced:
            return result(spec, Decimal("0"), msg("reported_not_reproduced", reported=str(reported)),
                          reported=str(reported), needs_human=True)
        tolerance = spec.options["tolerance"]
        source, value = max(reproduced.items(), key=lambda kv: abs(kv[1] - reported))
        if abs(value - reported) > tolerance:
            return result(spec, Decimal("0"), _differs(spec, ctx, reported, reproduced),
                          reported=str(reported), reproduced=shown, needs_human=True)
        return result(spec, spec.points, msg("reported_ok", reported=str(reported), reproduced=str(value),
                                             tolerance=str(tolerance)),
                      reported=str(reported), reproduced=shown, needs_human=False)


def _differs(spec: CheckSpec, ctx: ScoreContext, reported: Decimal, reproduced: dict[str, Decimal]) -> Reason:
    """Every figure labelled by where the student can find it: their own printed line, the line the
    grader's run of their notebook printed, then a check's own measurement and what it fed the model."""
    params = {"reported": str(reported), "tolerance": str(spec.options["tolerance"])}
    if RUN in reproduced:
        params["run"] = str(reproduced[RUN])
    measured = next((source for source in reproduced if source != RUN), None)
    if measured is None:
        return msg("reported_differs_run", **params)
    inputs = ctx.earlier[measured].details.get("inputs") or {}
    inputs = inputs if isinstance(inputs, dict) else {}
    params.update(check=measured, measured=str(reproduced[measured]),
                  count=ctx.earlier[measured].details.get("count", "?"),
                  **{key: inputs.get(key, "?") for key in ("shape", "dtype", "low", "high")})
    return msg("reported_differs" if RUN in reproduced else "reported_differs_measured", **params)


def printed_value(notebook: Path | None, pattern: str) -> Decimal | None:
    """The last number ``pattern`` finds in the notebook's printed outputs, or None."""
    if notebook is None or not Path(notebook).is_file():
        return None
    nb, _ = read_notebook(Path(notebook))
    if nb is None:
        return None
    found = None
    regex = re.compile(pattern)
    for text in _printed(nb):
        for match in regex.finditer(text):
            number = _decimal(match.group(1))
            found = number if number is not None else found
    return found


def _printed(nb) -> list[str]:
    """Stream text and plain-text results of the notebook's own cells (never the grader's probe cell)."""
    texts = []
    for cell in nb.cells:
        if cell.get("cell_type") != "code" or INJECTED_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                texts.append(_text(output.get("text", "")))
            elif output.get("output_type") in ("execute_result", "display_data"):
                texts.append(_text(output.get("data", {}).get("text/plain", "")))
    return texts


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _decimal(text: str) -> Decimal | None:
    try:
        number = Decimal(text.strip().rstrip("."))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _reproduced(spec: CheckSpec, ctx: ScoreContext) -> dict[str, Decimal]:
    """source -> the value the grader got: its own run's printed line, or an earlier check's measure."""
    values = {}
    for source in spec.options["against"]:
        if source == RUN:
            executed = ctx.run.executed_notebook if ctx.run is not None else None
            value = printed_value(executed, spec.options["pattern"])
        else:
            earlier = ctx.earlier.get(source)
            value = _decimal(str(earlier.details.get(spec.options["measure"], ""))) if earlier else None
        if value is not None:
            values[source] = value
    return values
