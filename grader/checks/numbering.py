"""Text helpers of the char-RNN checks, and the student's own numbering of the contract's vocabulary.

The contract numbers characters as ``sorted(set(train_text))``; the round-trip check scores that.
Checks that feed ``model`` ids (the held-out cross-entropy) judge something else, so they feed ids in the student's own numbering when her encoder gives one: one
probe item asks it for the whole vocabulary, and when the answer is a permutation of 0..V-1 the
probe translates the contract's ids through it before calling the model. Probe and host decide
with the same function (``translation_table``), so both always agree on what the model was fed.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from grader.checks.base import PlanContext, ScoreContext
from grader.i18n import msg
from grader.probe.probe import translation_table
from grader.records import Reason

MAX_SHOWN = 40


def draw_prompt(text: str, rng: np.random.Generator, shortest: int, longest: int) -> str:
    """A held-out passage starting at a word, so prompts read like text and vary per run."""
    size = int(rng.integers(shortest, longest + 1))
    start = int(rng.integers(0, len(text) - size - 1))
    space = text.find(" ", start, start + 40)
    start = space + 1 if space != -1 else start
    return text[start:start + size]


def draw_prompt_before_word(text: str, rng: np.random.Generator, shortest: int, longest: int) -> str:
    """A held-out passage that ends with a space, so that the next character begins a word: there even a
    trained model hesitates between many characters (inside a word it is often sure of the next one,
    and a temperature then has little to show)."""
    for _ in range(100):
        passage = draw_prompt(text, rng, longest, longest)
        cut = passage.rfind(" ", shortest - 1)
        if cut != -1:
            return passage[:cut + 1]
    return draw_prompt(text, rng, shortest, longest)


def ids_of(text: str, vocabulary: str) -> np.ndarray:
    index = {c: i for i, c in enumerate(vocabulary)}
    return np.array([index[c] for c in text], dtype=np.int64)


def shown(text: str) -> str:
    """A short, visible rendering of a string for a message (newlines shown as \\n)."""
    text = text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "..."
    return text.encode("unicode_escape").decode("ascii")


def plan_numbering(ctx: PlanContext, encode: str, vocabulary: str) -> tuple[str, list[dict[str, Any]]]:
    """The probe item asking ``encode`` for the whole vocabulary, planned once per run (checks share it)."""
    key = ("numbering", encode, vocabulary)
    if key in ctx.shared:
        return ctx.shared[key], []
    item = f"_numbering__{encode}"
    ctx.shared[key] = item
    return item, [{"item": item, "kind": "function", "name": encode, "args": [{"json": vocabulary}]}]


def translate(item: dict[str, Any], numbering: str, size: int) -> dict[str, Any]:
    """A model item whose contract ids the probe translates into the student's numbering, if she has one."""
    return {**item, "translate": numbering, "size": size}


def student_table(ctx: ScoreContext, numbering: str, encode: str, size: int) -> np.ndarray | None:
    """contract id -> the id the model was fed, when the probe translated; None: it fed the contract's ids."""
    output = ctx.outputs.get(numbering, encode, want="array")
    if output.reason is not None:
        return None
    return translation_table(output.array, size)


def not_judged(ctx: ScoreContext, owner: str, problem: Reason) -> Reason:
    """Why a check could not judge its own property: a problem that the check ``owner`` scores. Named
    as that check's failure only when it did fail (it may have passed on its own inputs)."""
    earlier = ctx.earlier.get(owner)
    if earlier is not None and earlier.points < earlier.max_points:
        return msg("numbering_not_judged", check=owner, problem=problem.to_json())
    return msg("numbering_not_judged_here", check=owner, problem=problem.to_json())
