"""One case of a cases generator: the call's arguments, plus what the grader may say about it.

A ``Case`` unpacks as the plain tuple of arguments (``for logits, targets in cases``), so code that
reads generators' output as tuples keeps working. ``part`` names the share of the check's points the
case belongs to (``[[checks.parts]]`` in assignment.toml); ``about`` is the input in words, in
Spanish and English, which a student reads when the case fails. The grader reads both attributes
by name (grader.checks.parts); nothing here imports the grader.
"""
from __future__ import annotations


class Case(tuple):
    """``Case(logits, targets, part="stable", es="logits de hasta ±1000", en="logits up to ±1000")``."""

    part: str | None
    about: dict[str, str] | None

    def __new__(cls, *args, part: str | None = None, es: str | None = None, en: str | None = None) -> "Case":
        if (es is None) != (en is None):
            raise ValueError("a case's description needs both languages (es and en) or neither")
        case = super().__new__(cls, args)
        case.part = part
        case.about = {"es": es, "en": en} if en is not None else None
        return case
