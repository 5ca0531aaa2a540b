"""Check kind ``function``: the student's function against a reference on freshly drawn cases.

Points are the share of cases within tolerance; nan/inf from the student never pass. Expected
outputs are computed here, before the run, and kept out of the probe folder.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np

from grader.assignment import CheckSpec, resolve
from grader.checks.base import Check, Option, PlanContext, ScoreContext, fmt_shape, result, share
from grader.errors import ConfigError
from grader.i18n import msg
from grader.records import CheckResult, Reason


class FunctionCheck(Check):
    kind = "function"
    uses_probe = True
    options = {
        "name": Option("str"),
        "reference": Option("ref"),
        "cases": Option("ref"),
        "rtol": Option("decimal", required=False, default=Decimal("1e-5")),
        "atol": Option("decimal", required=False, default=Decimal("1e-8")),
    }

    @classmethod
    def plan(cls, spec: CheckSpec, ctx: PlanContext):
        reference = resolve(spec.options["reference"])
        cases = list(resolve(spec.options["cases"])(ctx.rng))
        if not cases:
            raise ConfigError(f"check {spec.id!r}: {spec.options['cases']} returned no cases")
        items, kept = [], []
        for number, case in enumerate(cases, start=1):
            args = [np.asarray(a) for a in (case if isinstance(case, (tuple, list)) else (case,))]
            item = f"{spec.id}__{number}"
            files = [ctx.write_input(f"{item}__{i}", a) for i, a in enumerate(args)]
            expected = np.asarray(reference(*[a.copy() for a in args]), dtype=np.float64)
            items.append({"item": item, "kind": "function", "name": spec.options["name"], "inputs": files})
            kept.append({"item": item, "expected": expected, "largest": _largest(args)})
        return items, {"cases": kept}

    @classmethod
    def score(cls, spec: CheckSpec, ctx: ScoreContext) -> CheckResult:
        name = spec.options["name"]
        cases = ctx.private["cases"]
        first: Reason | None = None
        passed = 0
        for number, case in enumerate(cases, start=1):
            output = ctx.outputs.get(case["item"], name)
            if output.reason is not None and output.reason.code == "checks_missing_name":
                return result(spec, Decimal("0"), output.reason, cases_passed=f"0/{len(cases)}")
            problem = _problem(output, case, spec.options)
            if problem is None:
                passed += 1
            elif first is None:
                first = _case_reason(problem, name=name, case=number, largest=case["largest"])
        total = len(cases)
        details = {"cases_passed": f"{passed}/{total}"}
        if first is None:
            return result(spec, spec.points, msg("checks_function_ok", name=name, total=total), **details)
        first = Reason(first.code, {**first.params, "passed": passed, "total": total})
        return result(spec, share(spec.points, passed, total), first, **details)


def _problem(output, case: dict[str, Any], options: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """None when the case passes, else (what went wrong, its parameters)."""
    if output.reason is not None:
        return "reason", {"reason": output.reason}
    got, expected = output.array.astype(np.float64), case["expected"]
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


def _case_reason(problem, **where: Any) -> Reason:
    what, params = problem
    if what == "reason":
        inner: Reason = params["reason"]
        if inner.code == "checks_call_failed":
            return msg("checks_function_case_error", error=inner.params.get("error", ""), **where)
        if inner.code == "checks_output_invalid":
            return msg("checks_function_case_invalid", problem=inner.params.get("problem", ""), **where)
        return inner
    if what == "shape":
        return msg("checks_function_case_shape", **params, **where)
    if what == "nonfinite":
        return msg("checks_function_case_nonfinite", **params, **where)
    return msg("checks_function_case_mismatch", **params, **where)


def _largest(args: list[np.ndarray]) -> str:
    """The case's largest magnitude, which tells a student which case hit overflow."""
    floats = [a for a in args if a.dtype.kind == "f" and a.size] or [a for a in args if a.size]
    if not floats:
        return "0"
    return f"{max(float(np.max(np.abs(a.astype(np.float64)))) for a in floats):.4g}"
