"""Every student gets a feedback page per practical, in the course language, with the executed notebook."""
from __future__ import annotations

import pytest

from decimal import Decimal
from pathlib import Path

import nbformat

from grader.course import single_practical_course
from grader.exports import write_all
from grader.lms.registry import lms_class
from grader.out_layout import OutLayout
from grader.i18n import msg
from grader.records import CheckResult, CourseGrade, PracticalScore, Student
from grader.reports.feedback import comment_text, write_feedback

D = Decimal
CHECKS = (
    CheckResult("executed", "notebook", D("1"), D("1"), msg("notebook_ok")),
    CheckResult("softmax", "function", D("0.75"), D("1.5"),
                msg("checks_function_case_nonfinite", name="softmax", passed=3, total=6, case=5, largest="1000",
                    got="nan")),
)


def _score(status="error", reason=None, late="no", **extra) -> PracticalScore:
    fields = dict(practical="mnist_cnn", participant="101", full_name="Ana Pérez", status=status,
                  score=D("1.75"), max_score=D("2.5"), late=late,
                  reason=reason if reason is not None else msg("run_cell_error", number=7, ename="ValueError",
                                                               evalue="shapes do not match"),
                  checks=CHECKS, duration_s=12.5)
    fields.update(extra)
    return PracticalScore(**fields)


def _page(out: Path, participant="101") -> str:
    return (out / "feedback" / "mnist_cnn" / f"{participant}.html").read_text(encoding="utf-8")


def test_the_page_shows_each_check_its_points_reason_and_the_runners_reason_in_spanish(tmp_path):
    write_feedback(tmp_path, [_score()], "es")
    page = _page(tmp_path)
    assert '<html lang="es">' in page
    assert "Nota: 1,75/2,5" in page
    assert "La celda 7 lanzó ValueError: shapes do not match" in page      # the runner's reason and cell
    assert "softmax" in page and "0,75/1,5" in page and "se obtuvo nan" in page
    assert "executed" in page and "1/1" in page
    assert "Entregada a tiempo" in page


def test_the_same_page_in_english_when_the_course_says_so(tmp_path):
    write_feedback(tmp_path, [_score()], "en")
    page = _page(tmp_path)
    assert "Score: 1.75/2.5" in page and "Cell 7 raised ValueError" in page and "got nan" in page


def test_overrides_and_lateness_are_explained(tmp_path):
    late = _score(status="graded", late="yes", penalty=D("1"), participant="102",
                  reason=msg("score_late_penalty", days=1, penalty=D("1")))
    overridden = _score(status="overridden", participant="103", reason=msg("score_overridden", reason="re-graded"),
                        override_reason="re-graded by hand after review")
    write_feedback(tmp_path, [late, overridden], "en")
    assert "Handed in 1 day late: 1 point deducted." in _page(tmp_path, "102")
    page = _page(tmp_path, "103")
    assert "Grade set by an instructor: re-graded by hand after review" in page
    assert "An instructor set this grade by hand" in page


def test_a_missing_submission_gets_a_page_saying_nothing_was_handed_in(tmp_path):
    missing = PracticalScore("mnist_cnn", "104", "Dora", "missing", None, D("10"), "no", msg("score_missing"))
    write_feedback(tmp_path, [missing], "en")
    page = _page(tmp_path, "104")
    assert "No score: nothing was handed in." in page and "There is no executed copy" in page


def _executed_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    first = nbformat.v4.new_code_cell("x = 1\nprint('hello from the student')")
    first.metadata["grader_source_index"] = 0
    first.outputs = [nbformat.v4.new_output("stream", text="hello from the student\n"),
                     nbformat.v4.new_output("display_data", data={"text/html": "<script>alert('xss')</script><b>hi</b>"})]
    params = nbformat.v4.new_code_cell("epochs = 1")
    params.metadata["tags"] = ["injected-parameters", "grader-injected"]
    broken = nbformat.v4.new_code_cell("1 / 0")
    broken.metadata["grader_source_index"] = 2
    broken.metadata["grader_source_count"] = 5        # "In [5]" in the notebook as handed in
    broken.outputs = [nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero",
                                             traceback=["ZeroDivisionError: division by zero"])]
    probe = nbformat.v4.new_code_cell("def _grader_probe(nonce='abc'):\n    pass\n_grader_probe()")
    probe.metadata["tags"] = ["grader-injected"]
    nb.cells = [first, params, broken, probe]
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)


@pytest.mark.slow
def test_the_executed_notebook_is_rendered_beside_without_the_probe_and_without_scripts(tmp_path):
    _executed_notebook(tmp_path / "work" / "mnist_cnn" / "101" / "executed.ipynb")
    late = _score(late="yes", reason=msg("score_late_rejected", days=2))   # the run's reason was replaced
    pages, warnings = write_feedback(tmp_path, [late], "en")
    assert not warnings
    notebook = (tmp_path / "feedback" / "mnist_cnn" / "101-notebook.html").read_text(encoding="utf-8")
    assert "hello from the student" in notebook and "ZeroDivisionError" in notebook
    assert '<span class="n">epochs</span>' in notebook                # the grading parameters stay visible
    assert "_grader_probe" not in notebook and "<script>alert" not in notebook
    page = _page(tmp_path)
    assert "href='101-notebook.html'" in page
    assert "shows an error in cell In [5]" in page                  # named as the hand-in showed it
    assert "Handed in 2 days after the deadline" in page


def test_a_batch_export_writes_feedback_for_everyone_and_the_report(tmp_path):
    course = single_practical_course("mnist_cnn", [tmp_path], tmp_path, tmp_path / "out")
    missing = PracticalScore("mnist_cnn", "104", "Dora", "missing", None, D("2.5"), "no", msg("score_missing"))
    scores = [_score(), missing]
    student = Student("ana@uni.es", "Ana Pérez", "ana@uni.es", {"mnist_cnn": "101"})
    lms = lms_class(course.lms).open(course, {})
    report = write_all(OutLayout(tmp_path / "out"), course, scores,
                       [CourseGrade(student, {"mnist_cnn": D("7")}, ("mnist_cnn",), D("7"))], lms, {})
    assert (tmp_path / "out" / "feedback" / "mnist_cnn" / "101.html").is_file()
    assert (tmp_path / "out" / "feedback" / "mnist_cnn" / "104.html").is_file()
    assert tmp_path / "out" / "report.html" in report.files
    assert comment_text(scores[0], "en").startswith("Score 1.75/2.5 | Cell 7 raised ValueError")
    assert comment_text(missing, "es").startswith("Sin nota | No entregada")


def test_every_status_and_check_state_has_words_in_both_languages():
    from grader.i18n import catalogue

    codes = catalogue()
    for status in ("graded", "not_executed", "error", "timeout", "invalid", "missing", "overridden"):
        assert {"es", "en"} <= set(codes[f"feedback_status_{status}"])
    for state in ("pass", "partial", "fail", "later"):
        assert {"es", "en"} <= set(codes[f"student_state_{state}"])


def test_the_page_names_the_practical_and_checks_by_their_titles_with_code_as_code(tmp_path):
    from grader.assignment import Titles

    titles = Titles("mnist_cnn", {"es": "Dígitos MNIST", "en": "MNIST digits"},
                    {"softmax": {"es": "Función `softmax`", "en": "The `softmax` function"}})
    write_feedback(tmp_path, [_score()], "es", titles={"mnist_cnn": titles})
    page = _page(tmp_path)
    assert "<h1>Corrección: Dígitos MNIST</h1>" in page and "<td>Función <code>softmax</code></td>" in page
    assert "`" not in page.split("<body>")[1]
    assert "OK executed 1/1 | X Función `softmax` 0,75/1,5" in comment_text(_score(), "es", titles)


def test_a_notebook_handed_in_unexecuted_is_said_once_on_the_page_and_in_the_comment(tmp_path):
    executed = CheckResult("executed", "notebook", D("0"), D("1"),
                           msg("notebook_not_executed", executed=0, total=5))
    score = _score(status="not_executed", reason=msg("job_not_executed"), checks=(executed,))
    write_feedback(tmp_path, [score], "es")
    page = _page(tmp_path).lower()
    assert page.count("sin ejecutar") + page.count("no se entregó ejecutado") == 1
    comment = comment_text(score, "es").lower()
    assert comment.count("sin ejecutar") + comment.count("no se entregó ejecutado") == 1


def test_the_runs_notes_reach_the_students_page_in_its_language(tmp_path):
    from dataclasses import replace

    score = replace(_score(), notes=(msg("params_reassigned_in", names=["`epochs`"], count=7),))
    write_feedback(tmp_path / "out", [score], "es")
    page = (tmp_path / "out" / "feedback" / "mnist_cnn" / "101.html").read_text(encoding="utf-8")
    assert "<h2>Notas</h2>" in page and "In [7]" in page and "<code>epochs</code>" in page
