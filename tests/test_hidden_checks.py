"""Hidden checks stay hidden: no student-facing output names them, their options or their thresholds.

Students see that hidden checks exist (and what they are worth); after grading, one "hidden checks: x/y"
line. Their points still reach the Moodle worksheet.
"""
from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import nbformat
import pytest

from grader.cli import main
from grader.course import load_course
from grader.lms.moodle.exports import write_practical_worksheet
from grader.i18n import msg
from grader.records import CheckResult, PracticalScore
from grader.reports.feedback import comment_text, write_feedback
from grader.selfcheck import kernel_report, selfcheck
from grader.selfcheck_report import as_html

D = Decimal
SECRETS = ("qx_hidden_softmax", "qx_hidden_accuracy", "log_probs_hidden", "0.4321", "0.8765", "0.000123", "77")

ASSIGNMENT = """
[assignment]
id = "mnist_cnn"
title = "with hidden checks"
version = "1"
max_points = "7"

[[checks]]
id = "executed"
kind = "notebook"
points = "1"

[[checks]]
id = "model_shape"
kind = "shape"
name = "model"
input_shape = [4, 1, 28, 28]
expect = [4, 10]
points = "1"

[[checks]]
id = "qx_hidden_softmax"
kind = "function"
name = "log_probs_hidden"
reference = "reference.functions:log_softmax"
cases = "reference.mnist_cnn:softmax_cases"
rtol = "0.000123"
points = "2"
hidden = true

[[checks]]
id = "qx_hidden_accuracy"
kind = "metric"
metric = "accuracy"
name = "model"
data = "reference.mnist_cnn:evaluation_data"
zero_at = "0.4321"
full_at = "0.8765"
batch_size = 77
points = "3"
hidden = true
"""

CELLS = ["import torch\nfrom torch import nn",
         "torch.manual_seed(0)\nmodel = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))",
         "def log_probs_hidden(x):\n    return torch.log_softmax(x, dim=1)"]


@pytest.fixture()
def course(tmp_path) -> Path:
    (tmp_path / "assignments" / "mnist_cnn").mkdir(parents=True)
    (tmp_path / "assignments" / "mnist_cnn" / "assignment.toml").write_text(ASSIGNMENT, encoding="utf-8")
    path = tmp_path / "course.toml"
    path.write_text(f"""
[course]
name = "hidden"
deadline = "2031-03-31T23:59:00"
timezone = "Europe/Madrid"
data_dir = "{tmp_path / 'no-data'}"
assignments_dir = "{tmp_path / 'assignments'}"
[practicals.mnist_cnn]
submissions = ["moodle"]
timeout_s = 120
""", encoding="utf-8")
    return path


def _notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["grader"] = {"practical": "mnist_cnn"}
    nb.cells = [nbformat.v4.new_code_cell(src, execution_count=i) for i, src in enumerate(CELLS, start=1)]
    nbformat.write(nb, path)
    return path


def _assert_nothing_leaks(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} leaked into: {text[:2000]}"


def _graded_score() -> PracticalScore:
    reason = msg("metric_accuracy", name="model", value="0.6100", count=2000, zero_at="0.4321",
                 full_at="0.8765")
    checks = (CheckResult("executed", "notebook", D("1"), D("1"), msg("notebook_ok")),
              CheckResult("model_shape", "shape", D("1"), D("1"), msg("shape_ok", name="model")),
              CheckResult("qx_hidden_softmax", "function", D("1"), D("2"),
                          msg("checks_function_case_mismatch", name="log_probs_hidden", passed=3, total=6, case=4,
                              largest="1000", difference="0.000123"), hidden=True,
                          details={"cases_passed": "3/6"}),
              CheckResult("qx_hidden_accuracy", "metric", D("1.18"), D("3"), reason, hidden=True,
                          details={"accuracy": "0.6100", "zero_at": "0.4321"}))
    return PracticalScore("mnist_cnn", "101", "Ana Pérez", "graded", D("4.18"), D("7"), "no", None, checks,
                          email="ana@uni.es")


@pytest.mark.parametrize("lang", ["en", "es"])
def test_grader_check_only_counts_hidden_checks(course, tmp_path, capsys, lang):
    code = main(["check", str(_notebook(tmp_path / "nb.ipynb")), "--course", str(course), "--lang", lang])
    out = capsys.readouterr().out
    assert code == 0
    _assert_nothing_leaks(out)
    assert ("2 hidden checks worth 5 points" if lang == "en" else "2 comprobaciones ocultas que valen 5 puntos") in out


def test_selfcheck_in_a_kernel_only_counts_hidden_checks(course, tmp_path, capsys):
    import torch
    from torch import nn

    namespace = {"model": nn.Sequential(nn.Flatten(), nn.Linear(784, 10)),
                 "log_probs_hidden": lambda x: torch.log_softmax(x, dim=1)}
    selfcheck(lang="en", namespace=namespace, assignments_dir=tmp_path / "assignments")
    text = capsys.readouterr().out
    page = as_html(kernel_report(namespace, assignments_dir=tmp_path / "assignments"), "es")
    for out in (text, page):
        _assert_nothing_leaks(out)
    assert "model_shape" in text and "2 hidden checks worth 5 points" in text


@pytest.mark.slow
def test_grader_check_run_never_plans_a_hidden_check(course, tmp_path, capsys):
    code = main(["check", str(_notebook(tmp_path / "nb.ipynb")), "--run", "--course", str(course), "--lang", "en"])
    out = capsys.readouterr().out
    assert code == 0, out
    _assert_nothing_leaks(out)
    assert "`model` maps inputs of shape (4, 1, 28, 28)" in out      # the public probe check did run


def test_feedback_page_and_moodle_comment_show_one_hidden_total_and_the_worksheet_gets_the_points(course, tmp_path):
    score = _graded_score()
    out = tmp_path / "out"
    write_feedback(out, [score], "en")
    page = (out / "feedback" / "mnist_cnn" / "101.html").read_text(encoding="utf-8")
    comments = [comment_text(score, lang) for lang in ("en", "es")]
    dest = tmp_path / "mnist_cnn.csv"
    write_practical_worksheet(dest, [score], None, load_course(course).lang)
    worksheet = dest.read_text(encoding="utf-8-sig")
    for text in (page, *comments, worksheet):
        _assert_nothing_leaks(text)
    assert "Hidden checks: 2.18/5" in page and "Hidden checks: 2.18/5" in comments[0]
    assert "Comprobaciones ocultas: 2,18/5" in comments[1]
    rows = list(csv.DictReader(worksheet.splitlines()))
    assert "4.18" in rows[0].values()          # the grade column (Spanish headers here): hidden points count
