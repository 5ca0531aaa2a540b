"""Evidence from the grader's own run: outputs a hand-in must show, histories typed into the code."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from grader.assignment import CheckSpec
from grader.checks.base import ScoreContext
from grader.checks.notebook import NotebookCheck
from grader.evidence import literal_assignments, output_evidence
from grader.execution.prepare import SOURCE_INDEX_KEY
from grader.i18n import render
from grader.notebooks import inspect
from grader.records import Reason, RunResult

SOURCES = ["import numpy as np", "print('hello')", "x = 2", "print(x)", "x", "import sys; print('w', file=sys.stderr)"]


def _printed(text: str = "out\n"):
    return new_output("stream", name="stdout", text=text)


def _hand_in(tmp_path: Path, outputs: dict[int, list], counts: bool = True) -> Path:
    cells = [new_markdown_cell("# title")]
    for number, source in enumerate(SOURCES, start=1):
        cell = new_code_cell(source, execution_count=number if counts else None)
        cell.outputs = outputs.get(number, [])
        cells.append(cell)
    path = tmp_path / "hand_in.ipynb"
    nbformat.write(new_notebook(cells=cells), path)
    return path


def _grader_run(tmp_path: Path) -> Path:
    """What the grader's run leaves: the student's cells (by source index), then the probe cell."""
    cells = [new_markdown_cell("# title")]
    outputs = {2: [_printed()], 4: [_printed("2\n")],
               5: [new_output("execute_result", data={"text/plain": "2"}, execution_count=5)],
               6: [new_output("stream", name="stderr", text="w\n")]}
    for number, source in enumerate(SOURCES, start=1):
        cells.append(new_code_cell(source, execution_count=number))
        cells[-1].outputs = outputs.get(number, [])
    for index, cell in enumerate(cells):
        cell.metadata[SOURCE_INDEX_KEY] = index
    probe = new_code_cell("probe()", execution_count=9)
    probe.outputs = [_printed("grader probe: 3/3 items answered\n")]
    cells.append(probe)
    path = tmp_path / "executed.ipynb"
    nbformat.write(new_notebook(cells=cells), path)
    return path


def _score(hand_in: Path, executed: Path | None, points: str = "1"):
    spec = CheckSpec(id="executed", kind="notebook", points=Decimal(points), hidden=False,
                     options={"require": ("executed", "in_order", "no_errors"), "outputs_shown": Decimal("0.8")})
    run = RunResult(status="ok", duration_s=1.0, executed_notebook=executed, out_dir=hand_in.parent)
    ctx = ScoreContext(inspection=inspect(hand_in), run=run, outputs=None, notebook=hand_in)
    return NotebookCheck.score(spec, ctx)


def test_cells_that_print_in_the_run_are_compared_and_stderr_and_probe_cells_are_not(tmp_path):
    evidence = output_evidence(_hand_in(tmp_path, {}), _grader_run(tmp_path))
    assert evidence.printing == (2, 4, 5) and evidence.missing == (2, 4, 5)


def test_a_notebook_handed_in_as_run_earns_the_executed_points_whatever_its_numbers_printed(tmp_path):
    shown = {2: [_printed("bonjour\n")], 4: [_printed("3\n")], 5: [_printed("2\n")]}
    result = _score(_hand_in(tmp_path, shown), _grader_run(tmp_path))
    assert result.points == Decimal("1") and result.details["outputs_shown"] == 3


def test_forged_execution_counts_without_outputs_earn_nothing_and_name_the_cells(tmp_path):
    result = _score(_hand_in(tmp_path, {}), _grader_run(tmp_path))
    assert result.points == 0 and result.reason.code == "notebook_run_outputs_missing"
    shown = render(result.reason, "en")
    assert "In [2], In [4], In [5]" in shown and "at least 3" in shown
    assert render(result.reason, "es")


def test_one_cleared_output_in_five_is_within_the_tolerance(tmp_path):
    # 3 printing cells need ceil(2.4) = 3; so one missing of three fails, stated with the count needed
    result = _score(_hand_in(tmp_path, {2: [_printed()], 4: [_printed()]}), _grader_run(tmp_path))
    assert result.points == 0 and result.reason.params["needed"] == 3


def test_a_notebook_never_run_earns_no_share_for_having_no_errors(tmp_path):
    result = _score(_hand_in(tmp_path, {}, counts=False), _grader_run(tmp_path))
    assert result.points == 0 and result.reason.code == "notebook_not_executed"
    assert "none of these points" in render(result.reason, "en")


def test_without_a_run_only_the_static_facts_count(tmp_path):
    shown = {2: [_printed()], 4: [_printed()], 5: [_printed()]}
    assert _score(_hand_in(tmp_path, shown), None).points == Decimal("1")
    assert _score(_hand_in(tmp_path, {}), None).details.get("outputs_in_run") is None


def test_histories_typed_into_the_code_are_found_and_computed_ones_are_not(tmp_path):
    cells = [new_code_cell('history = {"loss": [2.3, 1.2, 0.6], "accuracy": [0.1, 0.5, 0.9]}'),
             new_code_cell('history = {"loss": [], "accuracy": []}\nfor e in range(3):\n'
                           '    history["loss"].append(total / seen)'),
             new_code_cell('history["loss"] = [2.0, -1e-3]'),
             new_code_cell('history["loss"].extend([1.0, 0.5])'),
             new_code_cell("%time x = 1"),
             new_code_cell("history = train(model)")]
    path = tmp_path / "h.ipynb"
    nbformat.write(new_notebook(cells=cells), path)
    assert literal_assignments(path, "history") == [0, 2, 3]


def test_a_keras_history_with_typed_in_numbers_is_found_and_one_from_fit_is_not(tmp_path):
    """Keras keeps fit's numbers in ``History.history``: typing them in there is the Keras way to forge."""
    cells = [new_code_cell('history = keras.callbacks.History()\nhistory.history = {"loss": [2.1, 1.2, 0.6]}'),
             new_code_cell("history = model.fit(x, y, epochs=2)"),
             new_code_cell('history.history["loss"] = [2.0, 0.5]'),
             new_code_cell('history.history.update({"loss": [1.0, 0.4]})'),
             new_code_cell('history.history["loss"].append(0.1)'),
             new_code_cell('history.history["loss"] = [v / 2 for v in history.history["loss"]]'),
             new_code_cell('plt.plot(history.history["loss"], "o-")')]
    path = tmp_path / "k.ipynb"
    nbformat.write(new_notebook(cells=cells), path)
    assert literal_assignments(path, "history") == [0, 2, 3, 4]


def test_a_reported_figure_that_differs_names_each_figure_where_the_student_finds_it(tmp_path):
    from grader.checks.reported import ReportedCheck
    from grader.records import CheckResult

    def printing(name: str, text: str) -> Path:
        cell = new_code_cell("print(acc)", execution_count=1)
        cell.outputs = [_printed(text)]
        nbformat.write(new_notebook(cells=[cell]), tmp_path / name)
        return tmp_path / name

    spec = CheckSpec(id="reported_accuracy", kind="reported", points=Decimal("0.5"), hidden=False,
                     options={"pattern": "Test accuracy: ([0-9.]+)", "tolerance": Decimal("0.1"),
                              "against": ("run", "accuracy"), "measure": "accuracy"})
    measured = CheckResult("accuracy", "metric", Decimal("0"), Decimal("4"), Reason("x"), details={
        "accuracy": "0.2080", "count": 2000,
        "inputs": {"shape": "(1, 28, 28)", "dtype": "float32", "low": "0", "high": "1"}})
    run = RunResult(status="ok", duration_s=1.0, out_dir=tmp_path,
                    executed_notebook=printing("run.ipynb", "Test accuracy: 0.9650\n"))
    hand_in = printing("hand_in.ipynb", "Test accuracy: 0.9731\n")
    ctx = ScoreContext(inspection=inspect(hand_in), run=run, outputs=None, notebook=hand_in,
                       earlier={"accuracy": measured})
    result = ReportedCheck.score(spec, ctx)
    shown = render(result.reason, "en")
    assert result.points == 0 and result.details["needs_human"]
    assert shown.index("printed 0.9731") < shown.index("printed 0.9650") < shown.index("measured 0.2080")
    assert "values from 0 to 1" in shown and "2000 held-out inputs of shape (1, 28, 28)" in shown
    assert "imprimiste 0,9731" in render(result.reason, "es")
