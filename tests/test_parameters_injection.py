"""The grading parameters win: injected after the LAST cell tagged `parameters`, and any later cell that
assigns a parameter again is named in the evaluation's notes (grader/execution/reassign.py)."""
from __future__ import annotations

import re
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.execution.base import RunRequest
from grader.notebook_tags import INJECTED_TAG
from grader.execution.prepare import prepare
from grader.execution.reassign import assigned_names, injection_point, later_reassignments, reassignment_notes
from grader.i18n import render

NAMES = frozenset({"epochs", "device", "data_dir", "lr", "seed"})

# cell source -> the parameter names it assigns at the notebook's top level
ASSIGNS = {
    'epochs = int(os.environ.get("X", "3"))': ["epochs"],
    "epochs += 5": ["epochs"],
    "epochs: int = 7": ["epochs"],
    "epochs: int": [],
    "a, (epochs, *lr) = 1, (2, 3)": ["epochs", "lr"],
    'globals()["epochs"] = 3': ["epochs"],
    "globals().update(epochs=3, x=1)": ["epochs"],
    'globals().update({"lr": 3})': ["lr"],
    "for epochs in range(3):\n    pass": ["epochs"],
    "with open('x') as lr:\n    pass": ["lr"],
    "import numpy as lr": ["lr"],
    "del epochs": ["epochs"],
    "[(lr := 3) for x in range(3)]": ["lr"],
    "def f():\n    global epochs\n    epochs = 3": ["epochs"],
    "if epochs < 10:\n    epochs = 100": ["epochs"],
    "epochs = max(epochs, 20)": ["epochs"],
    'data_dir = Path(data_dir) / "other"': ["data_dir"],
    "device = torch.device('cuda')": ["device"],
    "%time epochs = 5": ["epochs"],
    "%%capture\nepochs = 5": ["epochs"],
    "!pip install x\nseed = 4": ["seed"],
    # not an assignment of the notebook's value
    "print(epochs)": [],
    "def f():\n    epochs = 3\n    return epochs": [],
    "class Config:\n    epochs = 3": [],
    "[epochs for epochs in range(3)]": [],
    "%%bash\nepochs=5": [],
    "this is not python": [],
    # only resolving the grading value, as every template does
    'if device == "auto":\n    device = "cuda" if torch.cuda.is_available() else "cpu"': [],
    'device = "cuda" if device == "auto" else device': [],
    "data_dir = Path(data_dir)": [],
    "epochs = int(epochs)": [],
}


@pytest.mark.parametrize("source", sorted(ASSIGNS))
def test_assignments_of_a_parameter_are_found_in_every_binding_form(source):
    assert assigned_names(source, NAMES) == ASSIGNS[source]


def test_code_nested_too_deep_to_walk_is_no_error():
    for terms in (200, 800):
        assert assigned_names("epochs = " + "+".join(["1"] * terms), NAMES) == ["epochs"]
    assert assigned_names("epochs = " + "+".join(["1"] * 5000), NAMES) == []   # too deep to parse here: not reported


def _cell(source: str, *, count: int | None = None, tags: tuple[str, ...] = ()):
    cell = new_code_cell(source)
    cell.execution_count = count
    cell.metadata["tags"] = list(tags)
    return cell


def _cells():
    return [new_markdown_cell("# Practical"),
            _cell("epochs = 2", count=1, tags=("parameters",)),
            _cell("epochs = 30", count=2),                                  # before the last tagged cell
            _cell('epochs = int(os.environ.get("X", "3"))', count=3, tags=("parameters",)),
            _cell("# Parameters\nepochs = 99", tags=("injected-parameters",)),   # dropped by prepare
            _cell("model = 1\nepochs = 10", count=7),
            new_markdown_cell("text"),
            _cell("lr = 0.5")]                                               # never run


def test_the_injection_point_is_after_the_last_tagged_cell_else_on_top():
    assert injection_point(_cells()) == 4
    assert injection_point([_cell("a = 1"), _cell("b = 2")]) == 0


def test_only_cells_after_the_injection_point_are_reported_with_their_jupyter_numbers():
    found = later_reassignments(_cells(), {"epochs", "lr"})
    assert [(f.cell, f.names, f.execution_count, f.code_position) for f in found] == [
        (5, ("epochs",), 7, 5), (7, ("lr",), None, 6)]
    notes = reassignment_notes(_cells(), {"epochs": 1, "lr": 0.1})
    assert [n.code for n in notes] == ["params_reassigned_in", "params_reassigned_cell"]
    assert "Cell In [7] assigns the grading parameter `epochs`" in render(notes[0], "en")
    assert "La celda In [7]" in render(notes[0], "es")
    assert "Code cell #6 (not run before handing in)" in render(notes[1], "en") and "`lr`" in render(notes[1], "en")
    assert "celda de código n.º 6" in render(notes[1], "es")
    for note in notes:
        for lang in ("es", "en"):
            assert not re.search(r"\{[a-z_]+\}", render(note, lang))


def test_without_a_tagged_cell_every_code_cell_comes_after_the_parameters():
    cells = [_cell("epochs = 3", count=1), _cell("print(epochs)", count=2)]
    assert [f.cell for f in later_reassignments(cells, {"epochs"})] == [0]


def test_prepare_injects_the_grading_values_after_the_last_tagged_cell(tmp_path):
    path = tmp_path / "student.ipynb"
    nbformat.write(new_notebook(cells=_cells()), path)
    (tmp_path / "probe").mkdir()
    request = RunRequest(notebook=path, work_dir=tmp_path / "work", probe_dir=tmp_path / "probe", data_dir=None,
                         parameters={"epochs": 1}, extra_cells=(), timeout_s=60, cell_timeout_s=30)
    request.scratch_dir.mkdir(parents=True)
    cells = nbformat.read(prepare(request, "python3"), as_version=4).cells
    injected = [i for i, c in enumerate(cells) if INJECTED_TAG in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "epochs = 1" in cells[injected[0]].source
    assert "os.environ" in cells[injected[0] - 1].source          # right after the second tagged cell
    assert not any("epochs = 99" in c.source for c in cells)      # a papermill run's cell is dropped


# --- a real run: the grading value wins, the later assignment is noted -------------------------------

REFERENCE = '''
import numpy as np

def square(x):
    return np.asarray(x, dtype=np.float64) ** 2

def cases(rng):
    return [(rng.normal(size=3),) for _ in range(2)]
'''
ASSIGNMENT = '''
[assignment]
id = "params"
title = "The grading parameters win"
version = "1"
max_points = "1"
[parameters]
seed = 0
epochs = 1
[[checks]]
id = "square"
kind = "function"
name = "square"
reference = "params_ref:square"
cases = "params_ref:cases"
points = "1"
'''


@pytest.mark.slow
def test_a_second_tagged_cell_cannot_override_the_grading_values_and_a_later_one_is_noted(tmp_path):
    from grader.assignment import load_assignment
    from grader.execution import get_runner
    from grader.jobs import JobSpec, run_job
    from grader.records import Submission

    (tmp_path / "params_ref.py").write_text(REFERENCE)
    (tmp_path / "assignment.toml").write_text(ASSIGNMENT)
    sys.path.insert(0, str(tmp_path))
    try:
        assignment = load_assignment(tmp_path)
    finally:
        sys.path.remove(str(tmp_path))
    cells = [_cell("seed = 0\nepochs = 1", count=1, tags=("parameters",)),
             _cell('import os\nseed = int(os.environ.get("X", "3"))', count=2, tags=("parameters",)),
             _cell("def square(x):\n    return x ** 2 if seed == 0 else x + 1", count=3),
             _cell('epochs = int(os.environ.get("X", "3"))   # my own budget', count=4)]
    notebook = tmp_path / "student.ipynb"
    nbformat.write(new_notebook(cells=cells), notebook)
    (tmp_path / "student_data").mkdir()
    sub = Submission(practical="params", participant="701", full_name="Budget Keeper", source=str(tmp_path),
                     files=(notebook,), notebook=notebook, sha256="0" * 64)
    spec = JobSpec(submission=sub, assignment=assignment, parameters={"seed": 0, "epochs": 1},
                   course_data_dir=tmp_path, student_data_dir=tmp_path / "student_data",
                   work_dir=tmp_path / "work", timeout_s=120)
    sys.path.insert(0, str(tmp_path))
    try:
        evaluation = run_job(spec, get_runner("local"))
    finally:
        sys.path.remove(str(tmp_path))
    assert evaluation.status == "graded", evaluation.reason
    assert evaluation.checks[0].passed, evaluation.checks[0].reason      # seed was the grading 0
    noted = [n for n in evaluation.notes if n.code.startswith("params_")]
    # the cell that assigns it again is named (static), and the value in force at the end too (read back)
    assert [(n.code, n.params) for n in noted] == [("params_in_force", {"name": "epochs", "injected": "1", "found": "3"}),
                                                   ("params_reassigned_in", {"names": ["`epochs`"], "count": 4})]
