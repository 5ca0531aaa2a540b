"""Evidence forged from inside the student's process earns nothing (issue #20), under the docker runner.

One MNIST batch of the course's solution bent the ways a clever student with the grader's source would bend it,
graded through the real pipeline in containers (the tests' tiny budget): every model is exported in its kernel
and judged in a fresh container of its own. And one rnn_text batch whose model reads the next input id.

Intended points, from assignments/mnist_cnn/assignment.toml before any run: the `convolution` check (0.5) is
what each MNIST forgery is after; every forgery below is an MLP and scores 0 there. The honest solution keeps
its 0.5 in the same batch. The read-ahead character model scores 0 of the 3 cross-entropy points.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import nbformat
import pytest

from conftest import as_handed_in_executed, moodle_entry, notebook_bytes, write_zip
from grader.course import load_course
from grader.i18n import render
from grader.pipeline import grade_course
from hostile_cases import OUT_DIR
from test_docker_runner import runtime_image  # noqa: F401  (the session fixture)

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
MODEL_CELL = "model = Net().to(device)"     # the solution's model cell ends so

MLP = '''
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        return self.classifier(x)


model = Net().to(device)
'''

ATTACKS = {
    # a parameter-free identity module *named* like the real layer
    "identity_named_conv2d": '''
class Conv2d(nn.Module):
    def forward(self, x):
        return x


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = Conv2d()
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        return self.classifier(self.conv(x))


model = Net().to(device)
''',
    # a real, frozen nn.Conv2d that runs in forward and whose output is thrown away
    "frozen_discarded_conv": '''
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3).requires_grad_(False)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        self.conv(x)
        return self.classifier(x)


model = Net().to(device)
''',
    # convolves only for a batch that looks like a probe's (few rows), an MLP for everything else
    "probe_batch_conv": '''
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.head = nn.Linear(4 * 26 * 26, 10)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        if x.shape[0] <= 8:
            return self.head(self.conv(x).flatten(1))
        return self.classifier(x)


model = Net().to(device)
''',
    # the same on the values: random probe pixels have mean 0.5, MNIST digits about 0.13
    "probe_values_conv": '''
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.head = nn.Linear(4 * 26 * 26, 10)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        if float(x.mean()) > 0.4:
            return self.head(self.conv(x).flatten(1))
        return self.classifier(x)


model = Net().to(device)
''',
}

# appended after the MLP's training: the probe, when it seals its status, writes what this says instead
WRAPPED_DUMP = '''
import json as _json
_real_dump = _json.dump
def _dump(obj, fh, *args, **kwargs):
    if isinstance(obj, dict) and "nonce" in obj and "items" in obj:
        for key in list(obj["items"]):
            if key.startswith("_export__"):
                obj["items"][key] = {"status": "error", "ok": False, "error": "forced", "shape": None, "dtype": None}
        obj["items"]["convolution"] = {"status": "ok", "ok": True, "error": None, "shape": None, "dtype": None,
                                       "value": {"modules": ["Net", "Conv2d"], "ran": ["Conv2d"],
                                                 "used_shapes": [[8, 1, 3, 3]]}}
    return _real_dump(obj, fh, *args, **kwargs)
_json.dump = _dump
'''

# a process that outlives the cell, waits for the probe's sealed status and rewrites it, removing the program
REWRITER = '''
import os, subprocess, sys, textwrap
_out = ''' + OUT_DIR + '''
subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
    import json, os, time
    out = {_out!r}
    status = os.path.join(out, "status.json")
    for _ in range(3000):
        if os.path.exists(status):
            break
        time.sleep(0.02)
    data = json.load(open(status))
    for key in list(data["items"]):
        if key.startswith("_export__"):
            data["items"][key] = {{"status": "error", "ok": False, "error": "forced"}}
    data["items"]["convolution"] = {{"status": "ok", "ok": True, "error": None,
                                     "value": {{"modules": ["Net", "Conv2d"], "ran": ["Conv2d"],
                                               "used_shapes": [[8, 1, 3, 3]]}}}}
    for name in os.listdir(out):
        if name.endswith(".npz"):
            os.remove(os.path.join(out, name))
    json.dump(data, open(status + ".tmp", "w"))
    os.replace(status + ".tmp", status)
""")], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
'''

BUDGET = '''
import sys
exec("train_size = 600")
setattr(sys.modules["__main__"], "epochs", 2)
'''


def _solution() -> nbformat.NotebookNode:
    return nbformat.read(REPO / "assignments" / "mnist_cnn" / "solution.ipynb", as_version=4)


def _with_model(source: str, after: str = "") -> nbformat.NotebookNode:
    nb = _solution()
    cell = next(c for c in nb.cells if c.cell_type == "code" and MODEL_CELL in c.source)
    cell.source = source.strip()
    if after:
        nb.cells.append(nbformat.v4.new_code_cell(after.strip()))
    return nb


def _with_budget_change() -> nbformat.NotebookNode:
    nb = _solution()
    index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(BUDGET.strip()))
    return nb


def _grade(root: Path, image: str, practical: str, notebooks: dict[str, nbformat.NotebookNode], data: Path,
           parameters: str) -> dict:
    entries = {moodle_entry(name.replace("_", " ").title(), str(100 + n), f"{practical}.ipynb"):
               notebook_bytes(as_handed_in_executed(nb)) for n, (name, nb) in enumerate(sorted(notebooks.items()))}
    write_zip(root / "hand-ins.zip", entries)
    (root / "course.toml").write_text(f"""
[course]
name = "attacks"
deadline = "2027-03-31T23:59:00"
timezone = "Europe/Madrid"
runner = "docker"
data_dir = "{data}"
lang = "en"
workers = 2
[docker]
image = "{image}"
memory = "3g"
[similarity]
enabled = false
[practicals.{practical}]
submissions = ["hand-ins.zip"]
timeout_s = 900
parameters = {{ {parameters} }}
""", encoding="utf-8")
    batch = grade_course(load_course(root / "course.toml"), root / "out")
    names = {str(100 + n): name for n, name in enumerate(sorted(notebooks))}
    return {names[s.participant]: s for s in batch.scores}


@pytest.fixture(scope="module")
def mnist(tmp_path_factory, runtime_image, shared_data):  # noqa: F811
    notebooks = {name: _with_model(source) for name, source in ATTACKS.items()}
    notebooks["wrapped_json_dump"] = _with_model(MLP, WRAPPED_DUMP)
    notebooks["detached_rewriter"] = _with_model(MLP, REWRITER)
    notebooks["budget_changed"] = _with_budget_change()
    notebooks["honest"] = _solution()
    return _grade(tmp_path_factory.mktemp("mnist_attacks"), runtime_image, "mnist_cnn", notebooks, shared_data,
                  'epochs = 1, train_size = 1500, device = "cpu"')


def _check(score, check_id):
    return next(c for c in score.checks if c.check_id == check_id)


def _why(score) -> list:
    return [(c.check_id, str(c.points), render(c.reason, "en")) for c in score.checks] + \
        [render(n, "en") for n in score.notes]


@pytest.mark.parametrize("name", sorted(ATTACKS) + ["wrapped_json_dump", "detached_rewriter"])
def test_a_forged_convolution_earns_nothing(mnist, name):
    score = mnist[name]
    assert _check(score, "convolution").points == Decimal("0"), _why(score)
    assert score.status in ("graded", "not_executed"), _why(score)


def test_the_honest_solution_keeps_its_convolution_in_the_same_batch(mnist):
    check = _check(mnist["honest"], "convolution")
    assert check.points == check.max_points and check.details["judge"] == "outside", _why(mnist["honest"])


def test_a_model_exported_and_judged_outside_is_said_so_and_a_failed_export_is_flagged(mnist):
    for name in ("identity_named_conv2d", "frozen_discarded_conv", "probe_batch_conv", "wrapped_json_dump"):
        accuracy = _check(mnist[name], "accuracy")
        assert accuracy.details.get("judge") == "outside", (name, _why(mnist[name]))
    values = mnist["probe_values_conv"]   # Python deciding on its input's values cannot be exported
    assert _check(values, "convolution").reason.code == "architecture_not_exported", _why(values)
    assert any(n.code == "judge_student_process" for n in values.notes), _why(values)


def test_a_changed_budget_is_named_on_the_page(mnist):
    score = mnist["budget_changed"]
    changed = {n.params["name"]: n for n in score.notes if n.code == "params_in_force"}
    assert set(changed) == {"epochs", "train_size"}, _why(score)
    assert "600" in render(changed["train_size"], "en") and "1500" in render(changed["train_size"], "es")


READ_AHEAD = '''
class ReadAhead(nn.Module):
    """Logits that put everything on the NEXT input id; and constant logits for any batch that looks like the
    old causality test (rows in pairs with equal first halves)."""

    def __init__(self, vocab_size):
        super().__init__()
        self.vocab_size = vocab_size
        self.scale = nn.Parameter(torch.tensor(20.0))

    def forward(self, ids):
        ahead = torch.roll(ids, -1, dims=1)
        logits = self.scale * nn.functional.one_hot(ahead, self.vocab_size).float()
        half, cut = ids.shape[0] // 2, ids.shape[1] // 2
        pairs = (ids[:half, :cut] == ids[half:2 * half, :cut]).all()
        return torch.where(pairs, torch.zeros_like(logits), logits)


model = ReadAhead(vocab_size).to(device)
'''


def test_a_model_that_reads_the_next_id_earns_no_cross_entropy(tmp_path, runtime_image, shared_data):  # noqa: F811
    nb = nbformat.read(REPO / "assignments" / "rnn_text" / "solution.ipynb", as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and "model = CharRNN(" in c.source)
    cell.source = READ_AHEAD.strip()
    scores = _grade(tmp_path, runtime_image, "rnn_text", {"reads_ahead": nb}, shared_data,
                    'steps = 30, hidden_size = 64, seq_len = 50, batch_size = 16, device = "cpu"')
    entropy = _check(scores["reads_ahead"], "cross_entropy")
    assert entropy.points == Decimal("0") and entropy.details.get("judge") == "outside", _why(scores["reads_ahead"])
    assert Decimal(entropy.details["cross_entropy_per_char"]) > Decimal("4.17")
