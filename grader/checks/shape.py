"""Check kind ``shape``: the student's model maps a batch of the given shape to the expected shape.

All or nothing; the input is drawn fresh per run, the output shape is what the probe saw.
"""
from __future__ import annotations

from decimal import Decimal

import numpy as np

from grader.checks.base import Check, Option, PlanContext, ScoreContext, fmt_shape, result
from grader.i18n import msg
from grader.records import CheckResult
from grader.loaded_assignment import CheckSpec


class ShapeCheck(Check):
    kind = "shape"
    codes = (
        "shape_nonfinite", "shape_ok", "shape_wrong",
    )
    uses_probe = True
    options = {"name": Option("str"), "input_shape": Option("ints"), "expect": Option("ints")}

    @classmethod
    def plan(cls, spec: CheckSpec, ctx: PlanContext):
        batch = ctx.rng.random(spec.options["input_shape"], dtype=np.float32)
        item = {"item": spec.id, "kind": "model", "name": spec.options["name"],
                "inputs": [ctx.write_input(spec.id, batch)]}
        return [item], {}

    @classmethod
    def score(cls, spec: CheckSpec, ctx: ScoreContext) -> CheckResult:
        name, expect = spec.options["name"], tuple(spec.options["expect"])
        output = ctx.outputs.get(spec.id, name, want="array")
        if output.reason is not None:
            return result(spec, Decimal("0"), output.reason)
        got = output.array.shape
        shown = {"input_shape": fmt_shape(spec.options["input_shape"]), "expect": fmt_shape(expect),
                 "got": fmt_shape(got)}
        if tuple(got) != expect:
            return result(spec, Decimal("0"), msg("shape_wrong", name=name, **shown), shape=list(got))
        if not np.isfinite(output.array).all():
            return result(spec, Decimal("0"), msg("shape_nonfinite", name=name, **shown), shape=list(got))
        return result(spec, spec.points, msg("shape_ok", name=name, **shown), shape=list(got))
