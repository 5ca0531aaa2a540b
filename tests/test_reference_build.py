"""`grader reference build`: the reference's metrics cached by data, spec and budget; relative thresholds."""
import sys
import textwrap
from decimal import Decimal

import pytest

from grader.i18n import render
from grader.assignment import load_assignment
from grader.cli import main
from grader.errors import ConfigError
from grader.references import build_practical, with_reference

TOY_REF = '''
from pathlib import Path

def build(data_dir, params):
    calls = Path(data_dir).parent / "calls.txt"
    calls.write_text(calls.read_text() + "x" if calls.exists() else "x")
    return {"accuracy": 0.8 if params.get("epochs", 1) == 1 else 0.9}

def build_without_accuracy(data_dir, params):
    return {"loss": 1.0}
'''

TOY = '''
[assignment]
id = "toy"
title = "Toy"
version = "1"
max_points = "5"
[parameters]
epochs = 1
[reference]
build = "toy_ref:build"
[[checks]]
id = "accuracy"
kind = "metric"
metric = "accuracy"
name = "model"
data = "toy_ref:build"
zero_at = "reference * 0.5"
full_at = "reference - 0.01"
points = "5"
'''


@pytest.fixture
def toy(tmp_path):
    (tmp_path / "toy_ref.py").write_text(TOY_REF)
    (tmp_path / "assignments" / "toy").mkdir(parents=True)
    (tmp_path / "assignments" / "toy" / "assignment.toml").write_text(textwrap.dedent(TOY))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "images.bin").write_bytes(b"12345")
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))
    sys.modules.pop("toy_ref", None)


def _calls(root):
    return len((root / "calls.txt").read_text())


def test_metrics_are_built_once_and_cached_by_data_and_budget(toy):
    kwargs = {"assignments_dir": toy / "assignments", "log": lambda line: None}
    assert build_practical("toy", toy / "data", toy / "out", **kwargs) == {"accuracy": Decimal("0.8000")}
    assert build_practical("toy", toy / "data", toy / "out", **kwargs) == {"accuracy": Decimal("0.8000")}
    assert _calls(toy) == 1 and len(list((toy / "out" / "reference").glob("toy-*.json"))) == 1
    (toy / "data" / "images.bin").write_bytes(b"123456")           # other data: built again
    build_practical("toy", toy / "data", toy / "out", **kwargs)
    assert _calls(toy) == 2
    assert build_practical("toy", toy / "data", toy / "out", parameters={"epochs": 3}, **kwargs)["accuracy"] == \
        Decimal("0.9000")                                             # another budget: its own entry
    build_practical("toy", toy / "data", toy / "out", rebuild=True, **kwargs)
    assert _calls(toy) == 4


def test_relative_thresholds_become_absolute_and_change_the_spec_hash(toy):
    assignment = load_assignment(toy / "assignments" / "toy")
    said = []
    resolved = with_reference(assignment, toy / "data", {"epochs": 1}, toy / "out", log=said.append)
    options = resolved.check("accuracy").options
    assert options["full_at"] == Decimal("0.7900") and options["zero_at"] == Decimal("0.4000")
    assert resolved.spec_hash != assignment.spec_hash
    assert any("building the reference metrics of toy" in render(line, "en") for line in said)
    assert any("calculando las métricas de referencia de toy" in render(line, "es") for line in said)
    assert with_reference(resolved, toy / "data", {}, toy / "out") is resolved     # nothing relative left


def test_a_reference_without_the_checks_metric_is_refused_by_name(toy):
    toml = toy / "assignments" / "toy" / "assignment.toml"
    toml.write_text(toml.read_text().replace('build = "toy_ref:build"', 'build = "toy_ref:build_without_accuracy"'))
    with pytest.raises(ConfigError, match="relative to the reference's 'accuracy'.*measured only loss"):
        with_reference(load_assignment(toy / "assignments" / "toy"), toy / "data", {}, toy / "out", log=print)


def test_a_reference_too_weak_for_its_thresholds_stops_the_batch_instead_of_flipping_them(toy):
    """zero_at "reference * 0.5" and full_at "reference + 0.5" are sane until the reference is weak enough for
    full_at to fall on the wrong side: then higher-is-better would pay for the worst figures. Refused, saying why."""
    toml = toy / "assignments" / "toy" / "assignment.toml"
    toml.write_text(toml.read_text().replace('zero_at = "reference * 0.5"', 'zero_at = "reference + 0.5"'))
    with pytest.raises(ConfigError, match=r"full_at \(0.7900\) must be above zero_at \(1.3000\).*it measured accuracy = 0.8000"):
        with_reference(load_assignment(toy / "assignments" / "toy"), toy / "data", {}, toy / "out", log=print)


def test_the_cli_builds_and_prints_the_metrics(toy, capsys):
    argv = ["reference", "build", "toy", "--data", str(toy / "data"), "--out", str(toy / "out"),
            "--assignments", str(toy / "assignments")]
    assert main(argv) == 0
    assert "toy: accuracy = 0.8000" in capsys.readouterr().out
    assert main(argv[:3] + ["--data", str(toy / "nowhere"), "--assignments", str(toy / "assignments")]) == 2


@pytest.mark.slow
def test_the_mnist_reference_trains_under_a_small_budget(shared_data):
    from reference.mnist_cnn import build_reference

    metrics = build_reference(shared_data, {"epochs": 1, "train_size": 400, "batch_size": 32, "device": "auto",
                                              "eval_fraction": 0.02})
    assert set(metrics) == {"accuracy"} and 0.3 < metrics["accuracy"] <= 1.0
