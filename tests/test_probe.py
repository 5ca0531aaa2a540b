"""The in-kernel probe: calls the student's objects on the grader's inputs, saves .npy + status.json."""
import _thread
import json
import os
import runpy
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
from nbclient import NotebookClient

from grader.execution.base import with_kernel_dirs
from grader.checks.plan import PROBE_FILE, SPEC_FILE, probe_cell
from grader.probe import probe_sha256, probe_source


def _probe_folder(tmp_path: Path, items: list[dict], arrays: dict[str, np.ndarray]) -> tuple[Path, Path]:
    probe_dir, out_dir = tmp_path / "probe", tmp_path / "out"
    probe_dir.mkdir()
    for name, array in arrays.items():
        np.save(probe_dir / f"{name}.npy", array, allow_pickle=False)
    (probe_dir / SPEC_FILE).write_text(json.dumps({"version": 1, "items": items}))
    (probe_dir / PROBE_FILE).write_bytes(probe_source())
    return probe_dir, out_dir


def _fn(item, name, *inputs):
    return {"item": item, "kind": "function", "name": name, "inputs": [f"{i}.npy" for i in inputs]}


class _Recorder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(()))
        self.batches = []

    def forward(self, x):
        self.batches.append(len(x))
        assert not self.training and not torch.is_grad_enabled()
        return x.flatten(1)[:, :10] * self.weight


def test_probe_answers_each_item_in_its_own_try(tmp_path):
    logits = np.arange(12, dtype=np.float32).reshape(3, 4)
    probe_dir, out_dir = _probe_folder(tmp_path, [
        _fn("soft", "softmax", "logits"),
        _fn("numpy_only", "numpy_only", "logits"),
        _fn("ghost", "not_defined", "logits"),
        _fn("broken", "broken", "logits"),
        _fn("pair", "pair", "logits"),
        _fn("words", "words", "logits"),
        {"item": "net", "kind": "model", "name": "model", "inputs": ["images.npy"], "batch_size": 256},
    ], {"logits": logits, "images": np.random.default_rng(0).random((600, 1, 4, 4), dtype=np.float32)})
    model = _Recorder().train()
    namespace = {
        "softmax": lambda t: torch.softmax(t, dim=-1),
        "numpy_only": lambda x: x.astype(np.float64) * 2,          # tensors have no .astype: retried with numpy
        "broken": lambda t: 1 / 0,
        "pair": lambda t: (t, t),
        "words": lambda t: ["a", "b"],
        "model": model,
    }
    probe = runpy.run_path(str(probe_dir / PROBE_FILE))
    statuses = probe["main"](namespace, "n0nce", str(probe_dir), str(out_dir))

    status = json.loads((out_dir / "status.json").read_text())
    assert status["nonce"] == "n0nce" and status["items"] == statuses
    assert statuses["soft"] == {"status": "ok", "ok": True, "error": None, "shape": [3, 4], "dtype": "float32"}
    assert np.allclose(np.load(out_dir / "soft.npy").sum(axis=1), 1)
    assert np.array_equal(np.load(out_dir / "numpy_only.npy"), logits * 2)
    assert statuses["ghost"]["status"] == "missing" and not (out_dir / "ghost.npy").exists()
    assert statuses["broken"]["status"] == "error" and statuses["broken"]["error"].startswith("ZeroDivisionError")
    assert statuses["pair"]["status"] == "error" and "tuple of tensors" in statuses["pair"]["error"]
    assert statuses["words"]["status"] == "error" and "expected numbers" in statuses["words"]["error"]
    assert model.batches == [256, 256, 88] and model.training       # batched, and left as it was found
    assert np.load(out_dir / "net.npy").shape == (600, 10)


def test_the_notebooks_framework_is_read_from_its_namespace_not_from_what_the_kernel_loaded(tmp_path):
    """torch is loaded in this process (as in a warm runner's kernel before any notebook runs): a notebook whose
    namespace holds nothing of torch still gets numpy arrays; one that names torch anywhere gets tensors."""
    assert "torch" in __import__("sys").modules
    logits = np.arange(6, dtype=np.float32).reshape(2, 3)
    seen = []

    def numpy_softmax(x):
        seen.append(type(x).__module__)
        return np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True)

    def imports_torch_inside(x):
        import torch as t
        seen.append(type(x).__module__)
        return t.softmax(t.as_tensor(x), dim=-1)

    namespaces = ({"softmax": numpy_softmax, "np": np}, {"softmax": imports_torch_inside},
                  {"softmax": numpy_softmax, "nn": torch.nn}, {"softmax": numpy_softmax, "net": torch.nn.Linear(1, 1)})
    for number, namespace in enumerate(namespaces):
        (tmp_path / str(number)).mkdir()
        probe_dir, out_dir = _probe_folder(tmp_path / str(number), [_fn("soft", "softmax", "logits")],
                                           {"logits": logits})
        runpy.run_path(str(probe_dir / PROBE_FILE))["main"](namespace, "n", str(probe_dir), str(out_dir))
    assert seen == ["numpy", "torch", "torch", "torch"]


def test_files_planted_before_the_probe_runs_are_removed(tmp_path):
    probe_dir, out_dir = _probe_folder(tmp_path, [_fn("ghost", "not_defined", "x")], {"x": np.zeros(3)})
    out_dir.mkdir()
    np.save(out_dir / "ghost.npy", np.ones(3))
    (out_dir / "status.json").write_text('{"nonce": "old", "items": {}}')
    runpy.run_path(str(probe_dir / PROBE_FILE))["main"]({}, "new", str(probe_dir), str(out_dir))
    assert not (out_dir / "ghost.npy").exists()
    assert json.loads((out_dir / "status.json").read_text())["nonce"] == "new"


def test_probe_imports_nothing_of_the_grader():
    source = probe_source().decode("utf-8")
    assert "grader" not in "".join(line for line in source.splitlines() if line.lstrip().startswith(("import", "from")))


@pytest.mark.slow
def test_probe_cell_survives_shadowed_names_in_a_real_kernel_and_refuses_a_foreign_probe(tmp_path, monkeypatch):
    logits = np.array([[1000.0, 0.0, -1000.0]], dtype=np.float32)
    probe_dir, out_dir = _probe_folder(tmp_path, [_fn("soft", "softmax", "logits")], {"logits": logits})
    student = ("import torch\n"
               "def softmax(t):\n    return torch.softmax(t, dim=-1)\n"
               "print = np = json = os = open = exec = compile = hashlib = None  # a student's shadowing\n")
    cell = with_kernel_dirs(probe_cell("abc123"), probe_dir, out_dir)   # as a runner writes them in
    foreign = cell.replace(probe_sha256(), "0" * 64)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in (student, foreign, cell)]
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()

    assert any("not the grader's" in o.get("evalue", "") for o in nb.cells[1].outputs)
    assert [o.get("text") for o in nb.cells[2].outputs] == ["grader probe: 1/1 items answered\n"]
    status = json.loads((out_dir / "status.json").read_text())
    assert status["nonce"] == "abc123" and status["items"]["soft"]["ok"]
    assert np.allclose(np.load(out_dir / "soft.npy"), [[1, 0, 0]])


def test_protocol_2_items_take_json_image_and_earlier_item_arguments(tmp_path):
    from PIL import Image

    probe_dir, out_dir = _probe_folder(tmp_path, [
        {"item": "enc", "kind": "function", "name": "encode", "args": [{"json": "hola"}]},
        {"item": "dec", "kind": "function", "name": "decode", "args": [{"item": "enc"}]},
        {"item": "scaled", "kind": "function", "name": "scale", "args": [{"npy": "x.npy"}],
         "kwargs": {"factor": {"json": 3}}},
        {"item": "pixels", "kind": "function", "name": "pixels", "args": [{"image": "grey.png"}]},
        {"item": "draws", "kind": "function", "name": "draw", "args": [{"npy": "x.npy"}], "repeat": 4},
        {"item": "texts", "kind": "function", "name": "generate", "args": [{"json": "ab"}], "repeat": 2},
        {"item": "hist", "kind": "value", "name": "history"},
        {"item": "arch", "kind": "introspect", "name": "model"},
        {"item": "not_module", "kind": "introspect", "name": "history"},
        {"item": "tokens", "kind": "model", "name": "model", "args": [{"npy": "ids.npy"}], "batch_size": 2},
        {"item": "via_method", "kind": "model", "name": "model", "args": [{"npy": "x.npy"}], "method": "double"},
        {"item": "opaque", "kind": "function", "name": "opaque", "args": []},
        {"item": "orphan", "kind": "function", "name": "decode", "args": [{"item": "opaque_never_ran"}]},
    ], {"x": np.arange(6, dtype=np.float32).reshape(2, 3), "ids": np.array([[1, 2], [3, 4], [5, 6]])})
    Image.new("L", (5, 4), color=7).save(probe_dir / "grey.png")

    class Embedder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(10, 2)
            self.conv = torch.nn.Conv1d(2, 2, 1)

        def forward(self, ids):
            assert ids.dtype == torch.int64
            return self.embed(ids)

        def double(self, x):
            return x * 2

    namespace = {
        "encode": lambda s: [ord(c) for c in s],
        "decode": lambda ids: "".join(chr(i) for i in ids),
        "scale": lambda t, factor: t * factor,
        "pixels": lambda image: [image.mode, *image.size],
        "draw": lambda t: int(t.sum()) % 5,
        "generate": lambda prompt: prompt + "c",
        "history": {"loss": [torch.tensor(2.0), 1.5], "accuracy": [np.float32(0.5), 0.75]},
        "model": Embedder(),
        "opaque": lambda: object(),
    }
    statuses = runpy.run_path(str(probe_dir / PROBE_FILE))["main"](namespace, "n", str(probe_dir), str(out_dir))

    status = json.loads((out_dir / "status.json").read_text())
    assert status["protocol"] == 2
    assert np.array_equal(np.load(out_dir / "enc.npy"), [104, 111, 108, 97])   # numbers are arrays
    assert statuses["dec"]["value"] == "hola" and not (out_dir / "dec.npy").exists()
    assert np.array_equal(np.load(out_dir / "scaled.npy"), np.arange(6).reshape(2, 3) * 3)
    assert statuses["pixels"]["value"] == ["L", 5, 4]
    assert np.array_equal(np.load(out_dir / "draws.npy"), [0, 0, 0, 0])
    assert statuses["texts"]["value"] == ["abc", "abc"]
    assert statuses["hist"]["value"] == {"loss": [2.0, 1.5], "accuracy": [0.5, 0.75]}
    assert statuses["arch"]["value"] == {"modules": ["Embedder", "Embedding", "Conv1d"], "parameters": 26,
                                       "shapes": [[10, 2], [2, 2, 1], [2]]}
    assert statuses["not_module"]["status"] == "error" and "torch.nn.Module" in statuses["not_module"]["error"]
    assert np.load(out_dir / "tokens.npy").shape == (3, 2, 2)
    assert np.array_equal(np.load(out_dir / "via_method.npy"), np.arange(6).reshape(2, 3) * 2)
    assert statuses["opaque"]["status"] == "error" and "neither numbers nor a JSON value" in statuses["opaque"]["error"]
    assert statuses["orphan"]["status"] == "error" and "has no output" in statuses["orphan"]["error"]


class _Elsewhere(torch.Tensor):
    """A tensor that says it lives on another device (the meta device): this machine has no second one to use."""

    @property
    def device(self):
        return torch.device("meta")


def test_earlier_tensors_reach_the_next_call_on_the_device_each_came_from(tmp_path):
    probe_dir, out_dir = _probe_folder(tmp_path, [
        {"item": "one", "kind": "function", "name": "encode_one", "args": [{"json": "ab"}]},
        {"item": "each", "kind": "function", "name": "encode_each", "args": [{"json": "ab"}]},
        {"item": "one_seen", "kind": "function", "name": "devices", "args": [{"item": "one"}]},
        {"item": "each_seen", "kind": "function", "name": "devices", "args": [{"item": "each"}]},
    ], {})
    ids = lambda s: torch.tensor([ord(c) for c in s])   # noqa: E731
    namespace = {
        "encode_one": lambda s: ids(s).as_subclass(_Elsewhere),
        # a GPU notebook's list: one tensor on the GPU, one left on the CPU
        "encode_each": lambda s: (ids(s).as_subclass(_Elsewhere), ids(s[::-1])),
        "devices": lambda handed: ([t.device.type for t in handed] if isinstance(handed, (list, tuple))
                                   else [handed.device.type]),
    }
    statuses = runpy.run_path(str(probe_dir / PROBE_FILE))["main"](namespace, "n", str(probe_dir), str(out_dir))

    assert statuses["one_seen"]["value"] == ["meta"]
    assert statuses["each_seen"]["value"] == ["meta", "cpu"]
    assert np.array_equal(np.load(out_dir / "each.npy"), [[97, 98], [98, 97]])


_LOSS = "torch.nn.functional.cross_entropy"
_FORBID = [_LOSS, "torch.nn.CrossEntropyLoss", "torch._C._nn.cross_entropy_loss", "torch.ops.aten.cross_entropy_loss"]
_EARLY_SETPROFILE = sys.setprofile   # a reference taken before the probe runs, as a notebook's first cell could


def _in_a_thread(x, t):
    out = []
    worker = threading.Thread(target=lambda: out.append(torch.nn.functional.cross_entropy(x, t)))
    worker.start()
    worker.join()
    return out[0]


def _behind_threadings_back(x, t):
    out, done = [], threading.Event()
    _thread.start_new_thread(lambda: (out.append(torch.nn.functional.cross_entropy(x, t)), done.set()), ())
    done.wait(10)
    return out[0]


def _threads_unwatched(x, t):
    threading.setprofile(None)
    return _in_a_thread(x, t)


def _threads_hook_reset(x, t):
    threading._profile_hook = None
    return _in_a_thread(x, t)


def _watch_off_for_a_moment(x, t):
    previous = sys.getprofile()
    _EARLY_SETPROFILE(None)
    try:
        return torch.nn.functional.cross_entropy(x, t)
    finally:
        _EARLY_SETPROFILE(previous)


def _in_a_process_of_its_own(x, t):
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return torch.nn.functional.cross_entropy(x, t)   # as if the child's answer had come back


class _Deferred(torch.Tensor):
    """An answer computed only when the probe reads it: its detach calls the loss."""

    def detach(self):
        return torch.nn.functional.cross_entropy(self.logits, self.targets)


def _deferred(x, t):
    answer = torch.zeros(()).as_subclass(_Deferred)
    answer.logits, answer.targets = x, t
    return answer


@pytest.mark.parametrize("cross_entropy, noted", [
    (lambda x, t: torch._C._nn.cross_entropy_loss(x, t), "torch._C._nn.cross_entropy_loss"),
    (lambda x, t: torch.ops.aten.cross_entropy_loss(x, t), "torch.ops.aten.cross_entropy_loss"),
    (lambda x, t: torch.ops.aten.cross_entropy_loss.default(x, t), "torch.ops.aten.cross_entropy_loss"),
    (_in_a_thread, _LOSS),
    (lambda x, t: ThreadPoolExecutor(1).submit(torch.nn.functional.cross_entropy, x, t).result(), _LOSS),
    (_behind_threadings_back, "(a thread started without threading)"),
    (_watch_off_for_a_moment, "(sys.setprofile)"),
    (_threads_unwatched, "(sys.setprofile)"),
    (_threads_hook_reset, "(a thread started without threading)"),
    (_in_a_process_of_its_own, "(a process of its own)"),
    (_deferred, _LOSS),
], ids=["the C function underneath", "the aten operator", "the aten operator's overload", "a thread",
        "a thread pool", "a thread behind threading's back", "the watch turned off by an early reference",
        "threading's hook turned off", "threading's hook reset", "a process of its own",
        "an answer computed when read"])
def test_a_forbidden_loss_is_seen_however_the_function_reaches_it(tmp_path, cross_entropy, noted):
    statuses = _cross_entropy_probed(tmp_path, cross_entropy)
    assert statuses["ce"]["status"] == "error" and noted in statuses["ce"]["forbidden"], statuses["ce"]
    assert not (tmp_path / "out" / "ce.npy").exists()   # nothing of the answer is kept
    assert sys.getprofile() is None and threading.getprofile() is None   # the watch left nothing behind


def test_a_cross_entropy_of_its_own_is_not_flagged_and_a_fake_setprofile_makes_the_watch_void(tmp_path, monkeypatch):
    def own(x, t):   # what the statement asks for: the log-sum-exp by hand, from torch's own builtins
        shifted = x - x.max(dim=1, keepdim=True).values
        return (shifted.exp().sum(dim=1).log() - shifted.gather(1, t[:, None])[:, 0]).mean()

    statuses = _cross_entropy_probed(tmp_path / "own", own)
    assert statuses["ce"]["status"] == "ok" and "forbidden" not in statuses["ce"]
    # a notebook that put its own sys.setprofile in place (one that never turns a hook on) tells the probe nothing
    monkeypatch.setattr(sys, "setprofile", lambda hook: None)
    monkeypatch.setattr(sys, "getprofile", lambda: None)
    statuses = _cross_entropy_probed(tmp_path / "fake", lambda x, t: torch.nn.functional.cross_entropy(x, t))
    assert statuses["ce"]["forbidden"] == ["(sys.setprofile)"]


def _cross_entropy_probed(tmp_path, cross_entropy):
    tmp_path.mkdir(parents=True, exist_ok=True)
    probe_dir, out_dir = _probe_folder(tmp_path, [
        {"item": "ce", "kind": "function", "name": "cross_entropy", "args": [{"npy": "x.npy"}, {"npy": "t.npy"}],
         "forbid": _FORBID}],
        {"x": np.array([[1.0, 2.0, 0.5], [0.1, 0.2, 3.0]], dtype=np.float32), "t": np.array([1, 2])})
    return runpy.run_path(str(probe_dir / PROBE_FILE))["main"]({"cross_entropy": cross_entropy, "torch": torch}, "n",
                                                               str(probe_dir), str(out_dir))


def test_a_value_too_large_for_the_status_file_is_an_error_not_a_broken_status(tmp_path):
    probe_dir, out_dir = _probe_folder(tmp_path, [
        {"item": "big", "kind": "value", "name": "big"}, {"item": "small", "kind": "value", "name": "small"}], {})
    namespace = {"big": "x" * 2_000_000, "small": "ok"}
    statuses = runpy.run_path(str(probe_dir / PROBE_FILE))["main"](namespace, "n", str(probe_dir), str(out_dir))
    assert statuses["big"]["status"] == "error" and "output too large" in statuses["big"]["error"]
    assert statuses["small"]["value"] == "ok" and (out_dir / "status.json").stat().st_size < 1 << 20


def test_a_model_item_can_take_ids_in_the_students_own_numbering(tmp_path):
    # The contract numbers "abc" 0, 1, 2; this student numbers them 2, 0, 1, and her model is trained so.
    probe_dir, out_dir = _probe_folder(tmp_path, [
        {"item": "own", "kind": "function", "name": "encode", "args": [{"json": "abc"}]},
        {"item": "broken", "kind": "function", "name": "broken", "args": [{"json": "abc"}]},
        {"item": "twice", "kind": "function", "name": "twice", "args": [{"json": "abc"}]},
        {"item": "translated", "kind": "model", "name": "model", "args": [{"npy": "ids.npy"}],
         "translate": "own", "size": 3},
        {"item": "no_table", "kind": "model", "name": "model", "args": [{"npy": "ids.npy"}],
         "translate": "broken", "size": 3},
        {"item": "not_a_permutation", "kind": "model", "name": "model", "args": [{"npy": "ids.npy"}],
         "translate": "twice", "size": 3},
    ], {"ids": np.array([[0, 1, 2, 2]])})
    namespace = {"encode": lambda s: [{"a": 2, "b": 0, "c": 1}[c] for c in s],
                 "broken": lambda s: 1 / 0, "twice": lambda s: [0, 0, 1],
                 "model": lambda ids: ids[..., None].float()}
    runpy.run_path(str(probe_dir / PROBE_FILE))["main"](namespace, "n", str(probe_dir), str(out_dir))

    assert np.load(out_dir / "translated.npy")[0, :, 0].tolist() == [2, 0, 1, 1]
    assert np.load(out_dir / "no_table.npy")[0, :, 0].tolist() == [0, 1, 2, 2]      # the contract's ids
    assert np.load(out_dir / "not_a_permutation.npy")[0, :, 0].tolist() == [0, 1, 2, 2]


class _UnusedConv(torch.nn.Module):
    """An nn.Conv2d defined but never called, and one whose result is thrown away."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3)
        self.ignored = torch.nn.Conv2d(1, 4, 3)
        self.fc = torch.nn.Linear(16, 10)

    def forward(self, x):
        self.ignored(x)
        return self.fc(x.flatten(1))


class _Functional(torch.nn.Module):
    """A kernel used through F.conv2d: no Conv2d module at all."""

    def __init__(self):
        super().__init__()
        self.kernel = torch.nn.Parameter(torch.randn(2, 1, 3, 3))
        self.spare = torch.nn.Parameter(torch.randn(8, 1, 5, 5))    # never used
        self.fc = torch.nn.Linear(8, 10)

    def forward(self, x):
        return self.fc(torch.nn.functional.conv2d(x, self.kernel).flatten(1))


def test_introspection_with_a_batch_reports_only_the_layers_forward_uses(tmp_path):
    images = np.random.default_rng(0).random((2, 1, 4, 4), dtype=np.float32)
    item = lambda name: {"item": name, "kind": "introspect", "name": name, "args": [{"npy": "images.npy"}]}  # noqa
    probe_dir, out_dir = _probe_folder(tmp_path, [item("unused"), item("functional")], {"images": images})
    unused = _UnusedConv().train()
    unused.fc.weight.grad = torch.full_like(unused.fc.weight, 7.0)
    probe = runpy.run_path(str(probe_dir / PROBE_FILE))
    statuses = probe["main"]({"unused": unused, "functional": _Functional()}, "n", str(probe_dir), str(out_dir))
    found = statuses["unused"]["value"]
    assert "Conv2d" in found["modules"] and found["ran"] == ["Linear"]
    assert found["used_shapes"] == [[10, 16], [10]]
    assert unused.training and bool((unused.fc.weight.grad == 7.0).all())   # the model is left as it was
    functional = statuses["functional"]["value"]
    assert [2, 1, 3, 3] in functional["used_shapes"] and [8, 1, 5, 5] not in functional["used_shapes"]


class _Answers(torch.nn.Module):
    """A Conv2d that runs on every call; what the model answers decides whether its output depends on it."""

    def __init__(self, answer):
        super().__init__()
        self.conv, self.fc, self.answer = torch.nn.Conv2d(1, 2, 3), torch.nn.Linear(16, 10), answer

    def forward(self, x):
        features = self.conv(x)
        logits = self.fc(x.flatten(1))
        if self.answer == "dict":        # the conv's result thrown away; the graph sits in a dict value
            return {"logits": logits, "extra": [logits * 2]}
        if self.answer == "text":        # no numbers at all: nothing that ran reaches such an answer
            return "forged"
        if self.answer == "times_zero":  # in the graph, but the answer cannot change with it
            return logits + 0.0 * features.sum()
        if self.answer == "softmax":     # rows summing to 1: the conv counts, flat sum or not
            return torch.softmax(logits + features.mean((1, 2, 3))[:, None] * torch.arange(10.0), dim=1)
        if self.answer == "constant":    # numbers, but none computed from the layers
            return torch.full((len(x), 10), float("nan"))
        return (logits + features.sum()).detach().numpy()   # cut off from the graph its layers built


class _NoGrad(torch.nn.Module):
    """forward under no_grad: no graph anywhere to follow, so every module that ran counts."""

    def __init__(self):
        super().__init__()
        self.conv, self.fc = torch.nn.Conv2d(1, 2, 3), torch.nn.Linear(8, 10)

    @torch.no_grad()
    def forward(self, x):
        return self.fc(self.conv(x).flatten(1))


def test_the_output_a_layer_must_reach_is_found_inside_dicts_and_a_cut_off_answer_depends_on_no_layer(tmp_path):
    images = np.random.default_rng(1).random((2, 1, 4, 4), dtype=np.float32)
    names = ("dict", "text", "constant", "numpy", "times_zero", "softmax", "no_grad")
    items = [{"item": n, "kind": "introspect", "name": n, "args": [{"npy": "images.npy"}]} for n in names]
    probe_dir, out_dir = _probe_folder(tmp_path, items, {"images": images})
    probe = runpy.run_path(str(probe_dir / PROBE_FILE))
    ns = {n: _Answers(n) for n in names[:-1]} | {"no_grad": _NoGrad()}
    statuses = probe["main"](ns, "n", str(probe_dir), str(out_dir))
    found = {n: statuses[n]["value"] for n in names}
    assert found["dict"]["ran"] == ["Linear"] and found["dict"]["used_shapes"] == [[10, 16], [10]], found
    assert found["times_zero"]["ran"] == ["Linear"], found["times_zero"]     # multiplied by 0: no convolution
    assert found["softmax"]["ran"] == ["Conv2d", "Linear"], found["softmax"]
    for name in ("text", "constant", "numpy"):
        assert found[name]["ran"] == [] and found[name]["used_shapes"] == [], (name, found[name])
    assert found["no_grad"]["ran"] == ["Conv2d", "Linear"] and [2, 1, 3, 3] in found["no_grad"]["used_shapes"], found
