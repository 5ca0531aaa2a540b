"""Check kind ``architecture``: the student's model USES a layer of a required type.

With ``input_shape`` the probe runs one forward pass on a drawn batch, with hooks on every module
and a gradient from the output back to the parameters: a layer counts only when it ran and the
output depends on it. An nn.Conv2d defined in __init__ but never called in forward (or whose result
is thrown away) earns nothing; a kernel used through F.conv2d counts as a used parameter with
``or_parameter_ndim`` dimensions. Without ``input_shape`` only the module list is read (what is
defined, not what runs). All or nothing.
"""
from __future__ import annotations

from decimal import Decimal

import numpy as np

from grader.checks.base import Check, Option, PlanContext, ScoreContext, fmt_shape, result
from grader.i18n import msg
from grader.records import CheckResult
from grader.specs import CheckSpec

MAX_LISTED = 12


class ArchitectureCheck(Check):
    kind = "architecture"
    codes = (
        "architecture_missing", "architecture_no_forward", "architecture_ok",
        "architecture_unused",
    )
    uses_probe = True
    options = {
        "name": Option("str", required=False, default="model"),
        "require_any": Option("strs"),          # module type names, e.g. ["Conv2d"]
        "or_parameter_ndim": Option("int", required=False),   # e.g. 4: a conv kernel used through F.conv2d
        "input_shape": Option("ints", required=False),        # the forward pass that shows what runs
    }

    @classmethod
    def plan(cls, spec: CheckSpec, ctx: PlanContext):
        item = {"item": spec.id, "kind": "introspect", "name": spec.options["name"]}
        if spec.options["input_shape"]:
            batch = ctx.rng.random(spec.options["input_shape"], dtype=np.float32)
            item["args"] = [{"npy": ctx.write_input(spec.id, batch)}]
        return [item], {}

    @classmethod
    def score(cls, spec: CheckSpec, ctx: ScoreContext) -> CheckResult:
        name, wanted = spec.options["name"], list(spec.options["require_any"])
        output = ctx.outputs.get(spec.id, name, want="value")
        if output.reason is not None:
            return result(spec, Decimal("0"), output.reason)
        found = output.value if isinstance(output.value, dict) else {}
        # status.json is untrusted: a forged entry may hold any JSON where the probe writes lists
        modules = _strs(found.get("modules"))
        listed = sorted(set(modules[1:]))[:MAX_LISTED]
        running = spec.options["input_shape"] is not None
        if running and not isinstance(found.get("ran"), list):   # an old or forged answer: no evidence
            return result(spec, Decimal("0"), msg("architecture_no_forward", name=name), modules=listed)
        present = _present(spec, found, wanted, running)
        if present:
            return result(spec, spec.points, msg("architecture_ok", name=name, found=present[0]),
                          modules=listed)
        if running and _present(spec, found, wanted, False):
            defined = [m for m in wanted if m in modules] or [f"{spec.options['or_parameter_ndim']}-D weights"]
            return result(spec, Decimal("0"), msg("architecture_unused", name=name, defined=defined,
                                                  input_shape=fmt_shape(spec.options["input_shape"]),
                                                  ran=_strs(found.get("ran"))[:MAX_LISTED] or ["-"]),
                          modules=listed)
        return result(spec, Decimal("0"), msg("architecture_missing", name=name, wanted=wanted,
                                              found=listed or ["-"]), modules=listed)


def _present(spec: CheckSpec, found: dict, wanted: list[str], running: bool) -> list[str]:
    """The wanted layer types among those that ran (``running``) or were merely defined."""
    modules = _strs(found.get("ran" if running else "modules"))
    present = [m for m in wanted if m in modules]
    ndim = spec.options["or_parameter_ndim"]
    shapes = [s for s in _list(found.get("used_shapes" if running else "shapes")) if isinstance(s, list)]
    if not present and ndim is not None and any(len(s) == ndim for s in shapes):
        present = [f"{ndim}-D weights"]
    return present


def _strs(value) -> list[str]:
    return [m for m in _list(value) if isinstance(m, str)]


def _list(value) -> list:
    return value if isinstance(value, list) else []
