"""Check kind ``architecture``: the student's model USES a layer of a required type.

With ``op`` the judge reads the model's exported program (grader.judge): an operation of that family (e.g.
"convolution") counts when its weights are parameters, the answer's gradient reaches them and its output
varies, on the very inputs the model is scored on (``inputs_of``: another check's item), so there is no
separate batch to recognise, and no layer's *name* counts, only what the graph computes.
When the model could not be exported, the probe in the student's kernel answers instead (said on the page):
with ``input_shape`` (or ``inputs_of``) it runs one forward pass with hooks on every module and a gradient from
the output back to the parameters: a layer counts only when it ran and the output depends on it; a kernel used
through F.conv2d counts as a used parameter with ``or_parameter_ndim`` dimensions. Without inputs only the
module list is read (what is defined, not what runs). All or nothing.
"""
from __future__ import annotations

from decimal import Decimal

import numpy as np

from grader.checks.base import Check, Option, PlanContext, ScoreContext, fmt_shape, result
from grader.errors import ConfigError
from grader.i18n import msg
from grader.loaded_assignment import CheckSpec
from grader.records import CheckResult

MAX_LISTED = 12
# the judge's operation families (grader.judge.answers.FAMILIES), as the check's messages name them
OP_FAMILIES = {"convolution": {"en": "convolution", "es": "convolución"},
               "transposed_convolution": {"en": "transposed convolution", "es": "convolución traspuesta"},
               "recurrent": {"en": "recurrent layer (LSTM, GRU, RNN)", "es": "capa recurrente (LSTM, GRU, RNN)"},
               "linear": {"en": "linear layer", "es": "capa lineal"},
               "embedding": {"en": "embedding", "es": "embedding"}}


class ArchitectureCheck(Check):
    kind = "architecture"
    codes = (
        "architecture_missing", "architecture_no_forward", "architecture_ok",
        "architecture_unused", "architecture_op_ok", "architecture_op_unused", "architecture_op_missing",
        "architecture_not_exported",
    )
    uses_probe = True
    options = {
        "name": Option("str", required=False, default="model"),
        "require_any": Option("strs"),          # module type names, e.g. ["Conv2d"]
        "or_parameter_ndim": Option("int", required=False),   # e.g. 4: a conv kernel used through F.conv2d
        "input_shape": Option("ints", required=False),        # the forward pass that shows what runs
        "op": Option("str", required=False),        # the operation family the judge looks for in the graph
        "inputs_of": Option("str", required=False),  # judged on the inputs of this check's item (the scored ones)
        "rows": Option("int", required=False, default=128),   # ... the first rows of them
    }

    @classmethod
    def validate(cls, options, where, path):

        if options["op"] is not None and options["op"] not in OP_FAMILIES:
            raise ConfigError(f"{path}: {where}.op = {options['op']!r} is unknown (known: {', '.join(OP_FAMILIES)})")
        if options["rows"] <= 0:
            raise ConfigError(f"{path}: {where}.rows must be positive")

    @classmethod
    def plan(cls, spec: CheckSpec, ctx: PlanContext):
        item = {"item": spec.id, "kind": "introspect", "name": spec.options["name"]}
        if spec.options["input_shape"]:   # a drawn batch: only where the scored inputs are not planned (self-check)
            batch = ctx.rng.random(spec.options["input_shape"], dtype=np.float32)
            item["args"] = [{"npy": ctx.write_input(spec.id, batch)}]
        if spec.options["inputs_of"]:   # resolved to that item's input file once every check is planned
            item["args"] = [{**(item.get("args") or [{}])[0], "npy_of": spec.options["inputs_of"]}]
            item["rows"] = spec.options["rows"]
        return [item], {}

    @classmethod
    def score(cls, spec: CheckSpec, ctx: ScoreContext) -> CheckResult:
        name, wanted = spec.options["name"], list(spec.options["require_any"])
        output = ctx.outputs.get(spec.id, name, want="value")
        if output.reason is not None:
            return result(spec, Decimal("0"), output.reason)
        found = output.value if isinstance(output.value, dict) else {}
        if spec.id in ctx.outputs.judged and spec.options["op"]:
            return _judged(spec, name, found)
        if name in ctx.outputs.unexported and spec.options["op"]:
            # what the kernel says ran is a claim the notebook can forge (a patched json.dump, a process
            # rewriting the status afterwards): no point from it, a person looks instead
            return result(spec, Decimal("0"), msg("architecture_not_exported", name=name,
                                                  error=ctx.outputs.unexported[name]),
                          claimed=_strs(found.get("ran"))[:MAX_LISTED], needs_human=True)
        # status.json is untrusted: a forged entry may hold any JSON where the probe writes lists
        modules = _strs(found.get("modules"))
        listed = sorted(set(modules[1:]))[:MAX_LISTED]
        running = spec.options["input_shape"] is not None or spec.options["inputs_of"] is not None
        if running and not isinstance(found.get("ran"), list):   # an old or forged answer: no evidence
            return result(spec, Decimal("0"), msg("architecture_no_forward", name=name), modules=listed)
        present = _present(spec, found, wanted, running)
        if present:
            return result(spec, spec.points, msg("architecture_ok", name=name, found=present[0]),
                          modules=listed)
        if running and _present(spec, found, wanted, False):
            defined = [m for m in wanted if m in modules] or [_weights_of(spec.options["or_parameter_ndim"])]
            return result(spec, Decimal("0"), msg("architecture_unused", name=name, defined=defined,
                                                  input_shape=_batch_shown(spec),
                                                  ran=_strs(found.get("ran"))[:MAX_LISTED] or ["-"]),
                          modules=listed)
        return result(spec, Decimal("0"), msg("architecture_missing", name=name, wanted=wanted,
                                              found=listed or ["-"]), modules=listed)


def _judged(spec: CheckSpec, name: str, found: dict) -> CheckResult:
    """The judge's reading of the program's graph on the scored inputs (the judge is the grader's own)."""
    op, used, present = spec.options["op"], _strs(found.get("used")), _strs(found.get("present"))
    shown = {"name": name, "op": OP_FAMILIES[op], "rows": found.get("rows", "-")}
    if op in used:
        return result(spec, spec.points, msg("architecture_op_ok", **shown), graph=present)
    if op in present:
        return result(spec, Decimal("0"), msg("architecture_op_unused", **shown), graph=present)
    found = {lang: ", ".join(OP_FAMILIES[p][lang] if p in OP_FAMILIES else p for p in present) or "-"
             for lang in ("en", "es")}
    return result(spec, Decimal("0"), msg("architecture_op_missing", found=found, **shown), graph=present)


def _present(spec: CheckSpec, found: dict, wanted: list[str], running: bool) -> list[str]:
    """The wanted layer types among those that ran (``running``) or were merely defined."""
    modules = _strs(found.get("ran" if running else "modules"))
    present = [m for m in wanted if m in modules]
    ndim = spec.options["or_parameter_ndim"]
    shapes = [s for s in _list(found.get("used_shapes" if running else "shapes")) if isinstance(s, list)]
    if not present and ndim is not None and any(len(s) == ndim for s in shapes):
        present = [_weights_of(ndim)]
    return present


def _strs(value) -> list[str]:
    return [m for m in _list(value) if isinstance(m, str)]


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _batch_shown(spec: CheckSpec) -> str:
    """The forward pass's batch as a student reads it: a shape, or how many of the scored inputs."""
    if spec.options["input_shape"]:
        return fmt_shape(spec.options["input_shape"])
    return f"({spec.options['rows']}, ...)"


def _weights_of(ndim: int) -> dict[str, str]:
    """A kernel used through F.conv2d, named in the reader's language (a message parameter in both)."""
    return {"en": f"{ndim}-D weights", "es": f"pesos de {ndim} dimensiones"}
