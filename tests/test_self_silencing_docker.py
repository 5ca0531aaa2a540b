"""A never-run notebook that keeps quiet when the grader runs it earns nothing for ``executed``, under the
docker runner: where a hand-in must show output comes from the record of the solution's run, never from
what the student's code prints when graded.

Two forgeries of the mnist solution, execution counts typed in and no output anywhere: one silences itself
(stdout and stderr to nowhere, plots skipped) when a variable named GRADER_* is in its environment, the
other always (a notebook can tell it is graded by other means: its paths, its user). Beside them the
solution as its student ran it keeps the point.
"""
from __future__ import annotations

from decimal import Decimal

import nbformat
import pytest

from conftest import as_handed_in_executed
from grader.course import load_course
from grader.evidence import output_evidence
from grader.i18n import render
from grader.pipeline import grade_course
from test_docker_runner import runtime_image  # noqa: F401  (the session's test image, built or found once)

pytestmark = pytest.mark.slow

SILENCE = '''import os as _os, sys as _sys
_QUIET = {when}
if _QUIET:
    _sys.stdout = _sys.stderr = open(_os.devnull, "w")
    import matplotlib.pyplot as _plt
    _plt.show = lambda *args, **kwargs: _plt.close("all")
'''
WHEN_GRADED = "any(name.startswith(\"GRADER_\") for name in _os.environ)"


def _forged(solution: nbformat.NotebookNode, when: str) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(solution)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    code[0].source = SILENCE.format(when=when) + code[0].source
    for count, cell in enumerate(code, start=1):
        cell.execution_count = count      # numbered as if run, never run: no output anywhere
        cell.outputs = []
    return nb


@pytest.fixture(scope="module")
def graded(runtime_image, tmp_path_factory, repo, shared_data):  # noqa: F811
    root = tmp_path_factory.mktemp("self_silencing")
    solution = nbformat.read(repo / "assignments" / "mnist_cnn" / "solution.ipynb", as_version=4)
    (root / "mnist").mkdir()
    notebooks = {"when_graded": _forged(solution, WHEN_GRADED), "always": _forged(solution, "True"),
                 "honest": as_handed_in_executed(nbformat.from_dict(solution))}
    for name, nb in notebooks.items():
        nbformat.write(nb, root / "mnist" / f"{name}.ipynb")
    (root / "course.toml").write_text(f"""
[course]
name = "self-silencing"
deadline = "2027-03-31T23:59:00"
timezone = "Europe/Madrid"
data_dir = "{shared_data}"
lang = "en"
runner = "docker"
[similarity]
enabled = false
[practicals.mnist_cnn]
submissions = ["mnist"]
timeout_s = 300
parameters = {{ train_size = 1000, epochs = 1 }}
[docker]
image = "{runtime_image}"
memory = "3g"
cpus = 1
""", encoding="utf-8")
    batch = grade_course(load_course(root / "course.toml"), root / "out")
    return root, {score.participant: score for score in batch.scores}


def _executed(score):
    return next(c for c in score.checks if c.check_id == "executed")


@pytest.mark.parametrize("forgery", ["when_graded", "always"])
def test_a_never_run_notebook_silent_when_graded_earns_nothing_for_executed(graded, forgery):
    _, scores = graded
    check = _executed(scores[forgery])
    assert check.points == 0 and scores[forgery].status == "not_executed", render(check.reason, "en")
    assert check.reason.code == "notebook_outputs_missing"
    english = render(check.reason, "en")
    assert "7 of the 7 cells of template.ipynb that print or plot when the grader runs the practical's solution" \
        in english and "In [3]" in english
    assert "ejecuta la solución de la práctica" in render(check.reason, "es")


def test_the_silent_run_would_have_asked_for_nothing_and_the_check_does_not_ask_it(graded):
    """The grader's own run of the always-silent forgery printed nothing: judged by that run, nothing would
    have had to be shown. The check's details come from the record: 7 expected, 0 shown."""
    root, scores = graded
    executed = root / "out" / "work" / "mnist_cnn" / "always" / "executed.ipynb"
    assert output_evidence(root / "mnist" / "always.ipynb", executed).printing == ()
    assert _executed(scores["always"]).details["outputs_expected"] == 7
    assert _executed(scores["always"]).details["outputs_shown"] == 0


def test_the_solution_as_its_student_ran_it_keeps_the_point(graded):
    _, scores = graded
    assert _executed(scores["honest"]).points == Decimal("1"), render(_executed(scores["honest"]).reason, "en")
    assert scores["honest"].status == "graded"
