"""The ``temperature`` test of kind ``generation``: the first character ``generate`` adds after a
held-out prompt, drawn many times, follows softmax(model logits / T) at each temperature.

One defect, one deduction: the test judges temperature only. It reads the model's logits in the
student's own numbering when her ``encode`` gives one (grader.checks.numbering), and the new
character after the prompt, or as the whole answer when ``generate`` leaves the prompt out (the
format check scores that). When what it needs is missing (the model's logits, one new character of
the vocabulary per call, a numbering to read the draws in) it says so and names the check that
scores that problem: "not judged", 0 points, never a hint about temperature. When the draws ignore the
temperature and the sampler's own check (``sampler_check``) failed too, the reason names the sampler.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np

from grader.checks.base import PlanContext, ScoreContext, fmt_shape, result
from grader.checks.distribution import fit, fit_params, parse_temperatures, softmax
from grader.checks.numbering import draw_prompt, ids_of, not_judged, plan_numbering, shown, student_table, translate
from grader.i18n import msg
from grader.records import CheckResult, Reason
from grader.specs import CheckSpec


def plan_temperature(spec: CheckSpec, ctx: PlanContext, vocabulary: str, text: str):
    opts = spec.options
    prompt = draw_prompt(text, ctx.rng, 20, 40)
    numbering, items = plan_numbering(ctx, opts["encode"], vocabulary)
    logits_item = f"{spec.id}__logits"
    model_item = {"item": logits_item, "kind": "model", "name": opts["model"],
                  "args": [{"npy": ctx.write_input(logits_item, ids_of(prompt, vocabulary)[None, :])}]}
    items.append(translate(model_item, numbering, len(vocabulary)))
    cases = []
    for number, temperature in enumerate(parse_temperatures(opts["temperatures"], "temperatures", spec.id, ""),
                                         start=1):
        item = f"{spec.id}__{number}"
        items.append({"item": item, "kind": "function", "name": opts["name"],
                      "args": [{"json": prompt}, {"json": 1}, {"json": temperature}], "repeat": opts["draws"]})
        cases.append({"item": item, "temperature": temperature})
    return items, {"cases": cases, "prompt": prompt, "logits_item": logits_item, "vocabulary": vocabulary,
                   "numbering": numbering}


def score_temperature(spec: CheckSpec, ctx: ScoreContext) -> CheckResult:
    """All or nothing: temperature either shapes the draws as softmax(logits / T) at every T or it does not."""
    opts, private = spec.options, ctx.private
    name, prompt, vocabulary = opts["name"], private["prompt"], private["vocabulary"]
    table = student_table(ctx, private["numbering"], opts["encode"], len(vocabulary))
    fed = table if table is not None else np.arange(len(vocabulary))   # contract id -> the id the model saw
    last = _last_logits(ctx, opts["model"], private["logits_item"], len(prompt), len(vocabulary))
    if isinstance(last, Reason):
        return result(spec, Decimal("0"), not_judged(ctx, opts["model_check"], last))
    distances: list[float] = []
    for case in private["cases"]:
        output = ctx.outputs.get(case["item"], name)
        if output.reason is not None:
            return result(spec, Decimal("0"), not_judged(ctx, opts["format_check"], output.reason),
                          total_variation=distances)
        drawn = first_new_characters(name, output.value, prompt, opts["draws"], vocabulary)
        if isinstance(drawn, Reason):
            return result(spec, Decimal("0"), not_judged(ctx, opts["format_check"], drawn),
                          total_variation=distances)
        found = fit(fed[drawn], softmax(last, case["temperature"]), float(opts["false_failure"]))
        distances.append(round(found.distance, 4))
        if not found.ok:
            return result(spec, Decimal("0"), _mismatch(spec, ctx, table, case, found), total_variation=distances,
                          numbering="student" if table is not None else "contract")
    temperatures = ", ".join(f"{c['temperature']:g}" for c in private["cases"])
    return result(spec, spec.points, msg("temperature_ok", name=name, temperatures=temperatures,
                                         draws=opts["draws"]), total_variation=distances,
                  numbering="student" if table is not None else "contract")


def _mismatch(spec: CheckSpec, ctx: ScoreContext, table: np.ndarray | None, case: dict, found) -> Reason:
    """Blame temperature only when the draws were read in a numbering the student's code uses: without
    one of her own (encode gives none), a mismatch may just be her other numbering."""
    opts = spec.options
    measured = dict(name=opts["name"], draws=opts["draws"], temperature=case["temperature"],
                    prompt=shown(ctx.private["prompt"]), **fit_params(found))
    sampler = ctx.earlier.get(opts["sampler_check"]) if opts["sampler_check"] else None
    if table is not None and sampler is not None and sampler.points < sampler.max_points:
        # one defect in the sampler shows in generate's draws too: name it, not generate's division
        return msg("temperature_wrong_sampler", sampler=opts["sampler_check"], **measured)
    if table is not None:
        return msg("temperature_wrong", **measured)
    return not_judged(ctx, opts["codec_check"], msg("temperature_no_numbering", encode=opts["encode"],
                                                    name=opts["name"]))


def _last_logits(ctx: ScoreContext, model: str, item: str, prompt_length: int, vocab_size: int):
    """The model's logits for the character after the prompt, or the Reason they cannot be had."""
    output = ctx.outputs.get(item, model, want="array")
    if output.reason is not None:
        return msg("temperature_needs_model", model=model, problem=output.reason.to_json())
    got = output.array
    if got.ndim != 3 or got.shape[:2] != (1, prompt_length) or got.shape[2] < vocab_size:
        problem = msg("temperature_logits_shape", model=model, got=fmt_shape(got.shape),
                      expected=f"(1, {prompt_length}, {vocab_size})")
        return msg("temperature_needs_model", model=model, problem=problem.to_json())
    last = got[0, -1].astype(np.float64)
    if not np.isfinite(last).all():
        return msg("temperature_needs_model", model=model, problem=msg("temperature_logits_nonfinite", model=model).to_json())
    return last


def first_new_characters(name: str, value: Any, prompt: str, draws: int, vocabulary: str) -> np.ndarray | Reason:
    """The character each draw adds, as contract ids: after the prompt, or the whole answer when
    ``generate`` leaves the prompt out (a format defect, scored by the format check alone)."""
    if not isinstance(value, list) or len(value) != draws or not all(isinstance(v, str) for v in value):
        return msg("temperature_draws_not_text", name=name, draws=draws)
    index = {c: i for i, c in enumerate(vocabulary)}
    ids = []
    for text in value:
        new = text[len(prompt):] if text.startswith(prompt) else text
        if len(new) != 1:
            return msg("temperature_one_character", name=name, prompt=shown(prompt), got=shown(text))
        if new not in index:
            return msg("generation_vocabulary", name=name, characters=repr(new))
        ids.append(index[new])
    return np.array(ids, dtype=np.int64)
