"""Students' usual download calls find the course's copy offline (grader/dataset_caches.py), made from the
student training data only; a download of anything else is named in the reason (execution/no_network.py).

No torchvision here (it does not import beside this torch): its layout is checked byte for byte against
what torchvision/datasets/mnist.py reads (quoted in grader/dataset_caches.py)."""
from __future__ import annotations

import hashlib
import socket
import struct
from pathlib import Path

import nbformat
import numpy as np
import pytest

from grader.assignment import load_assignment
from grader.dataset_caches import TORCHVISION_ROOTS, provide
from grader.errors import ConfigError
from grader.execution import RunRequest, get_runner
from grader.execution.no_network import no_network
from grader.i18n import render
from hostile_cases import OUT_DIR
from reference.mnist_cnn import load_split, student_data

REPO = Path(__file__).resolve().parents[1]
MNIST = REPO / "assignments" / "mnist_cnn"
CACHES = ("keras.mnist", "torchvision.MNIST")


@pytest.fixture(scope="module")
def student(shared_data, tmp_path_factory) -> Path:
    """The student data folder a batch makes from the real course data (training split only)."""
    folder = tmp_path_factory.mktemp("student") / "mnist"
    student_data(shared_data, folder, {})
    return folder


@pytest.fixture(scope="module")
def evaluation_images(shared_data) -> set[bytes]:
    return {image.tobytes() for image in load_split(shared_data, {}).eval_images}


def _student_arrays(student: Path) -> tuple[np.ndarray, np.ndarray]:
    from grader.idx import read_idx

    return read_idx(student / "train-images-idx3-ubyte.gz"), read_idx(student / "train-labels-idx1-ubyte.gz")


def _torchvision_read(path: Path, ndim: int) -> np.ndarray:
    """What torchvision's read_sn3_pascalvincent_tensor does on a little-endian machine: ``open(path, "rb")``,
    magic = int of the first 4 bytes, ``nd = magic % 256``, ``ty = magic // 256`` (8: uint8), one big-endian
    int per dimension, then the body (read_image_file wants uint8 with 3 dims, read_label_file 1 dim)."""
    data = path.read_bytes()
    magic = int.from_bytes(data[:4], "big")
    nd, ty = magic % 256, magic // 256
    assert (nd, ty) == (ndim, 8), (path, nd, ty)
    shape = struct.unpack(f">{nd}I", data[4:4 + 4 * nd])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * nd)
    assert body.size == int(np.prod(shape)), path       # strict: nothing after the body
    return body.reshape(shape)


# --- the caches as files --------------------------------------------------------------------------

def test_the_mnist_practical_provides_the_keras_and_torchvision_caches():
    assert load_assignment(MNIST).dataset_caches == CACHES


def test_an_unknown_cache_name_is_refused_naming_the_known_ones(tmp_path):
    text = (MNIST / "assignment.toml").read_text(encoding="utf-8").replace(
        'dataset_caches = ["keras.mnist", "torchvision.MNIST"]', 'dataset_caches = ["keras.cifar10"]')
    (tmp_path / "assignment.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"dataset_caches.*keras\.cifar10.*keras\.mnist, torchvision\.MNIST"):
        load_assignment(tmp_path)


def test_the_torchvision_layout_is_byte_correct_from_the_student_training_data(student, tmp_path,
                                                                                evaluation_images):
    assert provide(CACHES, student, tmp_path / "provided") == list(CACHES)
    images, labels = _student_arrays(student)
    cut = len(images) - round(len(images) / 7)           # the last 1/7 is the "test" split, as MNIST's 10k/70k
    for root in TORCHVISION_ROOTS:                      # root="data" / "./data", and root="." / "./"
        raw = tmp_path / "provided" / "cwd" / root / "MNIST" / "raw"
        assert sorted(p.name for p in raw.iterdir()) == ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
                                                         "train-images-idx3-ubyte", "train-labels-idx1-ubyte"]
        header = bytes([0, 0, 8, 3]) + struct.pack(">3I", cut, 28, 28)
        assert (raw / "train-images-idx3-ubyte").read_bytes() == header + images[:cut].tobytes()
        assert (raw / "train-labels-idx1-ubyte").read_bytes() == bytes([0, 0, 8, 1]) + struct.pack(">I", cut) + \
            labels[:cut].astype(np.uint8).tobytes()
        test_images = _torchvision_read(raw / "t10k-images-idx3-ubyte", 3)
        assert np.array_equal(test_images, images[cut:])
        assert np.array_equal(_torchvision_read(raw / "t10k-labels-idx1-ubyte", 1), labels[cut:])
        assert not {image.tobytes() for image in test_images} & evaluation_images


def test_the_keras_npz_holds_the_keys_load_data_reads_and_no_evaluation_image(student, tmp_path,
                                                                               evaluation_images, shared_data):
    provide(("keras.mnist",), student, tmp_path / "provided")
    images, labels = _student_arrays(student)
    with np.load(tmp_path / "provided" / "keras_home" / "datasets" / "mnist.npz", allow_pickle=False) as npz:
        assert sorted(npz.files) == ["x_test", "x_train", "y_test", "y_train"]
        x_train, y_train, x_test, y_test = (npz[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    assert x_train.dtype == x_test.dtype == y_train.dtype == np.uint8 and x_train.shape[1:] == (28, 28)
    assert np.array_equal(np.concatenate([x_train, x_test]), images)      # the student's images, nothing else
    assert np.array_equal(np.concatenate([y_train, y_test]), labels)
    assert not {image.tobytes() for image in x_test} & evaluation_images
    eval_labels = load_split(shared_data, {}).eval_labels
    assert len(y_test) != len(eval_labels) or not np.array_equal(y_test, eval_labels)


def test_a_cache_whose_student_files_are_missing_is_left_out(tmp_path):
    (tmp_path / "student").mkdir()
    assert provide(CACHES, tmp_path / "student", tmp_path / "provided") == []
    assert not (tmp_path / "provided").exists()


def test_keras_accepts_exactly_the_copies_the_grader_made(tmp_path):
    """The kernel's start-up hook: Keras's get_file compares the cached file's sha256 with the real
    MNIST's; the course's copy passes only unchanged, and any other file is judged by Keras as before."""
    import importlib.util
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    from keras.src.utils import file_utils
    hook_path = REPO / "grader" / "execution" / "standins" / "_grader_dataset_caches.py"
    spec = importlib.util.spec_from_file_location("_grader_dataset_caches_test", hook_path)
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    copy, other = tmp_path / "mnist.npz", tmp_path / "other.npz"
    copy.write_bytes(b"course copy")
    other.write_bytes(b"course copy")
    real_mnist = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
    original = file_utils.validate_file
    try:
        hook.install({str(copy): hashlib.sha256(b"course copy").hexdigest()})
        assert file_utils.validate_file(copy, real_mnist) is True
        assert file_utils.validate_file(other, real_mnist) is False           # same bytes, not our copy
        assert file_utils.validate_file(other, hashlib.sha256(b"course copy").hexdigest()) is True
        copy.write_bytes(b"changed by the notebook")
        assert file_utils.validate_file(copy, real_mnist) is False
    finally:
        file_utils.validate_file = original


# --- no network: the reason names what was downloaded ------------------------------------------------

@pytest.mark.parametrize("ename, evalue, traceback, target", [
    ("Exception", "URL fetch failure on https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
                  "cifar-10-python.tar.gz: None -- [Errno -3] Temporary failure in name resolution", "",
     "https://storage.googleapis.com/tensorflow/tf-keras-datasets/cifar-10-python.tar.gz"),
    ("RuntimeError", "Error downloading train-images-idx3-ubyte.gz", "", "train-images-idx3-ubyte.gz"),
    ("URLError", "<urlopen error [Errno -3] Temporary failure in name resolution>",
     "\x1b[0;32m----> 1\x1b[0m train = \x1b[43mtorchvision.datasets.CIFAR10\x1b[0m(root='data', download=True)",
     "torchvision.datasets.CIFAR10"),
    ("ConnectionError", "HTTPSConnectionPool(host='example.org', port=443): Max retries exceeded with url: /d.csv",
     "requests.get('https://example.org/d.csv')", "https://example.org/d.csv"),
])
def test_download_errors_name_their_target(ename, evalue, traceback, target):
    reason = no_network(ename, evalue, traceback, 3)
    assert reason is not None and reason.code == "run_no_network" and reason.params["target"] == target


def test_other_errors_are_not_taken_for_a_missing_network():
    assert no_network("ValueError", "could not broadcast shapes", "x = a + b", 2) is None
    assert no_network("RuntimeError", "Dataset not found. You can use download=True to download it", "", 2) is None


def _notebook(path: Path, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def _request(tmp: Path, student: Path | None, *cells: str, caches=CACHES) -> RunRequest:
    (tmp / "probe").mkdir(parents=True, exist_ok=True)
    return RunRequest(notebook=_notebook(tmp / "in" / "student.ipynb", *cells), work_dir=tmp / "work",
                      probe_dir=tmp / "probe", data_dir=student, parameters={}, extra_cells=(), timeout_s=240,
                      cell_timeout_s=200, dataset_caches=caches, expected_outputs=SAW)


# What the notebook saw, saved as .npy for the host to compare: Keras's four arrays and the torchvision
# files where the usual roots resolve (relative to the notebook's working folder).
LOAD_MNIST = """
import os, json
os.environ.setdefault("KERAS_BACKEND", "torch")
import numpy as np
import keras
(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
out = """ + OUT_DIR + """
for name, array in dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test).items():
    np.save(os.path.join(out, name + ".npy"), array)
roots = {root: sorted(os.listdir(os.path.join(root, "MNIST", "raw"))) for root in ("data", "./data", ".", "./")}
with open(os.path.join(out, "seen.json"), "w") as fh:
    json.dump({"roots": roots, "keras_home": os.environ.get("KERAS_HOME")}, fh)
"""


SAW = (("seen.json", 1 << 20), *((f"{name}.npy", 64 << 20) for name in ("x_train", "y_train", "x_test", "y_test")))


def assert_saw_the_student_data(out: Path, student: Path, evaluation_images: set[bytes]) -> None:
    import json

    images, labels = _student_arrays(student)
    x_train, y_train, x_test, y_test = (np.load(out / f"{k}.npy") for k in ("x_train", "y_train", "x_test", "y_test"))
    assert x_train.shape == (6857, 28, 28) and x_test.shape == (1143, 28, 28)      # 8,000 student images, 1/7 test
    assert y_train.shape == (6857,) and y_test.shape == (1143,)
    assert np.array_equal(np.concatenate([x_train, x_test]), images)
    assert np.array_equal(np.concatenate([y_train, y_test]), labels)
    assert not {image.tobytes() for image in x_test} & evaluation_images
    roots = json.loads((out / "seen.json").read_text())["roots"]
    assert all(files == ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "train-images-idx3-ubyte",
                         "train-labels-idx1-ubyte"] for files in roots.values()), roots


@pytest.mark.slow
def test_keras_load_data_gets_the_student_data_under_the_local_runner(tmp_path, student, evaluation_images):
    request = _request(tmp_path, student, LOAD_MNIST, "open('data/MNIST/raw/mine.txt', 'w').write('kept')")
    result = get_runner("local").run(request)
    assert result.status == "ok", (result.reason, result.log[-2000:])
    assert_saw_the_student_data(result.out_dir, student, evaluation_images)
    assert "Downloading data from" not in Path(result.executed_notebook).read_text()
    # the copies go with the run (tens of MB per submission otherwise), as everything the notebook wrote
    assert sorted(p.name for p in request.work_dir.iterdir()) == ["executed.ipynb", "out", "run.json", "runner.log"]
    assert result.leftovers == ()


def _closed_loopback_port() -> int:
    """A loopback port nobody listens on (bound, then released): a download there is refused at once,
    and no traffic leaves the machine."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
@pytest.mark.parametrize("cell, target", [
    ("import urllib.request\nurllib.request.urlopen('http://127.0.0.1:{port}/mnist.npz')",
     "http://127.0.0.1:{port}/mnist.npz"),
    ("import os\nos.environ.setdefault('KERAS_BACKEND', 'torch')\nimport keras\n"
     "keras.utils.get_file('cifar.tar.gz', origin='http://127.0.0.1:{port}/cifar-10-python.tar.gz')",
     "http://127.0.0.1:{port}/cifar-10-python.tar.gz"),
])
def test_a_download_under_the_local_runner_gets_the_no_network_reason(tmp_path, cell, target):
    port = _closed_loopback_port()
    result = get_runner("local").run(_request(tmp_path, None, "x = 1", cell.format(port=port), caches=()))
    assert result.status == "error" and result.reason.code == "run_no_network", result.reason
    target = target.format(port=port)
    assert render(result.reason, "en").startswith(
        f"The grading machine has no network: the notebook tried to download {target}, and cell #2")
    assert render(result.reason, "es").startswith(
        f"La máquina de corrección no tiene red: el cuaderno intentó descargar {target} y la celda n.º 2")

