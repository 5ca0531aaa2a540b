"""A notebook as its student hands it in after running it herself: executed for real (the local runner,
a real kernel, a small budget), its own cells carrying the outputs and numbers that run gave them, and
nothing of the grader's (no injected cells, no bookkeeping). Used by the executed-evidence tests."""
from __future__ import annotations

import functools
from pathlib import Path

import nbformat

from grader.assignment import load_assignment
from grader.execution import get_runner
from grader.execution.base import RunRequest
from grader.execution.prepare import SOURCE_COUNT_KEY, SOURCE_INDEX_KEY, source_index
from grader.records import Reason
from grader.student_data import data_for_run

# Budgets of the practical tests: seconds per notebook on two shared cores.
BUDGETS = {"mnist_cnn": {"train_size": 1000, "epochs": 1},
           "rnn_text": {"steps": 10, "hidden_size": 32, "seq_len": 50, "batch_size": 8, "device": "cpu"},
           "imagenet_cnn": {"eval_images": 4, "example_images": 2}}


def run_as_student(nb: nbformat.NotebookNode, practical: str, repo: Path, data_dir: Path, work: Path,
                   timeout_s: float = 600) -> nbformat.NotebookNode:
    """``nb`` with the outputs and execution counts of one real run under the practical's small budget."""
    assignment = load_assignment(repo / "assignments" / practical)
    work.mkdir(parents=True, exist_ok=True)
    source = work / "handed_in.ipynb"
    nbformat.write(nb, source)
    parameters = {**assignment.parameters, **BUDGETS[practical]}
    data = data_for_run(assignment, source, data_dir, work, parameters)
    assert not isinstance(data, Reason), data
    (work / "probe").mkdir(exist_ok=True)
    run = _runner().run(RunRequest(
        notebook=source, work_dir=work / "run", probe_dir=work / "probe", data_dir=data.student.resolve(),
        parameters={**parameters, "data_dir": str(data.student.resolve())}, extra_cells=(), timeout_s=timeout_s,
        cell_timeout_s=assignment.cell_timeout_s, dataset_caches=assignment.dataset_caches,
        preload=assignment.preload))
    assert run.status == "ok" and run.executed_notebook is not None, (run.status, run.reason)
    executed = nbformat.read(run.executed_notebook, as_version=4)
    handed = nbformat.from_dict(nb)
    count = 0
    for cell in executed.cells:
        index = source_index(cell)
        if index is None or cell.cell_type != "code":
            continue
        count += 1
        handed.cells[index].outputs = cell.outputs
        handed.cells[index].execution_count = count
    for cell in handed.cells:
        for key in (SOURCE_INDEX_KEY, SOURCE_COUNT_KEY, "papermill", "execution"):
            cell.metadata.pop(key, None)
    return handed


@functools.cache
def _runner():
    """One local runner for every such run of the session: its fork servers (one per practical's preloads) import
    torch once, as a batch's do, instead of once per notebook."""
    return get_runner("local", threads=1)
