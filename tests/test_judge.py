"""The judge: a model exported in the kernel as a program of plain arrays, checked, and run where no student code
runs. Fast tests run the kernel's export part (the real probe source) and the judge in this process; the slow
ones run the judge as the grader does, in a capped child process."""
from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from grader.execution.base import JudgeRequest
from grader.execution.judge_process import judge_in_child
from grader.i18n import render
from grader.judge.main import judge
from grader.judge.program_json import ProgramRefused, check_expression, sanitised
from grader.judge.programs import load_programs
from grader.judge.request import Judged, judge_notes
from grader.checks.outputs import ProbeOutputs
from grader.probe import load_probe

PROBE = load_probe("grader_probe_judge_tests")
REPO = Path(__file__).resolve().parents[1]
SHAPES = [[256, 1, 28, 28], [44, 1, 28, 28]]


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.fc = nn.Conv2d(1, 4, 3), nn.Linear(4 * 26 * 26, 10)

    def forward(self, x):
        return self.fc(F.relu(self.conv(x)).flatten(1))


class MlpWithIdleConv(nn.Module):
    """An MLP that runs a (frozen) convolution and throws its result away."""

    def __init__(self):
        super().__init__()
        self.conv, self.fc = nn.Conv2d(1, 4, 3), nn.Linear(784, 10)
        self.conv.requires_grad_(False)

    def forward(self, x):
        self.conv(x)
        return self.fc(x.flatten(1))


class MlpWithZeroConv(nn.Module):
    """A convolution of zeros added to the input: in the graph, and the answer's gradient reaches it, but it
    adds nothing that depends on the image."""

    def __init__(self):
        super().__init__()
        self.conv, self.fc = nn.Conv2d(1, 1, 3, padding=1), nn.Linear(784, 10)
        nn.init.zeros_(self.conv.weight)

    def forward(self, x):
        return self.fc((x + self.conv(x)).flatten(1))


class MlpWithGhostConv(nn.Module):
    """A convolution added as ``c - c.detach()``: zero in value, one in gradient, so the answer's gradient reaches
    its weights and its output varies with the image, yet the answer is the MLP's to the last bit."""

    def __init__(self):
        super().__init__()
        self.conv, self.fc = nn.Conv2d(1, 4, 3), nn.Linear(784, 10)

    def forward(self, x):
        c = self.conv(x)
        return self.fc(x.flatten(1)) + (c - c.detach()).mean(dim=(1, 2, 3))[:, None]


class MlpWithWhisperedConv(nn.Module):
    """A convolution that does reach the answer's value, by a billionth of it: no layer of a network."""

    def __init__(self):
        super().__init__()
        self.conv, self.fc = nn.Conv2d(1, 4, 3), nn.Linear(784, 10)

    def forward(self, x):
        return self.fc(x.flatten(1)) + 1e-9 * self.conv(x).mean(dim=(1, 2, 3))[:, None]


class Conv2d(nn.Module):
    """A parameter-free identity *named* like the real layer."""

    def forward(self, x):
        return x


class MlpWithNamedIdentity(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.fc = Conv2d(), nn.Linear(784, 10)

    def forward(self, x):
        return self.fc(self.conv(x).flatten(1))


class ConvOnlyForTwoRows(nn.Module):
    """Convolves only when the batch looks like a probe's two-row batch; an MLP on anything else."""

    def __init__(self):
        super().__init__()
        self.conv, self.fc, self.mlp = nn.Conv2d(1, 4, 3), nn.Linear(4 * 26 * 26, 10), nn.Linear(784, 10)

    def forward(self, x):
        if x.shape[0] == 2:
            return self.fc(self.conv(x).flatten(1))
        return self.mlp(x.flatten(1))


def exported(tmp_path: Path, model, shapes=SHAPES, probe=PROBE, **export) -> dict:
    export = {"item": "_export__model", "name": "model", "file": "program.npz", "shapes": shapes,
              "dtype": "float32", **export}
    return probe._export_programs({"model": model}, export, str(tmp_path))


def judged(tmp_path: Path, inputs: np.ndarray, items=None) -> dict:
    np.save(tmp_path / "inputs.npy", inputs)
    items = items or [{"item": "scores", "kind": "model", "inputs": "inputs.npy", "batch_size": 256},
                      {"item": "layers", "kind": "introspect", "inputs": "inputs.npy", "rows": 128}]
    (tmp_path / "answers").mkdir(exist_ok=True)
    return judge({"program": "program.npz", "items": items}, tmp_path, tmp_path / "answers")


@pytest.fixture
def images():
    return np.random.default_rng(0).random((300, 1, 28, 28), dtype=np.float32)


def test_a_model_crosses_as_plain_arrays_and_the_judge_answers_as_the_model_would(tmp_path, images):
    model = Cnn().eval()
    status = exported(tmp_path, model)
    assert status["ok"], status
    with zipfile.ZipFile(tmp_path / "program.npz") as archive:   # every member a .npy without Python objects
        for name in archive.namelist():
            array = np.load(io.BytesIO(archive.read(name)), allow_pickle=False)
            assert array.dtype != object
    answer = judged(tmp_path, images)
    assert answer["items"]["scores"]["status"] == "ok"
    with torch.no_grad():
        expected = model(torch.from_numpy(images)).numpy()
    assert np.allclose(np.load(tmp_path / "answers" / "scores.npy"), expected, atol=1e-5)
    assert answer["items"]["layers"]["value"]["used"] == ["convolution", "linear"]


@pytest.mark.parametrize("model, present", [(MlpWithIdleConv(), True), (MlpWithZeroConv(), True),
                                            (MlpWithGhostConv(), True), (MlpWithWhisperedConv(), True),
                                            (MlpWithNamedIdentity(), False), (ConvOnlyForTwoRows(), False)])
def test_only_a_convolution_the_answer_depends_on_counts(tmp_path, images, model, present):
    assert exported(tmp_path, model.eval())["ok"]
    layers = judged(tmp_path, images)["items"]["layers"]["value"]
    assert "convolution" not in layers["used"]
    assert ("convolution" in layers["present"]) == present


def test_a_keras_convolution_counts_and_a_weightless_layer_named_conv2d_does_not(tmp_path, images):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras
    probe = load_probe("grader_probe_judge_keras")   # as in a kernel: loaded after Keras, so it knows it

    class Conv2D(keras.layers.Layer):     # the name of the real layer, no weights, the identity
        def call(self, x):
            return x

    real = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                             keras.layers.Flatten(), keras.layers.Dense(10)])
    fake = keras.Sequential([keras.Input((28, 28, 1)), Conv2D(), keras.layers.Flatten(), keras.layers.Dense(10)])
    for model, counts in ((real, True), (fake, False)):
        folder = tmp_path / str(counts)
        folder.mkdir()
        assert exported(folder, model, probe=probe, keras_layout="NHWC")["ok"]
        layers = judged(folder, images)["items"]["layers"]["value"]
        assert ("convolution" in layers["used"]) == counts


def test_a_float64_model_is_adapted_and_the_page_says_so(tmp_path, images):
    status = exported(tmp_path, Cnn().double().eval())
    assert status["value"]["adapted"] == [{"kind": "dtype", "contract": "float32", "model": "float64"}]
    assert status["value"]["received"]["dtype"] == "float64"
    assert judged(tmp_path, images)["items"]["scores"]["status"] == "ok"
    notes = judge_notes(Judged(ProbeOutputs(None, {}), outside={"model": status["value"]}), ProbeOutputs(None, {}))
    assert "float64" in render(notes[0], "en") and "convirtió" in render(notes[0], "es")


def test_a_course_grading_by_the_contracts_letter_adapts_nothing(tmp_path):
    status = exported(tmp_path, Cnn().double().eval(), adaptations=["device", "layout"])
    assert not status["ok"] and "float64" in status["error"] and "letter" in status["error"]


def _graph(tmp_path: Path) -> dict:
    assert exported(tmp_path, Cnn().eval())["ok"]
    arrays = np.load(tmp_path / "program.npz", allow_pickle=False)
    return json.loads(arrays["g0"].tobytes())


@pytest.mark.parametrize("tamper, why", [
    (lambda g: g["graph_module"]["graph"]["nodes"][0].update(target="torch.os.system"), "not a tensor operation"),
    (lambda g: g["graph_module"]["graph"]["nodes"][0].update(target="torch.ops.aten.from_file.default"), "never runs"),
    (lambda g: g["graph_module"]["graph"]["nodes"][0].update(name="x; import os"), "plain identifier"),
    (lambda g: g["graph_module"]["graph"]["nodes"][0]["inputs"].append(
        {"name": "obj", "arg": {"as_custom_obj": {"name": "o", "class_fqn": "os.system"}}}), "custom obj"),
    (lambda g: g["graph_module"]["graph"]["tensor_values"]["x"]["sizes"].__setitem__(
        0, {"as_expr": {"expr_str": "__import__('os').system('id')"}}), "__import__"),
    (lambda g: g["graph_module"]["module_call_graph"][0]["signature"].update(
        out_spec='[1, {"type": "os.system", "context": "null", "children_spec": []}]'), "os.system"),
])
def test_a_graph_reaching_outside_tensor_operations_is_refused_before_torch_reads_it(tmp_path, tamper, why):
    graph = _graph(tmp_path)
    tamper(graph)
    with pytest.raises(ProgramRefused, match=why):
        sanitised(graph)


def test_guard_code_and_debugging_metadata_never_reach_the_deserializer(tmp_path):
    graph = _graph(tmp_path)
    graph["guards_code"] = ["__import__('os').system('id')"]
    cleaned = sanitised(graph)
    assert cleaned["guards_code"] == [] and all(n["metadata"] == {} for n in cleaned["graph_module"]["graph"]["nodes"])


def test_size_expressions_are_read_with_sympys_constructors_only():
    check_expression("Symbol('s77', positive=True, integer=True)")
    check_expression("Mul(Integer(2), Symbol('s0', integer=True))")
    for hostile in ("Symbol.__class__", "eval('1')", "Symbol('s0').func", "lambda: 1", "[].__class__"):
        with pytest.raises(ProgramRefused):
            check_expression(hostile)


def test_a_program_file_with_anything_but_plain_arrays_is_refused(tmp_path):
    assert exported(tmp_path, Cnn().eval())["ok"]
    with zipfile.ZipFile(tmp_path / "program.npz", "a") as archive:
        buffer = io.BytesIO()
        np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
        archive.writestr("t999.npy", buffer.getvalue())
    with pytest.raises(ProgramRefused):
        load_programs(tmp_path / "program.npz")
    with zipfile.ZipFile(tmp_path / "other.npz", "w") as archive:
        archive.writestr("evil.pkl", b"cos\nsystem\n")
    with pytest.raises(ProgramRefused, match="members"):
        load_programs(tmp_path / "other.npz")


@pytest.mark.slow
def test_the_grader_runs_the_judge_in_a_capped_child_process(tmp_path, images):
    assert exported(tmp_path, Cnn().eval())["ok"]
    np.save(tmp_path / "inputs.npy", images)
    spec = {"program": "program.npz", "items": [{"item": "scores", "kind": "model", "inputs": "inputs.npy",
                                                  "batch_size": 100}]}
    run = judge_in_child(JudgeRequest(folder=tmp_path, spec=spec, timeout_s=120))
    assert run.problem is None and np.load(run.answers / "scores.npy").shape == (300, 10)
    assert judge_in_child(JudgeRequest(folder=tmp_path, spec=spec, timeout_s=0.01)).problem.startswith("the judge ran past")
    starved = judge_in_child(JudgeRequest(folder=tmp_path, spec=spec, timeout_s=120), memory_limit_mb=200)
    assert starved.answers is None and starved.problem


def test_the_causal_cut_of_one_row_keeps_only_its_position():
    logits = np.arange(2 * 5 * 3, dtype=np.float32).reshape(2, 5, 3)
    kept = PROBE._kept(logits, np.array([4, 1]))
    assert kept.tolist() == [logits[0, 4].tolist(), logits[1, 1].tolist()]


def test_a_recurrent_model_with_tuple_outputs_inside_its_graph_is_judged(tmp_path):
    class CharLstm(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed, self.lstm, self.out = nn.Embedding(20, 8), nn.LSTM(8, 16, batch_first=True), nn.Linear(16, 20)

        def forward(self, ids):
            return self.out(self.lstm(self.embed(ids))[0])    # the LSTM's (output, state): a getitem in the graph

    model = CharLstm().eval()
    ids = np.random.default_rng(1).integers(0, 20, (40, 12))
    assert exported(tmp_path, model, shapes=[[32, 12], [8, 12]], dtype="int64")["ok"]
    answer = judged(tmp_path, ids, [{"item": "logits", "kind": "model", "inputs": "inputs.npy", "batch_size": 32}])
    assert answer["items"]["logits"]["status"] == "ok", answer
    with torch.no_grad():
        expected = model(torch.from_numpy(ids)).numpy()
    assert np.allclose(np.load(tmp_path / "answers" / "logits.npy"), expected, atol=1e-5)


def test_the_course_setting_reaches_the_kernel_and_changes_what_the_job_is(tmp_path):
    """practicals.<id>.adaptations = [] travels in the probe's spec (kernel and export alike), and a result graded
    by the letter is never reused for one graded leniently."""
    from grader.assignment import load_assignment
    from grader.checks.plan import plan_probe
    from grader.jobs import job_key
    from grader.records import Submission

    assignment = load_assignment(REPO / "assignments" / "mnist_cnn")
    lenient = plan_probe(assignment, tmp_path / "a", REPO.parent / "shared" / "data", assignment.parameters, 1,
                         export=True)
    strict = plan_probe(assignment, tmp_path / "b", REPO.parent / "shared" / "data", assignment.parameters, 1,
                        export=True, adaptations=())
    assert {e["name"] for e in lenient.exports} == {"model"}
    assert json.loads((tmp_path / "b" / "spec.json").read_text())["adaptations"] == []
    assert strict.exports[0]["adaptations"] == [] and lenient.exports[0]["adaptations"] == ["dtype", "device", "layout"]
    sub = Submission("mnist_cnn", "7", "Ana", "x.zip", (), None, "ab" * 32)
    assert job_key(sub, assignment, {}) != job_key(sub, assignment, {}, adaptations=())


def test_a_notebook_without_the_model_is_not_said_to_be_judged_in_its_own_process():
    """The untouched template has no `model`: its items say the name is missing; no judge, no note, no flag."""
    from grader.checks.plan import ProbePlan
    from grader.judge.request import judge_models

    plan = ProbePlan(nonce="n", cell_source="", items={}, exports=({"item": "_export__model", "name": "model",
                                                                    "file": "program-model.npz"},))
    outputs = ProbeOutputs(None, {"_export__model": {"status": "missing", "error": "name 'model' is not defined"}})
    judged = judge_models(plan, outputs, runner=None, folder=Path("/nonexistent"), probe_dir=Path("/nonexistent"),
                          timeout_s=1, env={})
    assert judged.inside == {} and judged.outside == {} and judge_notes(judged, judged.outputs) == []
