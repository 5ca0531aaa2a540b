"""The ``temperature`` test of kind ``generation``: ``generate``'s own draws at each temperature, set against
its own draws at T = 1. A sampler that honours T draws from p_T proportional to p_1^(1/T), whatever p_1
is, so neither the model's outputs (logits or probabilities), nor its vocabulary order, nor its recurrence
ever decide this check: only what ``generate`` writes (grader.checks.tempering judges the counts).

One defect, one deduction: the test judges temperature only. It asks for two characters after a held-out
prompt and reads the first new one, after the prompt or alone when ``generate`` leaves the prompt out, so
a generator short by one or without the prompt loses its format third only. When ``generate``'s answers
give no character to read (not text, nothing after the prompt, outside the vocabulary) it says "not
judged" and names the format check. When the draws fail and the sampler's own check (``sampler_check``)
failed too, the reason names the sampler as the likely cause.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np

from grader.checks.base import PlanContext, ScoreContext, result
from grader.checks.distribution import parse_temperatures
from grader.checks.numbering import draw_prompt_before_word, not_judged, shown
from grader.checks.tempering import CHANGE_LEVEL, Verdict, judge
from grader.i18n import msg
from grader.records import CheckResult, Reason
from grader.loaded_assignment import CheckSpec

# Two characters asked, the first one read: a generator that writes one too few still gives one.
READ_LENGTH = 2


def plan_temperature(spec: CheckSpec, ctx: PlanContext, vocabulary: str, text: str):
    opts = spec.options
    prompt = draw_prompt_before_word(text, ctx.rng, 20, 40)
    temperatures = (1.0, *parse_temperatures(opts["temperatures"], "temperatures", spec.id, ""))
    items, cases = [], []
    for number, temperature in enumerate(temperatures):
        item = f"{spec.id}__{number}"
        items.append({"item": item, "kind": "function", "name": opts["name"],
                      "args": [{"json": prompt}, {"json": READ_LENGTH}, {"json": temperature}],
                      "repeat": opts["draws"]})
        cases.append({"item": item, "temperature": temperature})
    return items, {"cases": cases, "prompt": prompt, "vocabulary": vocabulary}


def score_temperature(spec: CheckSpec, ctx: ScoreContext) -> CheckResult:
    """All or nothing: the draws change with T, and as p_1^(1/T) demands, or they do not."""
    opts, private = spec.options, ctx.private
    counts = []
    for case in private["cases"]:
        drawn = _drawn(spec, ctx, case)
        if isinstance(drawn, Reason):
            return result(spec, Decimal("0"), drawn)
        counts.append(np.bincount(drawn, minlength=len(private["vocabulary"])))
    temperatures = [case["temperature"] for case in private["cases"]]
    verdict = judge(np.stack(counts), temperatures, float(opts["false_failure"]))
    details = _details(spec, verdict, temperatures)
    if verdict.changes and verdict.follows:
        return result(spec, spec.points, msg("temperature_follows", name=opts["name"], draws=opts["draws"],
                                             prompt=shown(private["prompt"]),
                                             temperatures=_listed(temperatures)), **details)
    return result(spec, Decimal("0"), _failure(spec, ctx, verdict, temperatures), **details)


def _drawn(spec: CheckSpec, ctx: ScoreContext, case: dict) -> np.ndarray | Reason:
    """The vocabulary ids of the characters drawn at one temperature, or why there are none to judge."""
    opts, private = spec.options, ctx.private
    output = ctx.outputs.get(case["item"], opts["name"])
    if output.reason is not None:
        if case["temperature"] == 1.0:      # no answer at T = 1 either: calling generate is the format's
            return not_judged(ctx, opts["format_check"], output.reason)
        return msg("temperature_failed", name=opts["name"], temperature=f"{case['temperature']:g}",
                   problem=output.reason.to_json())
    drawn = first_new_characters(opts["name"], output.value, private["prompt"], opts["draws"],
                                 private["vocabulary"])
    if isinstance(drawn, Reason):
        return not_judged(ctx, opts["format_check"], drawn)
    return drawn


def first_new_characters(name: str, value: Any, prompt: str, draws: int, vocabulary: str) -> np.ndarray | Reason:
    """The first character each answer adds, as vocabulary ids: after the prompt, or the answer's first
    when ``generate`` leaves the prompt out (a format defect, scored by the format check alone)."""
    if not isinstance(value, list) or len(value) != draws or not all(isinstance(v, str) for v in value):
        return msg("temperature_draws_not_text", name=name, draws=draws)
    index = {c: i for i, c in enumerate(vocabulary)}
    ids = []
    for text in value:
        new = text[len(prompt):] if text.startswith(prompt) else text
        if not new:
            return msg("temperature_no_new_character", name=name, prompt=shown(prompt), length=READ_LENGTH,
                       got=shown(text))
        if new[0] not in index:
            return msg("generation_vocabulary", name=name, characters=repr(new[0]))
        ids.append(index[new[0]])
    return np.array(ids, dtype=np.int64)


def _failure(spec: CheckSpec, ctx: ScoreContext, verdict: Verdict, temperatures: list[float]) -> Reason:
    opts = spec.options
    common = dict(name=opts["name"], draws=opts["draws"], prompt=shown(ctx.private["prompt"]))
    if not verdict.changes:
        problem = msg("temperature_unchanged", temperatures=_listed(temperatures),
                      shares=_shares(verdict.shares, temperatures), **common)
    else:
        worst = verdict.worst
        problem = msg("temperature_mismatch", temperature=f"{temperatures[worst]:g}",
                      share_one=_percent(verdict.shares[0]), share=_percent(verdict.shares[worst]),
                      expected=_percent(verdict.expected[worst]), false_failure=str(opts["false_failure"]),
                      **common)
    sampler = ctx.earlier.get(opts["sampler_check"]) if opts["sampler_check"] else None
    if sampler is not None and sampler.points < sampler.max_points:
        # one defect in the sampler shows in generate's draws too: name it, not generate
        return msg("temperature_sampler_cause", sampler=opts["sampler_check"], name=opts["name"],
                   problem=problem.to_json())
    return problem


def _details(spec: CheckSpec, verdict: Verdict, temperatures: list[float]) -> dict[str, Any]:
    return {"temperatures": [f"{t:g}" for t in temperatures], "draws": spec.options["draws"],
            "changes_p_value": round(verdict.change_p, 6), "changes_level": CHANGE_LEVEL,
            "g": round(verdict.g, 2), "df": verdict.df, "p_value": float(f"{verdict.p_value:.3g}"),
            "false_failure": str(spec.options["false_failure"]),
            "top_share": [round(s, 4) for s in verdict.shares],
            "top_expected": [round(s, 4) for s in verdict.expected]}


def _listed(temperatures: list[float]) -> str:
    return ", ".join(f"{t:g}" for t in temperatures)


def _percent(share: float) -> str:
    return f"{100 * share:.1f}"


def _shares(shares: tuple[float, ...], temperatures: list[float]) -> str:
    """"21.0 % (T = 1), 22.5 % (T = 0.01), ...": the same in every language."""
    return ", ".join(f"{_percent(s)} % (T = {t:g})" for s, t in zip(shares, temperatures))
