"""Every reason the char-RNN checks can give renders fully in Spanish and in English: with sample
parameters, with a smaller reason nested as a parameter, and with no English fragment in Spanish."""
from __future__ import annotations

import re
import string
from pathlib import Path

from grader.i18n import LANGUAGES, catalogue, msg, render

CHECKS = Path(__file__).parents[1] / "grader" / "checks"
# the modules of the char-RNN checks, and outputs.py, whose reasons they pass on
MODULES = ("roundtrip.py", "sequence_shape.py", "distribution.py", "generation.py", "temperature.py",
           "numbering.py", "metric.py", "outputs.py")
CODE_USE = re.compile(r"""\bmsg\(\s*["']([a-z0-9_]+)["']""")
ENGLISH = {"the", "of", "and", "is", "not", "does", "did", "got", "gives", "expected", "returned", "character",
           "characters", "numbering", "contract", "failed", "could", "judged", "was", "were", "with", "after",
           "its", "it", "by", "which", "only", "because", "could", "calling", "text", "draws"}
# what a student never reads as prose: code in backticks, quoted text, {placeholders} left unfilled
_NOT_PROSE = re.compile(r"`[^`]*`|\"[^\"]*\"|'[^']*'")
NESTED = msg("roundtrip_ids_other_numbering", position=3, character="q", got=7, expected=2).to_json()


def codes_used() -> set[str]:
    return {code for name in MODULES for code in CODE_USE.findall((CHECKS / name).read_text(encoding="utf-8"))}


def english_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[A-Za-z]+", _NOT_PROSE.sub(" ", text)) if w.lower() in ENGLISH}


def sample_params(template: str) -> dict:
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    return {name: NESTED if name == "problem" else 5 for name in names}


def test_the_scan_finds_the_codes_of_every_rnn_check():
    used = codes_used()
    assert {"roundtrip_numbering", "roundtrip_ids_other_numbering", "temperature_mismatch", "numbering_not_judged",
            "numbering_not_judged_here", "temperature_unchanged", "temperature_sampler_cause", "temperature_failed",
            "temperature_no_new_character", "sequence_shape_wrong", "distribution_mismatch", "generation_no_prompt",
            "checks_missing_name"} <= used


def test_every_reason_of_the_rnn_checks_renders_fully_in_both_languages():
    for code in sorted(codes_used()):
        reason = msg(code, **sample_params(catalogue()[code]["en"]))
        for lang in LANGUAGES:
            text = render(reason, lang)
            assert text and "{" not in text and code not in text, (code, lang, text)
        assert not english_words(render(reason, "es")), (code, render(reason, "es"))


def test_a_nested_reason_renders_in_the_language_of_the_one_around_it():
    reason = msg("roundtrip_numbering", passed=0, total=4, case=1, name="encode", text="to be", problem=NESTED)
    assert "la numeración del enunciado le da 2" in render(reason, "es")
    assert "the contract's numbering gives 2" in render(reason, "en")
    twice = msg("numbering_not_judged", check="roundtrip", problem=msg("roundtrip_failed", passed=0, total=4, case=1,
                                                                  problem=NESTED).to_json())
    assert "No se ha evaluado porque la comprobación `roundtrip` falló" in render(twice, "es")
    assert not english_words(render(twice, "es"))


def test_the_detector_would_catch_the_old_english_fragment():
    old = "... (el carácter i tiene el id i): character 0 got id 24, the contract's numbering gives 47."
    assert english_words(old)
