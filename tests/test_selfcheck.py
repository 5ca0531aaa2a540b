"""Students check their notebook before the deadline: `grader check` and `grader.selfcheck()`."""
from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import nbformat
import pytest
from nbclient import NotebookClient

from check_titles import by_id
from grader.cli import main
from grader.selfcheck import selfcheck
from grader.selfcheck_report import Deadline, deadline_line, default_deadline

MADRID = ZoneInfo("Europe/Madrid")

# A student's notebook in a few cells: a stable cross-entropy, a naive softmax, an untrained model.
BROKEN_CELLS = [
    "import torch\nfrom torch import nn",
    'data_dir = "data"\nepochs = 1\ntrain_size = 10\nbatch_size = 8\ndevice = "cpu"\nseed = 0',
    "def softmax(logits):\n    e = torch.exp(logits)\n    return e / e.sum(dim=1, keepdim=True)",
    "def cross_entropy(logits, targets):\n"
    "    return -torch.log_softmax(logits, dim=1).gather(1, targets.long()[:, None]).mean()",
    "torch.manual_seed(0)\nmodel = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))",
]


def _notebook(cells: list[str], practical: str | None = "mnist_cnn", executed: bool = True):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nb.cells[1].metadata["tags"] = ["parameters"]
    if practical:
        nb.metadata["grader"] = {"practical": practical}
    for count, cell in enumerate(nb.cells, start=1):
        cell.execution_count = count if executed else None
        if executed:    # as run: the grader compares the presence of outputs with its own run
            cell.outputs = [nbformat.v4.new_output("stream", text="(output as run)\n")]
    return nb


def _executed_solution(repo: Path, dest: Path) -> Path:
    """The solution as a student hands it in after Run All: numbered cells, and the accuracy it printed."""
    nb = nbformat.read(repo / "assignments" / "mnist_cnn" / "solution.ipynb", as_version=4)
    count = 0
    for cell in nb.cells:
        if cell.cell_type == "code":
            count += 1
            cell.execution_count = count
            text = "Test accuracy: 0.9300\n" if "Test accuracy" in cell.source else "(output as run)\n"
            cell.outputs = [nbformat.v4.new_output("stream", text=text)]
    nbformat.write(nb, dest)
    return dest


def _small_course(tmp_path: Path, data: Path) -> Path:
    """A course file whose parameters keep a local run to seconds; its deadline is what students see."""
    course = tmp_path / "course.toml"
    course.write_text(f"""
[course]
name = "self-check test"
deadline = "2031-03-31T23:59:00"
timezone = "Europe/Madrid"
data_dir = "{data}"
[practicals.mnist_cnn]
submissions = ["moodle"]
timeout_s = 300
parameters = {{ epochs = 1, train_size = 1400, batch_size = 16 }}   # the solution reaches ~0.92
""", encoding="utf-8")
    return course


def _check(capsys, *args: str) -> tuple[int, str]:
    code = main(["check", *map(str, args)])
    return code, capsys.readouterr().out


def test_a_non_notebook_exits_2_with_one_line(tmp_path, capsys):
    (tmp_path / "notes.ipynb").write_text("this is not json")
    code, out = _check(capsys, tmp_path / "notes.ipynb", "--lang", "en")
    assert code == 2
    assert out.strip().count("\n") == 0 and "notes.ipynb" in out and "not valid JSON" in out


def test_a_notebook_of_another_practical_says_which_it_looks_like(tmp_path, capsys):
    nbformat.write(_notebook(BROKEN_CELLS), tmp_path / "mine.ipynb")
    code, out = _check(capsys, tmp_path / "mine.ipynb", "--practical", "rnn_text", "--lang", "en")
    assert code == 2
    assert "looks like practical mnist_cnn" in out and "rnn_text" in out


def test_without_metadata_or_practical_the_student_is_asked_which(tmp_path, capsys):
    nbformat.write(_notebook(BROKEN_CELLS, practical=None), tmp_path / "mine.ipynb")
    code, out = _check(capsys, tmp_path / "mine.ipynb")
    assert code == 2 and "--practical" in out and "mnist_cnn" in out   # Spanish by default, names the choices


def test_an_unexecuted_notebook_fails_the_executed_check_statically(tmp_path, capsys, repo):
    nbformat.write(_notebook(BROKEN_CELLS, executed=False), tmp_path / "mine.ipynb")
    code, out = _check(capsys, tmp_path / "mine.ipynb", "--lang", "en")
    assert code == 1
    assert "Fix first: Notebook handed in executed" in out
    assert "grader check --run" in out                      # the probe checks say how to judge them
    assert "31 March" in out and "left" in out or "passed" in out


def test_the_executed_solution_passes_what_can_be_judged_without_running(tmp_path, capsys, repo):
    path = _executed_solution(repo, tmp_path / "solution.ipynb")
    code, out = _check(capsys, path, "--lang", "es")
    assert code == 0
    assert "Todas las comprobaciones públicas evaluadas aquí son correctas" in out
    assert "Fecha límite" in out


def test_the_default_deadline_is_31_march_in_madrid_of_the_academic_year():
    autumn = default_deadline(datetime(2026, 10, 1, 12, tzinfo=MADRID))
    spring = default_deadline(datetime(2027, 2, 1, 12, tzinfo=MADRID))
    assert autumn == spring == datetime(2027, 3, 31, 23, 59, tzinfo=MADRID)
    summer = datetime(2027, 6, 1, 12, tzinfo=MADRID)
    line = deadline_line(Deadline(default_deadline(summer), from_course=False), summer, "en")
    assert "2027-03-31 23:59" in line and "passed" in line and "usual 31 March" in line


@pytest.mark.slow
def test_check_run_on_the_solution_passes_every_public_check(tmp_path, capsys, repo, shared_data):
    path = _executed_solution(repo, tmp_path / "solution.ipynb")
    code, out = _check(capsys, path, "--run", "--course", _small_course(tmp_path, shared_data), "--lang", "en")
    assert code == 0, out
    assert "Every public check judged here passes" in out
    assert "held-out images" in out                       # the accuracy was judged on the given data
    assert "2031-03-31 23:59" in out and "from the course file" in out


@pytest.mark.slow
def test_check_run_names_the_failing_checks_of_a_broken_notebook(tmp_path, capsys, shared_data):
    nbformat.write(_notebook(BROKEN_CELLS), tmp_path / "broken.ipynb")
    code, out = _check(capsys, tmp_path / "broken.ipynb", "--run", "--course", _small_course(tmp_path, shared_data),
                       "--lang", "en")
    assert code == 1, out
    rows = by_id({line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") >= 4})
    assert "partly" in rows["softmax"] and "passes" in rows["cross_entropy"] and "passes" in rows["model_shape"]
    assert "Fix first: Accuracy on held-out images" in out  # an untrained model loses the most points


def test_selfcheck_outside_jupyter_prints_a_text_table(capsys):
    import torch
    from torch import nn

    namespace = {"softmax": lambda x: torch.softmax(x, dim=1),
                 "cross_entropy": lambda x, t: -torch.log_softmax(x, dim=1).gather(1, t.long()[:, None]).mean(),
                 "model": nn.Sequential(nn.Flatten(), nn.Linear(784, 3))}
    selfcheck(lang="en", namespace=namespace)
    out = capsys.readouterr().out
    assert out.startswith("Self-check of MNIST digits with a CNN (kernel)")
    rows = by_id({re.split(r"\s{2,}", line)[0]: line for line in out.splitlines()
                  if line.split()[:1] and line[0] != " "})
    assert "fails" in rows["model_shape"] and "(8, 3)" in rows["model_shape"]
    assert "passes" in rows["softmax"] and "passes" in rows["cross_entropy"]
    assert "Graded at submission" in rows["accuracy"]


@pytest.mark.slow
def test_selfcheck_in_a_live_kernel_shows_an_html_table(tmp_path):
    nb = _notebook(BROKEN_CELLS + ["import grader\ngrader.selfcheck(lang='en')"], executed=False)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = nb.cells[-1].outputs
    shown = [o for o in outputs if o.output_type == "display_data"]
    assert len(shown) == 1, outputs
    page = shown[0].data["text/html"]
    assert "<table" in page and "Self-check of MNIST digits with a CNN (kernel)" in page
    assert "Output shape of <code>model</code>" in page and "Graded at submission" in page
    assert "model_shape" not in page                         # the check's title, never its id
    assert "partly" in page                                  # the naive softmax, judged on the kernel's objects
    assert "Self-check of MNIST digits with a CNN" in shown[0].data["text/plain"]


def test_the_selfcheck_table_escapes_whatever_the_students_notebook_supplied():
    """The table is a fragment shown inside the student's own notebook (no <head>, so no CSP of its own:
    a policy <meta> outside <head> is ignored); escaping is its wall, and it is complete."""
    import re
    from decimal import Decimal

    from grader.i18n import msg
    from grader.selfcheck_report import CheckLine, SelfCheck, as_html

    payload = "<img src=x onerror=alert(1)>"
    now = datetime(2027, 3, 1, tzinfo=MADRID)
    report = SelfCheck("mnist_cnn", f"{payload}.ipynb",
                       (CheckLine("softmax", Decimal("0"), Decimal("1"),
                                  msg("checks_function_case_nonfinite", name=payload, passed=0, total=1, case=1,
                                      largest="1", got=payload)),),
                       0, Decimal("0"), Decimal("1"), (msg("run_cell_error", number=1, ename=payload, evalue=payload),),
                       Deadline(datetime(2027, 3, 31, 23, 59, tzinfo=MADRID), True), now)
    page = as_html(report, "en")
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert re.findall(r"<[a-z][^>]*\son[a-z]+=", page) == [] and "<img" not in page


@pytest.mark.slow
def test_a_package_this_python_lacks_is_the_students_to_install_not_a_grading_environment_matter(
        tmp_path, capsys, shared_data):
    nbformat.write(_notebook([*BROKEN_CELLS, "import seaborn_not_a_course_package"]), tmp_path / "mine.ipynb")
    code, out = _check(capsys, tmp_path / "mine.ipynb", "--run", "--course", _small_course(tmp_path, shared_data),
                       "--lang", "en")
    text = " ".join(out.split())
    assert code == 1, out
    assert "imports a package this Python does not have" in text and "install it here" in text, out
    assert "grading environment does not have" not in text and "Use only the course's packages" not in text


def test_a_cross_entropy_by_pytorchs_own_loss_fails_and_says_the_statement_forbids_it(capsys):
    """The statement asks for a cross-entropy written without F.cross_entropy or nn.CrossEntropyLoss: either one,
    by any name the notebook reaches it (an alias, a loss object), earns nothing, and the student is told why."""
    import torch
    from torch import nn
    from torch.nn.functional import cross_entropy as imported_early

    for lang, word in (("en", "forbids"), ("es", "prohíbe")):
        for own_loss in (lambda x, t: imported_early(x, t.long()), lambda x, t: nn.CrossEntropyLoss()(x, t.long())):
            selfcheck(lang=lang, namespace={"torch": torch, "softmax": lambda x: torch.softmax(x, dim=1),
                                            "cross_entropy": own_loss})
            out = capsys.readouterr().out
            row = next(line for line in out.splitlines() if "`cross_entropy`" in line.split("  ")[0])
            assert "0/1.5" in row or "0/1,5" in row
            assert word in out and "torch.nn.functional.cross_entropy" in out
