"""assignment.toml: the real one loads; every instructor mistake names the key and the file."""
from decimal import Decimal
from pathlib import Path

import pytest

from grader.assignment import load_assignment, resolve
from grader.checks import get_check
from grader.errors import ConfigError

REPO = Path(__file__).parents[1]

GOOD = '''
[assignment]
id = "demo"
title = "Demo"
version = "1"
max_points = "3"
[parameters]
epochs = 1
[[checks]]
id = "executed"
kind = "notebook"
points = "1"
[[checks]]
id = "shape"
kind = "shape"
name = "model"
input_shape = [2, 3]
expect = [2, 10]
points = 2
'''


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "assignment.toml").write_text(text, encoding="utf-8")
    return tmp_path


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_assignment(_write(tmp_path, text))
    message = str(info.value)
    assert str(tmp_path / "assignment.toml") in message
    return message


def test_real_mnist_assignment_loads_and_its_references_resolve():
    assignment = load_assignment(REPO / "assignments" / "mnist_cnn")
    assert assignment.id == "mnist_cnn" and assignment.max_points == Decimal("10")
    assert sum(c.points for c in assignment.checks) == Decimal("10")
    assert [c.kind for c in assignment.checks] == ["notebook", "shape", "architecture", "function", "function",
                                                   "metric", "custom", "reported"]
    refs = [assignment.student_data] + [ref for c in assignment.checks for _, ref in get_check(c.kind).references(c)]
    assert len(refs) == 8 and all(callable(resolve(ref)) for ref in refs)
    assert assignment.check("accuracy").options["full_at"] == Decimal("0.9")


def test_points_and_thresholds_are_decimals_and_the_hash_follows_the_bytes(tmp_path):
    first = load_assignment(_write(tmp_path, GOOD))
    assert first.checks[1].points == Decimal("2") and isinstance(first.checks[0].points, Decimal)
    assert first.cell_timeout_s == 600 and first.parameters == {"epochs": 1} and first.student_data is None
    second = load_assignment(_write(tmp_path, GOOD + "\n# a comment\n"))
    assert first.spec_hash != second.spec_hash and len(first.spec_hash) == 64


def test_unknown_key_is_named_with_the_file(tmp_path):
    assert "assignment.maxpoints" in _error(tmp_path, GOOD.replace('max_points = "3"', 'max_points = "3"\nmaxpoints = 3'))
    message = _error(tmp_path, GOOD.replace('expect = [2, 10]', 'expect = [2, 10]\nexpected = [2, 10]'))
    assert "checks[1] (id 'shape').expected" in message and "allowed: expect" in message


def test_float_points_are_refused_naming_the_key(tmp_path):
    message = _error(tmp_path, GOOD.replace('points = "1"', "points = 1.0"))
    assert "checks[0]" in message and ".points" in message and "float" in message


def test_points_that_do_not_sum_to_max_points_are_refused(tmp_path):
    message = _error(tmp_path, GOOD.replace('max_points = "3"', 'max_points = "3.5"'))
    assert "add up to 3" in message and "3.5" in message


def test_unknown_kind_missing_option_and_bad_reference_are_named(tmp_path):
    assert "'shape'" in _error(tmp_path, GOOD.replace('kind = "shape"', 'kind = "shapes"'))
    assert "checks[1]" in _error(tmp_path, GOOD.replace('name = "model"\n', ""))
    assert "name" in _error(tmp_path, GOOD.replace('name = "model"\n', ""))
    bad_ref = GOOD.replace('version = "1"', 'version = "1"\nstudent_data = "reference.nowhere:student_data"')
    assert "assignment.student_data" in _error(tmp_path, bad_ref) and "nowhere" in _error(tmp_path, bad_ref)


def test_relative_thresholds_need_a_reference_build_hook(tmp_path):
    text = GOOD.replace('max_points = "3"', 'max_points = "4"') + '''
[[checks]]
id = "accuracy"
kind = "metric"
metric = "accuracy"
name = "model"
data = "reference.mnist_cnn:evaluation_data"
zero_at = "0.5"
full_at = "reference - 0.01"
points = "1"
'''
    assert "no [reference] build" in _error(tmp_path, text)
    assert "reference / 2" in _error(tmp_path, text.replace("reference - 0.01", "reference / 2"))
    hooked = load_assignment(_write(tmp_path, text + '[reference]\nbuild = "reference.mnist_cnn:build_reference"\n'))
    assert str(hooked.checks[2].options["full_at"]) == "reference - 0.01"
    assert hooked.reference_build == "reference.mnist_cnn:build_reference"


def test_broken_toml_and_missing_file_are_config_errors(tmp_path):
    assert "not valid TOML" in _error(tmp_path, GOOD + "\n[[checks]\n")
    with pytest.raises(ConfigError, match="cannot be read"):
        load_assignment(tmp_path / "nowhere")


def test_resolve_names_the_missing_module_or_attribute():
    assert callable(resolve("reference.functions:softmax"))
    with pytest.raises(ConfigError, match="no attribute 'nothing'"):
        resolve("reference.functions:nothing")
    with pytest.raises(ConfigError, match="cannot be imported"):
        resolve("reference.not_a_module:x")
    with pytest.raises(ConfigError, match="module:attribute"):
        resolve("reference.functions.softmax")
