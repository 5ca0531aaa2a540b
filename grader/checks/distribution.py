"""Check kind ``distribution``: a sampling function's draws follow softmax(logits / T).

The probe calls the student's ``sample(logits, temperature)`` ``draws`` times on logits drawn
here; the counts are compared with the exact distribution by a total-variation bound whose false
failure rate is stated (Bretagnolle-Huber-Carol). One draw proves nothing: this kind never scores one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from grader.checks.base import Check, Option, PlanContext, ScoreContext, result
from grader.checks.shares import share
from grader.errors import ConfigError
from grader.i18n import msg
from grader.records import CheckResult, Reason
from grader.loaded_assignment import CheckSpec

MAX_BINS = 8
# Drawn logits must tell a right sampler from the usual wrong ones (argmax, temperature ignored)
# by at least this total variation, far above what chance produces with the default draws.
MIN_SEPARATION = 0.2
_LOGIT_TRIES = 2000


@dataclass(frozen=True)
class Fit:
    """Draws against a distribution: the total variation seen and the most it may be by chance."""

    ok: bool
    distance: float           # total variation between the draws' frequencies and p (on the bins)
    allowed: float
    top_expected: float       # probability of the most likely class
    top_observed: float       # how often it was drawn


def softmax(logits: np.ndarray, temperature: float) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = np.exp(z - z.max())
    return z / z.sum()


def allowed_distance(draws: int, bins: int, false_failure: float) -> float:
    """Total variation that a correct sampler exceeds with probability at most ``false_failure``:
    P(sum |f_i - p_i| >= eps) <= 2**bins * exp(-draws * eps**2 / 2) (Bretagnolle-Huber-Carol)."""
    eps = math.sqrt(2.0 * (bins * math.log(2.0) + math.log(1.0 / false_failure)) / draws)
    return eps / 2.0


def fit(classes: np.ndarray, p: np.ndarray, false_failure: float, max_bins: int = MAX_BINS) -> Fit:
    """Compare drawn class ids with ``p``. With many classes the least likely are pooled into one
    bin (a partition of a right distribution is still right), which keeps the bound tight."""
    classes = np.asarray(classes, dtype=np.int64)
    counts = np.bincount(classes, minlength=len(p)).astype(np.float64)
    order = np.argsort(-p, kind="stable")
    keep = order[:max_bins - 1] if len(p) > max_bins else order
    rest = np.setdiff1d(np.arange(len(p)), keep)
    p_bins = np.append(p[keep], p[rest].sum()) if len(rest) else p[keep]
    f_bins = counts[keep] / len(classes)
    if len(rest):
        f_bins = np.append(f_bins, counts[rest].sum() / len(classes))
    distance = 0.5 * float(np.abs(f_bins - p_bins).sum())
    allowed = allowed_distance(len(classes), len(p_bins), false_failure)
    top = int(order[0])
    return Fit(distance <= allowed, distance, allowed, float(p[top]), float(counts[top] / len(classes)))


def total_variation(p: np.ndarray, q: np.ndarray) -> float:
    return 0.5 * float(np.abs(np.asarray(p) - np.asarray(q)).sum())


def parse_temperatures(values: tuple[str, ...], key: str, where: str, path) -> tuple[float, ...]:
    temperatures = []
    for value in values:
        try:
            number = float(Decimal(value))
        except ArithmeticError:
            raise ConfigError(f"{path}: {where}.{key}: {value!r} is not a number") from None
        if not 0.0 < number < 100.0:
            raise ConfigError(f"{path}: {where}.{key}: temperature {value} must lie between 0 and 100")
        temperatures.append(number)
    return tuple(temperatures)


def draw_logits(rng: np.random.Generator, classes: int, temperature: float) -> np.ndarray:
    """Logits whose softmax at ``temperature`` is far from argmax and, unless T is 1, far from T = 1."""
    for _ in range(_LOGIT_TRIES):
        logits = (rng.standard_normal(classes) * rng.uniform(1.0, 3.0)).astype(np.float32)
        p = softmax(logits, temperature)
        far_from_argmax = 1.0 - p.max() >= MIN_SEPARATION
        far_from_plain = temperature == 1.0 or total_variation(p, softmax(logits, 1.0)) >= MIN_SEPARATION
        if far_from_argmax and far_from_plain:
            return logits
    raise ConfigError(f"no logits of {classes} classes tell temperature {temperature} from 1 and from argmax; "
                      "choose temperatures further from 1 or more classes")


def as_class_ids(array: np.ndarray | None, draws: int, classes: int) -> np.ndarray | Reason:
    """The draws as int64 class ids, or a short message (nested in the check's reason) saying why not."""
    if array is None:
        return msg("distribution_draws_not_numbers")
    if array.size != draws:
        return msg("distribution_draws_count", size=array.size, draws=draws)
    flat = array.reshape(-1)
    if flat.dtype.kind == "f":
        if not np.isfinite(flat).all() or not np.all(flat == np.round(flat)):
            return msg("distribution_draws_not_whole")
    if flat.dtype.kind not in "iuf":
        return msg("distribution_draws_dtype", dtype=str(flat.dtype))
    ids = flat.astype(np.int64)
    if ids.min() < 0 or ids.max() >= classes:
        return msg("distribution_draws_range", last=classes - 1, low=int(ids.min()), high=int(ids.max()))
    return ids


def fit_params(found: Fit) -> dict[str, Any]:
    return {"distance": f"{found.distance:.3f}", "allowed": f"{found.allowed:.3f}",
            "top_expected": f"{100 * found.top_expected:.1f}", "top_observed": f"{100 * found.top_observed:.1f}"}


class DistributionCheck(Check):
    kind = "distribution"
    codes = (
        "distribution_draws_count", "distribution_draws_dtype", "distribution_draws_not_numbers", "distribution_draws_not_whole",
        "distribution_draws_range", "distribution_error", "distribution_mismatch", "distribution_not_classes",
        "distribution_ok",
    )
    uses_probe = True
    options = {
        "name": Option("str"),
        "temperatures": Option("strs", required=False, default=("1", "0.5", "2")),
        "classes": Option("int", required=False, default=6),
        "draws": Option("int", required=False, default=2000),
        "false_failure": Option("decimal", required=False, default=Decimal("1e-6")),
    }

    @classmethod
    def validate(cls, options, where, path):
        parse_temperatures(options["temperatures"], "temperatures", where, path)
        if not 2 <= options["classes"] <= 1000:
            raise ConfigError(f"{path}: {where}.classes must lie between 2 and 1000")
        if not 100 <= options["draws"] <= 100_000:
            raise ConfigError(f"{path}: {where}.draws must lie between 100 and 100000")
        if not Decimal("0") < options["false_failure"] < Decimal("0.5"):
            raise ConfigError(f"{path}: {where}.false_failure must lie between 0 and 0.5")

    @classmethod
    def plan(cls, spec: CheckSpec, ctx: PlanContext):
        opts = spec.options
        items, cases = [], []
        for number, temperature in enumerate(parse_temperatures(opts["temperatures"], "temperatures", spec.id, ""),
                                             start=1):
            logits = draw_logits(ctx.rng, opts["classes"], temperature)
            item = f"{spec.id}__{number}"
            items.append({"item": item, "kind": "function", "name": opts["name"],
                          "args": [{"npy": ctx.write_input(item, logits)}, {"json": temperature}],
                          "repeat": opts["draws"]})
            cases.append({"item": item, "temperature": temperature, "p": softmax(logits, temperature)})
        return items, {"cases": cases}

    @classmethod
    def score(cls, spec: CheckSpec, ctx: ScoreContext) -> CheckResult:
        name, draws = spec.options["name"], spec.options["draws"]
        false_failure = float(spec.options["false_failure"])
        cases = ctx.private["cases"]
        passed, first, distances = 0, None, []
        for case in cases:
            output = ctx.outputs.get(case["item"], name)
            if output.reason is not None and output.reason.code == "checks_missing_name":
                return result(spec, Decimal("0"), output.reason, cases_passed=f"0/{len(cases)}")
            reason, distance = _case(output, case, name, draws, false_failure)
            distances.append(distance)
            if reason is None:
                passed += 1
            elif first is None:
                first = reason
        details = {"cases_passed": f"{passed}/{len(cases)}", "total_variation": distances,
                   "false_failure_per_case": str(spec.options["false_failure"])}
        if first is None:
            return result(spec, spec.points, msg("distribution_ok", name=name, total=len(cases), draws=draws),
                          **details)
        first = Reason(first.code, {**first.params, "passed": passed, "total": len(cases)})
        return result(spec, share(spec.points, passed, len(cases)), first, **details)


def _case(output, case: dict[str, Any], name: str, draws: int, false_failure: float) -> tuple[Reason | None, Any]:
    temperature = case["temperature"]
    if output.reason is not None:
        return msg("distribution_error", name=name, temperature=temperature, error=output.reason.to_json()), None
    ids = as_class_ids(output.array, draws, len(case["p"]))
    if isinstance(ids, Reason):
        return msg("distribution_not_classes", name=name, temperature=temperature, problem=ids.to_json()), None
    found = fit(ids, case["p"], false_failure)
    if found.ok:
        return None, round(found.distance, 4)
    return (msg("distribution_mismatch", name=name, temperature=temperature, draws=draws, **fit_params(found)),
            round(found.distance, 4))
