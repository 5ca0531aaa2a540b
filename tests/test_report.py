"""The instructor's report: one self-contained page with plots and a "needs a human" list."""
from __future__ import annotations

import base64
import re
import struct
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from grader.cli import main
from grader.course import load_course
from grader.i18n import msg
from grader.records import CheckResult, CourseGrade, PracticalScore, Student
from grader.reports.summary import course_titles, needs_human, report_html
from grader.store import Store

D = Decimal
REPO = Path(__file__).resolve().parents[1]


def _checks(accuracy: str, reported_ok: bool = True, needs_human_note: str | None = None):
    details = {"needs_human": needs_human_note} if needs_human_note else {}
    return (CheckResult("executed", "notebook", D("1"), D("1"), msg("notebook_ok")),
            CheckResult("accuracy", "metric", D(accuracy), D("5"), msg("notebook_ok"), details=details),
            CheckResult("reported_acc", "reported", D("1") if reported_ok else D("0"), D("1"),
                        msg("reported_differs_run", reported="0.95", run="0.41", tolerance="0.1"),
                        details={"needs_human": not reported_ok}))


def _score(participant, name, status="graded", score="7", late="no", checks=None, **extra):
    fields = dict(practical="mnist_cnn", participant=participant, full_name=name, status=status,
                  score=None if score is None else D(score), max_score=D("7"), late=late,
                  reason=extra.pop("reason", None), checks=_checks("5") if checks is None else checks,
                  duration_s=extra.pop("duration_s", 10.0), email=f"{participant}@uni.es")
    fields.update(extra)
    return PracticalScore(**fields)


def _scores() -> list[PracticalScore]:
    return [
        _score("101", "Ana Pérez"),
        _score("102", "Bruno Slow", status="timeout", score="1", duration_s=600.0,
               reason=msg("run_timeout", limit_s="600", number=9)),
        _score("103", "Carla Crash", status="error", score="2", reason=msg("run_kernel_died", number=4)),
        _score("104", "Dani Claims", score="6", checks=_checks("5", reported_ok=False)),
        _score("105", "Eva Late", late="yes", score="0", reason=msg("score_late_rejected", days=2)),
        _score("106", "Fede Fixed", status="overridden", score="6.5", override_reason="re-graded after review",
               reason=msg("score_overridden", reason="re-graded after review")),
        _score("107", "Gil Odd", score="4", checks=_checks("2", needs_human_note="loss curve looks copied")),
        _score("108", "Hugo Missing", status="missing", score=None, checks=(), duration_s=None),
    ]


def _report_html(tmp_path: Path, scores, warnings, **kwargs) -> str:
    """The report of ``scores`` for the course of ``_course``, its practicals named by their titles."""
    course = load_course(_course(tmp_path))
    return report_html(course, scores, _grades(scores), warnings, titles=course_titles(course)[0], **kwargs)


def _course(tmp_path: Path) -> Path:
    path = tmp_path / "course.toml"
    path.write_text("""
[course]
name = "Report test course"
keep_best = 1
round_step = "0.1"
deadline = "2027-03-31T23:59:00"
timezone = "Europe/Madrid"
[practicals.mnist_cnn]
submissions = ["moodle"]
""", encoding="utf-8")
    return path


def _grades(scores) -> list[CourseGrade]:
    grades = []
    for s in scores:
        student = Student(s.email, s.full_name, s.email, {"mnist_cnn": s.participant},
                          ambiguous=s.participant == "101")
        grade = D("0") if s.score is None else (s.score * 10 / s.max_score).quantize(D("0.1"))
        grades.append(CourseGrade(student, {"mnist_cnn": s.score}, ("mnist_cnn",), grade))
    return grades


def test_needs_a_human_lists_timeouts_crashes_mismatches_late_joins_and_overrides():
    scores = _scores()
    flags = {(f.participant, f.why.split(":")[0].split(" ")[0]) for f in needs_human(scores, _grades(scores))}
    assert ("102", "timeout") in flags
    assert ("103", "the") in flags              # the run failed
    assert ("104", "reported") in flags
    assert ("105", "late") in flags
    assert ("106", "overridden") in flags
    assert ("107", "check") in flags
    assert ("101", "joined") in flags          # ambiguous join by name
    assert not any(p == "108" for p, _ in flags)


def test_the_report_is_one_self_contained_file_with_its_plots(tmp_path):
    scores = _scores()
    page = _report_html(tmp_path, scores, ["roster: two Ana Pérez"], lang="en")
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page)
    assert len(images) == 3                    # grade histograms, pass rates, times
    assert all(base64.b64decode(data).startswith(b"\x89PNG") for data in images)
    assert not re.search(r"""(src|href)=['"]?(https?:|//|file:)""", page)   # nothing fetched from elsewhere
    for heading in ("Overview", "Needs a human (7)", "Grades", "Pass rate per check", "Time per submission",
                    "Warnings"):
        assert heading in page
    assert "reported_acc" in page and "Bruno Slow" in page and "600.0 s" in page


def test_grader_report_rebuilds_the_page_from_the_store_without_grading(tmp_path, capsys):
    course = _course(tmp_path)
    out = tmp_path / "out"
    with Store(out / "grader.sqlite") as store:
        store.put_scores(_scores())
    assert main(["report", str(course), "--out", str(out), "--lang", "en"]) == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Report test course" in page and "Needs a human" in page and "Carla Crash" in page
    assert not (out / "work").exists()        # nothing was executed
    assert main(["report", str(course), "--out", str(tmp_path / "empty")]) == 2
    assert "no results store" in capsys.readouterr().out


@pytest.mark.slow
def test_the_report_renders_in_headless_chromium(tmp_path):
    """Fails (never skips) without chromium: `make test` installs it with scripts/ensure_chromium.sh."""
    scores = _scores()
    html_path = tmp_path / "report.html"
    html_path.write_text(_report_html(tmp_path, scores, []), encoding="utf-8")
    png = tmp_path / "report.png"
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "render_report.py"), str(html_path), str(png),
                           "--width", "900", "--height", "700"], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (900, 700)
    assert len(data) > 20_000                 # a drawn page, not a blank one


def test_the_report_lists_this_runs_similarity_flags_with_their_pages(tmp_path):
    from grader.reports.summary import write_report
    from grader.similarity.table import FlaggedPair, write_pairs

    out = tmp_path / "out"
    out.mkdir()
    write_pairs(out, [FlaggedPair("mnist_cnn", "101", "102", 0.93, 41, "Ana Pérez", "Luis García",
                                  "similarity/mnist_cnn/101--102.html")])
    scores = _scores()
    page = write_report(out, load_course(_course(tmp_path)), scores, _grades(scores), lang="en").read_text(encoding="utf-8")
    assert "Similar submissions (1)" in page
    assert "Ana Pérez" in page and "Luis García" in page and "0.93" in page
    assert "href='similarity/mnist_cnn/101--102.html'" in page


def test_the_report_is_in_the_course_language_and_a_flag_gives_a_reason_never_a_raw_value(tmp_path):
    scores = _scores()
    scores[6] = _score("107", "Gil Odd", score="4", checks=(CheckResult(
        "accuracy", "metric", D("2"), D("5"), msg("custom_failed", error="KeyError: 'loss'"),
        details={"needs_human": True}),))
    page = _report_html(tmp_path, scores, [])
    assert '<html lang="es">' in page and "Requiere revisión (7)" in page and "Resumen" in page
    assert "True" not in page
    why = {f.participant: f.why for f in needs_human(scores, _grades(scores), "es")}
    assert why["107"].startswith("comprobación «accuracy»: ") and "KeyError" in why["107"]
    assert why["105"] == "tarde: Entregada 2 días después de la fecha límite: no se acepta (política de retrasos: rechazar)."


@pytest.mark.slow
def test_grader_report_grades_the_students_grader_grade_joined(tmp_path):
    """Two students named alike, neither with an email, told apart by their ID numbers (user_key =
    "idnumber"): `grader report` rebuilds from the store's roster the same course grades `grader grade` wrote,
    never a join of its own by email-else-name (which would merge the two)."""
    import re
    import zipfile

    from two_practicals import ASSIGNMENT, REL_ASSIGNMENT, rel_notebook, trivial_notebook

    header = ("Identifier,Full name,ID number,Email address,Status,Grade,Maximum grade,Grade can be changed,"
              "Last modified (submission),Last modified (grade),Feedback comments")
    people = [("Ana Pérez", "A1", "501", "901", 6), ("Ana Pérez", "A2", "502", "902", 0),
              ("Luis García", "L1", "503", "903", 3)]
    for pid, text in (("tiny", ASSIGNMENT), ("tiny_rel", REL_ASSIGNMENT)):
        (tmp_path / "assignments" / pid).mkdir(parents=True)
        (tmp_path / "assignments" / pid / "assignment.toml").write_text(text.replace('id = "tiny"', f'id = "{pid}"'),
                                                                        encoding="utf-8")
    (tmp_path / "data").mkdir()
    for pid, column in (("tiny", 2), ("tiny_rel", 3)):
        with zipfile.ZipFile(tmp_path / f"{pid}.zip", "w") as zf:
            for person in people:
                n = person[column]
                body = trivial_notebook(n) if pid == "tiny" else rel_notebook(person[4])
                zf.writestr(f"{person[0]}_{n}_assignsubmission_file_/{pid}.ipynb", body)
        rows = [f'Participant {p[column]},{p[0]},{p[1]},,Submitted for grading,,100.00,Yes,'
                f'"Monday, 1 March 2027, 10:00 AM",-,' for p in people]
        (tmp_path / f"{pid}.csv").write_text("\ufeff" + "\n".join([header, *rows]) + "\n", encoding="utf-8")
    course = tmp_path / "course.toml"
    course.write_text("""
[course]
name = "Same names"
keep_best = 2
deadline = "2027-03-31T23:59:00"
timezone = "Europe/Madrid"
assignments_dir = "assignments"
lang = "en"
[moodle]
user_key = "idnumber"
[practicals.tiny]
submissions = ["tiny.zip"]
worksheet = "tiny.csv"
[practicals.tiny_rel]
submissions = ["tiny_rel.zip"]
worksheet = "tiny_rel.csv"
[similarity]
enabled = false
""", encoding="utf-8")

    def sections(page: str) -> list[str]:
        page = re.sub(r"grader report, [^;]*;", "", page)          # when it was written
        return [part for part in page.split("<h2>") if not part.startswith("Warnings")]

    assert main(["grade", str(course), "--quiet"]) == 0
    graded = sections((tmp_path / "out" / "report.html").read_text(encoding="utf-8"))
    assert main(["report", str(course)]) == 0
    rebuilt = sections((tmp_path / "out" / "report.html").read_text(encoding="utf-8"))
    assert "3 students" in graded[0]
    assert rebuilt == graded


def test_each_cause_is_listed_once_and_in_the_instructors_words():
    reported = CheckResult("reported_acc", "reported", D("0"), D("1"),
                           msg("reported_differs_run", reported="0.99", run="0.73", tolerance="0.01"),
                           details={"needs_human": True})
    missing_line = CheckResult("reported_acc", "reported", D("0"), D("1"), msg("reported_missing", pattern="x"),
                               details={"needs_human": False})
    nothing_ran = CheckResult("reported_acc", "reported", D("0"), D("1"),
                              msg("reported_not_reproduced", reported="0.99"), details={"needs_human": True})
    untouched = CheckResult("executed", "notebook", D("0"), D("1"), msg("notebook_template"))
    scores = [
        _score("201", "Ana Template", status="untouched", score="0", checks=(untouched, nothing_ran),
               reason=msg("job_untouched_template")),
        _score("202", "Bea Unrun", status="not_executed", score="3", checks=(missing_line,),
               reason=msg("job_not_executed")),
        _score("203", "Cris Timeout", status="timeout", score="1", checks=(nothing_ran, nothing_ran),
               reason=msg("run_timeout", limit_s="10", number=4)),
        _score("204", "Dani Claims", score="6", checks=(reported, reported)),
    ]
    flags = needs_human(scores, _grades(scores), "es")
    why = {}
    for f in flags:
        why.setdefault(f.participant, []).append(f.why)
    assert why["201"] == ["plantilla sin tocar: El cuaderno entregado es la plantilla tal como se repartió, sin código "
                          "del estudiante: no gana nada."]                    # its own cause, never an error
    assert "202" not in why                                                   # nothing printed: nothing to compare
    assert len(why["203"]) == 1 and why["203"][0].startswith("tiempo agotado: ")   # the run's failure says it
    assert why["204"] == ["lo publicado no coincide con lo reproducido en «reported_acc»: Las cifras difieren en más "
                          "de 0,01: el cuaderno entregado imprime 0,99; la ejecución del corrector imprimió 0,73."]


def test_the_report_names_practicals_and_checks_by_their_titles_and_its_statuses_in_words(tmp_path):
    scores = _scores()
    page = _report_html(tmp_path, scores, [], lang="es")
    assert "Dígitos MNIST con una CNN" in page and "Cuaderno entregado ejecutado" in page
    assert ">mnist_cnn<" not in page and ">executed<" not in page               # ids only where no title exists
    assert "<th>corregida</th>" in page and "<th>graded</th>" not in page and ">tiempo agotado<" in page
    assert "alt='Aprobados por comprobación: Dígitos MNIST con una CNN: Cuaderno entregado ejecutado 100\u00a0%" in page
