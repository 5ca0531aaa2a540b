"""Check kind ``function``: the student's function against a reference on freshly drawn cases.

Points are the share of cases within tolerance; nan/inf from the student never pass. Expected
outputs are computed here, before the run, and kept out of the probe folder. Cases may hold
arrays, JSON values (str, int, ...) and PIL images; outputs may be arrays or JSON values
(compared exactly), or go to an instructor's ``compare`` function. ``forbid`` names the library functions the
statement forbids (F.cross_entropy for a cross-entropy to write): a case whose call reaches one fails, said so.

Named parts (``[[checks.parts]]``: id, points, es, en) give one property of the function a fixed
share of the points: the cases generator tags the cases that test it (``part``), each part earns
the share of its own cases passed, and untagged cases share the points the parts leave. A softmax
of 1.5 points with a part ``stable`` of 0.5 on ±1000 logits loses exactly 0.5 when it overflows,
however many cases of each kind a run draws. The reason names the parts lost in words, and the
first failing case by the generator's description of it (``about``, es and en) when it gives one
(see grader.checks.parts and reference.cases.Case); plain tuples still work, as "case 3".
"""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import numpy as np

from grader.checks.base import Check, Option, PlanContext, ScoreContext, fmt_shape, result
from grader.checks.parts import case_tags, check_cases, scored, validate_points
from grader.errors import ConfigError
from grader.i18n import msg
from grader.records import CheckResult, Reason
from grader.loaded_assignment import CheckSpec, resolve

MAX_SHOWN = 60


class FunctionCheck(Check):
    kind = "function"
    codes = (
        "function_ok", "function_case_error", "function_case_invalid", "function_case_number",
        "function_case_other", "function_part", "function_part_rest", "function_parts_lost",
    )
    uses_probe = True
    options = {
        "name": Option("str"),
        "reference": Option("ref"),
        "cases": Option("ref"),
        "rtol": Option("decimal", required=False, default=Decimal("1e-5")),
        "atol": Option("decimal", required=False, default=Decimal("1e-8")),
        "compare": Option("ref", required=False),     # compare(got, expected) -> (ok, detail)
        "repeat": Option("int", required=False),      # call N times; the output is the list of N results
        "parts": Option("parts", required=False, default=()),   # named shares of the points (see above)
        # what the statement forbids the function to call, dotted as imported ("torch.nn.functional.cross_entropy",
        # a class, or a module for all it defines): a case whose call reaches one fails (grader/probe/probe_calls.py)
        "forbid": Option("strs", required=False, default=()),
    }

    @classmethod
    def validate(cls, options, where, path):
        if options["repeat"] is not None and (options["repeat"] <= 0 or options["compare"] is None):
            raise ConfigError(f"{path}: {where}.repeat must be positive and needs a compare function "
                              "(N outputs cannot equal one reference output)")

    @classmethod
    def validate_points(cls, options, points, where, path):
        validate_points(options["parts"], points, where, path)

    @classmethod
    def plan(cls, spec: CheckSpec, ctx: PlanContext):
        reference = resolve(spec.options["reference"])
        cases = list(resolve(spec.options["cases"])(ctx.rng))
        if not cases:
            raise ConfigError(f"check {spec.id!r}: {spec.options['cases']} returned no cases")
        tags = [case_tags(case, spec.id) for case in cases]
        if not spec.options["parts"]:   # a check that splits nothing: a generator's part tags mean nothing here
            tags = [(None, about) for _, about in tags]
        check_cases(spec.options["parts"], spec.points, [part for part, _ in tags], spec.id)
        items, kept = [], []
        for number, (case, (part, about)) in enumerate(zip(cases, tags), start=1):
            args, kwargs = split_case(case)
            item = f"{spec.id}__{number}"
            probe_item = {"item": item, "kind": "function", "name": spec.options["name"],
                          "args": [probe_arg(ctx, f"{item}__{i}", a, spec.id) for i, a in enumerate(args)],
                          "kwargs": {k: probe_arg(ctx, f"{item}__{k}", a, spec.id) for k, a in kwargs.items()}}
            if spec.options["repeat"] is not None:
                probe_item["repeat"] = spec.options["repeat"]
            if spec.options["forbid"]:
                probe_item["forbid"] = list(spec.options["forbid"])
            raw = reference(*[_copy(a) for a in args], **{k: _copy(a) for k, a in kwargs.items()})
            expected = raw if spec.options["compare"] else expected_output(raw, spec.id)
            items.append(probe_item)
            about = about or msg("function_case_number", case=number,
                                 largest=_largest([*args, *kwargs.values()])).to_json()
            kept.append({"item": item, "expected": expected, "part": part, "about": about})
        return items, {"cases": kept}

    @classmethod
    def score(cls, spec: CheckSpec, ctx: ScoreContext) -> CheckResult:
        name = spec.options["name"]
        cases = ctx.private["cases"]
        compare = resolve(spec.options["compare"]) if spec.options["compare"] else None
        first: tuple[Any, dict[str, Any]] | None = None
        outcomes = []
        for case in cases:
            output = ctx.outputs.get(case["item"], name)
            if output.reason is not None and output.reason.code == "checks_missing_name":
                return result(spec, Decimal("0"), output.reason, cases_passed=f"0/{len(cases)}")
            problem = _compared(output, case, compare) if compare else _problem(output, case, spec.options)
            outcomes.append((case["part"], problem is None))
            if problem is not None and first is None:
                first = problem, case
        passed, total = sum(ok for _, ok in outcomes), len(cases)
        points, lost, counts = scored(spec.options["parts"], spec.points, outcomes)
        details = {"cases_passed": f"{passed}/{total}", **({"parts_passed": counts} if spec.options["parts"] else {})}
        if first is None:
            return result(spec, spec.points, msg("function_ok", name=name, total=total), **details)
        problem, case = first
        reason = _case_reason(problem, name=name, about=case["about"], lost=lost, passed=passed, total=total)
        return result(spec, points, reason, **details)


def split_case(case: Any) -> tuple[list[Any], dict[str, Any]]:
    """A case is a tuple/list of arguments, {"args": [...], "kwargs": {...}} (with "part" and "about"
    if the generator tags it), or one argument."""
    if isinstance(case, dict) and set(case) & {"args", "kwargs"} and set(case) <= {"args", "kwargs", "part", "about"}:
        return list(case.get("args", ())), dict(case.get("kwargs", {}))
    if isinstance(case, (tuple, list)):
        return list(case), {}
    return [case], {}


def probe_arg(ctx: PlanContext, name: str, value: Any, check_id: str) -> dict[str, Any]:
    """One argument in the probe's ARG form: arrays as .npy, PIL images as PNG, the rest as JSON."""
    if hasattr(value, "detach"):           # a torch tensor from a cases generator
        value = value.detach().cpu().numpy()
    if isinstance(value, (np.ndarray, np.generic)):
        return {"npy": ctx.write_input(name, np.asarray(value))}
    if hasattr(value, "save") and hasattr(value, "mode"):     # a PIL image
        return {"image": ctx.write_image(name, value)}
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise ConfigError(f"check {check_id!r}: a case argument of type {type(value).__name__} is neither an "
                          "array, a PIL image nor a JSON value") from None
    return {"json": value}


def expected_output(raw: Any, check_id: str) -> tuple[str, Any]:
    """The reference output classified as the probe classifies the student's: ("array", float64
    array) for numbers, ("value", JSON) for anything else JSON-able."""
    if hasattr(raw, "detach"):
        raw = raw.detach().cpu().numpy()
    if raw is not None and not isinstance(raw, (bool, str, dict)):
        try:
            array = np.asarray(raw)
        except ValueError:
            array = None
        if array is not None and array.dtype.kind in "iuf" + ("b" if isinstance(raw, np.ndarray) else ""):
            return "array", array.astype(np.float64)
    try:
        return "value", json.loads(json.dumps(raw))
    except (TypeError, ValueError):
        raise ConfigError(f"check {check_id!r}: the reference returned {type(raw).__name__}, neither numbers "
                          "nor a JSON value; give the check a compare function") from None


def _copy(value: Any) -> Any:
    return value.copy() if hasattr(value, "copy") else value


def _problem(output, case: dict[str, Any], options: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """None when the case passes, else (what went wrong, its parameters)."""
    if output.reason is not None:
        return "reason", {"reason": output.reason}
    what, expected = case["expected"]
    if what == "value":
        got = output.value if output.is_value else output.array.tolist()
        if got != expected:
            return "value", {"got": shown(got), "expected": shown(expected)}
        return None
    if output.is_value:
        return "not_numbers", {"got": shown(output.value)}
    got = output.array.astype(np.float64)
    if got.shape != expected.shape:
        if got.size == expected.size == 1:    # a scalar as shape () or (1,) is the same answer
            got = got.reshape(expected.shape)
        else:
            return "shape", {"got": fmt_shape(got.shape), "expected": fmt_shape(expected.shape)}
    if not np.isfinite(got).all():
        return "nonfinite", {"got": "nan" if np.isnan(got).any() else "inf"}
    close = np.isclose(got, expected, rtol=float(options["rtol"]), atol=float(options["atol"]))
    if not close.all():
        return "mismatch", {"difference": f"{float(np.max(np.abs(got - expected))):.3g}"}
    return None


def _compared(output, case: dict[str, Any], compare) -> tuple[str, dict[str, Any]] | None:
    """The instructor's compare(got, expected) decides; an exception in it is this case's failure."""
    if output.reason is not None:
        return "reason", {"reason": output.reason}
    got = output.value if output.is_value else output.array
    try:
        ok, detail = compare(got, case["expected"])
    except Exception as err:  # student output the compare function did not expect
        ok, detail = False, f"{type(err).__name__}: {err}"
    return None if ok else ("compare", {"detail": str(detail)[:300]})


def shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN - 3] + "..."


_CASE_CODES = {"shape": "function_case_shape", "nonfinite": "function_case_nonfinite",
               "mismatch": "function_case_mismatch", "value": "function_case_value",
               "not_numbers": "function_case_not_numbers", "compare": "function_case_compare"}


def _case_reason(problem, **where: Any) -> Reason:
    what, params = problem
    if what == "reason":
        inner: Reason = params["reason"]
        if inner.code == "checks_call_failed":
            return msg("function_case_error", error=inner.params.get("error", ""), **where)
        if inner.code == "checks_output_invalid":
            return msg("function_case_invalid", problem=inner.params.get("problem", ""), **where)
        return msg("function_case_other", problem=inner.to_json(), **where)
    return msg(_CASE_CODES[what], **params, **where)


def _largest(args: list[Any]) -> str:
    """The case's largest magnitude, which tells a student which case hit overflow; else its first input."""
    arrays = [np.asarray(a) for a in args if isinstance(a, (np.ndarray, np.generic)) or hasattr(a, "detach")]
    floats = [a for a in arrays if a.dtype.kind == "f" and a.size] or [a for a in arrays if a.size]
    if not floats:
        return shown(args[0]) if args and not hasattr(args[0], "mode") else "-"
    return f"{max(float(np.max(np.abs(a.astype(np.float64)))) for a in floats):.4g}"
