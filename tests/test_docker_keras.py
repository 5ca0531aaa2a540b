"""The Keras editions under the docker runner earn what they earn under the local runner, full marks: one course
holding the Keras solutions of mnist_cnn and rnn_text, small budgets, graded by the docker runner (a real daemon
and the test image of scripts/build_test_images.sh, as in tests/test_docker_runner.py). The same solutions' full
marks under the local runner are tests/test_practical_mnist_keras.py's and tests/test_practical_rnn_keras.py's
(rnn_text at this very budget); grading them here again told nothing more than 10 = 10 and cost a minute."""
from __future__ import annotations

import importlib.util
import time
from decimal import Decimal

import nbformat
import pytest

from conftest import as_handed_in_executed
from grader.course import load_course
from grader.i18n import render
from grader.pipeline import grade_course
from test_docker_runner import runtime_image  # noqa: F401  (the session's test image, built or found once)
from test_practical_rnn_keras import TINY_BUDGET as RNN_BUDGET   # the budget its local full marks are earned at

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="keras is not installed")]

# Small budgets: 3,000 MNIST images for one epoch (47 steps), the rnn tests' tiny budget (30 steps).
BUDGETS = {"mnist_cnn": "train_size = 3000", "rnn_text": RNN_BUDGET}


def _mnist_solution(repo):
    nb = as_handed_in_executed(nbformat.read(repo / "assignments" / "mnist_cnn" / "solution_keras.ipynb", as_version=4))
    for cell in nb.cells:    # the figure a student would have printed at home, as in test_practical_mnist_keras
        if cell.cell_type == "code" and "Test accuracy" in cell.source:
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="Test accuracy: 0.9600\n")]
    return nb


@pytest.fixture(scope="module")
def graded(runtime_image, tmp_path_factory, repo, shared_data):  # noqa: F811
    import torch    # only to pin this process's threads: the rnn reference LSTM trains here

    root = tmp_path_factory.mktemp("docker_keras")
    notebooks = {"mnist_cnn": _mnist_solution(repo),
                 "rnn_text": as_handed_in_executed(nbformat.read(
                     repo / "assignments" / "rnn_text" / "solution_keras.ipynb", as_version=4))}
    practicals = ""
    for pid, nb in notebooks.items():
        (root / pid).mkdir()
        nbformat.write(nb, root / pid / "keras_solution.ipynb")
        practicals += f'[practicals.{pid}]\nsubmissions = ["{pid}"]\ntimeout_s = 400\nparameters = {{ {BUDGETS[pid]} }}\n'
    (root / "course.toml").write_text(f"""
[course]
name = "keras under docker"
deadline = "2027-03-31T23:59:00"
timezone = "Europe/Madrid"
data_dir = "{shared_data}"
lang = "en"
{practicals}
[docker]
image = "{runtime_image}"
memory = "3g"
cpus = 1
""", encoding="utf-8")
    threads = torch.get_num_threads()
    with pytest.MonkeyPatch.context() as env:   # one BLAS thread per process on the two shared cores
        env.setenv("OMP_NUM_THREADS", "1")
        torch.set_num_threads(1)
        try:
            started = time.monotonic()
            batch = grade_course(load_course(root / "course.toml"), root / "out", runner_name="docker")
            wall = time.monotonic() - started
        finally:
            torch.set_num_threads(threads)
    scores = {s.practical: s for s in batch.scores}
    print(f"\nKeras solutions, docker runner {wall:.1f} s: "
          + ", ".join(f"{pid} {s.score} in {s.duration_s:.1f} s" for pid, s in scores.items()))
    return scores


def _points(score):
    return {c.check_id: (c.points, render(c.reason, "en")) for c in score.checks}


@pytest.mark.parametrize("practical", sorted(BUDGETS))
def test_a_keras_solution_earns_full_marks_under_docker_in_every_check(graded, practical):
    docker = graded[practical]
    assert docker.status == "graded" and docker.score == Decimal("10"), _points(docker)
    assert all(c.points == c.max_points for c in docker.checks), _points(docker)
    notes = [render(n, "en") for n in docker.notes]
    assert any("Keras edition" in n for n in notes), notes
