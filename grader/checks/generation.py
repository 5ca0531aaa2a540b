"""Check kind ``generation``: a text generator ``generate(prompt, length, temperature) -> str``.

``test = "format"``: the text starts with the prompt, has ``len(prompt) + length`` characters and
only characters of the vocabulary. ``test = "temperature"``: the first new character, drawn many
times, follows softmax(model logits after the prompt / T) at each temperature, so a generator that
ignores T (or never uses the model) fails. Prompts come from held-out text drawn per run.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np

from grader.assignment import CheckSpec, resolve
from grader.checks.base import Check, Option, PlanContext, ScoreContext, fmt_shape, result, share
from grader.checks.distribution import fit, fit_params, parse_temperatures, softmax
from grader.errors import ConfigError
from grader.i18n import msg
from grader.records import CheckResult, Reason

TESTS = ("format", "temperature")
FORMAT_PARTS = ("prompt", "length", "vocabulary")
FORMAT_TEMPERATURE = 1.0
MAX_SHOWN = 40


def draw_prompt(text: str, rng: np.random.Generator, shortest: int, longest: int) -> str:
    """A held-out passage starting at a word, so prompts read like text and vary per run."""
    size = int(rng.integers(shortest, longest + 1))
    start = int(rng.integers(0, len(text) - size - 1))
    space = text.find(" ", start, start + 40)
    start = space + 1 if space != -1 else start
    return text[start:start + size]


def ids_of(text: str, vocabulary: str) -> np.ndarray:
    index = {c: i for i, c in enumerate(vocabulary)}
    return np.array([index[c] for c in text], dtype=np.int64)


def shown(text: str) -> str:
    """A short, visible rendering of a string for a message (newlines shown as \\n)."""
    text = text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "..."
    return text.encode("unicode_escape").decode("ascii")


class GenerationCheck(Check):
    kind = "generation"
    uses_probe = True
    options = {
        "test": Option("str"),
        "name": Option("str", required=False, default="generate"),
        "model": Option("str", required=False, default="model"),
        "vocabulary": Option("ref"),
        "text": Option("ref"),
        "length": Option("int", required=False, default=120),
        "prompts": Option("int", required=False, default=2),
        "temperatures": Option("strs", required=False, default=("0.05", "2")),
        "draws": Option("int", required=False, default=400),
        "false_failure": Option("decimal", required=False, default=Decimal("1e-6")),
    }

    @classmethod
    def validate(cls, options, where, path):
        if options["test"] not in TESTS:
            raise ConfigError(f"{path}: {where}.test = {options['test']!r} is unknown (known: {', '.join(TESTS)})")
        parse_temperatures(options["temperatures"], "temperatures", where, path)
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
        return _plan_temperature(spec, ctx, vocabulary, text)

    @classmethod
    def score(cls, spec: CheckSpec, ctx: ScoreContext) -> CheckResult:
        if spec.options["test"] == "format":
            return _score_format(spec, ctx)
        return _score_temperature(spec, ctx)


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
            got = type(output.value).__name__ if output.is_value else f"numbers of shape {fmt_shape(output.array.shape)}"
            return result(spec, Decimal("0"), msg("rnn_generate_not_text", name=name, got=got))
        for part, reason in _format_problems(name, case, output.value, vocabulary).items():
            failures.setdefault(part, reason)
    met = len(FORMAT_PARTS) - len(failures)
    details = {"parts_met": f"{met}/{len(FORMAT_PARTS)}", "failed": [p for p in FORMAT_PARTS if p in failures]}
    if not failures:
        return result(spec, spec.points, msg("rnn_generate_format_ok", name=name), **details)
    first = next(failures[p] for p in FORMAT_PARTS if p in failures)
    return result(spec, share(spec.points, met, len(FORMAT_PARTS)), first, **details)


def _format_problems(name: str, case: dict[str, Any], text: str, vocabulary: set[str]) -> dict[str, Reason]:
    prompt, length = case["prompt"], case["length"]
    problems = {}
    if not text.startswith(prompt):
        problems["prompt"] = msg("rnn_generate_no_prompt", name=name, prompt=shown(prompt), got=shown(text))
    if len(text) != len(prompt) + length:
        problems["length"] = msg("rnn_generate_length", name=name, prompt_length=len(prompt), length=length,
                                 expected=len(prompt) + length, got=len(text))
    strangers = sorted(set(text) - vocabulary)
    if strangers:
        problems["vocabulary"] = msg("rnn_generate_vocabulary", name=name,
                                     characters=" ".join(repr(c) for c in strangers[:10]))
    return problems


def _plan_temperature(spec: CheckSpec, ctx: PlanContext, vocabulary: str, text: str):
    opts = spec.options
    prompt = draw_prompt(text, ctx.rng, 20, 40)
    logits_item = f"{spec.id}__logits"
    items = [{"item": logits_item, "kind": "model", "name": opts["model"],
              "args": [{"npy": ctx.write_input(logits_item, ids_of(prompt, vocabulary)[None, :])}]}]
    cases = []
    for number, temperature in enumerate(parse_temperatures(opts["temperatures"], "temperatures", spec.id, ""),
                                         start=1):
        item = f"{spec.id}__{number}"
        items.append({"item": item, "kind": "function", "name": opts["name"],
                      "args": [{"json": prompt}, {"json": 1}, {"json": temperature}], "repeat": opts["draws"]})
        cases.append({"item": item, "temperature": temperature})
    return items, {"cases": cases, "prompt": prompt, "logits_item": logits_item, "vocabulary": vocabulary}


def _score_temperature(spec: CheckSpec, ctx: ScoreContext) -> CheckResult:
    """All or nothing: temperature either shapes the draws as softmax(logits / T) at every T or it does not."""
    opts, private = spec.options, ctx.private
    name, prompt, vocabulary = opts["name"], private["prompt"], private["vocabulary"]
    last = _last_logits(ctx, opts["model"], private["logits_item"], len(prompt), len(vocabulary))
    if isinstance(last, Reason):
        return result(spec, Decimal("0"), last)
    distances = []
    for case in private["cases"]:
        output = ctx.outputs.get(case["item"], name)
        if output.reason is not None:
            return result(spec, Decimal("0"), output.reason, total_variation=distances)
        drawn = _first_new_characters(output.value, prompt, opts["draws"], vocabulary)
        if isinstance(drawn, Reason):
            return result(spec, Decimal("0"), Reason(drawn.code, {"name": name, **drawn.params}),
                          total_variation=distances)
        found = fit(drawn, softmax(last, case["temperature"]), float(opts["false_failure"]))
        distances.append(round(found.distance, 4))
        if not found.ok:
            return result(spec, Decimal("0"), msg("rnn_generate_temperature", name=name, draws=opts["draws"],
                                                   temperature=case["temperature"], prompt=shown(prompt),
                                                   **fit_params(found)), total_variation=distances)
    temperatures = ", ".join(f"{c['temperature']:g}" for c in private["cases"])
    return result(spec, spec.points, msg("rnn_generate_temperature_ok", name=name, temperatures=temperatures,
                                         draws=opts["draws"]), total_variation=distances)


def _last_logits(ctx: ScoreContext, model: str, item: str, prompt_length: int, vocab_size: int):
    """The model's logits for the character after the prompt, or the Reason they cannot be had."""
    output = ctx.outputs.get(item, model, want="array")
    if output.reason is not None and output.reason.code == "checks_missing_name":
        return output.reason
    if output.reason is not None:
        return msg("rnn_generate_needs_model", model=model, problem=_plain(output.reason))
    got = output.array
    if got is None or got.ndim != 3 or got.shape[:2] != (1, prompt_length) or got.shape[2] < vocab_size:
        shape = fmt_shape(got.shape) if got is not None else "-"
        return msg("rnn_generate_needs_model", model=model,
                   problem=f"output shape {shape}, expected (1, {prompt_length}, {vocab_size})")
    last = got[0, -1].astype(np.float64)
    if not np.isfinite(last).all():
        return msg("rnn_generate_needs_model", model=model, problem="nan or inf in the logits")
    return last


def _plain(reason: Reason) -> str:
    return str(reason.params.get("error") or reason.params.get("problem") or reason.code)


def _first_new_characters(value: Any, prompt: str, draws: int, vocabulary: str) -> np.ndarray | Reason:
    """The character after the prompt in each draw, as vocabulary ids."""
    if not isinstance(value, list) or len(value) != draws or not all(isinstance(v, str) for v in value):
        return msg("rnn_generate_draws_not_text", draws=draws)
    index = {c: i for i, c in enumerate(vocabulary)}
    ids = []
    for text in value:
        if len(text) != len(prompt) + 1 or not text.startswith(prompt):
            return msg("rnn_generate_one_character", prompt=shown(prompt), got=shown(text))
        if text[-1] not in index:
            return msg("rnn_generate_vocabulary", characters=repr(text[-1]))
        ids.append(index[text[-1]])
    return np.array(ids, dtype=np.int64)
