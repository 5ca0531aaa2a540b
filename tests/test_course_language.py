"""One language per course, everywhere a person reads: a Spanish course's pages, report, similarity pages,
Moodle comments and command lines hold no English status word, no check id and no "7.50"; an English
course's hold no Spanish word and no "7,50". Grades read with two decimals, points as the point table writes
them; Moodle's own number cells keep Moodle's formats. The course (tests/language_course.py) has three
practicals and a submission in every status."""
from __future__ import annotations

import csv
import io
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from grader.cli import main
from language_course import NOTEBOOKS, language_course, page_text, prose_problems, written_texts

REPO = Path(__file__).resolve().parents[1]
ALL_STATUSES = {"graded", "not_executed", "untouched", "error", "timeout", "invalid", "missing", "overridden"}


def _run(capsys, *argv: str) -> str:
    assert main(list(argv)) == 0, capsys.readouterr().out
    return capsys.readouterr().out


def _commands(capsys, course: Path, lang: str, *grade: str) -> str:
    """What the instructor's and a student's commands print: grade, similarity, a self-check."""
    notebook = course.parent / "mine.ipynb"
    notebook.write_bytes(NOTEBOOKS["not_executed"]())
    said = _run(capsys, "grade", str(course), "--lang", lang, *grade)
    said += _run(capsys, "similarity", str(course), "--lang", lang)
    assert main(["check", str(notebook), "--course", str(course), "--practical", "p_digits", "--lang", lang]) == 1
    return said + capsys.readouterr().out


def _problems(out: Path, said: str, lang: str) -> list[str]:
    said = said.replace(str(out.parent), " ")   # the paths of the files written: the instructor's folders
    problems = [f"command line: {p}" for p in prose_problems(said, lang)]
    for name, text, students in written_texts(out):
        problems += [f"{name}: {p}" for p in prose_problems(text, lang, practical_ids=students)]
    return problems


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def _statuses(results: Path) -> tuple[set[str], set[str]]:
    rows = _rows(results)
    return {r["status"] for r in rows}, {r["late"] for r in rows}


@pytest.mark.parametrize("lang", ["es", "en"])
def test_a_static_look_at_a_three_practical_course_reads_in_the_course_language_only(tmp_path, capsys, lang):
    course = language_course(tmp_path, lang)
    said = _commands(capsys, course, lang, "--static")
    statuses, late = _statuses(tmp_path / "out" / "static" / "results.csv")
    assert statuses == ALL_STATUSES - {"error", "timeout"} and "yes" in late   # a run gives those two
    problems = _problems(tmp_path / "out", said, lang)
    assert not problems, "\n".join(problems)


def test_the_checker_finds_what_it_looks_for():
    assert prose_problems("Estado: graded, nota 7.50, nb_run", "es") and len(prose_problems("graded 7.50 nb_run", "es")) == 3
    assert len(prose_problems("Nota 7,50 del cuaderno", "en")) == 3
    assert not prose_problems("Nota 7,50/10 en Moodle 5.1 · `softmax` · Ana Pérez", "es")
    assert not prose_problems("Score 7.50/10 (counts), shapes (1, 28, 28)", "en")
    assert prose_problems("Dígitos escritos a mano: p_digits", "es", practical_ids=True)
    assert page_text("<head><title>x</title></head><body><p>a</p><pre>7.5</pre><img alt='b 1,5'></body>").split() \
        == ["a", "b", "1,5"]


@pytest.mark.slow
def test_a_graded_course_reads_in_its_language_everywhere_in_spanish_then_in_english(tmp_path, capsys):
    """Real runs (tiny notebooks, the local runner): every status, notebook pages included; then the same
    stored results written again in English, nothing run again."""
    course = language_course(tmp_path, "es", timeout_s=10)
    out = tmp_path / "out"
    said = _commands(capsys, course, "es")
    said += _run(capsys, "report", str(course))
    statuses, late = _statuses(out / "results.csv")
    assert statuses == ALL_STATUSES and "yes" in late
    problems = _problems(out, said, "es")
    assert not problems, "\n".join(problems)
    _spanish_details(out, said)

    said = _commands(capsys, course, "en")
    said += _run(capsys, "report", str(course), "--lang", "en")
    assert "0 to grade, 12 already in the store" in said
    assert (out / "feedback" / "p_digits" / "102-notebook.html").read_text(encoding="utf-8").count('lang="en"') == 1
    problems = _problems(out, said, "en")
    assert not problems, "\n".join(problems)


def _spanish_details(out: Path, said: str) -> None:
    """What issue 21 saw, one by one."""
    report = page_text((out / "report.html").read_text(encoding="utf-8"))
    needs_human = report.split("Requiere revisión")[1].split("Entregas parecidas")[0]
    eva = needs_human.split("Eva Sanz")[1:]                  # her lines: the template, and Moodle's zero
    assert len(eva) == 2 and sum("plantilla sin tocar" in line for line in eva) == 1   # its own cause, once
    assert not any("ejecución falló" in line.split("Fede León")[0] for line in eva)     # never an error
    assert "Dani Ruiz" not in needs_human                                          # not executed: nothing to compare
    assert "imprimiste" not in needs_human and "el cuaderno entregado imprime 0,9900" in needs_human
    assert re.search(r"│ p_text\s+│ 302\s+│ Bruno Díaz\s+│ corregida\s+│ 0,00/10\s+│ sí ", said)   # "tarde": sí
    digits = _rows(out / "moodle" / "p_digits.csv")
    images = {r["Identificador"]: r for r in _rows(out / "moodle" / "p_images.csv")}
    ana = images["Participante 201"]
    assert ana["Calificación"] == "92.50"                  # Moodle's cell, in the format Moodle parses in any language
    assert ana["Comentarios de retroalimentación"].startswith("Nota 92,50/100 (9,25/10 ")   # ... and the comment's
    eva = next(r for r in digits if r["Identificador"] == "Participante 105")["Comentarios de retroalimentación"]
    assert eva.startswith("Nota 0,00/10 | X Cuaderno entregado ejecutado 0/2: ") and "NotImplementedError:" not in eva
    assert "OK La función `softmax` 6,5/6,5" in images["Participante 202"]["Comentarios de retroalimentación"]
    gradebook = {r["Email address"]: r for r in _rows(out / "moodle" / "course.csv")}
    assert gradebook["ana@uni.es"]["Prácticas"] == "10.0"                          # the gradebook's number, as ever
    assert gradebook["ana@uni.es"]["Feedback"].startswith("Dígitos escritos a mano 10,00 (computa) · ")
    dani = page_text((out / "feedback" / "p_digits" / "104.html").read_text(encoding="utf-8"))
    assert dani.count("contando solo las celdas de código") == 1


@pytest.mark.slow
def test_the_report_and_a_similarity_pair_fit_a_1280_pixel_screen(tmp_path, capsys):
    """Headless Chromium at 1280 px: the right edge of each page is background, never a cut table; in the
    pair's code columns (one line longer than a column), no line runs into a column's right padding."""
    course = language_course(tmp_path, "es")
    _run(capsys, "grade", str(course), "--static", "--quiet")
    report = tmp_path / "out" / "static" / "report.html"
    pair = next((tmp_path / "out" / "static" / "similarity" / "p_images").glob("*.html"))
    for page in (report, pair):
        png = tmp_path / f"{page.stem}.png"
        done = subprocess.run([sys.executable, str(REPO / "scripts" / "render_report.py"), str(page), str(png),
                               "--width", "1280", "--height", "1400"], capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr
        assert struct.unpack(">II", png.read_bytes()[16:24]) == (1280, 1400)
        pixels = _pixels(png)
        assert (pixels[:, -12:] > 0.98).all(), f"{page}: the page is wider than the screen"
        if page == pair:
            assert _code_boxes_uncut(pixels) == 2, f"{page}: a line of code is cut at its column's edge"


def _pixels(png: Path):
    import matplotlib.image

    return matplotlib.image.imread(png)[:, :, :3]


def _code_boxes_uncut(pixels) -> int:
    """How many code boxes (the pages' grey <pre>, #f6f6f6) end on the right with their padding clear of
    code over their whole height; a box whose line runs on (cut, or scrolled out of sight) fails."""
    grey = (abs(pixels - 0xF6 / 255) < 0.01).all(axis=-1)
    white = (pixels > 0.99).all(axis=-1)
    boxes = 0
    for x in range(8, pixels.shape[1] - 1):
        edge = grey[:, x] & white[:, x + 1]
        if edge.sum() < 40:
            continue
        rows = edge.nonzero()[0]
        top, bottom = rows.min(), rows.max()
        if not grey[top:bottom + 1, x - 6:x + 1].all():
            return -1
        boxes += 1
    return boxes


def test_a_missing_data_folder_is_named_by_its_key_before_anything_is_written(tmp_path, capsys):
    course = language_course(tmp_path, "es")
    (tmp_path / "data").rmdir()
    assert main(["grade", str(course)]) == 2
    said = capsys.readouterr().out
    assert "course.data_dir" in said and str(tmp_path / "data") in said and "no such folder" in said
    assert not (tmp_path / "out").exists()          # no grader.sqlite, no intake/, no work/
    assert main(["grade", str(course), "--static", "--quiet"]) == 0   # a static look runs nothing: no data needed
