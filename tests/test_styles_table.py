"""The student styles as data, without a kernel: every intention names checks of its practical's point
table and takes no more than a check is worth, every notebook is Python (shell lines and magics aside) with
the template's parameters cell, and what a style claims about itself (Colab, hand-in order) is true."""
from __future__ import annotations

import ast
from decimal import Decimal
from pathlib import Path

import nbformat
import pytest

from grader.assignment import load_assignment
from grader.execution.habits import neutralise
from grader.notebooks import inspect
from styles import PARAMETERS, handed_in
from styles.imagenet_correct import CORRECT as IMAGENET_CORRECT
from styles.imagenet_defects import DEFECTS as IMAGENET_DEFECTS
from styles.rnn_correct import CORRECT as RNN_CORRECT
from styles.rnn_defects import DEFECTS as RNN_DEFECTS

ASSIGNMENTS = Path(__file__).resolve().parents[1] / "assignments"
STYLES = {"imagenet_cnn": IMAGENET_CORRECT + IMAGENET_DEFECTS, "rnn_text": RNN_CORRECT + RNN_DEFECTS}
ALL = [pytest.param(practical, style, id=f"{practical}-{style.name}")
       for practical, styles in STYLES.items() for style in styles]


def _python(source: str) -> str:
    # `!pip` lines as the grader rewrites them; `%matplotlib` blanked as IPython would run it, not Python
    return "\n".join("" if line.lstrip().startswith("%") else line for line in neutralise(source)[0].splitlines())


def _assigned(source: str) -> set[str]:
    return {target.id for node in ast.parse(source).body if isinstance(node, ast.Assign)
            for target in node.targets if isinstance(target, ast.Name)}


def _template_parameters(practical: str) -> set[str]:
    template = nbformat.read(ASSIGNMENTS / practical / "template.ipynb", as_version=4)
    return next(_assigned(c.source) for c in template.cells if PARAMETERS in c.metadata.get("tags", []))


@pytest.mark.parametrize("practical", STYLES)
def test_styles_have_distinct_names_and_at_least_three_are_right_and_three_have_a_defect(practical):
    styles = STYLES[practical]
    assert len({s.name for s in styles}) == len(styles)
    assert sum(not s.lost for s in styles) >= 3 and sum(bool(s.lost) for s in styles) >= 3


@pytest.mark.parametrize("practical, style", ALL)
def test_every_lost_point_is_on_a_check_of_the_table_and_says_why(practical, style):
    assignment = load_assignment(ASSIGNMENTS / practical)
    for check_id, (points, why) in style.lost.items():
        assert Decimal("0") < Decimal(points) <= assignment.check(check_id).points, (style.name, check_id)
        assert len(why) > 20, (style.name, check_id)
    assert Decimal("0") <= style.intended(assignment.max_points) <= assignment.max_points


@pytest.mark.parametrize("practical, style", ALL)
def test_every_code_cell_is_python_and_the_parameters_cell_is_the_templates(practical, style):
    parameters = [source for kind, source in style.cells if kind == PARAMETERS]
    assert len(parameters) == 1 and _assigned(parameters[0]) == _template_parameters(practical)
    for kind, source in style.cells:
        if kind != "md":
            compile(_python(source), style.name, "exec")


@pytest.mark.parametrize("practical, style", ALL)
def test_the_notebook_handed_in_is_what_the_style_says(practical, style, tmp_path):
    path = tmp_path / "nb.ipynb"
    nbformat.write(handed_in(style, practical), path)
    report = inspect(path)
    assert report.executed and report.has_parameters_cell and not report.error_cells
    assert report.colab == style.colab
    assert report.in_order == (style.counts is None)
