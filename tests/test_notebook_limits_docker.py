"""The node-bomb notebook in a batch under the docker runner: refused with its reason, the others graded,
and the grading process itself (not its containers or its page renderer) keeps its usual memory.

The grading runs in a child Python that reports its own peak resident memory (VmHWM) as it ends.
"""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import hostile_cases as hc
from grader.records import Reason
from grader.store import Store
from tiny_course import tiny_course

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
PEAK_LIMIT_MB = 600
BOMB = "300"

# grades as `grader grade ...` does, then prints this process's own peak resident memory
_GRADE_AND_REPORT_PEAK = """
import sys
from grader.cli import main

code = main(sys.argv[1:])
peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print("GRADER_PEAK_KB", peak.split()[1], flush=True)
sys.exit(code)
"""


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    built = subprocess.run(["bash", str(REPO / "scripts" / "build_test_images.sh")], cwd=REPO, capture_output=True,
                           text=True, env={**os.environ, "PYTHON": sys.executable})
    if built.returncode != 0:
        pytest.fail(f"the docker runner's test image could not be built (needs a Docker daemon):\n"
                    f"{built.stderr[-3000:]}")
    image = built.stdout.strip().splitlines()[-1]
    root = tmp_path_factory.mktemp("bomb")
    course = tiny_course(root, 2, side_effects=False, runner="docker",
                         extra=f'[docker]\nimage = "{image}"\nmemory = "512m"\ncpus = 1\n')
    bomb = hc.node_bomb()
    assert 8 << 20 < len(bomb) < 10 << 20
    with zipfile.ZipFile(root / "submissions.zip", "a", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"Bo Mb_{BOMB}_assignsubmission_file_/tiny.ipynb", bomb)
    out = root / "out"
    done = subprocess.run([sys.executable, "-c", _GRADE_AND_REPORT_PEAK, "grade", str(course), "--out", str(out),
                           "--workers", "2"], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    peak_kb = int(next(line for line in done.stdout.splitlines() if line.startswith("GRADER_PEAK_KB")).split()[1])
    with Store(out / "grader.sqlite") as store:
        scores = {s.participant: s for s in store.scores()}
    return {"scores": scores, "peak_mb": peak_kb / 1024, "output": done.stdout}


def test_the_node_bomb_is_refused_as_invalid_with_the_node_limit(graded):
    bomb = graded["scores"][BOMB]
    assert bomb.status == "invalid", bomb
    assert bomb.reason == Reason("inspect_too_complex", {"file": "tiny.ipynb", "limit": {
        "code": "inspect_limit_nodes", "params": {"allowed": 500_000}}})


def test_the_other_notebooks_of_the_batch_are_graded(graded):
    others = {p: s for p, s in graded["scores"].items() if p != BOMB}
    assert sorted(others) == ["100", "101"]
    assert all(s.status == "graded" and s.score == s.max_score for s in others.values()), others


def test_the_grading_process_keeps_its_usual_memory(graded):
    assert graded["peak_mb"] < PEAK_LIMIT_MB, graded["peak_mb"]
