"""Check kinds end to end: plan -> real kernel runs the probe -> outputs validated -> CheckResults."""
import json
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from grader.execution.base import with_kernel_dirs
from grader.assignment import load_assignment
from grader.checks import get_check, register
from grader.checks.base import Check, result
from grader.checks.evaluate import evaluate
from grader.checks.metric import linear_points
from grader.checks.outputs import MAX_ARRAY_BYTES, read_outputs
from grader.checks.plan import plan_probe
from grader.i18n import msg, render
from grader.records import InspectionReport, RunResult

REFERENCE = '''
import numpy as np

def softmax(x):
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)

def softmax_cases(rng):
    small = [(rng.standard_normal((4, 10)).astype(np.float32) * 3,) for _ in range(4)]
    large = [((rng.standard_normal((4, 10)) * 1000).astype(np.float32),) for _ in range(2)]
    return small + large

def evaluation_data(data_dir, params):
    labels = np.arange(100) % 10
    shown = labels.copy()
    shown[70:] = (shown[70:] + 1) % 10          # the model reads the digit off pixel (0, k): 70 right, 30 wrong
    images = np.zeros((100, 1, 28, 28), np.float32)
    images[np.arange(100), 0, 0, shown] = 1.0
    return images, labels
'''

ASSIGNMENT = '''
[assignment]
id = "demo"
title = "Demo"
version = "1"
max_points = "11"
[[checks]]
id = "executed"
kind = "notebook"
points = "1"
[[checks]]
id = "model_shape"
kind = "shape"
name = "model"
input_shape = [8, 1, 28, 28]
expect = [8, 10]
points = "1"
[[checks]]
id = "softmax"
kind = "function"
name = "softmax"
reference = "checks_testref:softmax"
cases = "checks_testref:softmax_cases"
rtol = "1e-4"
atol = "1e-6"
points = "1.5"
[[checks]]
id = "naive"
kind = "function"
name = "naive_softmax"
reference = "checks_testref:softmax"
cases = "checks_testref:softmax_cases"
points = "1.5"
[[checks]]
id = "ghost"
kind = "function"
name = "not_defined"
reference = "checks_testref:softmax"
cases = "checks_testref:softmax_cases"
points = "1"
hidden = true
[[checks]]
id = "accuracy"
kind = "metric"
metric = "accuracy"
name = "model"
data = "checks_testref:evaluation_data"
zero_at = "0.5"
full_at = "0.9"
points = "5"
'''

STUDENT = '''
import torch

def softmax(t):
    e = torch.exp(t - t.max(dim=-1, keepdim=True).values)
    return e / e.sum(dim=-1, keepdim=True)

def naive_softmax(t):
    e = torch.exp(t)
    return e / e.sum(dim=-1, keepdim=True)

class Reader(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.tensor(10.0))
    def forward(self, x):
        return x[:, 0, 0, :10] * self.scale

model = Reader()
'''

INSPECTED = InspectionReport(readable=True, nbformat=4, code_cells=3, executed_cells=3, executed=True,
                             in_order=True, error_cells=(), has_plot=False, colab=False,
                             has_parameters_cell=False, practical_hint=None)


@pytest.fixture(scope="module")
def assignment(tmp_path_factory):
    folder = tmp_path_factory.mktemp("assignment")
    (folder / "checks_testref.py").write_text(REFERENCE)
    (folder / "assignment.toml").write_text(ASSIGNMENT)
    sys.path.insert(0, str(folder))
    yield load_assignment(folder)
    sys.path.remove(str(folder))


def _plan(assignment, work: Path, seed: int = 7):
    return plan_probe(assignment, work / "probe", work / "data", {"epochs": 1}, seed)


def _run_kernel(work: Path, cells: list[str]) -> RunResult:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()
    return RunResult(status="ok", duration_s=1.0, executed_notebook=None, out_dir=work / "out")


@pytest.fixture(scope="module")
def graded(assignment, tmp_path_factory):
    work = tmp_path_factory.mktemp("run")
    plan = _plan(assignment, work)
    run = _run_kernel(work, [STUDENT, with_kernel_dirs(plan.cell_source, work / "probe", work / "out")])
    return work, plan, {r.check_id: r for r in evaluate(assignment, plan, INSPECTED, run)}


@pytest.mark.slow
def test_correct_code_scores_full_points_from_a_real_kernel(graded):
    _, _, results = graded
    for check_id in ("executed", "model_shape", "softmax"):
        assert results[check_id].passed, render(results[check_id].reason, "en")
    assert results["softmax"].details == {"cases_passed": "6/6"}
    assert results["model_shape"].details == {"shape": [8, 10]}


@pytest.mark.slow
def test_softmax_without_max_shift_loses_exactly_the_large_logit_cases(graded):
    naive = graded[2]["naive"]
    assert naive.points == Decimal("1.00") and naive.details == {"cases_passed": "4/6"}
    assert naive.reason.code == "function_case_nonfinite"
    text = render(naive.reason, "en")
    assert "case 5 (inputs up to" in text and "got nan" in text and "4/6" in text
    assert "caso 5" in render(naive.reason, "es")


@pytest.mark.slow
def test_missing_name_is_reported_as_missing(graded):
    ghost = graded[2]["ghost"]
    assert ghost.points == 0 and ghost.hidden
    assert ghost.reason == msg("checks_missing_name", name="not_defined")


@pytest.mark.slow
def test_accuracy_uses_the_secret_order_and_linear_credit(graded):
    work, plan, results = graded
    accuracy = results["accuracy"]
    assert accuracy.details["accuracy"] == "0.7000" and accuracy.details["count"] == 100
    assert accuracy.details["inputs"]["shape"] == "(1, 28, 28)"     # what the model was fed, for `reported`
    assert accuracy.points == Decimal("2.50")                # 5 * (0.70 - 0.5) / (0.9 - 0.5)
    shown = np.load(work / "probe" / "accuracy.npy")[:, 0, 0, :10].argmax(axis=1)
    assert not np.array_equal(shown, np.arange(100) % 10)    # inputs were shuffled
    assert not (work / "probe" / "labels.npy").exists() and b"labels" not in (work / "probe" / "spec.json").read_bytes()


def test_evaluation_labels_follow_the_shuffle_and_never_reach_the_probe_folder(assignment, tmp_path):
    plan = _plan(assignment, tmp_path, seed=1)
    images = np.load(tmp_path / "probe" / "accuracy.npy")
    digits = images[:, 0, 0, :10].argmax(axis=1)
    labels = plan.private["accuracy"]["labels"]
    assert not np.array_equal(labels, np.arange(100) % 10)
    assert (digits == labels).sum() == 70                    # same permutation for inputs and kept labels
    other = _plan(assignment, tmp_path / "again", seed=2).private["accuracy"]["labels"]
    assert not np.array_equal(labels, other)                 # a fresh order per run
    assert "labels" not in (tmp_path / "probe" / "spec.json").read_text()


def _planted(assignment, tmp_path, nonce: str, items: dict) -> RunResult:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    (out / "status.json").write_text(json.dumps({"nonce": nonce, "items": items}))
    return RunResult(status="ok", duration_s=0.1, executed_notebook=None, out_dir=out)


def _ok(shape):
    return {"status": "ok", "ok": True, "error": None, "shape": list(shape), "dtype": "float32"}


def test_status_with_a_wrong_nonce_is_not_believed(assignment, tmp_path):
    plan = _plan(assignment, tmp_path)
    run = _planted(assignment, tmp_path, "forged", {"model_shape": _ok((8, 10))})
    np.save(tmp_path / "out" / "model_shape.npy", np.zeros((8, 10), np.float32))
    results = {r.check_id: r for r in evaluate(assignment, plan, INSPECTED, run)}
    assert results["model_shape"].points == 0 and results["model_shape"].reason.code == "checks_probe_untrusted"
    assert "not written by the grader's probe in this run" in render(results["model_shape"].reason, "en")
    assert results["executed"].passed                        # the inspection still counts


def test_pickled_oversized_and_linked_arrays_are_refused(assignment, tmp_path):
    plan = _plan(assignment, tmp_path)
    run = _planted(assignment, tmp_path, plan.nonce, {"model_shape": _ok((8, 10)), "accuracy": _ok((100, 10)),
                                                     "softmax__1": _ok((4, 10))})
    np.save(tmp_path / "out" / "model_shape.npy", np.array([{"evil": 1}] * 8, dtype=object), allow_pickle=True)
    with open(tmp_path / "out" / "accuracy.npy", "wb") as fh:
        fh.truncate(MAX_ARRAY_BYTES + 1)
    (tmp_path / "out" / "softmax__1.npy").symlink_to(tmp_path / "probe" / "softmax__1__0.npy")
    outputs = read_outputs(run.out_dir, plan.nonce)
    assert "pickle" in outputs.get("model_shape", "model").reason.params["problem"]
    assert "larger than 64 MB" in outputs.get("accuracy", "model").reason.params["problem"]
    assert "not a regular file" in outputs.get("softmax__1", "softmax").reason.params["problem"]
    results = {r.check_id: r for r in evaluate(assignment, plan, INSPECTED, run)}
    assert results["model_shape"].points == 0 and results["model_shape"].reason.code == "checks_output_invalid"
    assert results["softmax"].reason.code == "function_case_invalid"


def test_wrong_output_shape_is_named(assignment, tmp_path):
    plan = _plan(assignment, tmp_path)
    run = _planted(assignment, tmp_path, plan.nonce, {"model_shape": _ok((8, 5)), "accuracy": _ok((99, 10))})
    np.save(tmp_path / "out" / "model_shape.npy", np.zeros((8, 5), np.float32))
    np.save(tmp_path / "out" / "accuracy.npy", np.zeros((99, 10), np.float32))
    results = {r.check_id: r for r in evaluate(assignment, plan, INSPECTED, run)}
    assert "(8, 5); expected (8, 10)" in render(results["model_shape"].reason, "en")
    assert results["accuracy"].reason.code == "metric_wrong_shape" and results["accuracy"].points == 0


def test_without_a_run_probe_checks_fail_with_the_runs_reason(assignment, tmp_path):
    plan = _plan(assignment, tmp_path)
    not_run = {r.check_id: r for r in evaluate(assignment, plan, INSPECTED, None)}
    assert not_run["softmax"].reason.code == "checks_not_run" and not_run["executed"].passed
    timeout = RunResult(status="timeout", duration_s=9.0, executed_notebook=None, out_dir=tmp_path / "empty",
                        reason=msg("job_not_executed"))
    timed_out = {r.check_id: r for r in evaluate(assignment, plan, INSPECTED, timeout)}
    assert timed_out["accuracy"].reason == msg("job_not_executed") and timed_out["accuracy"].points == 0
    silent = RunResult(status="ok", duration_s=1.0, executed_notebook=None, out_dir=tmp_path / "empty")
    assert evaluate(assignment, plan, INSPECTED, silent)[1].reason.code == "checks_probe_no_output"


def test_notebook_facts_each_earn_a_share(assignment, tmp_path):
    plan = _plan(assignment, tmp_path)
    messy = InspectionReport(readable=True, nbformat=4, code_cells=5, executed_cells=5, executed=True,
                             in_order=False, error_cells=(2,), has_plot=False, colab=True,
                             has_parameters_cell=False, practical_hint=None)
    executed = evaluate(assignment, plan, messy, None)[0]
    assert executed.points == Decimal("0.33") and executed.details["failed"] == ["in_order", "no_errors"]
    assert executed.reason.code == "notebook_out_of_order"


def test_linear_points_are_exact_decimals():
    five, zero_at, full_at = Decimal("5"), Decimal("0.5"), Decimal("0.9")
    assert linear_points(five, Decimal("0.9345"), zero_at, full_at) == Decimal("5.00")
    assert linear_points(five, Decimal("0.4999"), zero_at, full_at) == Decimal("0.00")
    assert linear_points(five, Decimal("0.7123"), zero_at, full_at) == Decimal("2.65")   # 2.65375
    assert linear_points(five, Decimal("3.0"), Decimal("5"), Decimal("2")) == Decimal("3.33")  # lower is better


class _AlwaysHalf(Check):
    kind = "always_half"

    @classmethod
    def score(cls, spec, ctx):
        return result(spec, spec.points / 2, msg("notebook_ok"))


def test_a_new_kind_is_one_class_and_one_line_in_assignment_toml(tmp_path):
    register("always_half", _AlwaysHalf)
    (tmp_path / "assignment.toml").write_text(textwrap.dedent('''
        [assignment]
        id = "x"
        title = "X"
        version = "1"
        max_points = "2"
        [[checks]]
        id = "half"
        kind = "always_half"
        points = "2"
        '''))
    assignment = load_assignment(tmp_path)
    assert get_check("always_half") is _AlwaysHalf
    plan = plan_probe(assignment, tmp_path / "probe", tmp_path, {}, 3)
    assert evaluate(assignment, plan, INSPECTED, None)[0].points == Decimal("1")


def test_real_mnist_plan_draws_fresh_inputs_from_the_course_data(tmp_path):
    data = Path(__file__).parents[2] / "shared" / "data"
    if not (data / "mnist").is_dir():
        pytest.skip(f"real MNIST data not found at {data}")
    assignment = load_assignment(Path(__file__).parents[1] / "assignments" / "mnist_cnn")
    plan = plan_probe(assignment, tmp_path / "probe", data, dict(assignment.parameters), 11)
    images = np.load(tmp_path / "probe" / "accuracy.npy")
    labels = plan.private["accuracy"]["labels"]
    assert images.shape == (len(labels), 1, 28, 28) and images.dtype == np.float32 and 0 <= images.min()
    assert len(plan.private["softmax"]["cases"]) >= 2 and len(plan.private["cross_entropy"]["cases"]) >= 2
    plan_probe(assignment, tmp_path / "probe", data, dict(assignment.parameters), 12)   # re-planning the folder works


def test_json_values_from_the_probe_reach_checks_and_images_are_written_read_only(tmp_path):
    from PIL import Image

    from grader.checks.base import PlanContext

    ctx = PlanContext(probe_dir=tmp_path, data_dir=tmp_path, parameters={}, rng=np.random.default_rng(0))
    name = ctx.write_image("photo", Image.new("RGB", (3, 2), color=(1, 2, 3)))
    with Image.open(tmp_path / name) as image:
        assert image.mode == "RGB" and image.getpixel((0, 0)) == (1, 2, 3)
    assert not (tmp_path / name).stat().st_mode & 0o222
    run = _planted(None, tmp_path, "n", {"hist": {**_ok(()), "shape": None, "value": {"loss": [2.0, 1.0]}},
                                          "nothing": {**_ok(()), "value": None}, "arr": _ok((2,))})
    np.save(tmp_path / "out" / "arr.npy", np.ones(2))
    outputs = read_outputs(run.out_dir, "n")
    hist, nothing, arr = outputs.get("hist", "history"), outputs.get("nothing", "f"), outputs.get("arr", "g")
    assert hist.value == {"loss": [2.0, 1.0]} and hist.array is None and hist.reason is None and hist.is_value
    assert nothing.is_value and nothing.value is None
    assert arr.value is None and not arr.is_value and arr.array.tolist() == [1.0, 1.0]


def test_two_metrics_of_one_model_on_one_data_set_share_a_single_pass(assignment, tmp_path):
    """top-1 and top-5 of the same model: the images go to the probe once and the model runs once."""
    folder = tmp_path / "two_metrics"
    folder.mkdir()
    (folder / "assignment.toml").write_text('''
[assignment]
id = "two"
title = "Two metrics"
version = "1"
max_points = "2"
[[checks]]
id = "top1"
kind = "metric"
metric = "accuracy"
name = "model"
data = "checks_testref:evaluation_data"
zero_at = "0.5"
full_at = "0.9"
points = "1"
[[checks]]
id = "top5"
kind = "metric"
metric = "top5_accuracy"
name = "model"
data = "checks_testref:evaluation_data"
zero_at = "0.5"
full_at = "0.9"
points = "1"
''')
    two = load_assignment(folder)   # the fixture put checks_testref on sys.path
    plan = plan_probe(two, tmp_path / "probe", tmp_path / "data", {}, seed=3)
    items = json.loads((tmp_path / "probe" / "spec.json").read_text())["items"]
    assert [i["item"] for i in items] == ["top1"]
    images = np.load(tmp_path / "probe" / "top1.npy")
    logits = np.zeros((len(images), 10), np.float32)
    logits[np.arange(len(images)), images[:, 0, 0, :10].argmax(axis=1)] = 10.0   # reads the shown digit
    out = tmp_path / "out"
    out.mkdir()
    np.save(out / "top1.npy", logits)
    (out / "status.json").write_text(json.dumps({"nonce": plan.nonce, "items": {"top1": _ok(logits.shape)}}))
    run = RunResult(status="ok", duration_s=0.1, executed_notebook=None, out_dir=out)
    results = {r.check_id: r for r in evaluate(two, plan, INSPECTED, run)}
    assert results["top1"].details["accuracy"] == "0.7000"
    assert Decimal(results["top5"].details["top5_accuracy"]) >= Decimal("0.7")


def test_a_forbidden_call_is_named_in_both_languages_and_nothing_else_the_status_says_about_it_is_kept(tmp_path):
    error = {"status": "error", "ok": False, "error": "called torch.nn.functional.cross_entropy", "shape": None}
    run = _planted(None, tmp_path, "n", {
        "ce": {**error, "forbidden": ["torch.nn.functional.cross_entropy"]},
        "odd": {**error, "forbidden": ["x" * 81, 3, {"a": 1}]},     # nothing usable: an ordinary error
        "claimed": {**_ok((1,)), "forbidden": ["torch.nn.functional.cross_entropy"]}})   # only errors carry it
    np.save(tmp_path / "out" / "claimed.npy", np.ones(1))
    outputs = read_outputs(run.out_dir, "n")
    reason = outputs.get("ce", "cross_entropy").reason
    assert reason.code == "checks_forbidden_call"
    assert "which the statement forbids" in render(reason, "en") and "que el enunciado prohíbe" in render(reason, "es")
    assert outputs.get("odd", "cross_entropy").reason.code == "checks_call_failed"
    assert outputs.get("claimed", "cross_entropy").reason is None


def test_two_threads_asking_a_fresh_registry_first_both_find_every_kind():
    """A batch's workers may load assignments at once: the one that asks second waits for the first's load
    instead of reading a registry half filled ("no check kind named ...")."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from grader.checks.base import CheckRegistry

    loads = []

    def load():   # as importing the kinds' modules does: slow, registering as it goes
        loads.append(threading.get_ident())
        for name in ("notebook", "function", "metric"):
            time.sleep(0.05)
            registry.register(name, Check)

    registry = CheckRegistry(load)
    with ThreadPoolExecutor(4) as pool:
        found = list(pool.map(lambda _: registry.get("metric"), range(4)))
    assert found == [Check] * 4 and len(loads) == 1
