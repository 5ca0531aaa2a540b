"""Kinds `reported`, `custom` and `architecture`: a real kernel runs the notebook, the checks read it."""
import copy
import sys
import textwrap
from decimal import Decimal

import nbformat
import pytest
from nbclient import NotebookClient

from grader.execution.base import with_kernel_dirs
from grader.assignment import load_assignment
from grader.checks.evaluate import evaluate
from grader.checks.plan import plan_probe
from grader.i18n import render
from grader.records import InspectionReport, RunResult

HELPERS = '''
import numpy as np

def evaluation_data(data_dir, params):
    labels = np.arange(100) % 10
    images = np.zeros((100, 1, 28, 28), np.float32)
    images[np.arange(100), 0, 0, labels] = 1.0
    images[70:, 0, 0, :] = 0.0                    # 30 blank images: the reader guesses 0, right for 3 of them
    return images, labels
'''

ASSIGNMENT = '''
[assignment]
id = "reported_demo"
title = "Reported"
version = "1"
max_points = "6"
[[checks]]
id = "accuracy"
kind = "metric"
metric = "accuracy"
name = "model"
data = "reported_helpers:evaluation_data"
zero_at = "0.1"
full_at = "0.7"
points = "1"
[[checks]]
id = "reported_run"
kind = "reported"
pattern = "Test accuracy: ([0-9.]+)"
tolerance = "0.05"
points = "1"
[[checks]]
id = "reported_metric"
kind = "reported"
pattern = "Test accuracy: ([0-9.]+)"
tolerance = "0.05"
against = ["run", "accuracy"]
points = "1"
[[checks]]
id = "loss"
kind = "custom"
function = "reference.mnist_cnn:loss_decreasing"
items = "reference.mnist_cnn:history_items"
points = "1"
[[checks]]
id = "conv"
kind = "architecture"
require_any = ["Conv2d", "Conv1d"]
points = "1"
[[checks]]
id = "recurrent"
kind = "architecture"
require_any = ["LSTM", "GRU"]
points = "1"
'''

# The code reaches 0.7 on the grader's data, and prints an accuracy of ~0.1 on its own (a bad model).
CELLS = [
    "import numpy as np\nimport torch\n",
    "class Reader(torch.nn.Module):\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        self.conv = torch.nn.Conv2d(1, 1, 1)\n"
    "    def forward(self, x):\n"
    "        return x[:, 0, 0, :10] * 10\n"
    "model = Reader()\n"
    "history = {'loss': [], 'accuracy': []}\n"       # filled by a loop, as training does (a literal scores 0)
    "for loss, acc in ((2.31, 0.1), (1.02, 0.6)):\n"
    "    history['loss'].append(loss); history['accuracy'].append(acc)\n",
    "acc = float((np.random.default_rng(0).integers(0, 10, 5000) == 3).mean())\n"
    "print(f'Test accuracy: {acc:.4f}')\n",
]

INSPECTED = InspectionReport(readable=True, nbformat=4, code_cells=3, executed_cells=3, executed=True,
                             in_order=True, error_cells=(), has_plot=False, colab=False,
                             has_parameters_cell=False, practical_hint=None)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("reported")
    (root / "reported_helpers.py").write_text(HELPERS)
    (root / "assignment.toml").write_text(textwrap.dedent(ASSIGNMENT))
    sys.path.insert(0, str(root))
    try:
        assignment = load_assignment(root)
        plan = plan_probe(assignment, root / "probe", root, {"epochs": 1}, 5)
        nb = nbformat.v4.new_notebook()
        cell = with_kernel_dirs(plan.cell_source, root / "probe", root / "out")   # as a runner writes them in
        nb.cells = [nbformat.v4.new_code_cell(c) for c in CELLS + [cell]]
        NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(root)}}).execute()
        nbformat.write(nb, root / "executed.ipynb")
        run = RunResult(status="ok", duration_s=1.0, executed_notebook=root / "executed.ipynb", out_dir=root / "out")
        printed = nb.cells[2].outputs[0]["text"]
        handed = {}
        for variant, text in (("honest", printed), ("typed_in", "Test accuracy: 0.9990\n"), ("silent", None)):
            copy_nb = copy.deepcopy(nb)
            copy_nb.cells = copy_nb.cells[:3]
            copy_nb.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)] if text else []
            nbformat.write(copy_nb, root / f"{variant}.ipynb")
            handed[variant] = {r.check_id: r for r in evaluate(assignment, plan, INSPECTED, run,
                                                                notebook=root / f"{variant}.ipynb")}
        yield printed, handed
    finally:
        sys.path.remove(str(root))


@pytest.mark.slow
def test_a_typed_in_accuracy_is_caught_and_names_both_numbers(graded):
    printed, handed = graded
    reproduced = printed.split(": ")[1].strip()
    typed = handed["typed_in"]["reported_run"]
    assert typed.points == 0 and typed.details["needs_human"] is True
    text = render(typed.reason, "en")
    assert "0.9990" in text and reproduced in text and "0.05" in text
    assert "0,9990" in render(typed.reason, "es")    # a Spanish page writes the decimal comma
    honest = handed["honest"]["reported_run"]
    assert honest.passed and honest.details["needs_human"] is False


@pytest.mark.slow
def test_reported_is_also_compared_with_the_measured_metric(graded):
    _, handed = graded
    assert handed["honest"]["accuracy"].details["accuracy"] == "0.7300"
    metric = handed["honest"]["reported_metric"]     # prints ~0.10, the grader measures 0.73: flagged
    assert metric.points == 0 and "0.7300" in render(metric.reason, "en")
    assert metric.details["reproduced"]["accuracy"] == "0.7300"


@pytest.mark.slow
def test_a_missing_printed_line_has_its_own_reason(graded):
    _, handed = graded
    silent = handed["silent"]["reported_run"]
    assert silent.points == 0 and silent.reason.code == "reported_missing"
    assert "Test accuracy" in render(silent.reason, "en")


@pytest.mark.slow
def test_custom_and_architecture_checks_read_the_probe(graded):
    results = graded[1]["honest"]
    assert results["loss"].passed and "2.3100" in render(results["loss"].reason, "en")
    assert results["conv"].passed and "Conv2d" in render(results["conv"].reason, "en")
    recurrent = results["recurrent"]
    assert recurrent.points == 0 and "LSTM, GRU" in render(recurrent.reason, "en")
    assert "Conv2d" in render(recurrent.reason, "en")


FAST = '''
[assignment]
id = "fast"
title = "Fast"
version = "1"
max_points = "5"
[[checks]]
id = "loss"
kind = "custom"
function = "reference.mnist_cnn:loss_decreasing"
items = "reference.mnist_cnn:history_items"
points = "1"
[[checks]]
id = "conv"
kind = "architecture"
require_any = ["Conv2d"]
or_parameter_ndim = 4
points = "1"
[[checks]]
id = "words"
kind = "function"
name = "shout"
reference = "fast_helpers:shout"
cases = "fast_helpers:shout_cases"
points = "1"
[[checks]]
id = "length"
kind = "function"
name = "length"
reference = "fast_helpers:length"
cases = "fast_helpers:shout_cases"
points = "1"
[[checks]]
id = "starts"
kind = "function"
name = "generate"
reference = "fast_helpers:generate_expected"
cases = "fast_helpers:generate_cases"
compare = "fast_helpers:starts_with_prompt"
repeat = 3
points = "1"
'''

FAST_HELPERS = '''
def shout(text, times=1):
    return (text.upper() + "!") * times

def length(text, times=1):
    return len(text) * times

def shout_cases(rng):
    return [("hola",), {"args": ["adiós"], "kwargs": {"times": 2}}, ("x" * int(rng.integers(1, 5)),)]

def generate_expected(prompt, length):
    return {"prompt": prompt, "length": length}

def starts_with_prompt(got, expected):
    bad = [g for g in got if not g.startswith(expected["prompt"]) or len(g) != expected["length"]]
    return not bad, f"{bad[0]!r} does not start with {expected['prompt']!r}" if bad else ""

def generate_cases(rng):
    return [("To be", 12), ("En un lugar", 20)]
'''


def _fast(tmp_path, namespace, name="fast_helpers"):
    import runpy

    from grader.checks.plan import PROBE_FILE

    (tmp_path / f"{name}.py").write_text(FAST_HELPERS)
    (tmp_path / "assignment.toml").write_text(textwrap.dedent(FAST).replace("fast_helpers", name))
    sys.path.insert(0, str(tmp_path))
    try:
        assignment = load_assignment(tmp_path)
        plan = plan_probe(assignment, tmp_path / "probe", tmp_path, {"epochs": 1}, 9)
        runpy.run_path(str(tmp_path / "probe" / PROBE_FILE))["main"](namespace, plan.nonce, str(tmp_path / "probe"),
                                                                     str(tmp_path / "out"))
        run = RunResult(status="ok", duration_s=1.0, executed_notebook=None, out_dir=tmp_path / "out")
        return {r.check_id: r for r in evaluate(assignment, plan, INSPECTED, run)}
    finally:
        sys.path.remove(str(tmp_path))


class _Functional(__import__("torch").nn.Module):
    """A CNN in the functional style: F.conv2d on a 4-D parameter, no Conv2d module."""

    def __init__(self):
        import torch
        super().__init__()
        self.kernel = torch.nn.Parameter(torch.zeros(8, 1, 3, 3))


def test_string_arguments_json_outputs_and_a_compare_function(tmp_path):
    good = _fast(tmp_path, {
        "history": {"loss": [1.5]}, "model": _Functional(),
        "shout": lambda text, times=1: (text.upper() + "!") * times,
        "length": lambda text, times=1: len(text) * times,
        "generate": lambda prompt, length: (prompt + "abcdefghijklmnopqrstu")[:length],
    }, "fast_helpers_good")
    assert all(r.passed for r in good.values()), {k: render(r.reason, "en") for k, r in good.items()}
    assert "1.5000" in render(good["loss"].reason, "en") and "4-D weights" in render(good["conv"].reason, "en")
    bad = _fast(tmp_path / "bad", {
        "history": {"loss": [2.35]}, "model": object(),
        "shout": lambda text, times=1: text.upper() * times,
        "length": lambda text, times=1: str(len(text)),
        "generate": lambda prompt, length: "x" * length,
    }, "fast_helpers_bad") if (tmp_path / "bad").mkdir() is None else None
    assert bad["loss"].points == 0 and "does not learn" in render(bad["loss"].reason, "en")
    assert bad["conv"].points == 0 and "torch.nn.Module" in render(bad["conv"].reason, "en")
    words = render(bad["words"].reason, "en")
    assert bad["words"].points == 0 and "returned 'HOLA', expected 'HOLA!'" in words
    assert "expected numbers" in render(bad["length"].reason, "en")
    starts = bad["starts"]
    assert starts.points == 0 and "does not start with 'To be'" in render(starts.reason, "en")


def test_a_history_without_losses_is_named(tmp_path):
    results = _fast(tmp_path, {"history": "not a dict", "model": _Functional(), "shout": str, "length": len,
                               "generate": lambda p, n: p})
    assert results["loss"].points == 0 and results["loss"].reason.code == "mnist_history_no_loss"
    assert 'history = {"loss": [...], ...}' in render(results["loss"].reason, "es")


def broken(ctx):
    return ctx.output("never_planned")


def half(ctx):
    return Decimal("0.5"), f"half of it, at {ctx.parameters['epochs']} epochs"


def test_a_custom_function_that_breaks_flags_a_human_and_fractions_are_exact():
    from grader.assignment import CheckSpec
    from grader.checks.base import ScoreContext
    from grader.checks.custom import CustomCheck

    ctx = ScoreContext(inspection=INSPECTED, run=None, outputs=None,
                       private={"parameters": {"epochs": 2}, "kept": {}, "names": {}})
    spec = CheckSpec(id="c", kind="custom", points=Decimal("3"), hidden=False,
                     options={"function": "test_checks_reported:broken", "items": None})
    failed = CustomCheck.score(spec, ctx)
    assert failed.points == 0 and failed.details["needs_human"] and "never_planned" in render(failed.reason, "en")
    spec = CheckSpec(id="c", kind="custom", points=Decimal("3"), hidden=False,
                     options={"function": "test_checks_reported:half", "items": None})
    halved = CustomCheck.score(spec, ctx)
    assert halved.points == Decimal("1.50") and render(halved.reason, "es") == "half of it, at 2 epochs"
