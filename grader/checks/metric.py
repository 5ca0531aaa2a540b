"""Check kind ``metric``: a model's predictions on held-out data, scored here against the labels.

The probe sees only the inputs, shuffled with the secret per-run seed; the labels stay in this
process. Points grow linearly from ``zero_at`` to ``full_at`` (Decimal, rounded to cents).
With ``encode`` and ``vocabulary`` (token models), the ids and targets are translated into the
student's own numbering when her encoder gives one (grader.checks.numbering): the metric judges the
model, and the vocabulary order is the round-trip check's to score. With ``causal`` (language models), each
scored position's future is replaced at random first (grader.checks.causality): reading ahead reads noise.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

import numpy as np

from grader.checks.base import Check, Option, PlanContext, ScoreContext, fmt_shape, result
from grader.checks.shares import CENT
from grader.checks.causality import DEFAULT_CUTS, plan_cuts
from grader.checks.numbering import plan_numbering, student_table, translate
from grader.errors import ConfigError
from grader.i18n import msg
from grader.records import CheckResult
from grader.loaded_assignment import CheckSpec, resolve

FOUR_PLACES = Decimal("0.0001")


def accuracy(logits: np.ndarray, labels: np.ndarray) -> Decimal:
    """Share of rows whose argmax is the label; a row holding nan/inf counts as wrong."""
    correct = np.isfinite(logits).all(axis=1) & (np.argmax(logits, axis=1) == labels)
    return (Decimal(int(correct.sum())) / Decimal(len(labels))).quantize(FOUR_PLACES, rounding=ROUND_HALF_EVEN)


def cross_entropy_per_char(logits: np.ndarray, targets: np.ndarray) -> Decimal:
    """Mean nats per target of logits [..., V] against integer targets [...] (a language model's
    cross-entropy per character); nan/inf logits or targets beyond V make it infinite."""
    x = logits.astype(np.float64)
    if not np.isfinite(x).all() or (targets.size and int(targets.max()) >= x.shape[-1]):
        return Decimal("Infinity")
    shifted = x - x.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(log_probs, targets[..., None].astype(np.int64), axis=-1)
    return Decimal(repr(float(-picked.mean()))).quantize(FOUR_PLACES, rounding=ROUND_HALF_EVEN)


def top5_accuracy(logits: np.ndarray, labels: np.ndarray) -> Decimal:
    """Share of rows whose label is among the 5 largest logits (ties: the lower class first, as a
    stable sort); a row holding nan/inf counts as wrong."""
    top = np.argsort(-logits.astype(np.float64), axis=1, kind="stable")[:, :5]
    correct = np.isfinite(logits).all(axis=1) & (top == labels[:, None]).any(axis=1)
    return (Decimal(int(correct.sum())) / Decimal(len(labels))).quantize(FOUR_PLACES, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class Metric:
    """One entry of the metric registry: its value from (outputs, labels) and the code of its message."""

    measure: Callable[[np.ndarray, np.ndarray], Decimal]
    code: str
    higher_is_better: bool = True


METRICS: dict[str, Metric] = {
    "accuracy": Metric(accuracy, code="metric_accuracy"),
    "cross_entropy_per_char": Metric(cross_entropy_per_char, code="metric_cross_entropy_per_char",
                                     higher_is_better=False),
    "top5_accuracy": Metric(top5_accuracy, code="metric_top5_accuracy"),
}
# a metric's message when measured causally (the ``causal`` option says how the figure was made)
CAUSAL_CODES = {"cross_entropy_per_char": "metric_cross_entropy_causal"}


def linear_points(points: Decimal, value: Decimal, zero_at: Decimal, full_at: Decimal) -> Decimal:
    """Linear between the thresholds, either direction (lower-is-better metrics put zero_at above)."""
    fraction = (value - zero_at) / (full_at - zero_at)
    fraction = min(max(fraction, Decimal("0")), Decimal("1"))
    return (points * fraction).quantize(CENT, rounding=ROUND_HALF_UP)


class MetricCheck(Check):
    kind = "metric"
    uses_probe = True
    needs_evaluation_data = True      # labels: only at grading time, never in a student's kernel
    codes = ("metric_wrong_shape", "metric_sequence_wrong_shape",
             *sorted({m.code for m in METRICS.values()} | set(CAUSAL_CODES.values())))
    options = {
        "metric": Option("str"),
        "name": Option("str"),
        "data": Option("ref"),
        "zero_at": Option("threshold"),
        "full_at": Option("threshold"),
        "batch_size": Option("int", required=False, default=256),
        "encode": Option("str", required=False),          # the student's encoder, with vocabulary: her numbering
        "vocabulary": Option("ref", required=False),
        # a language model's logits at position t are scored with the ids after t replaced at random: one that
        # reads ahead reads noise (grader.checks.causality); ``cuts`` positions of each window are scored
        "causal": Option("bool", required=False, default=False),
        "cuts": Option("int", required=False, default=DEFAULT_CUTS),
    }

    @classmethod
    def validate(cls, options, where, path):
        if options["metric"] not in METRICS:
            raise ConfigError(f"{path}: {where}.metric = {options['metric']!r} is unknown "
                              f"(known: {', '.join(METRICS)})")
        zero_at, full_at = options["zero_at"], options["full_at"]
        if zero_at == full_at:
            raise ConfigError(f"{path}: {where}: zero_at and full_at must differ")
        better = METRICS[options["metric"]].higher_is_better
        if isinstance(zero_at, Decimal) and isinstance(full_at, Decimal) and (full_at > zero_at) != better:
            # thresholds the other way round would give full points to the worst figures
            raise ConfigError(f"{path}: {where}: full_at ({full_at}) must be {'above' if better else 'below'} zero_at "
                              f"({zero_at}): {options['metric']} is better when {'higher' if better else 'lower'}")
        if options["batch_size"] <= 0:
            raise ConfigError(f"{path}: {where}.batch_size must be positive")
        if options["cuts"] <= 0:
            raise ConfigError(f"{path}: {where}.cuts must be positive")
        if (options["encode"] is None) != (options["vocabulary"] is None):
            raise ConfigError(f"{path}: {where}: encode and vocabulary go together (the student's numbering)")

    @classmethod
    def plan(cls, spec: CheckSpec, ctx: PlanContext):
        same = ("metric", spec.options["name"], spec.options["data"], spec.options["batch_size"],
                spec.options["encode"], spec.options["vocabulary"], spec.options["causal"], spec.options["cuts"])
        if same in ctx.shared:   # another metric of the same model on the same data: reuse its answers
            item, labels, numbering, inputs, causal = ctx.shared[same]
            return [], _private(item, labels, numbering, inputs, causal)
        images, labels = resolve(spec.options["data"])(ctx.data_dir, ctx.parameters)
        images, labels = np.asarray(images), np.asarray(labels, dtype=np.int64)
        # token ids stay integers (the probe feeds them as int64); anything else is a float32 input
        images = images.astype(np.int64 if images.dtype.kind in "iu" else np.float32)
        if len(images) != len(labels) or not len(labels):
            raise ConfigError(f"check {spec.id!r}: {spec.options['data']} returned {len(images)} inputs "
                              f"and {len(labels)} labels")
        order = ctx.rng.permutation(len(labels))   # public labels in public order earn nothing
        images, labels = images[order], labels[order]
        inputs = describe_inputs(images)
        item = {"item": spec.id, "kind": "model", "name": spec.options["name"], "batch_size": spec.options["batch_size"]}
        causal = plan_cuts(images, labels, ctx, spec.options["cuts"]) if spec.options["causal"] else None
        if causal is not None:   # one scored position per row: the labels are those positions' targets
            images, labels = causal["inputs"], causal["labels"]
            item["keep"] = ctx.write_input(f"{spec.id}_keep", causal["keep"])
            causal = {"positions": causal["positions"]}
        item["inputs"] = [ctx.write_input(spec.id, images)]
        items, numbering = _plan_numbering(spec, ctx, item)
        ctx.shared[same] = (spec.id, labels, numbering, inputs, causal)
        return items, _private(spec.id, labels, numbering, inputs, causal)

    @classmethod
    def score(cls, spec: CheckSpec, ctx: ScoreContext) -> CheckResult:
        name, metric = spec.options["name"], spec.options["metric"]
        labels = ctx.private["labels"]
        output = ctx.outputs.get(ctx.private.get("item", spec.id), name, want="array")
        if output.reason is not None:
            return result(spec, Decimal("0"), output.reason)
        got = output.array
        if labels.ndim > 1 and (got.ndim != labels.ndim + 1 or got.shape[:-1] != labels.shape or got.shape[-1] < 2):
            return result(spec, Decimal("0"), msg("metric_sequence_wrong_shape", name=name, got=fmt_shape(got.shape),
                                                  expected=fmt_shape(labels.shape)[:-1] + ", V)"))
        if labels.ndim == 1 and (got.ndim != 2 or got.shape[0] != len(labels) or got.shape[1] < 2):
            return result(spec, Decimal("0"), msg("metric_wrong_shape", name=name, got=fmt_shape(got.shape),
                                                  count=len(labels)))
        table = _student_table(spec, ctx)
        labels = labels if table is None else table[labels]    # the ids the model was fed, the targets alike
        value = METRICS[metric].measure(got, labels)
        zero_at, full_at = spec.options["zero_at"], spec.options["full_at"]
        if not isinstance(zero_at, Decimal) or not isinstance(full_at, Decimal):
            raise ConfigError(f"check {spec.id!r}: thresholds relative to the reference need its metrics: "
                              "grade through `grader grade`, which builds them (`grader reference build`)")
        points = linear_points(spec.points, value, zero_at, full_at)
        code = CAUSAL_CODES[metric] if ctx.private.get("causal") and metric in CAUSAL_CODES else METRICS[metric].code
        reason = msg(code, name=name, value=str(value), count=len(labels), zero_at=str(zero_at), full_at=str(full_at))
        numbering = {"numbering": "student" if table is not None else "contract"} if "numbering" in ctx.private else {}
        causal = {"causal_positions": ctx.private["causal"]["positions"]} if ctx.private.get("causal") else {}
        return result(spec, points, reason, **{metric: str(value), "count": len(labels)}, **numbering, **causal,
                      inputs=ctx.private.get("inputs", {}))


def _private(item: str, labels: np.ndarray, numbering: dict, inputs: dict, causal: dict | None) -> dict:
    """What scoring needs of the plan: the answer's item, the labels in its order (one per scored position when
    the measurement is causal), the numbering, what the model was fed, the causal cut positions."""
    return {"item": item, "labels": labels, **numbering, "inputs": inputs, **({"causal": causal} if causal else {})}


def describe_inputs(images: np.ndarray) -> dict[str, str]:
    """What the model was fed, for a student comparing figures: one input's shape and the value range
    (an accuracy measured on [0, 1] pixels means little to a model trained on 0-255)."""
    finite = images[np.isfinite(images)] if images.dtype.kind == "f" else images
    low, high = (finite.min(), finite.max()) if finite.size else (0, 0)
    return {"shape": fmt_shape(images.shape[1:]), "dtype": str(images.dtype), "low": f"{low:g}", "high": f"{high:g}"}


def _plan_numbering(spec: CheckSpec, ctx: PlanContext, item: dict) -> tuple[list[dict], dict]:
    """The model item, translated into the student's numbering when the check names her encoder."""
    if spec.options["encode"] is None:
        return [item], {}
    vocabulary = resolve(spec.options["vocabulary"])(ctx.data_dir, ctx.parameters)
    numbering, items = plan_numbering(ctx, spec.options["encode"], vocabulary)
    return items + [translate(item, numbering, len(vocabulary))], {"numbering": numbering, "size": len(vocabulary)}


def _student_table(spec: CheckSpec, ctx: ScoreContext) -> np.ndarray | None:
    if "numbering" not in ctx.private:
        return None
    return student_table(ctx, ctx.private["numbering"], spec.options["encode"], ctx.private["size"])
