"""The wheel students install (STUDENT_WHEEL=1) carries no reference implementation, yet judges the public checks."""
from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from check_titles import by_id

HIDDEN = '''
[[checks]]   # a hidden check: neither its id nor its threshold may reach the wheel
id = "secret_relu_on_negative_zero"
kind = "function"
name = "relu"
reference = "reference.library:relu"
cases = "reference.library:relu_cases"
rtol = "7.25e-3"
points = "1"
hidden = true
'''
NAIVE = '''
import sys, torch
from torch import nn
import grader
grader.selfcheck("mnist_cnn", lang="en", namespace={
    "softmax": lambda x: torch.exp(x) / torch.exp(x).sum(dim=1, keepdim=True),   # no max shift
    "cross_entropy": lambda x, t: nn.functional.cross_entropy(x, t.long()),
    "model": nn.Sequential(nn.Flatten(), nn.Linear(784, 10))})
print("GRADER AT", grader.__file__)
try:
    import reference
    print("REFERENCE IMPORTABLE")
except ImportError:
    print("NO REFERENCE")
'''


def _source_copy(repo: Path, dest: Path) -> Path:
    skip = shutil.ignore_patterns("__pycache__", "public_assignments", "*.egg-info")
    for name in ("grader", "reference", "assignments"):
        shutil.copytree(repo / name, dest / name, ignore=skip)
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copyfile(repo / name, dest / name)
    spec = dest / "assignments" / "mnist_cnn" / "assignment.toml"
    spec.write_text(spec.read_text(encoding="utf-8").replace('max_points = "10"', 'max_points = "11"') + HIDDEN,
                    encoding="utf-8")
    return dest


def _reference_functions(repo: Path) -> dict[str, str]:
    """Every function body of reference/ (name -> source), as written there."""
    found = {}
    for path in sorted((repo / "reference").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        for node in ast.parse(text).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                found[f"{path.stem}.{node.name}"] = ast.get_source_segment(text, node)
    return found


def _wheel_env(site: Path) -> dict[str, str]:
    """Only the unpacked wheel and the dependencies' site-packages (no .pth: no editable grader, no reference)."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), sysconfig.get_paths()["purelib"]])}


@pytest.mark.slow
def test_the_student_wheel_carries_no_reference_and_judges_the_public_checks(tmp_path, repo, shared_data):
    src = _source_copy(repo, tmp_path / "src")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                            "-w", str(tmp_path / "wheel"), str(src)], capture_output=True, text=True, timeout=300,
                           env={**os.environ, "STUDENT_WHEEL": "1"})
    assert built.returncode == 0, built.stderr
    wheel = next((tmp_path / "wheel").glob("grader-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        zf.extractall(tmp_path / "site")
        blob = "\n".join(zf.read(n).decode("utf-8", "replace") for n in names if not n.endswith((".npy", ".png")))
    assert not any(n.startswith("reference/") for n in names)
    for secret in ("secret_relu_on_negative_zero", "7.25e-3"):
        assert secret not in blob, secret
    specs = [zf_name for zf_name in names if "public_assignments/" in zf_name and zf_name.endswith((".toml", ".json"))]
    hooks = "\n".join((tmp_path / "site" / n).read_text(encoding="utf-8") for n in specs)
    assert "mnist_cnn/assignment.toml" in "".join(specs) and "reference." not in hooks   # no hook into reference/
    bodies = _reference_functions(repo)
    assert {"functions.softmax", "imagenet_cnn.topk_accuracy", "imagenet_cnn.preprocess",
            "efficientnet_lite.load_pretrained", "rnn_text.build_reference"} <= set(bodies)
    leaked = [name for name, body in bodies.items() if body in blob]
    assert leaked == []
    assert any(n.endswith("mnist_cnn/cases/softmax/cases.json") for n in names)

    # in a kernel: the stored cases judge a softmax without the max shift exactly as the grader would
    site = tmp_path / "site"
    kernel = subprocess.run([sys.executable, "-S", "-c", NAIVE], capture_output=True, text=True, timeout=300,
                            cwd=tmp_path, env=_wheel_env(site))
    out = kernel.stdout
    assert kernel.returncode == 0, kernel.stderr
    assert f"GRADER AT {site}" in out and "NO REFERENCE" in out
    rows = by_id({re.split(r"\s{2,}", line)[0]: line for line in out.splitlines()
                  if line.split()[:1] and line[0] != " "})
    assert "partly" in rows["softmax"] and "stable with logits of ±1000" in rows["softmax"]
    assert "passes" in rows["cross_entropy"] and "passes" in rows["model_shape"]
    assert "Graded at submission" in rows["accuracy"] and "Graded at submission" in rows["loss_decreasing"]
    assert "1 hidden check worth 1 point" in out

    # grader check --run on the solution, with the data `grader data` wrote where the template reads it
    from grader.cli import main
    from test_selfcheck import _executed_solution

    work = tmp_path / "student"
    work.mkdir()
    assert main(["data", "mnist_cnn", str(work / "data"), "--from", str(shared_data)]) == 0
    _executed_solution(repo, work / "solution.ipynb")
    checked = subprocess.run([sys.executable, "-S", "-c", "import sys; from grader.cli import main; "
                              "sys.exit(main(['check', 'solution.ipynb', '--run', '--lang', 'en']))"],
                             capture_output=True, text=True, timeout=600, cwd=work, env=_wheel_env(site))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Every public check judged here passes" in checked.stdout
    table = by_id({line.split("│")[1].strip(): line for line in checked.stdout.splitlines() if line.count("│") >= 4})
    for check in ("softmax", "cross_entropy", "model_shape", "convolution", "reported_accuracy"):
        assert "passes" in table[check], check
