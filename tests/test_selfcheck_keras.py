"""Students of the Keras edition check their notebook as PyTorch students do: `grader check`, `grader check
--run` and `grader.selfcheck()` give the same checks and messages, and name the edition."""
from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from check_titles import by_id
from conftest import as_handed_in_executed
from test_selfcheck import BROKEN_CELLS, _check, _executed_solution, _notebook, _small_course

from grader.selfcheck import selfcheck

KERAS_EDITION = "Edition: Keras (template_keras.ipynb)"
PYTORCH_EDITION = "Edition: PyTorch"

# The Keras twin of test_selfcheck.BROKEN_CELLS: a naive softmax, a stable cross-entropy, an untrained model
# without a convolution; its data from keras.datasets.mnist.load_data(), the course's copy offline.
BROKEN_KERAS_CELLS = [
    "import os\nos.environ.setdefault('KERAS_BACKEND', 'torch')\nimport keras\nfrom keras import ops",
    'data_dir = "data"\nepochs = 1\ntrain_size = 10\nbatch_size = 8\ndevice = "cpu"\nseed = 0',
    "(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()\nprint(x_train.shape, x_test.shape)",
    "def softmax(logits):\n    e = ops.exp(ops.convert_to_tensor(logits))\n    return e / ops.sum(e, axis=1, keepdims=True)",
    "def cross_entropy(logits, targets):\n"
    "    picked = ops.expand_dims(ops.cast(targets, 'int32'), 1)\n"
    "    return -ops.mean(ops.take_along_axis(ops.log_softmax(ops.convert_to_tensor(logits), axis=1), picked, axis=1))",
    "keras.utils.set_random_seed(0)\n"
    "model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])",
]


def _executed_keras_solution(repo: Path, dest: Path) -> Path:
    """The Keras solution as handed in after Run All, with the accuracy it printed."""
    nb = as_handed_in_executed(nbformat.read(repo / "assignments" / "mnist_cnn" / "solution_keras.ipynb",
                                             as_version=4))
    for cell in nb.cells:
        if cell.cell_type == "code" and "Test accuracy" in cell.source:
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="Test accuracy: 0.9300\n")]
    nbformat.write(nb, dest)
    return dest


def _rows(out: str) -> dict[str, list[str]]:
    """The CLI table's rows by check id (the table names them by title): [points, status, reason] (a wrapped
    reason joined again)."""
    rows, last = {}, None
    for line in out.splitlines():
        if line.count("│") < 4:
            continue
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if cells[0]:
            last = cells[0]
            rows[last] = cells[1:]
        elif last is not None:
            rows[last] = [a + (" " if a and b else "") + b for a, b in zip(rows[last], cells[1:])]
    return by_id(rows)


def test_check_names_the_edition_of_each_solution(tmp_path, capsys, repo):
    code, out = _check(capsys, _executed_keras_solution(repo, tmp_path / "keras.ipynb"), "--lang", "en")
    assert code == 0 and KERAS_EDITION in out and "`model` NHWC" in out, out
    code, out = _check(capsys, _executed_solution(repo, tmp_path / "torch.ipynb"), "--lang", "en")
    assert code == 0 and PYTORCH_EDITION in out and "Keras" not in out, out
    code, out = _check(capsys, tmp_path / "keras.ipynb", "--lang", "es")
    assert "Edición: Keras (template_keras.ipynb)" in out


def test_check_of_a_keras_character_model_does_not_speak_of_channels(capsys, repo):
    # rnn_text's Keras model takes the contract's ids as they are: no layout to name
    code, out = _check(capsys, repo / "assignments" / "rnn_text" / "solution_keras.ipynb", "--lang", "en")
    assert "Edition: Keras (template_keras.ipynb)" in out and "shaped as the contract says" in out, out
    assert "channels" not in out and "(-)" not in out, out


@pytest.mark.slow
def test_check_run_on_the_keras_solution_passes_every_public_check(tmp_path, capsys, repo, shared_data):
    path = _executed_keras_solution(repo, tmp_path / "solution_keras.ipynb")
    code, out = _check(capsys, path, "--run", "--course", _small_course(tmp_path, shared_data), "--lang", "en")
    assert code == 0, out
    assert "Every public check judged here passes" in out and KERAS_EDITION in out
    assert "held-out images" in out                       # the accuracy was judged on the given data


@pytest.mark.slow
def test_check_run_of_a_broken_keras_notebook_reads_like_its_pytorch_twin(tmp_path, capsys, shared_data):
    course = _small_course(tmp_path, shared_data)
    nbformat.write(_notebook(BROKEN_KERAS_CELLS), tmp_path / "keras.ipynb")
    nbformat.write(_notebook(BROKEN_CELLS), tmp_path / "torch.ipynb")
    keras_code, keras_out = _check(capsys, tmp_path / "keras.ipynb", "--run", "--course", course, "--lang", "en")
    torch_code, torch_out = _check(capsys, tmp_path / "torch.ipynb", "--run", "--course", course, "--lang", "en")
    assert keras_code == torch_code == 1, keras_out
    assert KERAS_EDITION in keras_out and PYTORCH_EDITION in torch_out
    assert "no network" not in keras_out and "raised" not in keras_out   # load_data found the course's copy
    keras_rows, torch_rows = _rows(keras_out), _rows(torch_out)
    assert keras_rows.keys() == torch_rows.keys()
    assert {k: v[1] for k, v in keras_rows.items()} == {k: v[1] for k, v in torch_rows.items()}   # every status
    for same in ("softmax", "cross_entropy", "model_shape", "loss_decreasing"):  # word for word
        assert keras_rows[same] == torch_rows[same], same
    layers = "its layers are:"                            # the same words, then each framework's layer names
    assert keras_rows["convolution"][2].split(layers)[0] == torch_rows["convolution"][2].split(layers)[0]
    assert "partly" in keras_rows["softmax"][1] and "Fix first: Accuracy on held-out images" in keras_out


def test_selfcheck_of_keras_objects_reads_like_the_pytorch_ones(capsys):
    """grader.selfcheck() on a kernel's objects (in-process): the Keras ones and their PyTorch twins."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras
    import torch
    from keras import ops
    from torch import nn

    keras.utils.set_random_seed(0)
    keras_namespace = {
        "keras": keras,
        "softmax": lambda x: ops.exp(x) / ops.sum(ops.exp(x), axis=1, keepdims=True),
        "cross_entropy": lambda x, t: -ops.mean(ops.take_along_axis(
            ops.log_softmax(ops.convert_to_tensor(x), axis=1), ops.expand_dims(ops.cast(t, "int32"), 1), axis=1)),
        "model": keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(2, 3), keras.layers.Flatten(),
                                   keras.layers.Dense(10)])}
    torch_namespace = {
        "torch": torch,
        "softmax": lambda x: torch.exp(x) / torch.exp(x).sum(dim=1, keepdim=True),
        "cross_entropy": lambda x, t: -torch.log_softmax(x, dim=1).gather(1, t.long()[:, None]).mean(),
        "model": nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2 * 26 * 26, 10))}
    outs = {}
    for name, namespace in (("keras", keras_namespace), ("torch", torch_namespace)):
        selfcheck(lang="en", namespace=namespace)
        outs[name] = capsys.readouterr().out
    assert KERAS_EDITION in outs["keras"] and PYTORCH_EDITION in outs["torch"]

    def rows(out):   # the first column (the check's title, up to two spaces) -> the line, by check id
        return by_id({re.split(r"\s{2,}", line)[0]: line for line in out.splitlines()
                      if line.split()[:1] and line[0] != " "})

    keras_rows, torch_rows = rows(outs["keras"]), rows(outs["torch"])
    for check in ("model_shape", "softmax", "cross_entropy", "accuracy"):
        assert keras_rows[check] == torch_rows[check], check
    assert keras_rows["convolution"].replace("Conv2D", "Conv2d") == torch_rows["convolution"]   # the layer's name
    assert "partly" in keras_rows["softmax"] and "passes" in keras_rows["convolution"]


def test_a_keras_cross_entropy_by_the_op_or_the_backend_function_under_it_fails_and_says_why(capsys):
    """The statement forbids keras.ops.sparse_categorical_crossentropy: the torch backend's function it calls, reached
    by its own path, earns nothing either (on probabilities it never reaches PyTorch's loss)."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras
    from keras import ops
    from keras.src.backend.torch import nn as backend_nn

    for loss in (ops.sparse_categorical_crossentropy, backend_nn.sparse_categorical_crossentropy):
        selfcheck(lang="en", namespace={
            "keras": keras, "softmax": lambda x: ops.softmax(x, axis=1),
            "cross_entropy": lambda x, t, loss=loss: ops.mean(loss(ops.cast(t, "int32"), ops.softmax(x, axis=1)))})
        out = capsys.readouterr().out
        row = next(line for line in out.splitlines() if "`cross_entropy`" in line.split("  ")[0])
        assert "0/1.5" in row and "forbids" in out, out


@pytest.mark.slow
def test_selfcheck_in_a_live_keras_kernel_names_the_edition(tmp_path):
    nb = _notebook(BROKEN_KERAS_CELLS[:2] + BROKEN_KERAS_CELLS[3:] + ["import grader\ngrader.selfcheck(lang='en')"],
                   executed=False)
    NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    shown = [o for o in nb.cells[-1].outputs if o.output_type == "display_data"]
    assert len(shown) == 1, nb.cells[-1].outputs
    page = shown[0].data["text/html"]
    assert "Self-check of MNIST digits with a CNN (kernel)" in page and KERAS_EDITION in page
    assert "partly" in page and "Output shape of <code>model</code>" in page   # the naive softmax, judged on the kernel's
    assert "model_shape" not in page                                # objects; each check by its title
