"""Check kind ``roundtrip``: a text codec, ``decode(encode(text)) == text`` on held-out text.

``encode`` must number characters as the contract says (``vocabulary[i]`` has id i), because the
grader feeds the model ids in that numbering. Cases are held-out passages drawn per run, plus the
whole vocabulary shuffled, so every character is exercised. Points: the share of cases passed.
"""
from __future__ import annotations

from decimal import Decimal

import numpy as np

from grader.checks.base import Check, Option, PlanContext, ScoreContext, fmt_shape, result
from grader.checks.shares import share
from grader.checks.numbering import draw_prompt, ids_of, shown
from grader.errors import ConfigError
from grader.i18n import msg
from grader.records import CheckResult, Reason
from grader.loaded_assignment import CheckSpec, resolve


class RoundTripCheck(Check):
    kind = "roundtrip"
    codes = (
        "roundtrip_ids_not_numbers", "roundtrip_ids_not_whole", "roundtrip_ids_other_numbering", "roundtrip_ids_wrong_shape",
        "numbering_not_judged", "numbering_not_judged_here", "roundtrip_differs", "roundtrip_failed",
        "roundtrip_not_text", "roundtrip_numbering", "roundtrip_ok",
    )
    uses_probe = True
    options = {
        "encode": Option("str", required=False, default="encode"),
        "decode": Option("str", required=False, default="decode"),
        "vocabulary": Option("ref"),
        "text": Option("ref"),
        "passages": Option("int", required=False, default=3),
        "length": Option("int", required=False, default=300),
    }

    @classmethod
    def validate(cls, options, where, path):
        if not 1 <= options["passages"] <= 50 or not 2 <= options["length"] <= 100_000:
            raise ConfigError(f"{path}: {where}: passages must lie in 1..50 and length in 2..100000")

    @classmethod
    def plan(cls, spec: CheckSpec, ctx: PlanContext):
        opts = spec.options
        vocabulary = resolve(opts["vocabulary"])(ctx.data_dir, ctx.parameters)
        text = resolve(opts["text"])(ctx.data_dir, ctx.parameters)
        texts = [draw_prompt(text, ctx.rng, opts["length"] // 2, opts["length"]) for _ in range(opts["passages"])]
        texts.append("".join(ctx.rng.permutation(list(vocabulary))))
        items, cases = [], []
        for number, sample in enumerate(texts, start=1):
            encoded, decoded = f"{spec.id}__{number}__encode", f"{spec.id}__{number}__decode"
            items.append({"item": encoded, "kind": "function", "name": opts["encode"], "args": [{"json": sample}]})
            items.append({"item": decoded, "kind": "function", "name": opts["decode"], "args": [{"item": encoded}]})
            cases.append({"encode": encoded, "decode": decoded, "text": sample, "ids": ids_of(sample, vocabulary)})
        return items, {"cases": cases}

    @classmethod
    def score(cls, spec: CheckSpec, ctx: ScoreContext) -> CheckResult:
        names = spec.options["encode"], spec.options["decode"]
        cases = ctx.private["cases"]
        passed, first = 0, None
        for number, case in enumerate(cases, start=1):
            for item, name in zip((case["encode"], case["decode"]), names):
                output = ctx.outputs.get(item, name)
                if output.reason is not None and output.reason.code == "checks_missing_name":
                    return result(spec, Decimal("0"), output.reason, cases_passed=f"0/{len(cases)}")
            reason = _case_problem(ctx, case, *names)
            if reason is None:
                passed += 1
            elif first is None:
                first = Reason(reason.code, {**reason.params, "case": number})
        details = {"cases_passed": f"{passed}/{len(cases)}"}
        if first is None:
            return result(spec, spec.points, msg("roundtrip_ok", encode=names[0], decode=names[1],
                                                 total=len(cases)), **details)
        first = Reason(first.code, {**first.params, "passed": passed, "total": len(cases)})
        return result(spec, share(spec.points, passed, len(cases)), first, **details)


def _case_problem(ctx: ScoreContext, case: dict, encode: str, decode: str) -> Reason | None:
    encoded = ctx.outputs.get(case["encode"], encode)
    if encoded.reason is not None:
        return msg("roundtrip_failed", name=encode, problem=encoded.reason.to_json())
    problem = ids_problem(encoded.array, case["ids"], case["text"])
    if problem is not None:
        return msg("roundtrip_numbering", name=encode, text=shown(case["text"]), problem=problem.to_json())
    decoded = ctx.outputs.get(case["decode"], decode)
    if decoded.reason is not None:
        return msg("roundtrip_failed", name=decode, problem=decoded.reason.to_json())
    if not isinstance(decoded.value, str):
        return msg("roundtrip_not_text", name=decode)
    if decoded.value != case["text"]:
        at = next((i for i, (a, b) in enumerate(zip(decoded.value, case["text"])) if a != b),
                  min(len(decoded.value), len(case["text"])))
        return msg("roundtrip_differs", encode=encode, decode=decode, length=len(case["text"]),
                   got_length=len(decoded.value), position=at, expected=shown(case["text"][at:at + 20]),
                   got=shown(decoded.value[at:at + 20]))
    return None


def ids_problem(array: np.ndarray | None, expected: np.ndarray, text: str) -> Reason | None:
    """What is wrong with ``encode(text)`` against the contract's ids, as a message (both languages)."""
    if array is None:
        return msg("roundtrip_ids_not_numbers")
    got = array.reshape(-1) if array.ndim == 2 and 1 in array.shape else array
    if got.ndim != 1 or len(got) != len(expected):
        return msg("roundtrip_ids_wrong_shape", shape=fmt_shape(got.shape), count=len(expected))
    if got.dtype.kind not in "iu" and not (np.isfinite(got).all() and np.all(got == np.round(got))):
        return msg("roundtrip_ids_not_whole")
    wrong = np.flatnonzero(got.astype(np.int64) != expected)
    if len(wrong):
        i = int(wrong[0])
        return msg("roundtrip_ids_other_numbering", position=i, character=shown(text[i]), got=int(got[i]),
                   expected=int(expected[i]))
    return None
