"""Probe answers of the wrong kind (forged with this run's nonce, which a notebook can read) are each
check's scored failure with a reason a student can read: never an exception, never an internal error.

The fast tests plant status.json and .npy files by hand for every check kind; the slow ones let a real
notebook forge them (it patches json.dump, which the probe uses to write its seal) and grade the job.
"""
from __future__ import annotations

import json
import re
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from grader.assignment import load_assignment
from grader.checks.evaluate import evaluate
from grader.checks.plan import plan_probe
from grader.i18n import render
from grader.records import InspectionReport, RunResult

REFERENCE = '''
import numpy as np

VOCABULARY = "abcdefghijklmnopqrstuvwxyz "

def vocabulary(data_dir, params):
    return VOCABULARY

def text(data_dir, params):
    return "the quick brown fox jumps over the lazy dog " * 40

def square(x):
    return np.asarray(x, dtype=np.float64) ** 2

def cases(rng):
    return [(rng.normal(size=3),) for _ in range(2)]

def data(data_dir, params):
    return np.zeros((20, 1, 4, 4), np.float32), np.arange(20) % 10
'''

# every kind that reads the probe's answers; "custom" hands them to the instructor's code, which is
# guarded apart (custom_failed)
ASSIGNMENT = '''
[assignment]
id = "forgery"
title = "Every probe check kind"
version = "1"
max_points = "9"
[[checks]]
id = "shape"
kind = "shape"
name = "model"
input_shape = [2, 1, 4, 4]
expect = [2, 10]
points = "1"
[[checks]]
id = "sequence"
kind = "sequence_shape"
name = "lm"
input_shape = [2, 5]
vocabulary = "forgery_ref:vocabulary"
points = "1"
[[checks]]
id = "accuracy"
kind = "metric"
metric = "accuracy"
name = "model"
data = "forgery_ref:data"
zero_at = "0.1"
full_at = "0.9"
points = "1"
[[checks]]
id = "architecture"
kind = "architecture"
name = "model"
require_any = ["Conv2d"]
or_parameter_ndim = 4
points = "1"
[[checks]]
id = "square"
kind = "function"
name = "square"
reference = "forgery_ref:square"
cases = "forgery_ref:cases"
points = "1"
[[checks]]
id = "roundtrip"
kind = "roundtrip"
vocabulary = "forgery_ref:vocabulary"
text = "forgery_ref:text"
passages = 2
length = 20
points = "1"
[[checks]]
id = "sample"
kind = "distribution"
name = "sample"
temperatures = ["1"]
draws = 100
points = "1"
[[checks]]
id = "generate"
kind = "generation"
test = "format"
vocabulary = "forgery_ref:vocabulary"
text = "forgery_ref:text"
length = 10
prompts = 1
points = "1"
[[checks]]
id = "temperature"
kind = "generation"
test = "temperature"
vocabulary = "forgery_ref:vocabulary"
text = "forgery_ref:text"
temperatures = ["0.5"]
draws = 100
points = "1"
'''

INSPECTED = InspectionReport(readable=True, nbformat=4, code_cells=1, executed_cells=1, executed=True,
                             in_order=True, error_cells=(), has_plot=False, colab=False,
                             has_parameters_cell=True, practical_hint=None)
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")     # a parameter the reason lacks
# checks that a forged answer of any kind leaves at 0 (numbers where they read text, text where numbers)
NUMBERS_ONLY = ("shape", "sequence", "accuracy", "temperature")


def _ok(**extra):
    return {"status": "ok", "ok": True, "error": None, "shape": None, "dtype": None, **extra}


# name -> (status entry for every item, array saved as the item's .npy or None)
FORGERIES = {
    "json object": (_ok(value={"logits": [[1.0, 2.0]]}), None),
    "json list": (_ok(value=[[0.0] * 10] * 2), None),
    "json string": (_ok(value="ok"), None),
    "json null": (_ok(value=None), None),
    "json number": (_ok(value=3.5), None),
    "json nan": (_ok(value=float("nan")), None),
    "json true": (_ok(value=True), None),
    "error that is not text": ({"status": "error", "ok": False, "error": {"nested": [1, 2]}}, None),
    "ok without a file": (_ok(), None),
    "bool array": (_ok(), np.ones((20, 10), dtype=bool)),   # the metric's shape
    "nan array": (_ok(), np.full((2, 10), np.nan)),
    "inf array": (_ok(), np.full((20,), np.inf)),
    "0-d array": (_ok(), np.array(1.0)),
    "empty array": (_ok(), np.zeros((0,))),
    "huge unsigned": (_ok(), np.full((3, 4), np.iinfo(np.uint64).max, dtype=np.uint64)),
    "text array": (_ok(), np.array(["a", "b"])),
    "complex array": (_ok(), np.ones(3, dtype=complex)),
    "object array": (_ok(), np.array([{"evil": 1}], dtype=object)),
}


@pytest.fixture(scope="module")
def assignment(tmp_path_factory):
    folder = tmp_path_factory.mktemp("forgery_assignment")
    (folder / "forgery_ref.py").write_text(REFERENCE)
    (folder / "assignment.toml").write_text(ASSIGNMENT)
    sys.path.insert(0, str(folder))
    yield load_assignment(folder)
    sys.path.remove(str(folder))


def _forge(tmp_path: Path, nonce: str, items: list[str], entry: dict, array) -> RunResult:
    out = tmp_path / "out"
    out.mkdir()
    for item in items:
        if array is not None:
            np.save(out / f"{item}.npy", array, allow_pickle=array.dtype == object)
    statuses = {item: entry for item in items}
    (out / "status.json").write_text(json.dumps({"protocol": 2, "nonce": nonce, "items": statuses}))
    return RunResult(status="ok", duration_s=0.1, executed_notebook=None, out_dir=out)


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_every_check_kind_scores_a_forged_answer_as_a_readable_failure(assignment, tmp_path, forgery):
    plan = plan_probe(assignment, tmp_path / "probe", tmp_path, {}, 5)
    items = [i["item"] for i in json.loads((tmp_path / "probe" / "spec.json").read_text())["items"]]
    run = _forge(tmp_path, plan.nonce, items, *FORGERIES[forgery])
    results = {r.check_id: r for r in evaluate(assignment, plan, INSPECTED, run)}   # must not raise
    assert set(results) == {spec.id for spec in assignment.checks}
    for check_id, checked in results.items():
        assert checked.reason is not None and checked.points < checked.max_points, (check_id, checked)
        for lang in ("en", "es"):
            text = render(checked.reason, lang)
            assert text and not PLACEHOLDER.search(text) and "Traceback" not in text, (check_id, lang, text)
    for check_id in NUMBERS_ONLY:
        assert results[check_id].points == Decimal("0"), results[check_id]


def test_a_json_value_for_a_model_item_names_what_was_expected_and_what_came(assignment, tmp_path):
    plan = plan_probe(assignment, tmp_path / "probe", tmp_path, {}, 5)
    run = _forge(tmp_path, plan.nonce, ["shape", "accuracy"], _ok(value={"logits": [1]}), None)
    results = {r.check_id: r for r in evaluate(assignment, plan, INSPECTED, run)}
    for check_id in ("shape", "accuracy"):
        assert results[check_id].reason.code == "checks_output_not_numbers", results[check_id]
        assert results[check_id].reason.params["got"] == "object"
    assert "numbers (an array or tensor) were expected" in render(results["shape"].reason, "en")
    assert "JSON de tipo object" in render(results["shape"].reason, "es")


def test_an_array_where_the_introspection_gives_a_description_is_named(assignment, tmp_path):
    plan = plan_probe(assignment, tmp_path / "probe", tmp_path, {}, 5)
    run = _forge(tmp_path, plan.nonce, ["architecture"], _ok(), np.zeros(3))
    checked = {r.check_id: r for r in evaluate(assignment, plan, INSPECTED, run)}["architecture"]
    assert checked.points == 0 and checked.reason.code == "checks_output_not_value"


@pytest.mark.parametrize("found", [{"modules": 5, "shapes": "x"}, {"modules": {"Conv2d": 1}}, {"shapes": [[1], 7]}])
def test_a_forged_introspection_of_odd_structure_finds_no_layer(assignment, tmp_path, found):
    plan = plan_probe(assignment, tmp_path / "probe", tmp_path, {}, 5)
    run = _forge(tmp_path, plan.nonce, ["architecture"], _ok(value=found), None)
    checked = {r.check_id: r for r in evaluate(assignment, plan, INSPECTED, run)}["architecture"]
    assert checked.points == 0 and checked.reason.code == "architecture_missing"


# --- a real notebook forges the seal ---------------------------------------------------------------

# Student code: a model, then json.dump patched so that the probe's own status.json (this run's
# nonce and all) carries a JSON value for the model's items.
FORGING_NOTEBOOK = '''
import json
import numpy as np

def model(batch):
    return np.zeros((len(batch), 10), np.float32)

def square(x):
    return x ** 2

_dump = json.dump
def _forged_dump(obj, fh, *args, **kwargs):
    if isinstance(obj, dict) and "nonce" in obj:
        for item in ("shape", "accuracy"):
            obj["items"][item] = {{"status": "ok", "ok": True, "error": None, "value": {value!r}}}
    return _dump(obj, fh, *args, **kwargs)
json.dump = _forged_dump
'''
JOB_ASSIGNMENT = '''
[assignment]
id = "forged"
title = "A model item forged"
version = "1"
max_points = "3"
[[checks]]
id = "shape"
kind = "shape"
name = "model"
input_shape = [2, 1, 4, 4]
expect = [2, 10]
points = "1"
[[checks]]
id = "accuracy"
kind = "metric"
metric = "accuracy"
name = "model"
data = "forgery_ref:data"
zero_at = "0.1"
full_at = "0.9"
points = "1"
[[checks]]
id = "square"
kind = "function"
name = "square"
reference = "forgery_ref:square"
cases = "forgery_ref:cases"
points = "1"
'''


@pytest.mark.slow
@pytest.mark.parametrize("value", [{"logits": [[0.5] * 10] * 2}, [[0.0] * 10] * 2, "forged", None])
def test_a_notebook_forging_a_json_value_for_its_model_gets_a_scored_failure(assignment, tmp_path, value):
    from grader.execution import get_runner
    from grader.jobs import JobSpec, run_job
    from grader.records import Submission

    folder = tmp_path / "assignment"
    folder.mkdir()
    (folder / "assignment.toml").write_text(JOB_ASSIGNMENT)
    notebook = tmp_path / "forged.ipynb"
    notebook.write_text(_notebook(FORGING_NOTEBOOK.format(value=value)))
    sub = Submission(practical="forged", participant="601", full_name="Seal Forger", source=str(tmp_path),
                     files=(notebook,), notebook=notebook, sha256="0" * 64)
    (tmp_path / "student_data").mkdir()
    spec = JobSpec(submission=sub, assignment=load_assignment(folder), parameters={}, course_data_dir=tmp_path,
                   student_data_dir=tmp_path / "student_data", work_dir=tmp_path / "work", timeout_s=120)
    evaluation = run_job(spec, get_runner("local"))
    assert evaluation.status == "graded", evaluation.reason
    checks = {c.check_id: c for c in evaluation.checks}
    for check_id in ("shape", "accuracy"):
        assert checks[check_id].points == 0 and checks[check_id].reason.code == "checks_output_not_numbers"
        assert "`model`" in render(checks[check_id].reason, "en")
    assert checks["square"].passed                # the items it did not touch still count


def _notebook(source: str) -> str:
    import nbformat

    cell = nbformat.v4.new_code_cell("seed = 0")
    cell.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=[cell, nbformat.v4.new_code_cell(textwrap.dedent(source))])
    for count, code in enumerate(nb.cells, start=1):
        code.execution_count = count
    return nbformat.writes(nb)


class _IdsCarryingTheText(list):
    """encode's ids, with the text they came from in an attribute: a decode that reads it never decodes."""


def _honest_encode(text):
    return ["abcdefghijklmnopqrstuvwxyz ".index(c) for c in text]


def _carrying_encode(text):
    ids = _IdsCarryingTheText(_honest_encode(text))
    ids.text = text
    return ids


def test_decode_gets_encodes_ids_as_data_never_the_object_encode_returned(assignment, tmp_path):
    """The probe hands decode what it saved of encode's answer (plain ids in their own kind), so whatever the object
    carried beside them (the original text) is lost on the way; the honest pair keeps its point."""
    from dataclasses import replace

    from grader.probe import load_probe

    alone = replace(assignment, checks=tuple(c for c in assignment.checks if c.id == "roundtrip"))
    probe = load_probe("grader_probe_roundtrip")
    scored = {}
    for label, namespace in {
            "honest": {"encode": _honest_encode, "decode": lambda ids: "".join("abcdefghijklmnopqrstuvwxyz "[i]
                                                                               for i in ids)},
            "reads the text": {"encode": _carrying_encode, "decode": lambda ids: getattr(ids, "text", "")}}.items():
        folder = tmp_path / label.replace(" ", "_")
        plan = plan_probe(alone, folder / "probe", tmp_path, {}, 5)
        probe.main(namespace, plan.nonce, str(folder / "probe"), str(folder / "out"))
        run = RunResult(status="ok", duration_s=0.1, executed_notebook=None, out_dir=folder / "out")
        scored[label] = {r.check_id: r for r in evaluate(alone, plan, INSPECTED, run)}["roundtrip"]
    assert scored["honest"].points == scored["honest"].max_points
    assert scored["reads the text"].points == 0
