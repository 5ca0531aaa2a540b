"""Every message a student can read exists in Spanish and English, with the same placeholders."""
import string

from grader.i18n import LANGUAGES, catalogue, msg, render


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}

def test_every_message_has_both_languages_with_the_same_placeholders():
    for code, texts in catalogue().items():
        for lang in LANGUAGES:
            assert texts.get(lang, "").strip(), f"{code} lacks {lang}"
        assert _placeholders(texts["es"]) == _placeholders(texts["en"]), code

def test_render_fills_parameters_in_the_chosen_language():
    reason = msg("score_late_rejected", days=2)
    assert "2" in render(reason, "en") and "deadline" in render(reason, "en")
    assert "fecha límite" in render(reason, "es")

def test_render_survives_a_missing_parameter():
    assert "{days}" in render(msg("score_late_rejected"), "en")

def test_a_nested_reason_or_a_text_in_both_languages_renders_in_the_language_of_the_message():
    about = {"es": "imagen en escala de grises 330×270", "en": "greyscale image 330×270"}
    reason = msg("function_case_nonfinite", name="f", passed=1, total=2, lost="", about=about, got="nan")
    assert "greyscale image 330×270" in render(reason, "en") and "got nan" in render(reason, "en")
    assert "escala de grises" in render(reason, "es") and "se obtuvo nan" in render(reason, "es")
