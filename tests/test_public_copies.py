"""Students who pip-install the grader (Colab) get every practical's spec, with hidden checks redacted."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from decimal import Decimal

import pytest

from grader.assignment import load_assignment
from grader.public_copies import public_spec
from grader.selfcheck import known_practicals

SPEC = '''[assignment]
id = "toy"
title = "Toy"
version = "1"
max_points = "3"
cell_timeout_s = 60

[[checks]]
id = "executed"
kind = "notebook"
points = "1"

[[checks]]   # the secret one
id = "secret_relu_on_negative_zero"
kind = "function"
name = "relu"
reference = "reference.library:relu"
cases = "reference.library:relu_cases"
rtol = "1e-3"
points = "2"
hidden = true
'''


def test_a_hidden_check_keeps_only_its_points_in_the_public_spec(tmp_path):
    text = public_spec(SPEC)
    for secret in ("secret_relu_on_negative_zero", "relu", "1e-3", "the secret one"):
        assert secret not in text
    (tmp_path / "toy").mkdir()
    (tmp_path / "toy" / "assignment.toml").write_text(text, encoding="utf-8")
    spec = load_assignment(tmp_path / "toy")      # still a valid spec whose points add up
    hidden = [c for c in spec.checks if c.hidden]
    assert len(hidden) == 1 and hidden[0].points == Decimal("2") and spec.max_points == Decimal("3")
    assert [c.id for c in spec.checks if not c.hidden] == ["executed"]


def test_a_spec_without_hidden_checks_is_shipped_unchanged():
    plain = SPEC.split("[[checks]]   # the secret one")[0]
    assert public_spec(plain) == plain


@pytest.mark.slow
def test_a_built_wheel_carries_every_practical_for_selfcheck(tmp_path, repo):
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                           "-w", str(tmp_path / "wheel"), str(repo)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    wheel = next((tmp_path / "wheel").glob("grader-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(tmp_path / "site")
    public = tmp_path / "site" / "grader" / "public_assignments"
    found = known_practicals(assignments_dir=public)
    assert set(found) == {"mnist_cnn", "imagenet_cnn", "rnn_text"}
    for folder in found.values():
        assert (folder / "template.ipynb").is_file()
        assert load_assignment(folder).max_points == Decimal("10")
