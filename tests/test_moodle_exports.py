"""Grades reach Moodle exactly as graded, or the grader stops and says why (Moodle 5.1's importers' rules,
../shared/MOODLE.md section 7)."""
from __future__ import annotations

import csv
import html
import os
import subprocess
import sys
import zipfile
from decimal import Decimal as D
from pathlib import Path

import pytest

from grader.course import load_course
from grader.assignment import Titles, load_assignment
from grader.exports import write_results_csv
from grader.lms.moodle.exports import NOT_IMPORTED_NAME, write_course_csv, write_practical_worksheet
from grader.i18n import msg, render
from grader.lms.moodle.worksheet import read_worksheet
from grader.pipeline import grade_course
from grader.records import CheckResult, CourseGrade, PracticalScore, Student
from moodle_rules import php_fgetcsv
from two_practicals import STUDENTS, two_practicals_course, worksheet

TESTS = Path(__file__).resolve().parent


def _sheet(dest: Path, scores: list, ws, separator: str = ".") -> list:
    """The MNIST practical's worksheet written as a Spanish course writes it (its titles in the comments)."""
    titles = Titles.of(load_assignment(TESTS.parent / "assignments" / "mnist_cnn")).public()
    return write_practical_worksheet(dest, scores, ws, "es", separator, titles)


def _grader(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True, text=True, timeout=300,
                          env=env)


def _moodle_files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / "moodle").iterdir())}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The two-practical course graded once, and the Moodle files of that full run."""
    root = tmp_path_factory.mktemp("two")
    course = load_course(two_practicals_course(root))
    out = root / "out"
    result = grade_course(course, out, workers=2)
    assert result.executed == 6, result.warnings
    return course, out, _moodle_files(out)


@pytest.mark.slow
def test_a_partial_run_changes_no_byte_of_the_moodle_files(graded):
    course, out, full = graded
    assert set(full) >= {"tiny.csv", "tiny_rel.csv", "course.csv", "tiny-feedback.zip", "tiny_rel-feedback.zip"}
    again = grade_course(course, out, only="tiny")
    assert again.executed == 0 and _moodle_files(out) == full
    again = grade_course(course, out, only="tiny_rel")
    assert again.executed == 0 and _moodle_files(out) == full
    again = grade_course(course, out, only="tiny_rel", student="902", force=True)
    assert again.executed == 1 and _moodle_files(out) == full
    # and what they hold is the whole course: nobody "not submitted" in the gradebook
    assert all("no entregada" not in row["Feedback"] for row in _rows(out / "moodle" / "course.csv"))


@pytest.mark.slow
def test_grades_land_on_a_worksheet_out_of_100_exactly(graded):
    _, out, _ = graded
    rows = {r["Identifier"]: r for r in _rows(out / "moodle" / "tiny_rel.csv")}
    # 6/8, 3/8, 0/8 right: accuracy 0.75, 0.375, 0 against full marks at 0.75 (8 points) + executed (2)
    assert [rows[f"Participant {n}"]["Grade"] for n in ("901", "902", "903")] == ["100.00", "60.00", "20.00"]
    # the comment gives the grade Moodle stores (out of 100) and the practical's, its checks' sum
    assert rows["Participant 902"]["Feedback comments"].startswith("Nota 60,00/100 (6,00/10 en puntos de la práctica)")
    assert all(r["Maximum grade"] == "100.00" for r in rows.values())   # every other cell as it came


@pytest.mark.slow
def test_the_feedback_zip_has_moodles_layout_one_folder_per_student(graded):
    _, out, _ = graded
    with zipfile.ZipFile(out / "moodle" / "tiny_rel-feedback.zip") as archive:
        names = archive.namelist()
        page = archive.read("Ana Pérez_901_assignfeedback_file/feedback.html").decode("utf-8")
    assert "Ana Pérez_901_assignfeedback_file/feedback.html" in names
    assert "Ana Pérez_901_assignfeedback_file/901-notebook.html" in names
    for name in names:
        # Moodle's importziplib: explode('_', folder, 5) -> fullname, N, "assignfeedback", "file"
        folder = name.split("/")[0].split("_", 4)
        assert folder[2:] == ["assignfeedback", "file"] and folder[1] in {"901", "902", "903"}
    assert 'lang="es"' in page and "901-notebook.html" in page and "<link" not in page   # self-contained


def test_worksheet_grades_follow_the_sheets_scale_and_decimals_and_never_exceed_it(tmp_path):
    rows = [("7", "Ana Pérez", "ana@uni.es"), ("8", "Luis García", "luis@uni.es"), ("9", "Eva", "eva@uni.es")]
    path = tmp_path / "ws.csv"
    path.write_bytes(worksheet(rows, maximum="100.00"))
    ws = read_worksheet(path, "Europe/Madrid")
    scores = [_score("7", "Ana Pérez", D("7.35")), _score("8", "Luis García", D("10.5")), _score("9", "Eva", D("0"))]
    attention = _sheet(tmp_path / "out.csv", scores, ws)
    grades = {r["Identifier"]: r["Grade"] for r in _rows(tmp_path / "out.csv")}
    assert grades == {"Participant 7": "73.50", "Participant 8": "100.00", "Participant 9": "0.00"}
    # Moodle 5.1 stores no 0 from a worksheet: the instructor is told, by name
    assert [(f.participant, f.name) for f in attention] == [("9", "Eva")] and "0" in attention[0].why


def test_the_comment_on_a_worksheet_out_of_100_gives_the_grade_moodle_stores_and_the_practicals(tmp_path):
    path = tmp_path / "ws.csv"
    path.write_bytes(worksheet([("7", "Ana Pérez", "ana@uni.es")], maximum="100.00"))
    _sheet(tmp_path / "out.csv", [_score("7", "Ana Pérez", D("9.5"))], read_worksheet(path, "Europe/Madrid"))
    row = _rows(tmp_path / "out.csv")[0]
    assert row["Grade"] == "95.00"
    assert row["Feedback comments"].startswith("Nota 95,00/100 (9,50/10 en puntos de la práctica) | ")
    assert row["Feedback comments"].split(" | ")[1].startswith("X Función `softmax` 9,5/10: ")   # points, the check's own


def test_a_spanish_worksheet_gets_a_comma_grade_on_its_own_scale(tmp_path):
    text = ("\ufeffIdentificador,Nombre completo,Dirección de correo,Estado,Calificación,Calificación máxima,"
            "La calificación puede ser cambiada,Última modificación (entrega),Última modificación (calificación),"
            "Comentarios de retroalimentación\n"
            'Participante7,Ana Pérez,ana@uni.es,Enviado,,"10,00",Sí,"lunes, 1 de marzo de 2027, 10:15",-,\n')
    (tmp_path / "ws.csv").write_text(text, encoding="utf-8")
    ws = read_worksheet(tmp_path / "ws.csv", "Europe/Madrid")
    _sheet(tmp_path / "out.csv", [_score("7", "Ana Pérez", D("7.355"))], ws, ",")
    assert _rows(tmp_path / "out.csv")[0]["Calificación"] == "7,36"


ERROR_TEXT = 'ValueError: no encuentro C:\\Users\\iker\\"datos\\" <b>&amp; 1 < 2 & 3</b>\\'


def test_one_students_error_text_cannot_break_moodles_csv_parser(tmp_path):
    path = tmp_path / "ws.csv"
    path.write_bytes(worksheet([("7", "Iker", "iker@uni.es"), ("8", "Ana", "ana@uni.es")]))
    ws = read_worksheet(path, "Europe/Madrid")
    broken = _score("7", "Iker", D("3"), reason=msg("job_internal_error", detail=ERROR_TEXT, participant="7"))
    _sheet(tmp_path / "out.csv", [broken, _score("8", "Ana", D("9"))], ws)
    data = (tmp_path / "out.csv").read_text(encoding="utf-8-sig")
    assert "\\" not in data                       # fgetcsv's escape character never reaches Moodle
    rows = php_fgetcsv(data)
    assert all(len(row) == len(rows[0]) for row in rows)      # every row as wide as the header
    feedback = rows[1][-1]
    assert "C:/Users/iker/" in feedback and "&lt;b&gt;&amp;amp; 1 &lt; 2 &amp; 3&lt;/b&gt;" in feedback
    assert html.unescape(feedback).count("<b>") == 1           # Moodle shows the text, renders no tag
    assert not feedback.startswith(("'", "=", "+", "-", "@"))


def test_feedback_of_a_student_without_a_score_starts_with_words(tmp_path):
    path = tmp_path / "ws.csv"
    path.write_bytes(worksheet([("7", "Ana", "ana@uni.es")]))
    ws = read_worksheet(path, "Europe/Madrid")
    missing = PracticalScore("mnist_cnn", "7", "Ana", "missing", None, D("10"), "no", msg("score_missing"))
    _sheet(tmp_path / "out.csv", [missing], ws)
    row = _rows(tmp_path / "out.csv")[0]
    assert row["Grade"] == "" and row["Feedback comments"] == "Sin nota | No entregada."


def test_rows_moodle_would_abort_the_gradebook_import_on_go_to_their_own_file(tmp_path):
    people = [Student("ana@uni.es", "Ana", "ana@uni.es", {"mnist_cnn": "1"}),
              Student("ANA@uni.es", "Ana Bis", "ANA@uni.es", {"mnist_cnn": "2"}),
              Student(None, "Sin Correo", None, {"mnist_cnn": "3"}),
              Student("luis@uni.es", "Luis", "luis@uni.es", {"mnist_cnn": "4"})]
    grades = [CourseGrade(p, {"mnist_cnn": D("8")}, ("mnist_cnn",), D("8")) for p in people]
    attention = write_course_csv(tmp_path / "course.csv", grades, "es", "email", "Prácticas", {})
    assert [r["Email address"] for r in _rows(tmp_path / "course.csv")] == ["luis@uni.es"]
    refused = _rows(tmp_path / NOT_IMPORTED_NAME)
    assert [r["Full name"] for r in refused] == ["Ana", "Ana Bis", "Sin Correo"]
    # in the course language (Spanish here), as the report and the command's summary
    assert "comparte" in refused[0]["reason"] and "sin Email address" in refused[2]["reason"]
    assert sorted(f.name for f in attention) == ["Ana", "Ana Bis", "Sin Correo"]
    # fixed: the list goes away with its cause
    write_course_csv(tmp_path / "course.csv", grades[3:], "es", "email", "Prácticas", {})
    assert not (tmp_path / NOT_IMPORTED_NAME).exists()


def test_results_csv_opens_names_and_files_as_text_in_a_spreadsheet(tmp_path):
    write_results_csv(tmp_path / "results.csv", [_score("7", "=2+5", D("3")), _score("8", "Eva", D("4.5")),
                                                  _score("9", "Leo", D("7.255"))])
    rows = _rows(tmp_path / "results.csv")
    assert rows[0]["full_name"] == "'=2+5"
    # every score with two decimals, none rounded
    assert [r["score"] for r in rows] == ["3.00", "4.50", "7.255"] and rows[0]["max_score"] == "10.00"


def test_a_missing_archive_stops_before_grading_with_one_line(tmp_path):
    course = two_practicals_course(tmp_path)
    (tmp_path / "tiny_rel.zip").unlink()
    done = _grader("grade", str(course), "--out", str(tmp_path / "out"))
    assert done.returncode == 2, done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "practicals.tiny_rel.submissions" in lines[0] and "tiny_rel.zip" in lines[0]
    assert not (tmp_path / "out").exists() and "Traceback" not in done.stdout + done.stderr


def test_the_worksheet_of_another_practical_is_refused_naming_the_one_it_belongs_to(tmp_path):
    course = two_practicals_course(tmp_path)
    text = course.read_text(encoding="utf-8").replace('worksheet = "tiny_rel.csv"', 'worksheet = "tiny.csv"')
    course.write_text(text, encoding="utf-8")
    done = _grader("grade", str(course), "--out", str(tmp_path / "out"))
    assert done.returncode == 2, done.stdout + done.stderr
    line = [line for line in done.stdout.splitlines() if line.startswith("error:")][0]
    assert "practicals.tiny_rel.worksheet" in line and "looks like the worksheet of tiny" in line
    assert not (tmp_path / "out").exists()


def test_a_decimal_separator_that_contradicts_the_worksheet_is_refused(tmp_path):
    course = two_practicals_course(tmp_path, extra='[moodle]\ndecimal_separator = ","\n')
    done = _grader("grade", str(course), "--out", str(tmp_path / "out"))
    assert done.returncode == 2, done.stdout + done.stderr
    line = [line for line in done.stdout.splitlines() if line.startswith("error:")][0]
    assert "moodle.decimal_separator" in line and "'100.00'" in line and "tiny.csv" in line
    assert not (tmp_path / "out").exists()


def _score(participant: str, name: str, score: D, reason=None) -> PracticalScore:
    check = CheckResult("softmax", "function", score, D("10"), msg("function_ok", name="softmax",
                                                                     cases=6), False)
    return PracticalScore("mnist_cnn", participant, name, "graded", score, D("10"), "no", reason,
                          checks=(check,), email=f"{participant}@uni.es")


def test_the_fgetcsv_port_sees_the_escaped_quote_defect_it_guards_against():
    # the defect itself: a backslash before the closing quote makes the row run on
    assert len(php_fgetcsv('a,"C:\\x\\",b\n')[0]) != 3
    assert php_fgetcsv('a,"x ""y"", z",b\n')[0] == ["a", 'x "y", z', "b"]


def _needs_human_section(report: Path) -> str:
    """The report's "Requiere revisión" section (the course is in Spanish), up to the next heading."""
    heading = render(msg("report_needs_human", count="{count}"), "es").split(" (")[0]
    page = report.read_text(encoding="utf-8")
    return page[page.index(f"<h2>{heading}"):].split("<h2>")[1]


@pytest.mark.slow
def test_grader_report_names_again_the_students_moodle_will_not_take(graded, tmp_path):
    import shutil

    from grader.reports.summary import rebuild_report

    _, out, _ = graded
    copy = tmp_path / "two"
    shutil.copytree(out.parent, copy)
    graded_section = _needs_human_section(copy / "out" / "report.html")
    (copy / "out" / "report.html").unlink()
    rebuilt = rebuild_report(load_course(copy / "course.toml"), copy / "out")
    assert _needs_human_section(rebuilt) == graded_section
    # the worksheets as they are now: Luis's tiny row gone, Ana's tiny_rel grade locked in Moodle
    (copy / "tiny.csv").write_bytes(worksheet([(n, name, email) for name, email, n, _, _ in STUDENTS if n != "502"]))
    locked = worksheet([(n, name, email) for name, email, _, n, _ in STUDENTS]).decode("utf-8")
    (copy / "tiny_rel.csv").write_text(locked.replace("Participant 901,Ana Pérez,ana@uni.es,Submitted for grading,,"
                                                      "100.00,Yes", "Participant 901,Ana Pérez,ana@uni.es,Submitted "
                                                      "for grading,,100.00,No"), encoding="utf-8")
    section = _needs_human_section(rebuild_report(load_course(copy / "course.toml"), copy / "out"))
    moodle_lines = [row for row in section.split("<tr>") if "hoja de calificaciones" in row or "course.csv" in row]
    assert any("Luis García" in row and "tiny.csv" in row for row in moodle_lines), section
    # Ana's locked grade is named; Marta, whose row is as it was, is not named for Moodle's sake (the judge may
    # still flag her model for a human: that line is not the worksheet's)
    assert any("Ana Pérez" in row for row in moodle_lines) and not any("Marta" in row for row in moodle_lines), section
