"""Check kind ``sequence_shape``: a token model maps int64 ids [N, T] to logits [N, T, V].

V must cover the vocabulary (extra tokens are allowed) and the logits must be finite. All or
nothing; the ids are drawn fresh per run from the vocabulary's range.
"""
from __future__ import annotations

from decimal import Decimal

import numpy as np

from grader.checks.base import Check, Option, PlanContext, ScoreContext, fmt_shape, result
from grader.errors import ConfigError
from grader.i18n import msg
from grader.records import CheckResult
from grader.loaded_assignment import CheckSpec, resolve


class SequenceShapeCheck(Check):
    kind = "sequence_shape"
    codes = (
        "sequence_shape_nonfinite", "sequence_shape_ok", "sequence_shape_wrong",
    )
    uses_probe = True
    options = {"name": Option("str"), "input_shape": Option("ints"), "vocabulary": Option("ref")}

    @classmethod
    def validate(cls, options, where, path):
        if len(options["input_shape"]) != 2:
            raise ConfigError(f"{path}: {where}.input_shape must be [N, T]")

    @classmethod
    def plan(cls, spec: CheckSpec, ctx: PlanContext):
        size = len(resolve(spec.options["vocabulary"])(ctx.data_dir, ctx.parameters))
        ids = ctx.rng.integers(0, size, spec.options["input_shape"], dtype=np.int64)
        item = {"item": spec.id, "kind": "model", "name": spec.options["name"],
                "args": [{"npy": ctx.write_input(spec.id, ids)}]}
        return [item], {"vocabulary_size": size}

    @classmethod
    def score(cls, spec: CheckSpec, ctx: ScoreContext) -> CheckResult:
        name, size = spec.options["name"], ctx.private["vocabulary_size"]
        n, t = spec.options["input_shape"]
        output = ctx.outputs.get(spec.id, name, want="array")
        if output.reason is not None:
            return result(spec, Decimal("0"), output.reason)
        got = output.array.shape
        shown = {"name": name, "input_shape": fmt_shape((n, t)), "got": fmt_shape(got), "size": size,
                 "expect": f"({n}, {t}, V)"}
        if len(got) != 3 or tuple(got[:2]) != (n, t) or got[2] < size:
            return result(spec, Decimal("0"), msg("sequence_shape_wrong", **shown), shape=list(got))
        if not np.isfinite(output.array).all():
            return result(spec, Decimal("0"), msg("sequence_shape_nonfinite", **shown), shape=list(got))
        return result(spec, spec.points, msg("sequence_shape_ok", **shown), shape=list(got))
