"""The probe adapts to a Keras 3 notebook (KERAS_BACKEND=torch): inference mode, channels last, numpy."""
from __future__ import annotations

import os
import runpy

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")
import keras  # noqa: E402  (a declared test dependency: missing, it fails, never skips)
import torch  # noqa: E402

from test_probe import _fn, _probe_folder  # noqa: E402

from grader.checks.plan import PROBE_FILE  # noqa: E402


def _cnn(with_conv: bool = True) -> keras.Model:
    keras.utils.set_random_seed(0)
    convolution = [keras.layers.Conv2D(4, 3, activation="relu")] if with_conv else []
    return keras.Sequential([keras.Input((6, 6, 1)), *convolution, keras.layers.Dropout(0.5),
                             keras.layers.Flatten(), keras.layers.Dense(3)])


class _Unused(keras.Model):
    """A Conv2D defined but never called: only Flatten and Dense reach the output."""

    def __init__(self):
        super().__init__()
        self.conv, self.flat, self.dense = keras.layers.Conv2D(2, 3), keras.layers.Flatten(), keras.layers.Dense(3)

    def call(self, x):
        return self.dense(self.flat(x))


def _run(tmp_path, items, arrays, ns):
    probe_dir, out_dir = _probe_folder(tmp_path, items, arrays)
    probe = runpy.run_path(str(probe_dir / PROBE_FILE))
    return probe["main"](ns, "n", str(probe_dir), str(out_dir)), out_dir


def test_a_keras_model_gets_channels_last_numpy_in_inference_mode_and_answers_numpy(tmp_path):
    images = np.random.default_rng(0).random((5, 1, 6, 6), dtype=np.float32)
    model = _cnn()
    item = {"item": "shape", "kind": "model", "name": "model", "inputs": ["images.npy"], "batch_size": 2,
            "keras_layout": "NHWC"}
    statuses, out = _run(tmp_path, [item], {"images": images}, {"keras": keras, "model": model})
    assert statuses["shape"]["ok"] and statuses["shape"]["shape"] == [5, 3], statuses
    expected = keras.ops.convert_to_numpy(model(np.moveaxis(images, 1, -1), training=False))
    answer = np.load(out / "shape.npy")
    assert np.allclose(answer, expected, atol=1e-6)
    assert np.allclose(answer, np.load(out / "shape.npy"))    # dropout was off: the same answer every time


def test_a_keras_model_declared_channels_first_keeps_the_contracts_layout(tmp_path):
    images = np.random.default_rng(1).random((2, 1, 6, 6), dtype=np.float32)
    model = keras.Sequential([keras.Input((1, 6, 6)), keras.layers.Flatten(), keras.layers.Dense(3)])
    item = {"item": "shape", "kind": "model", "name": "model", "inputs": ["images.npy"], "keras_layout": "NHWC"}
    statuses, _ = _run(tmp_path, [item], {"images": images}, {"keras": keras, "model": model})
    assert statuses["shape"]["ok"] and statuses["shape"]["shape"] == [2, 3], statuses


def test_functions_of_a_keras_notebook_get_numpy_and_of_a_torch_notebook_tensors(tmp_path):
    seen = []

    def kind(x):
        seen.append(type(x).__name__)
        return keras.ops.softmax(x)      # a torch tensor under the torch backend: converted all the same

    logits = np.zeros((2, 3), dtype=np.float32)
    for index, ns in enumerate(({"keras": keras, "softmax": kind}, {"torch": torch, "softmax": kind})):
        (tmp_path / str(index)).mkdir()
        statuses, out = _run(tmp_path / str(index), [_fn("soft", "softmax", "logits")], {"logits": logits}, ns)
        assert statuses["soft"]["ok"] and np.allclose(np.load(out / "soft.npy"), 1 / 3)
    assert seen == ["ndarray", "Tensor"]


def test_keras_fit_history_is_read_as_its_history_dict(tmp_path):
    model = _cnn()
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = np.random.default_rng(2).random((8, 6, 6, 1), dtype=np.float32), np.arange(8) % 3
    history = model.fit(x, y, epochs=2, verbose=0)
    item = {"item": "history", "kind": "value", "name": "history"}
    statuses, _ = _run(tmp_path, [item], {}, {"keras": keras, "history": history})
    assert len(statuses["history"]["value"]["loss"]) == 2, statuses


def test_keras_introspection_counts_only_the_layers_that_reach_the_output(tmp_path):
    images = np.random.default_rng(3).random((2, 1, 6, 6), dtype=np.float32)
    item = lambda name: {"item": name, "kind": "introspect", "name": name,  # noqa: E731
                         "args": [{"npy": "images.npy"}], "keras_layout": "NHWC"}
    unused = _Unused()
    unused(np.zeros((1, 6, 6, 1), dtype=np.float32))
    ns = {"keras": keras, "cnn": _cnn(), "dense": _cnn(with_conv=False), "unused": unused}
    statuses, _ = _run(tmp_path, [item("cnn"), item("dense"), item("unused")], {"images": images}, ns)
    cnn, dense, unused_found = (statuses[n]["value"] for n in ("cnn", "dense", "unused"))
    assert "Conv2D" in cnn["ran"] and [3, 3, 1, 4] in cnn["used_shapes"], cnn
    assert "Conv2D" not in dense["modules"] and "Conv2D" not in dense["ran"], dense
    assert "Conv2D" in unused_found["modules"] and unused_found["ran"] == ["Dense", "Flatten"], unused_found
    assert "call" not in vars(ns["cnn"].layers[0])      # the recording is undone


def test_a_keras_answer_given_channels_last_is_saved_in_the_contracts_channels_first_layout(tmp_path):
    picture = np.random.default_rng(4).random((5, 4, 3), dtype=np.float32)     # [H, W, C], as Keras returns it

    def preprocess(_):
        return picture

    item = {"item": "pre", "kind": "function", "name": "preprocess", "args": [{"json": 0}],
            "keras_output_layout": "HWC"}
    flat = {**item, "item": "flat"}    # another rank than the layout's: left for the check to judge
    keras_ns = {"keras": keras, "preprocess": preprocess}
    (tmp_path / "k").mkdir()
    statuses, out = _run(tmp_path / "k", [item], {}, keras_ns)
    assert statuses["pre"]["shape"] == [3, 5, 4]
    assert np.array_equal(np.load(out / "pre.npy"), picture.transpose(2, 0, 1))
    # a notebook that uses torch beside Keras (a torch.load, say) still follows the Keras edition
    (tmp_path / "kt").mkdir()
    statuses, _ = _run(tmp_path / "kt", [item], {}, {**keras_ns, "torch": torch})
    assert statuses["pre"]["shape"] == [3, 5, 4], statuses
    # a PyTorch notebook answers in the contract's layout already: nothing is moved
    (tmp_path / "t").mkdir()
    statuses, _ = _run(tmp_path / "t", [item], {}, {"torch": torch, "preprocess": preprocess})
    assert statuses["pre"]["shape"] == [5, 4, 3], statuses
    (tmp_path / "f").mkdir()
    statuses, _ = _run(tmp_path / "f", [flat], {}, {"keras": keras, "preprocess": lambda _: picture[0]})
    assert statuses["flat"]["shape"] == [4, 3], statuses
    # a Keras notebook answering channels first already (the PyTorch edition's layout) is judged as it came
    (tmp_path / "cf").mkdir()
    channels_first = np.random.default_rng(5).random((3, 6, 5), dtype=np.float32)
    statuses, out = _run(tmp_path / "cf", [item], {}, {"keras": keras, "preprocess": lambda _: channels_first})
    assert statuses["pre"]["shape"] == [3, 6, 5] and np.array_equal(np.load(out / "pre.npy"), channels_first)


def test_a_keras_character_model_gets_int_ids_as_they_are_and_in_the_students_numbering(tmp_path):
    """rnn_text's Keras edition: int64 ids [N, T] reach the Embedding unchanged (no layout, no float cast), in
    inference mode, and through the student's own numbering when her encode gives one."""
    keras.utils.set_random_seed(4)
    inputs = keras.Input(shape=(None,), dtype="int64")
    hidden = keras.layers.GRU(8, return_sequences=True)(keras.layers.Embedding(5, 4)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(5)(hidden))
    ids = np.random.default_rng(4).integers(0, 5, (3, 7), dtype=np.int64)
    reversed_order = "edcba"                        # her vocabulary order: contract id i is her id 4 - i
    items = [{"item": "shape", "kind": "model", "name": "model", "args": [{"npy": "ids.npy"}]},
             {"item": "numbering", "kind": "function", "name": "encode", "args": [{"json": "abcde"}]},
             {"item": "translated", "kind": "model", "name": "model", "args": [{"npy": "ids.npy"}],
              "translate": "numbering", "size": 5}]
    ns = {"keras": keras, "model": model, "encode": lambda s: [reversed_order.index(c) for c in s]}
    statuses, out = _run(tmp_path, items, {"ids": ids}, ns)
    assert statuses["shape"]["ok"] and statuses["shape"]["shape"] == [3, 7, 5], statuses
    assert np.allclose(np.load(out / "shape.npy"), keras.ops.convert_to_numpy(model(ids, training=False)), atol=1e-6)
    assert np.allclose(np.load(out / "translated.npy"),
                       keras.ops.convert_to_numpy(model(4 - ids, training=False)), atol=1e-6)
