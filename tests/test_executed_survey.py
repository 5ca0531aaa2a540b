"""Every honest notebook in the repository, run for real as its student would before handing it in, keeps
the points of ``executed`` when judged by the record of the solutions' runs; the records are what those
runs show.

Honest notebooks: the solutions of both editions of the three practicals; each of them restyled the way
students rearrange a notebook (cells merged, one split, a print moved into its own cell, cells added, Colab's
lost ids: tests/restyled.py) and written by a student who prints only what the template prints for her
(tests/restyled.py: minimalist); the students of tests/styles/ (both suites); the demo's students as the
demo archive holds them (run by examples/demo/build_demo.py), Pablo, who never ran his, earning nothing.
"""
from __future__ import annotations

import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import nbformat
import pytest

from grader.assignment import load_assignment
from grader.cell_alignment import code_cells
from grader.checks.evaluate import evaluate
from grader.checks.plan import ProbePlan
from grader.evidence import prints
from grader.i18n import render
from grader.notebooks import inspect
from grader.template_outputs import read_record
from own_run import run_as_student
from restyled import minimalist, restyled
from styles.imagenet_correct import CORRECT as IMAGENET_CORRECT
from styles.imagenet_defects import DEFECTS as IMAGENET_DEFECTS
from styles.rnn_correct import CORRECT as RNN_CORRECT
from styles.rnn_defects import DEFECTS as RNN_DEFECTS

pytestmark = pytest.mark.slow

PRACTICALS = ("mnist_cnn", "rnn_text", "imagenet_cnn")
EDITIONS = (("solution.ipynb", "template.ipynb"), ("solution_keras.ipynb", "template_keras.ipynb"))
STYLES = {"rnn_text": RNN_CORRECT + RNN_DEFECTS, "imagenet_cnn": IMAGENET_CORRECT + IMAGENET_DEFECTS}


def _honest(repo: Path) -> list[tuple[str, str, nbformat.NotebookNode, tuple[int, ...] | None, Decimal]]:
    """(label, practical, notebook before its run, execution counts she leaves, executed points she keeps)."""
    found = []
    for practical in PRACTICALS:
        folder = repo / "assignments" / practical
        for solution, template in EDITIONS:
            nb = nbformat.read(folder / solution, as_version=4)
            label = f"{practical}/{solution[:-6]}"
            found += [(label, practical, nb, None, Decimal("1")),
                      (f"{label}/restyled", practical, restyled(nb), None, Decimal("1")),
                      (f"{label}/minimalist", practical,
                       minimalist(nb, nbformat.read(folder / template, as_version=4)), None, Decimal("1"))]
    for practical, styles in STYLES.items():
        for style in styles:
            lost = Decimal(style.lost.get("executed", ("0", ""))[0])
            found.append((f"{practical}/{style.name}", practical, style.notebook(practical), style.counts,
                          Decimal("1") - lost))
    return found


@pytest.fixture(scope="module")
def handed_in(tmp_path_factory, repo, shared_data) -> dict[str, tuple[str, Path, Decimal]]:
    """label -> (practical, the notebook as handed in after her own run, the executed points she keeps)."""
    root = tmp_path_factory.mktemp("survey")

    def hand_in(number: int, label: str, practical: str, nb, counts, keeps) -> tuple[str, tuple[str, Path, Decimal]]:
        ran = run_as_student(nb, practical, repo, shared_data, root / f"run-{number}")
        if counts is not None:   # her own order of running, as her style says
            for cell, count in zip([c for c in ran.cells if c.cell_type == "code"], counts):
                cell.execution_count = count
        path = root / f"{number}.ipynb"
        nbformat.write(ran, path)
        return label, (practical, path, keeps)

    # two runs at a time, as a batch's two workers on CI's two cores (each kernel has one thread)
    with ThreadPoolExecutor(2) as pool:
        found = dict(pool.map(lambda numbered: hand_in(numbered[0], *numbered[1]), enumerate(_honest(repo))))
    with zipfile.ZipFile(repo / "examples" / "demo" / "moodle" / "ML1-MNIST-101.zip") as archive:
        for number, name in enumerate(n for n in archive.namelist() if n.endswith(".ipynb")):
            path = root / f"demo-{number}.ipynb"
            path.write_bytes(archive.read(name))
            student = name.split("_")[0]
            found[f"demo/{student}"] = ("mnist_cnn", path, Decimal("0") if student == "Pablo Ruiz" else Decimal("1"))
    return found


def _executed(practical: str, path: Path, repo: Path):
    assignment = load_assignment(repo / "assignments" / practical)
    alone = replace(assignment, checks=(assignment.check("executed"),))
    return evaluate(alone, ProbePlan(nonce="", cell_source=""), inspect(path), None, notebook=path)[0]


def test_every_honest_notebook_keeps_the_executed_points_it_earned(handed_in, repo):
    assert len(handed_in) == 3 * 2 * 3 + 14 + 7
    lost = {}
    for label, (practical, path, keeps) in handed_in.items():
        scored = _executed(practical, path, repo)
        if scored.points != keeps:
            lost[label] = (str(scored.points), render(scored.reason, "en"))
    assert not lost, lost


def test_the_record_is_what_a_real_run_of_each_solution_shows(handed_in, repo):
    """Under a budget other than the record's, the same template cells print."""
    for practical in PRACTICALS:
        recorded = {e.solution: e.printing for e in read_record(repo / "assignments" / practical)}
        for solution, _ in EDITIONS:
            _, path, _ = handed_in[f"{practical}/{solution[:-6]}"]
            cells = nbformat.read(path, as_version=4).cells
            shown = tuple(i for i, cell in enumerate(code_cells(cells)) if prints(cells[cell.index]))
            assert shown == recorded[solution], (practical, solution)
