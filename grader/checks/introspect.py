"""Check kind ``architecture``: the student's model contains a layer of a required type.

Reads the probe's introspection of the model (module type names, parameter shapes); a model
written in the functional style counts through its parameters' shapes. All or nothing.
"""
from __future__ import annotations

from decimal import Decimal

from grader.assignment import CheckSpec
from grader.checks.base import Check, Option, PlanContext, ScoreContext, result
from grader.i18n import msg
from grader.records import CheckResult

MAX_LISTED = 12


class ArchitectureCheck(Check):
    kind = "architecture"
    uses_probe = True
    options = {
        "name": Option("str", required=False, default="model"),
        "require_any": Option("strs"),          # module type names, e.g. ["Conv2d"]
        "or_parameter_ndim": Option("int", required=False),   # e.g. 4: a conv kernel used through F.conv2d
    }

    @classmethod
    def plan(cls, spec: CheckSpec, ctx: PlanContext):
        return [{"item": spec.id, "kind": "introspect", "name": spec.options["name"]}], {}

    @classmethod
    def score(cls, spec: CheckSpec, ctx: ScoreContext) -> CheckResult:
        name, wanted = spec.options["name"], list(spec.options["require_any"])
        output = ctx.outputs.get(spec.id, name, want="value")
        if output.reason is not None:
            return result(spec, Decimal("0"), output.reason)
        found = output.value if isinstance(output.value, dict) else {}
        # status.json is untrusted: a forged entry may hold any JSON where the probe writes lists
        modules = [m for m in _list(found.get("modules")) if isinstance(m, str)]
        present = [m for m in wanted if m in modules]
        ndim = spec.options["or_parameter_ndim"]
        shapes = [s for s in _list(found.get("shapes")) if isinstance(s, list)]
        if not present and ndim is not None and any(len(s) == ndim for s in shapes):
            present = [f"{ndim}-D weights"]
        listed = sorted(set(modules) - {modules[0]} if modules else set())[:MAX_LISTED]
        if not present:
            return result(spec, Decimal("0"), msg("checks2_architecture_missing", name=name, wanted=wanted,
                                                  found=listed or ["-"]), modules=listed)
        return result(spec, spec.points, msg("checks2_architecture_ok", name=name, found=present[0]),
                      modules=listed)


def _list(value) -> list:
    return value if isinstance(value, list) else []
