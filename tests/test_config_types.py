"""The declared schema: kinds bring their own flags and codes, decimals read alike in every file, the
[docker] table is the runner's own model, and the public spec is written by a TOML writer."""
import re
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from grader.assignment import load_assignment
from grader.checks import registry
from grader.checks.metric import METRICS
from grader.errors import ConfigError
from grader.execution.docker_options import validate_options
from grader.i18n import catalogue

PACKAGE = Path(__file__).parents[1] / "grader"

SPEC = '''
[assignment]
id = "demo"
title = "Demo"
version = "1"
max_points = "1"
[[checks]]
id = "executed"
kind = "notebook"
points = "1"
outputs_shown = OUTPUTS
'''


def _load(tmp_path, outputs: str):
    (tmp_path / "assignment.toml").write_text(SPEC.replace("OUTPUTS", outputs), encoding="utf-8")
    return load_assignment(tmp_path)


def test_a_decimal_option_reads_a_string_or_an_integer_and_refuses_a_float_with_the_course_hint(tmp_path):
    assert _load(tmp_path, '"0.5"').checks[0].options["outputs_shown"] == Decimal("0.5")
    assert _load(tmp_path, "1").checks[0].options["outputs_shown"] == Decimal("1")
    with pytest.raises(ConfigError, match=r"checks\[0\] \(id 'executed'\)\.outputs_shown: .*"
                                          r'write outputs_shown = "0.5"'):
        _load(tmp_path, "0.5")


def test_an_unknown_option_lists_the_kind_and_every_allowed_key(tmp_path):
    with pytest.raises(ConfigError, match=r"\.colour: unknown key for kind 'notebook' \(allowed: hidden, id, "
                                          r"kind, outputs_shown, points, require, title\)"):
        _load(tmp_path, '"0.5"\ncolour = 1')


def test_kinds_bring_their_flags_and_every_code_they_emit_is_declared_and_catalogued():
    kinds = {kind.kind: kind for kind in registry.kinds() if kind.__module__.startswith("grader.checks.")}
    assert [k for k, c in kinds.items() if c.static] == ["notebook"]
    assert [k for k, c in kinds.items() if c.needs_evaluation_data] == ["at_submission", "metric"]
    for name, kind in kinds.items():
        module = Path(__import__(kind.__module__, fromlist=["_"]).__file__)
        emitted = set(re.findall(r'\bmsg\(\s*"([a-z0-9_]+)"', module.read_text(encoding="utf-8")))
        assert emitted <= set(kind.codes), (name, sorted(emitted - set(kind.codes)))
        assert set(kind.codes) <= catalogue().keys(), (name, sorted(set(kind.codes) - catalogue().keys()))


def test_the_metric_kind_emits_no_practical_named_code():
    source = (PACKAGE / "checks" / "metric.py").read_text(encoding="utf-8")
    assert not re.search(r'"(rnn|imagenet|mnist)_', source)
    assert {m.code for m in METRICS.values()} <= set(registry.get("metric").codes)


def test_docker_options_keep_the_given_keys_typed_and_name_the_key_when_wrong():
    assert validate_options({"cpus": 2, "gpus": [0, 1], "uid": 1_000_000}, "c.toml") == {
        "cpus": 2.0, "gpus": [0, 1], "uid": 1_000_000}
    for raw, expected in [({"uid": 0}, "c.toml: docker.uid: must be a uid from 1"),
                          ({"cpus": True}, "c.toml: docker.cpus: must be a positive number"),
                          ({"gpus": -1}, 'c.toml: docker.gpus: must be "all"'),
                          ({"scratch_mb": 0}, "c.toml: docker.scratch_mb: must be at least 1"),
                          ({"share_gpus": "no"}, "c.toml: docker.share_gpus: must be true or false"),
                          ({"memroy": "4g"}, "c.toml: docker.memroy: unknown key (allowed: cpus, file_mb")]:
        with pytest.raises(ConfigError) as caught:
            validate_options(raw, "c.toml")
        assert str(caught.value).startswith(expected), str(caught.value)


def test_the_public_spec_with_a_hidden_check_is_valid_toml_written_by_a_writer():
    from grader.public_copies import public_spec

    text = public_spec(SPEC.replace("OUTPUTS", '"0.5"') + '[[checks]]\nid = "s"\nkind = "notebook"\n'
                       'points = 2\nhidden = true\n# secret\n')
    data = tomllib.loads(text)
    assert data["checks"][1] == {"id": "hidden_1", "kind": "notebook", "points": 2, "hidden": True}
    assert "secret" not in text and data["checks"][0]["outputs_shown"] == "0.5"
