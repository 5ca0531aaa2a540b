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


def test_an_instructors_wording_has_the_students_placeholders_and_is_used_only_when_asked():
    for code, texts in catalogue().items():
        for lang in LANGUAGES:
            if f"{lang}_instructor" in texts:
                assert _placeholders(texts[f"{lang}_instructor"]) == _placeholders(texts[lang]), code
    reason = msg("reported_differs_run", reported="0.99", run="0.7311", tolerance="0.001")
    assert "imprimiste" in render(reason, "es") and "imprimiste" not in render(reason, "es", for_instructor=True)
    assert "you printed" in render(reason, "en") and "you" not in render(reason, "en", for_instructor=True)
    nested = msg("report_flag_mismatch", check="x", reason=reason)    # a nested reason keeps the reader
    assert "el cuaderno entregado imprime 0,99" in render(nested, "es", for_instructor=True)


def test_an_exception_without_a_message_ends_at_its_type_never_at_a_colon():
    assert render(msg("run_cell_error", number="In [4]", ename="NotImplementedError", evalue=""), "es") \
        == "La celda In [4] lanzó NotImplementedError"
    assert render(msg("run_cell_error", number="In [4]", ename="ValueError", evalue="bad"), "en") \
        == "Cell In [4] raised ValueError: bad"
    assert render(msg("checks_call_failed", name="model", error="NotImplementedError: "), "en").endswith(
        "raised an error: NotImplementedError")


def test_cells_counted_among_the_code_cells_say_so_once_for_the_whole_list():
    cells = [{"code": n} for n in range(1, 13)]
    said = render(msg("notebook_errors", cells=cells), "es")
    assert said.count("contando solo las celdas de código") == 1 and "n.º 12 (contando" in said
    assert render(msg("notebook_errors", cells=[{"code": 3}]), "en").count("counting code cells only") == 1
