"""Check kind ``generation``: a text generator ``generate(prompt, length, temperature) -> str``.

``test = "format"``: the text starts with the prompt, adds ``length`` new characters and has only
characters of the vocabulary; a third of the points each. A missing prompt costs its third only: the
new characters are counted after the prompt, or as the whole text when the prompt is left out.
``test = "temperature"`` (grader.checks.temperature): ``generate``'s own draws of the first new character
at each temperature against its own draws at T = 1 (p_T proportional to p_1^(1/T)). Prompts come from
held-out text drawn per run.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any


from grader.checks.base import Check, Option, PlanContext, ScoreContext, fmt_shape, result
from grader.checks.shares import share
from grader.checks.distribution import parse_temperatures
from grader.checks.numbering import draw_prompt, shown
from grader.checks.temperature import plan_temperature, score_temperature
from grader.errors import ConfigError
from grader.i18n import msg
from grader.records import CheckResult, Reason
from grader.loaded_assignment import CheckSpec, resolve

TESTS = ("format", "temperature")
FORMAT_PARTS = ("prompt", "length", "vocabulary")
FORMAT_TEMPERATURE = 1.0


class GenerationCheck(Check):
    kind = "generation"
    codes = (
        "generation_format_ok", "generation_length", "generation_no_prompt", "generation_not_text",
        "generation_vocabulary", "generation_numbers_of_shape", "numbering_not_judged", "numbering_not_judged_here",
        "temperature_follows", "temperature_unchanged", "temperature_mismatch", "temperature_sampler_cause",
        "temperature_failed", "temperature_draws_not_text", "temperature_no_new_character",
    )
    uses_probe = True
    options = {
        "test": Option("str"),
        "name": Option("str", required=False, default="generate"),
        "vocabulary": Option("ref"),
        "text": Option("ref"),
        "length": Option("int", required=False, default=120),
        "prompts": Option("int", required=False, default=2),
        # temperature: the temperatures compared with T = 1, the draws at each (T = 1 included), and the chance
        # that a generate honouring T fails (the G test's level; grader.checks.tempering)
        "temperatures": Option("strs", required=False, default=("0.01", "0.5", "5")),
        "draws": Option("int", required=False, default=400),
        "false_failure": Option("decimal", required=False, default=Decimal("1e-6")),
        # the check that scores calling generate (named when its answers give no character to read)
        "format_check": Option("str", required=False, default="generate"),
        # the check of the sampler generate is expected to draw with ("" for none): when it failed too, the
        # reason names it as the likely cause
        "sampler_check": Option("str", required=False, default=""),
    }

    @classmethod
    def validate(cls, options, where, path):
        if options["test"] not in TESTS:
            raise ConfigError(f"{path}: {where}.test = {options['test']!r} is unknown (known: {', '.join(TESTS)})")
        temperatures = parse_temperatures(options["temperatures"], "temperatures", where, path)
        if not temperatures or 1.0 in temperatures or len(set(temperatures)) != len(temperatures):
            raise ConfigError(f"{path}: {where}.temperatures: distinct temperatures other than 1 (each is "
                              "compared with T = 1, which is always drawn)")
        if not 1 <= options["length"] <= 5000 or not 1 <= options["prompts"] <= 20:
            raise ConfigError(f"{path}: {where}: length must lie in 1..5000 and prompts in 1..20")
        if not 50 <= options["draws"] <= 20_000:
            raise ConfigError(f"{path}: {where}.draws must lie between 50 and 20000")
        if not Decimal("0") < options["false_failure"] < Decimal("0.5"):
            raise ConfigError(f"{path}: {where}.false_failure must lie between 0 and 0.5")

    @classmethod
    def plan(cls, spec: CheckSpec, ctx: PlanContext):
        opts = spec.options
        vocabulary = resolve(opts["vocabulary"])(ctx.data_dir, ctx.parameters)
        text = resolve(opts["text"])(ctx.data_dir, ctx.parameters)
        if opts["test"] == "format":
            return _plan_format(spec, ctx, vocabulary, text)
        return plan_temperature(spec, ctx, vocabulary, text)

    @classmethod
    def score(cls, spec: CheckSpec, ctx: ScoreContext) -> CheckResult:
        if spec.options["test"] == "format":
            return _score_format(spec, ctx)
        return score_temperature(spec, ctx)


def _plan_format(spec: CheckSpec, ctx: PlanContext, vocabulary: str, text: str):
    items, cases = [], []
    for number in range(1, spec.options["prompts"] + 1):
        prompt = draw_prompt(text, ctx.rng, 5, 30)
        length = int(ctx.rng.integers(max(1, spec.options["length"] // 2), spec.options["length"] + 1))
        item = f"{spec.id}__{number}"
        items.append({"item": item, "kind": "function", "name": spec.options["name"],
                      "args": [{"json": prompt}, {"json": length}, {"json": FORMAT_TEMPERATURE}]})
        cases.append({"item": item, "prompt": prompt, "length": length})
    return items, {"cases": cases, "vocabulary": vocabulary}


def _score_format(spec: CheckSpec, ctx: ScoreContext) -> CheckResult:
    name, vocabulary = spec.options["name"], set(ctx.private["vocabulary"])
    failures: dict[str, Reason] = {}
    for case in ctx.private["cases"]:
        output = ctx.outputs.get(case["item"], name)
        if output.reason is not None:
            return result(spec, Decimal("0"), output.reason)
        if not isinstance(output.value, str):
            got = (type(output.value).__name__ if output.is_value
                   else msg("generation_numbers_of_shape", shape=fmt_shape(output.array.shape)).to_json())
            return result(spec, Decimal("0"), msg("generation_not_text", name=name, got=got))
        for part, reason in _format_problems(name, case, output.value, vocabulary).items():
            failures.setdefault(part, reason)
    met = len(FORMAT_PARTS) - len(failures)
    details = {"parts_met": f"{met}/{len(FORMAT_PARTS)}", "failed": [p for p in FORMAT_PARTS if p in failures]}
    if not failures:
        return result(spec, spec.points, msg("generation_format_ok", name=name), **details)
    first = next(failures[p] for p in FORMAT_PARTS if p in failures)
    return result(spec, share(spec.points, met, len(FORMAT_PARTS)), first, **details)


def _format_problems(name: str, case: dict[str, Any], text: str, vocabulary: set[str]) -> dict[str, Reason]:
    prompt, length = case["prompt"], case["length"]
    problems = {}
    if not text.startswith(prompt):
        problems["prompt"] = msg("generation_no_prompt", name=name, prompt=shown(prompt), got=shown(text))
    new = text[len(prompt):] if text.startswith(prompt) else text   # a missing prompt is one defect
    if len(new) != length:
        problems["length"] = msg("generation_length", name=name, prompt_length=len(prompt), length=length,
                                 expected=len(prompt) + length, got=len(text))
    strangers = sorted(set(text) - vocabulary)
    if strangers:
        problems["vocabulary"] = msg("generation_vocabulary", name=name,
                                     characters=" ".join(repr(c) for c in strangers[:10]))
    return problems
