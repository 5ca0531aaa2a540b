"""The MNIST practical's reference side: stable functions, IDX files, data splits, the reference CNN,
and the contract shared by the template and the solution notebook."""
from __future__ import annotations

import gzip
from pathlib import Path

import nbformat
import numpy as np
import papermill
import pytest
import torch

from reference.functions import cross_entropy, softmax
from reference.idx import read_idx, write_idx
from reference.mnist_cnn import (
    IMAGES, LABELS, STUDENT_IMAGES, STUDENT_LABELS, ReferenceCNN, cross_entropy_cases, evaluation_data,
    load_split, softmax_cases, student_data, train_reference,
)

ASSIGNMENT = Path(__file__).resolve().parents[1] / "assignments" / "mnist_cnn"
PARAMETER_NAMES = ["data_dir", "epochs", "train_size", "batch_size", "device", "seed"]


def test_softmax_matches_torch_and_stays_finite_on_large_logits():
    for (logits,) in softmax_cases(np.random.default_rng(1)):
        expected = torch.softmax(torch.from_numpy(logits).double(), dim=1).numpy()
        got = softmax(logits)
        assert got.dtype == np.float64
        assert np.all(np.isfinite(got))
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(got.sum(axis=1), 1.0)


def test_cross_entropy_matches_torch_including_large_logits():
    cases = cross_entropy_cases(np.random.default_rng(2))
    assert len(cases) >= 6
    for logits, targets in cases:
        assert logits.dtype == np.float32 and targets.dtype == np.int64
        expected = torch.nn.functional.cross_entropy(torch.from_numpy(logits).double(),
                                                      torch.from_numpy(targets)).item()
        got = cross_entropy(logits, targets)
        assert got.shape == () and np.isfinite(got)
        assert got == pytest.approx(expected, rel=1e-10, abs=1e-10)
    assert max(float(cross_entropy(l, t)) for l, t in cases) > 1000   # the confident-wrong case


def test_probe_cases_break_a_softmax_without_the_max_shift():
    def naive(logits):
        exps = np.exp(logits)   # float32, as a student's torch code would compute it
        return exps / exps.sum(axis=1, keepdims=True)

    with np.errstate(over="ignore", invalid="ignore"):
        broken = [not np.all(np.isfinite(naive(l))) for (l,) in softmax_cases(np.random.default_rng(3))]
    assert any(broken) and not all(broken)


def test_reference_functions_accept_tensors():
    logits = torch.tensor([[1.0, 2.0, 3.0], [1000.0, -1000.0, 0.0]])
    np.testing.assert_allclose(softmax(logits), torch.softmax(logits.double(), dim=1).numpy())
    assert float(cross_entropy(logits, torch.tensor([2, 0]))) == pytest.approx(
        torch.nn.functional.cross_entropy(logits.double(), torch.tensor([2, 0])).item())


def test_cross_entropy_rejects_targets_outside_the_classes():
    with pytest.raises(ValueError, match="targets"):
        cross_entropy(np.zeros((2, 3)), np.array([0, 3]))


@pytest.mark.parametrize("name", ["a-idx3-ubyte.gz", "a-idx3-ubyte"])
def test_idx_round_trip_gzipped_and_raw(tmp_path, name):
    images = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    labels = np.arange(5, dtype=np.uint8)
    write_idx(tmp_path / name, images)
    write_idx(tmp_path / ("l" + name), labels)
    assert np.array_equal(read_idx(tmp_path / name), images)
    assert np.array_equal(read_idx(tmp_path / ("l" + name)), labels)
    assert (tmp_path / name).read_bytes()[:2] == (b"\x1f\x8b" if name.endswith(".gz") else b"\x00\x00")


def test_idx_header_is_the_canonical_mnist_one(tmp_path):
    write_idx(tmp_path / "x.gz", np.zeros((3, 28, 28), dtype=np.uint8))
    raw = gzip.decompress((tmp_path / "x.gz").read_bytes())
    assert raw[:16] == bytes.fromhex("00000803" "00000003" "0000001c" "0000001c")
    assert len(raw) == 16 + 3 * 28 * 28


def test_write_idx_gives_the_same_bytes_every_time(tmp_path):
    array = np.arange(100, dtype=np.uint8).reshape(10, 10)
    write_idx(tmp_path / "a.gz", array)
    write_idx(tmp_path / "b.gz", array)
    assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()


def test_truncated_idx_file_is_refused_with_its_name(tmp_path):
    write_idx(tmp_path / "bad", np.zeros((4, 28, 28), dtype=np.uint8))
    (tmp_path / "bad").write_bytes((tmp_path / "bad").read_bytes()[:-10])
    with pytest.raises(ValueError, match="bad"):
        read_idx(tmp_path / "bad")


def _fake_mnist(folder: Path, n: int, gz: bool = True) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(n)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n).astype(np.uint8)
    suffix = "" if gz else ".gz"
    write_idx(folder / "mnist" / IMAGES.removesuffix(suffix), images)
    write_idx(folder / "mnist" / LABELS.removesuffix(suffix), labels)
    return images, labels


def test_uncompressed_files_and_eval_fraction_are_understood(tmp_path):
    images, labels = _fake_mnist(tmp_path, 50, gz=False)
    split = load_split(tmp_path, {"eval_fraction": 0.1})
    assert len(split.train_images) == 45 and len(split.eval_images) == 5
    assert np.array_equal(split.eval_images, images[45:])
    assert split.train_labels.dtype == np.int64 and np.array_equal(split.eval_labels, labels[45:])


def test_missing_mnist_files_name_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="mnist"):
        load_split(tmp_path, {})


def test_real_mnist_split_holds_out_the_last_fifth(shared_data):
    split = load_split(shared_data, {})
    assert split.train_images.shape == (8000, 28, 28) and split.train_images.dtype == np.uint8
    assert split.eval_images.shape == (2000, 28, 28)
    assert split.train_labels.dtype == np.int64 and len(split.eval_labels) == 2000
    everything = read_idx(shared_data / "mnist" / IMAGES)
    assert np.array_equal(split.eval_images, everything[8000:])


@pytest.mark.slow
def test_student_data_writes_only_the_training_split(shared_data, tmp_path):
    student_data(shared_data, tmp_path, {})
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([STUDENT_IMAGES, STUDENT_LABELS])
    split = load_split(shared_data, {})
    given = read_idx(tmp_path / STUDENT_IMAGES)
    assert np.array_equal(given, split.train_images)
    assert np.array_equal(read_idx(tmp_path / STUDENT_LABELS), split.train_labels)
    # No held-out image is among the student's: compare each image's bytes.
    seen = {image.tobytes() for image in given}
    assert not any(image.tobytes() in seen for image in split.eval_images)


def test_evaluation_data_is_model_ready(shared_data):
    images, labels = evaluation_data(shared_data, {})
    assert images.shape == (2000, 1, 28, 28) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0 and images.max() > 0.99
    assert labels.dtype == np.int64 and set(np.unique(labels)) == set(range(10))


def test_reference_cnn_maps_images_to_ten_logits():
    out = ReferenceCNN()(torch.rand(3, 1, 28, 28))
    assert out.shape == (3, 10)


@pytest.mark.slow
def test_reference_cnn_trains_to_090_on_real_mnist_under_the_small_budget(shared_data):
    split = load_split(shared_data, {})
    # Half the students' images keeps the test quick; 1 epoch on 8,000 gives ~0.97.
    model, metrics = train_reference(split, {"epochs": 1, "train_size": 4000, "batch_size": 64, "seed": 0})
    assert metrics["accuracy"] >= 0.9
    assert isinstance(model, torch.nn.Module)


def _cells(nb) -> dict[str, nbformat.NotebookNode]:
    return {cell.get("id"): cell for cell in nb.cells}


@pytest.mark.parametrize("name", ["template.ipynb", "solution.ipynb"])
def test_notebooks_carry_the_grading_contract(name):
    nb = nbformat.read(ASSIGNMENT / name, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["grader"] == {"practical": "mnist_cnn"}
    assert nb.metadata["kernelspec"]["name"] == "python3"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    assigned = [line.split("=")[0].strip() for line in tagged[0].source.splitlines()
                if "=" in line and not line.startswith("#")]
    assert assigned == PARAMETER_NAMES
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is None and not c.outputs for c in code)
    assert "torchvision" not in "".join(c.source for c in code)
    contract = nb.cells[0].source
    assert "**Español.**" in contract and "**English.**" in contract and "Test accuracy: {acc:.4f}" in contract


def test_template_leaves_the_graded_parts_to_the_student():
    template = _cells(nbformat.read(ASSIGNMENT / "template.ipynb", as_version=4))
    solution = _cells(nbformat.read(ASSIGNMENT / "solution.ipynb", as_version=4))
    assert list(template) == list(solution)
    for cell_id in ("softmax", "cross-entropy", "model", "train", "plot", "test"):
        assert "raise NotImplementedError" in template[cell_id].source
        assert "NotImplementedError" not in solution[cell_id].source
    assert "functional.cross_entropy" not in solution["cross-entropy"].source


@pytest.mark.slow
def test_solution_reaches_093_on_the_held_out_mnist_images(shared_data, tmp_path):
    student_data(shared_data, tmp_path / "data", {})
    eval_images, eval_labels = evaluation_data(shared_data, {})
    np.save(tmp_path / "eval.npy", eval_images)
    nb = nbformat.read(ASSIGNMENT / "solution.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(
        "import numpy as np, torch\nmodel.eval()\n"
        "with torch.no_grad():\n"
        "    _x = torch.from_numpy(np.load('eval.npy')).to(device)\n"
        "    np.save('pred.npy', model(_x).argmax(1).cpu().numpy())\n"
        "print(history)"))
    nbformat.write(nb, tmp_path / "in.ipynb")
    papermill.execute_notebook(str(tmp_path / "in.ipynb"), str(tmp_path / "out.ipynb"), kernel_name="python3",
                               parameters={"data_dir": "data", "epochs": 1, "train_size": 8000},
                               progress_bar=False, cwd=str(tmp_path))
    accuracy = float(np.mean(np.load(tmp_path / "pred.npy") == eval_labels))
    assert accuracy >= 0.93
    executed = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs)
    assert "Test accuracy: 0.9" in printed and "{'loss': [" in printed
