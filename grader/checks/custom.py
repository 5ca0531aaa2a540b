"""Check kind ``custom``: an instructor's function in ``reference/`` scores the check.

``function(ctx) -> (fraction of the points in [0, 1] as Decimal, Reason or message)``, called in
the grader's process; optional ``items(ctx)`` plans probe items for it. Student code never runs here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from grader.checks.base import Check, Option, PlanContext, ScoreContext, result
from grader.checks.shares import CENT
from grader.errors import ConfigError
from grader.i18n import msg
from grader.records import CheckResult, InspectionReport, Reason, RunResult
from grader.loaded_assignment import CheckSpec, resolve


@dataclass
class CustomContext:
    """What a custom function may read: its own probe items by the ids it planned, and the rest."""

    spec: CheckSpec
    inspection: InspectionReport
    run: RunResult | None
    outputs: Any                           # grader.checks.outputs.ProbeOutputs
    parameters: dict[str, Any]             # the grading parameters of this run
    kept: dict[str, Any] = field(default_factory=dict)    # what the items function kept back
    names: dict[str, str] = field(default_factory=dict)   # planned item id -> the student's name it calls
    notebook: Path | None = None
    earlier: dict[str, CheckResult] = field(default_factory=dict)

    def output(self, item: str):
        """The ItemOutput of an item this check planned (by the id its items function gave it)."""
        if item not in self.names:
            raise KeyError(f"check {self.spec.id!r} planned no item {item!r}")
        return self.outputs.get(_prefixed(self.spec.id, item), self.names[item])


class CustomCheck(Check):
    kind = "custom"
    codes = (
        "custom_failed", "custom_message",
    )
    uses_probe = True      # planned always; without items it plans nothing
    options = {"function": Option("ref"), "items": Option("ref", required=False)}

    @classmethod
    def plan(cls, spec: CheckSpec, ctx: PlanContext):
        items, kept = [], {}
        if spec.options["items"]:
            planned = resolve(spec.options["items"])(ctx)
            items, kept = planned if isinstance(planned, tuple) else (planned, {})
            items = [_own(spec.id, item, {i["item"] for i in items}) for item in items]
        names = {item["item"].removeprefix(_prefixed(spec.id, "")): item["name"] for item in items}
        return items, {"parameters": dict(ctx.parameters), "kept": kept, "names": names}

    @classmethod
    def score(cls, spec: CheckSpec, ctx: ScoreContext) -> CheckResult:
        private = ctx.private
        custom = CustomContext(spec=spec, inspection=ctx.inspection, run=ctx.run, outputs=ctx.outputs,
                               parameters=private.get("parameters", {}), kept=private.get("kept", {}),
                               names=private.get("names", {}), notebook=ctx.notebook, earlier=ctx.earlier)
        function = spec.options["function"]
        try:
            fraction, said = resolve(function)(custom)
        except ConfigError:
            raise
        except Exception as err:   # the instructor's code met an output it did not expect: a human looks
            return result(spec, Decimal("0"), msg("custom_failed", error=f"{type(err).__name__}: {err}"),
                          needs_human=True)
        fraction = _fraction(fraction, function)
        reason = said if isinstance(said, Reason) else msg("custom_message", text=str(said))
        return result(spec, (spec.points * fraction).quantize(CENT, rounding=ROUND_HALF_UP), reason)


def _fraction(value: Any, function: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise ConfigError(f"{function} returned a fraction of type {type(value).__name__}; "
                          "return a Decimal (or 0/1), never a float")
    value = Decimal(value)
    if not Decimal("0") <= value <= Decimal("1"):
        raise ConfigError(f"{function} returned the fraction {value}, outside [0, 1]")
    return value


def _prefixed(check_id: str, item: str) -> str:
    return f"{check_id}__{item}"


def _own(check_id: str, item: dict[str, Any], ids: set[str]) -> dict[str, Any]:
    """The item under this check's prefix, its {"item": id} arguments renamed alike."""
    def arg(a):
        return {"item": _prefixed(check_id, a["item"])} if "item" in a and a["item"] in ids else a

    item = dict(item, item=_prefixed(check_id, item["item"]))
    if "args" in item:
        item["args"] = [arg(a) for a in item["args"]]
    if "kwargs" in item:
        item["kwargs"] = {k: arg(a) for k, a in item["kwargs"].items()}
    return item
