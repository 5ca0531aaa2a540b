"""Every message renders clean in both languages: no placeholder left, no "(s)" plural, no backtick on a page."""
import re
import string

from grader.i18n import LANGUAGES, catalogue, code_html, msg, render, render_html

LEFTOVER_PLURAL = re.compile(r"\((s|es|n)\)|/los\b")
UNFILLED = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*(:[^}]*)?\}")


def _sample(code: str, count: int) -> dict:
    names = {name for lang in LANGUAGES
             for _, name, _, _ in string.Formatter().parse(catalogue()[code][lang]) if name}
    return {name: count for name in names}


def test_every_message_renders_in_both_languages_without_leftover_markup():
    for code in catalogue():
        for count in (1, 2):
            for lang in LANGUAGES:
                text = render(msg(code, **_sample(code, count)), lang)
                page = render_html(msg(code, **_sample(code, count)), lang)
                assert not UNFILLED.search(text), (code, lang, text)
                assert not LEFTOVER_PLURAL.search(text), (code, lang, text)
                assert "`" not in page, (code, lang, page)


def test_counted_words_agree_with_their_number():
    assert "1 día después" in render(msg("score_late_rejected", days=1), "es")
    assert "2 días después" in render(msg("score_late_rejected", days=2), "es")
    assert "1 day after" in render(msg("score_late_rejected", days=1), "en")
    one = render(msg("score_late_penalty", days=1, penalty="1"), "es")
    assert "1 día de retraso: se descuenta 1 punto." in one
    assert "se descuentan 2 puntos" in render(msg("score_late_penalty", days=2, penalty="2"), "es")
    assert "errors in cell In [3]." in render(msg("notebook_errors", cells=[{"in": 3}]), "en")
    assert "las celdas In [3], In [4]" in render(msg("notebook_errors", cells=[{"in": 3}, {"in": 4}]), "es")


def test_code_names_are_code_on_a_page_and_stay_as_written_in_plain_text():
    assert code_html("`model` returns <b>") == "<code>model</code> returns &lt;b&gt;"
    reason = msg("params_reassigned_in", names=["`epochs`"], count=4)
    assert "`epochs`" in render(reason, "en")
    assert "<code>epochs</code>" in render_html(reason, "en") and "`" not in render_html(reason, "en")
