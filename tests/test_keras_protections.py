"""The hidden-label and probe-forgery protections hold for Keras notebooks too (issue #16).

Fast tests: the grader's real plan for mnist_cnn, the real probe run in this process on Keras objects that
forge (as tests/test_probe_keras.py runs it), then the real scoring; each forgery is a scored failure with a
reason that renders in es and en, never an exception.

Slow tests: three variants of the Keras solution graded in ONE grade_course run under the practical's own
budget: one searches every folder the grader points its kernel to for the evaluation labels, one "evaluates"
on keras.datasets.mnist.load_data()'s test split, one forges the probe's seal. A leak found sabotages
`softmax`, so that it shows in the score.

Intended points, from assignments/mnist_cnn/assignment.toml's table before any run (total 10: executed 1,
model_shape 0.5, convolution 0.5, softmax 1.5, cross_entropy 1.5, accuracy 4, loss_decreasing 0.5,
reported_accuracy 0.5):
- keras_searches_labels: 10, like the solution: nothing is found (a leak would cost softmax's 1.5).
- keras_load_data: 10: load_data's test split is 1/7 of the student's own training data (a leak: 8.5).
- keras_forges_seal: 10, like the solution: what it forges into the probe's seal (model_shape, accuracy,
  convolution) is never read, because the model's checks are answered by the judge from the exported program.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import runpy
import time
from decimal import Decimal
from pathlib import Path

import nbformat
import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")   # as the grader sets it for its kernels
import keras  # noqa: E402  (a declared test dependency: missing, it fails, never skips)

from conftest import as_handed_in_executed  # noqa: E402
from test_probe_forgery import INSPECTED  # noqa: E402

from grader.assignment import load_assignment  # noqa: E402
from grader.checks.evaluate import evaluate  # noqa: E402
from grader.checks.plan import PROBE_FILE, plan_probe  # noqa: E402
from grader.i18n import render  # noqa: E402
from grader.records import RunResult  # noqa: E402
from reference.mnist_cnn import load_split  # noqa: E402

layers, ops = keras.layers, keras.ops
D = Decimal
MNIST = Path(__file__).resolve().parents[1] / "assignments" / "mnist_cnn"
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
INTERNAL = {"custom_failed", "job_internal_error"}    # the grader's own trouble, never a student's score
FIT = "history = model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size)"   # the template's call


# --- the evaluation labels, and a search a cheater would write ---------------------------------------------

def _eval_labels(shared_data: Path) -> np.ndarray:
    """What the grader keeps back: the last 20 % of the course's t10k labels (reference/mnist_cnn.py load_split);
    evaluation_data hands them to the checks, student_data never writes them."""
    return load_split(shared_data, {}).eval_labels


def _runs(shared_data: Path) -> list[np.ndarray]:
    """Runs of 32 evaluation labels, one every 100 (a copied stretch of 131 labels or more holds one), but for
    those found anywhere else: MNIST repeats some stretches (one of its test runs lies in the training part,
    another among the 60,000 training labels), and a periodic run (0 1 2 ... 9 0 1 ...) is anyone's. 32
    given digits in a row turn up by chance with probability 1e-32: a match of the rest is a copy."""
    from grader.idx import read_idx

    split = load_split(shared_data, {})
    elsewhere = [split.train_labels.astype(np.uint8).tobytes(),
                 read_idx(shared_data / "mnist" / "train-labels-idx1-ubyte.gz").astype(np.uint8).tobytes()]
    runs = []
    for start in range(0, len(split.eval_labels) - 31, 100):
        run = split.eval_labels[start:start + 32]
        periodic = any(np.array_equal(run[p:], run[:-p]) for p in range(1, 17))
        if not periodic and not any(run.astype(np.uint8).tobytes() in labels for labels in elsewhere):
            runs.append(run)
    return runs


def _needles(shared_data: Path) -> list[bytes]:
    """Each run as bytes in every form a file may hold it: uint8 (IDX, npz), int32/int64 (numpy), text (JSON, CSV)."""
    needles = []
    for run in _runs(shared_data):
        needles += [run.astype(np.uint8).tobytes(), run.astype("<i4").tobytes(), run.astype("<i8").tobytes(),
                    ", ".join(map(str, run)).encode(), ",".join(map(str, run)).encode()]
    return needles


def _digests(shared_data: Path) -> set[str]:
    """sha256 of the course's label file as it lies and decompressed: a copy of it under any name."""
    import gzip

    data = (shared_data / "mnist" / "t10k-labels-idx1-ubyte.gz").read_bytes()
    return {hashlib.sha256(data).hexdigest(), hashlib.sha256(gzip.decompress(data)).hexdigest()}


# Student code. It looks in every file (and in every gzip and zip/npz member) of every folder the grader points
# the kernel to, and of folders it can guess, for the evaluation labels; when found, it breaks `softmax`.
SEARCH = '''import gzip, hashlib, io, json, os, re, tempfile, zipfile
from pathlib import Path


def _contents(data):
    """A file's bytes, and what it packs: gzip, zip members (numpy's .npz)."""
    yield data
    if data[:2] == b"\\x1f\\x8b":
        try:
            yield gzip.decompress(data)
        except Exception:
            pass
    if data[:4] == b"PK\\x03\\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                for info in zf.infolist()[:200]:
                    yield zf.read(info)
        except Exception:
            pass


def labels_found(needles, digests, places, max_bytes=200_000_000):
    """Files under ``places`` that are a copy of the label file or hold a run of its evaluation labels,
    and the names of the files each place had to read."""
    found, read = [], {}
    for place in places:
        read[str(place)] = []
        paths = place.rglob("*") if place.is_dir() else [place]
        for path in paths:
            try:
                if not path.is_file() or path.stat().st_size > max_bytes:
                    continue
                data = path.read_bytes()
            except OSError:
                continue
            read[str(place)].append(path.name)
            for blob in _contents(data):
                if hashlib.sha256(blob).hexdigest() in digests or any(n in blob for n in needles):
                    found.append(str(path))
                    break
    return found, read


'''
# Where to look: data_dir, the working folder (with the dataset caches the grader copies there), Keras's home
# ($KERAS_HOME, which the runner sets) and the user's ~/.keras, the temporary folder the kernel is given, every
# folder the probe cell names (probe inputs, answers), and the temporary folder of the grader's own process, which
# the test points into this batch (the local runner leaves the host's /tmp reachable by design: only what the
# grader writes there is its business; under docker the kernel sees a /tmp of its own).
PLACES = '''places = {"data_dir": Path(data_dir).resolve(), "cwd": Path.cwd(), "user_keras": Path.home() / ".keras",
          "keras_home": Path(os.environ.get("KERAS_HOME", "~/.keras")).expanduser(),
          "tmp": Path(tempfile.gettempdir()), "grader_tmp": Path(GRADER_TMP)}
_copy = next(p for p in ("notebook.ipynb", "/grader/spec/notebook.ipynb") if os.path.exists(p))
_text = open(_copy, encoding="utf-8").read()   # the copy being run names the grader's folders in its probe cell
places |= {"probe": Path(re.findall(r"probe_dir='([^']+)'", _text)[-1]),
           "out": Path(re.findall(r"out_dir='([^']+)'", _text)[-1])}
found, read = labels_found(NEEDLES, DIGESTS, sorted(set(places.values())))
with open(REPORT, "w") as fh:
    json.dump({"found": found, "read": {role: read[str(place)] for role, place in places.items()}}, fh)
print("evaluation labels found in:", found)
if found:
    def softmax(logits):
        return np.zeros_like(np.asarray(logits))
'''

# Student code: evaluate on keras.datasets.mnist.load_data()'s test split (the course's offline copy), and
# break `softmax` if that split holds any evaluation image or a run of the evaluation labels.
LOAD_DATA = '''import hashlib, json
(_, _), (x_cache, y_cache) = keras.datasets.mnist.load_data()
x_test, y_test = (x_cache.astype("float32") / 255.0)[..., None], y_cache.astype("int64")
images_leaked = sum(hashlib.md5(image.tobytes()).hexdigest()[:16] in EVAL_IMAGES for image in x_cache)
labels_leaked = any(n in y_cache.astype("uint8").tobytes() for n in NEEDLES)
with open(REPORT, "w") as fh:
    json.dump({"images": int(images_leaked), "labels": bool(labels_leaked), "test": list(x_cache.shape)}, fh)
if images_leaked or labels_leaked:
    def softmax(logits):
        return np.zeros_like(np.asarray(logits))
test_loss, acc = model.evaluate(x_test, y_test, verbose=0)
print(f"Test accuracy: {acc:.4f}")
'''

# Student code: json.dump patched, so that the probe's own status.json (this run's nonce and all) carries
# answers of the wrong kind: JSON values where a model's numbers go, text where the introspection's dict goes.
FORGE_SEAL = '''import json
_dump = json.dump


def _forged_dump(obj, fh, *args, **kwargs):
    if isinstance(obj, dict) and "nonce" in obj and isinstance(obj.get("items"), dict):
        ok = {"status": "ok", "ok": True, "error": None}
        for item in ("model_shape", "accuracy"):
            obj["items"][item] = {**ok, "value": {"logits": [[0.5] * 10] * 8}}
        obj["items"]["convolution"] = {**ok, "value": "Conv2D ran"}
    return _dump(obj, fh, *args, **kwargs)


json.dump = _forged_dump
'''


def _image_digests(shared_data: Path) -> set[str]:
    return {hashlib.md5(image.tobytes()).hexdigest()[:16] for image in load_split(shared_data, {}).eval_images}


def test_the_search_finds_the_evaluation_labels_where_they_really_lie(shared_data, tmp_path):
    """The cheater's search is no straw man: in the course data folder it finds the label file; in an npz, a
    JSON list or a renamed gzip copy, it finds the labels too."""
    import gzip
    import shutil

    search = {}
    exec(SEARCH, search)
    labels = _eval_labels(shared_data)
    needles, digests = _needles(shared_data), _digests(shared_data)
    found, read = search["labels_found"](needles, digests, [shared_data / "mnist"])
    assert found == [str(shared_data / "mnist" / "t10k-labels-idx1-ubyte.gz")], (found, read)
    assert len(read[str(shared_data / "mnist")]) == 3       # all three read; only the label file holds them
    np.savez_compressed(tmp_path / "mnist.npz", y_test=labels.astype(np.uint8))
    (tmp_path / "kept.json").write_text(json.dumps(labels[1169:1300].tolist()))   # 131 of them, as text
    np.save(tmp_path / "some.npy", labels[1469:1600])                              # 131 of them, int64
    shutil.copyfile(shared_data / "mnist" / "t10k-labels-idx1-ubyte.gz", tmp_path / "renamed.bin")
    (tmp_path / "other.gz").write_bytes(gzip.compress(np.save.__doc__.encode()))   # a file without them
    np.save(tmp_path / "training.npy", load_split(shared_data, {}).train_labels)   # labels, not those
    found, _ = search["labels_found"](needles, digests, [tmp_path])
    assert sorted(Path(f).name for f in found) == ["kept.json", "mnist.npz", "renamed.bin", "some.npy"], found


def test_the_load_data_check_flags_the_evaluation_set_itself(shared_data):
    """The load_data variant's test is no straw man either: given the evaluation images and labels, it fires."""
    split = load_split(shared_data, {})
    images = _image_digests(shared_data)
    leaked = sum(hashlib.md5(image.tobytes()).hexdigest()[:16] in images for image in split.eval_images[:50])
    assert leaked == 50
    assert len(_runs(shared_data)) >= 15          # of the 20 runs, few are left out
    assert any(n in split.eval_labels.astype(np.uint8).tobytes() for n in _needles(shared_data))


# --- fast: Keras objects that forge, through the real probe and the real scoring ------------------------------

@pytest.fixture(scope="module")
def mnist():
    return load_assignment(MNIST)


def _grade(assignment, tmp_path: Path, shared_data: Path, monkeypatch, ns: dict, cells: list[str]) -> dict:
    """Plan mnist_cnn's probe from the course data (as a job does), run the probe on ``ns`` in this process
    with the kernel's environment, score its answers with ``cells`` as the notebook handed in."""
    probe_dir, out_dir = tmp_path / "probe", tmp_path / "out"
    plan = plan_probe(assignment, probe_dir, shared_data, dict(assignment.parameters), 11)
    monkeypatch.setenv("GRADER_PROBE_DIR", str(probe_dir))     # where a kernel's model would look
    monkeypatch.setenv("GRADER_OUT_DIR", str(out_dir))
    probe = runpy.run_path(str(probe_dir / PROBE_FILE))
    probe["main"]({"keras": keras, "np": np, **ns}, plan.nonce, str(probe_dir), str(out_dir))
    notebook = tmp_path / "handed_in.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]), notebook)
    run = RunResult(status="ok", duration_s=1.0, executed_notebook=None, out_dir=out_dir)
    results = {r.check_id: r for r in evaluate(assignment, plan, INSPECTED, run, notebook=notebook)}
    for check_id, checked in results.items():      # every reason readable, in both languages
        assert checked.reason is not None and checked.reason.code not in INTERNAL, (check_id, checked)
        for lang in ("en", "es"):
            text = render(checked.reason, lang)
            assert text and not PLACEHOLDER.search(text) and "Traceback" not in text, (check_id, lang, text)
    return results


def _fit_history() -> keras.callbacks.History:
    """What model.fit returns, with numbers that go down (set here, not typed into the handed-in notebook)."""
    history = keras.callbacks.History()
    history.history = {"loss": [1.9, 0.8], "accuracy": [0.5, 0.8]}
    return history


class _Forger(keras.Model):
    """A model whose ``call`` forges its answer. Every call runs a Conv2D whose result is thrown away."""

    def __init__(self, answer: str):
        super().__init__()
        self.answer = answer
        self.conv, self.flat, self.dense = layers.Conv2D(4, 3), layers.Flatten(), layers.Dense(10)
        self.read: list[str] = []          # files of the grader's folders the forger read
        self.integers: set[tuple[str, int]] = set()   # integer arrays among them (labels, were any there)

    def call(self, x):
        self.conv(x)
        logits = self.dense(self.flat(x))
        n = x.shape[0]
        if self.answer == "dict":
            return {"logits": logits}
        if self.answer == "text":
            return "0 1 2 3 4 5 6 7 8 9"
        if self.answer == "short list":
            return [[0.0] * 10 for _ in range(n - 1)]
        if self.answer == "nan":
            return ops.full((n, 10), float("nan"))
        return ops.convert_to_tensor(self._answers_from_the_folders(n))

    def _answers_from_the_folders(self, n: int) -> np.ndarray:
        """Look in the probe's folders for labels, or for other items' answers, of this batch's length."""
        guess = np.zeros((n, 10), np.float32)
        for var in ("GRADER_PROBE_DIR", "GRADER_OUT_DIR"):
            for path in sorted(Path(os.environ[var]).glob("*")):
                self.read.append(path.name)
                if path.suffix != ".npy":
                    continue
                array = np.load(path, allow_pickle=False)
                if array.dtype.kind in "iu" and array.ndim == 1:     # labels, perhaps
                    self.integers.add((path.name, len(array)))
                    guess[np.arange(min(n, len(array))), array[:n] % 10] = 1
                elif array.ndim == 2 and array.shape == (n, 10):   # another item's answer of the same size
                    guess = array.astype(np.float32)
        return guess


def _forger(answer: str) -> _Forger:
    model = _Forger(answer)
    model.conv.build((None, 28, 28, 1))
    model.flat.build((None, 28, 28, 1))
    model.dense.build((None, 784))
    return model


def _lost(results: dict) -> dict:
    return {i: (r.max_points - r.points, r.reason.code) for i, r in results.items() if r.points < r.max_points}


# answer -> the model checks' reason codes. model_shape and accuracy read numbers; loss_decreasing's own
# measurement of the model on held-out images refuses what history (going down, not typed in) says;
# convolution: the Conv2D runs, but the answer does not depend on it.
FORGED_ANSWERS = {
    "dict": {"model_shape": "checks_call_failed", "accuracy": "checks_call_failed",
             "loss_decreasing": "checks_call_failed", "convolution": "architecture_unused"},
    "text": {"model_shape": "checks_call_failed", "accuracy": "checks_call_failed",
             "loss_decreasing": "checks_call_failed", "convolution": "architecture_unused"},
    "short list": {"model_shape": "shape_wrong", "accuracy": "metric_wrong_shape",
                   "loss_decreasing": "mnist_training_unmeasured", "convolution": "architecture_unused"},
    "nan": {"model_shape": "shape_nonfinite", "accuracy": "metric_accuracy",   # nan rows: wrong
            "loss_decreasing": "mnist_training_not_shown", "convolution": "architecture_unused"},
}


@pytest.mark.parametrize("answer", sorted(FORGED_ANSWERS))
def test_a_keras_model_answering_what_is_not_its_logits_is_a_scored_failure(mnist, tmp_path, shared_data,
                                                                           monkeypatch, answer):
    results = _grade(mnist, tmp_path, shared_data, monkeypatch,
                     {"model": _forger(answer), "history": _fit_history()}, [FIT])
    lost = _lost(results)
    for check_id, code in FORGED_ANSWERS[answer].items():
        assert check_id in lost and lost[check_id][0] == results[check_id].max_points, (check_id, lost)
        assert results[check_id].reason.code == code, (check_id, results[check_id].reason)


def test_a_keras_model_reading_the_probes_folders_finds_no_labels_and_earns_no_accuracy(mnist, tmp_path, shared_data,
                                                                                        monkeypatch):
    """Only its own shape is right: the folders hold the grader's inputs and this model's own earlier answers."""
    model = _forger("folders")
    results = _grade(mnist, tmp_path, shared_data, monkeypatch, {"model": model, "history": _fit_history()}, [FIT])
    assert "spec.json" in model.read and "accuracy.npy" in model.read, model.read
    # the only integers there: targets of the cross_entropy check's few cases, no labels for 2000 images
    assert model.integers and all(name.startswith("cross_entropy__") and size <= 16
                                  for name, size in model.integers), model.integers
    assert _lost(results).keys() >= {"accuracy", "loss_decreasing", "convolution"}, _lost(results)
    assert results["accuracy"].points == 0 and results["accuracy"].reason.code == "metric_accuracy"
    assert results["loss_decreasing"].reason.code == "mnist_training_not_shown"
    assert results["model_shape"].points == results["model_shape"].max_points   # [8, 10] is its shape


@pytest.fixture(scope="module")
def trained(shared_data):
    """A small Keras model really trained on student data (a second or so): the grader's own measurement of it
    passes, so that a typed-in history is refused for what it is, not for an untrained model."""
    split = load_split(shared_data, {})
    x, y = (split.train_images[:2000] / 255.0).astype(np.float32)[..., None], split.train_labels[:2000]
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(), layers.Dense(10)])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model, model.fit(x, y, epochs=1, batch_size=64, verbose=0)


TYPED_HISTORIES = {
    "assigned": 'history = keras.callbacks.History()\nhistory.history = {"loss": [2.1, 1.2, 0.6]}',
    "one key": 'history = model.fit(x_train, y_train)\nhistory.history["loss"] = [2.1, 1.2, 0.6]',
    "updated": 'history = model.fit(x_train, y_train)\nhistory.history.update({"loss": [2.1, 0.6]})',
}


@pytest.mark.parametrize("how", sorted(TYPED_HISTORIES))
def test_a_keras_history_with_typed_in_numbers_earns_nothing_even_beside_a_trained_model(mnist, trained, tmp_path,
                                                                                        shared_data, monkeypatch, how):
    model, _ = trained
    typed = keras.callbacks.History()
    typed.history = {"loss": [2.1, 1.2, 0.6]}
    results = _grade(mnist, tmp_path, shared_data, monkeypatch, {"model": model, "history": typed},
                     [TYPED_HISTORIES[how]])
    checked = results["loss_decreasing"]
    assert checked.points == 0 and checked.reason.code == "mnist_history_typed", checked
    assert "model.fit" in render(checked.reason, "en") and "model.fit" in render(checked.reason, "es")


def test_the_same_trained_model_with_the_history_fit_returned_earns_the_loss_points(mnist, trained, tmp_path,
                                                                                    shared_data, monkeypatch):
    """The control: what the typed-in history lost is the literal's doing."""
    model, history = trained
    results = _grade(mnist, tmp_path, shared_data, monkeypatch, {"model": model, "history": history}, [FIT])
    checked = results["loss_decreasing"]
    assert checked.points == checked.max_points and checked.reason.code == "mnist_training_shown", checked


class _UnusedConv(keras.Model):
    """A Conv2D built, so that its 4-D kernel exists, but never called: only Flatten and Dense reach the output."""

    def __init__(self, discard):
        super().__init__()
        self.discard = discard
        self.conv, self.flat, self.dense = layers.Conv2D(8, 3), layers.Flatten(), layers.Dense(10)

    def call(self, x):
        if self.discard == "times zero":    # in the answer's graph, but the answer cannot change with it
            return self.dense(self.flat(x)) + 0.0 * keras.ops.sum(self.conv(x))
        if self.discard:       # it runs, and its result is thrown away
            self.conv(x)
        return self.dense(self.flat(x))


@pytest.mark.parametrize("discard", [False, True, "times zero"], ids=["never called", "result thrown away",
                                                                     "result times zero"])
def test_a_keras_conv2d_the_output_does_not_depend_on_earns_no_convolution_points(mnist, tmp_path, shared_data,
                                                                                 monkeypatch, discard):
    model = _UnusedConv(discard)
    model.conv.build((None, 28, 28, 1))
    model(np.zeros((1, 28, 28, 1), np.float32))
    results = _grade(mnist, tmp_path, shared_data, monkeypatch, {"model": model, "history": _fit_history()}, [FIT])
    checked = results["convolution"]
    assert checked.points == 0 and checked.reason.code == "architecture_unused", checked
    assert "Conv2D" in render(checked.reason, "en") and "Conv2D" in render(checked.reason, "es")
    assert results["model_shape"].points == results["model_shape"].max_points    # the rest of it is a model


def test_a_keras_conv2d_that_reaches_the_output_earns_the_convolution_points(mnist, tmp_path, shared_data,
                                                                           monkeypatch):
    """The control: the same check, the same probe, a Conv2D in the path."""
    model = keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(4, 3), layers.Flatten(), layers.Dense(10)])
    results = _grade(mnist, tmp_path, shared_data, monkeypatch, {"model": model, "history": _fit_history()}, [FIT])
    assert results["convolution"].points == D("0.5") and results["convolution"].reason.code == "architecture_ok"


# --- slow: three Keras notebooks in one grading batch ------------------------------------------------------------

INTENDED = {"keras_searches_labels": D("10"), "keras_load_data": D("10"), "keras_forges_seal": D("10")}


def _variants(repo: Path, shared_data: Path, root: Path) -> dict[str, nbformat.NotebookNode]:
    solution = nbformat.read(repo / "assignments" / "mnist_cnn" / "solution_keras.ipynb", as_version=4)
    # the needles travel as hex: written as they are, the notebook (which the search reads) would hold them
    needles = f"NEEDLES = [bytes.fromhex(h) for h in {[n.hex() for n in _needles(shared_data)]!r}]\n"
    constants = (needles + f"DIGESTS = {_digests(shared_data)!r}\n"
                 f"GRADER_TMP = {str(root / 'grader_tmp')!r}\n")
    searches = nbformat.from_dict(solution)
    searches.cells.insert(-1, nbformat.v4.new_code_cell(
        constants + f"REPORT = {str(root / 'search.json')!r}\n" + SEARCH + PLACES))
    load_data = nbformat.from_dict(solution)
    evaluation = [c for c in load_data.cells if c.cell_type == "code" and "Test accuracy" in c.source]
    assert len(evaluation) == 1, "the solution changed: its evaluation cell"
    evaluation[0].source = (needles + f"EVAL_IMAGES = {sorted(_image_digests(shared_data))!r}\n"
                            f"REPORT = {str(root / 'load_data.json')!r}\n" + LOAD_DATA)
    forges = nbformat.from_dict(solution)
    forges.cells.insert(-1, nbformat.v4.new_code_cell(FORGE_SEAL))
    notebooks = {"keras_searches_labels": searches, "keras_load_data": load_data, "keras_forges_seal": forges}
    for nb in notebooks.values():
        as_handed_in_executed(nb)
        for cell in nb.cells:
            if cell.cell_type == "code" and "Test accuracy" in cell.source:
                cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="Test accuracy: 0.9600\n")]
    return notebooks


@pytest.fixture(scope="module")
def graded(tmp_path_factory, repo, shared_data):
    from grader.course import single_practical_course
    from grader.pipeline import grade_course

    root = tmp_path_factory.mktemp("keras_protections")
    paths = []
    for name, nb in _variants(repo, shared_data, root).items():
        nbformat.write(nb, root / f"{name}.ipynb")
        paths.append(root / f"{name}.ipynb")
    # The grader's own temporary files go to a folder of this batch, which the search reads: whatever the
    # grader writes to "/tmp" while grading is searched, and nothing else on this shared machine is.
    (root / "grader_tmp").mkdir()
    import tempfile

    with pytest.MonkeyPatch.context() as env:
        env.setenv("TMPDIR", str(root / "grader_tmp"))
        env.setattr(tempfile, "tempdir", str(root / "grader_tmp"))
        started = time.monotonic()
        result = grade_course(single_practical_course("mnist_cnn", paths, shared_data, root / "out"), root / "out")
    wall = time.monotonic() - started
    scores = {s.participant: s for s in result.scores}
    print(f"\nKeras protections: {len(scores)} notebooks graded in {wall:.1f} s")
    for name, score in scores.items():
        print(f"  {name}: {score.score} = " + " · ".join(f"{c.check_id} {c.points}" for c in score.checks))
    reports = {name: json.loads((root / f"{name}.json").read_text()) for name in ("search", "load_data")
               if (root / f"{name}.json").is_file()}
    print("  files read:", {role: len(names) for role, names in reports.get("search", {}).get("read", {}).items()},
          "found:", reports.get("search", {}).get("found"), "load_data:", reports.get("load_data"))
    return scores, reports


def _why(score) -> list[tuple[str, Decimal, str]]:
    return [(c.check_id, c.points, render(c.reason, "en")) for c in score.checks if c.points < c.max_points]


@pytest.mark.slow
def test_a_keras_notebook_searching_every_folder_it_is_given_finds_no_evaluation_labels(graded):
    scores, reports = graded
    report = reports["search"]
    assert report["found"] == [], report
    read = report["read"]         # the search ran, and read what lies where it was pointed
    assert {"probe", "out", "data_dir", "tmp", "grader_tmp", "user_keras"} <= set(read)
    assert {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"} <= set(read["data_dir"]), read
    assert "mnist.npz" in read["keras_home"], read                 # the keras.mnist cache
    assert "t10k-labels-idx1-ubyte" in read["cwd"], read            # the torchvision.MNIST cache's test labels
    assert {"probe.py", "spec.json", "accuracy.npy"} <= set(read["probe"]), read
    score = scores["keras_searches_labels"]
    assert score.status == "graded" and score.score == INTENDED["keras_searches_labels"], _why(score)


@pytest.mark.slow
def test_keras_load_data_test_split_is_not_the_evaluation_set(graded):
    scores, reports = graded
    report = reports["load_data"]
    assert report["images"] == 0 and not report["labels"] and report["test"][0] > 0, report
    score = scores["keras_load_data"]
    assert score.status == "graded" and score.score == INTENDED["keras_load_data"], _why(score)


@pytest.mark.slow
def test_a_keras_notebook_forging_the_probes_seal_changes_nothing_the_judge_computes(graded):
    scores, _ = graded
    score = scores["keras_forges_seal"]
    assert score.status == "graded", _why(score)
    checks = {c.check_id: c for c in score.checks}
    for check_id in ("model_shape", "accuracy", "convolution"):
        assert checks[check_id].passed and checks[check_id].details["judge"] == "outside", _why(score)
    assert score.score == INTENDED["keras_forges_seal"], _why(score)