"""The local pool: N jobs at once, one GPU slot each, results as they finish, Ctrl-C stops everything."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from grader.course import load_course
from grader.errors import RunnerError
from grader.execution.marker import batch_mark, marked_processes
from grader.execution.pool import Finished, LocalPool, Started, gpu_ids
from grader.pipeline import grade_course
from tiny_course import side_effects, stored, tiny_course

REPO = Path(__file__).resolve().parents[1]
GRADER = [sys.executable, "-m", "grader"]


def _overlaps(intervals: list[tuple[str, float, float]]) -> list[tuple[str, str]]:
    """Pairs of slots of intervals that ran at the same time."""
    pairs = []
    for i, (slot_a, start_a, end_a) in enumerate(intervals):
        for slot_b, start_b, end_b in intervals[i + 1:]:
            if start_a < end_b and start_b < end_a:
                pairs.append((slot_a, slot_b))
    return pairs


def test_no_two_running_jobs_ever_hold_the_same_gpu_slot():
    intervals, lock = [], threading.Lock()

    def work(item, slot):
        start = time.monotonic()
        time.sleep(0.05)
        with lock:
            intervals.append((slot, start, time.monotonic()))
        return item * 10

    events = list(LocalPool(4, gpus=["3", "5"]).run(range(10), work))
    finished = [e for e in events if isinstance(e, Finished)]
    assert sorted(e.result for e in finished) == [i * 10 for i in range(10)]
    assert {e.slot for e in events if isinstance(e, Started)} == {"3", "5"}
    overlapping = _overlaps(intervals)
    assert overlapping, "the pool never ran two jobs at once"
    assert all(a != b for a, b in overlapping)


def test_items_are_taken_only_when_a_worker_is_free():
    taken = []

    def source():
        for i in range(50):
            taken.append(i)
            yield i

    events = LocalPool(2).run(source(), lambda item, slot: time.sleep(0.01) or item)
    first_done = next(e for e in events if isinstance(e, Finished))
    assert first_done.result in (0, 1)
    assert len(taken) <= 3   # two running, at most one more after the first finished
    assert len([e for e in events if isinstance(e, Finished)]) == 49


def test_a_runner_that_cannot_work_stops_the_batch_with_its_error():
    stops = []

    def work(item, slot):
        if item == 2:
            raise RunnerError("docker daemon unreachable")
        time.sleep(0.2)
        return item

    pool = LocalPool(2, stop_running=lambda: stops.append(True))
    with pytest.raises(RunnerError, match="daemon unreachable"):
        list(pool.run(range(20), work))
    assert stops, "the jobs still running were not stopped"


def test_gpus_option_becomes_slot_ids():
    assert gpu_ids(2) == ["0", "1"]
    assert gpu_ids("0,3") == ["0", "3"]
    assert gpu_ids([4, 6]) == ["4", "6"]
    assert gpu_ids(1) == ["0"]        # one GPU, not "all of them"
    assert gpu_ids("none") == []


@pytest.mark.slow
def test_two_workers_run_every_notebook_once_each_on_its_own_gpu(tmp_path):
    course = tiny_course(tmp_path, 3, sleep_s=1.0)
    result = grade_course(load_course(course), tmp_path / "out", workers=2, gpus=["7", "9"])
    assert result.executed == 3
    assert [row[2] for row in stored(tmp_path / "out")] == ["graded"] * 3
    assert {s.score for s in result.scores} == {result.scores[0].max_score}
    events = side_effects(tmp_path)
    assert sorted(p for e, p, _, _ in events if e == "end") == ["100", "101", "102"]
    runs = {p: [g, t, None] for e, p, g, t in events if e == "start"}
    for e, p, g, t in events:
        if e == "end":
            runs[p][2] = t
    assert {g for g, _, _ in runs.values()} == {"7", "9"}
    overlapping = _overlaps([(g, s, e) for g, s, e in runs.values()])
    assert overlapping, "two workers never ran two notebooks at once"
    assert all(a != b for a, b in overlapping)


def _wait_for(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.mark.slow
def test_ctrl_c_stops_running_kernels_keeps_finished_results_and_exits_130(tmp_path):
    course = tiny_course(tmp_path, 3, sleep_s={101: 120, 102: 120})
    out = tmp_path / "out"
    child = subprocess.Popen([*GRADER, "grade", str(course), "--out", str(out), "--workers", "2"], cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for(lambda: len(stored(out)) == 1 and {p for e, p, _, _ in side_effects(tmp_path) if e == "start"}
                  >= {"101", "102"}, 90, "one result stored and the two long notebooks running")
        assert marked_processes(batch_mark(out)), "the running jobs do not carry the batch's mark"
        child.send_signal(signal.SIGINT)
        output, _ = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 130, output
    assert "interrupted" in output
    assert "[1/3] tiny 100 Student 100: graded 2.00/2" in output   # not a terminal: one line per job
    assert marked_processes(batch_mark(out)) == []
    assert [row[1] for row in stored(out)] == ["100"]
    assert not (out / "results.csv").exists()


def _marked_containers(mark: str) -> list[str]:
    """The batch's containers: its mark is a label (never in a kernel's environment), as the clean-up finds them."""
    from grader.execution.docker import LABEL, connect
    from grader.execution.docker_daemon import BATCH_LABEL

    return [c.id for c in connect().containers.list(all=True, filters={"label": f"{BATCH_LABEL}={mark}"},
                                                    ignore_removed=True)
            if (c.attrs.get("Config", {}).get("Labels") or {}).get(LABEL) == "1"]


@pytest.mark.slow
def test_ctrl_c_leaves_no_container_behind(tmp_path):
    built = subprocess.run(["bash", str(REPO / "scripts" / "build_test_images.sh")], cwd=REPO, capture_output=True,
                           text=True, env={**os.environ, "PYTHON": sys.executable})
    if built.returncode != 0:
        pytest.fail(f"the docker runner's test image could not be built (needs a Docker daemon):\n"
                    f"{built.stderr[-3000:]}")
    image = built.stdout.strip().splitlines()[-1]
    course = tiny_course(tmp_path, 2, sleep_s=120, side_effects=False, runner="docker",
                         extra=f'[docker]\nimage = "{image}"\nmemory = "512m"\ncpus = 1\n')
    out = tmp_path / "out"
    mark = batch_mark(out)
    child = subprocess.Popen([*GRADER, "grade", str(course), "--out", str(out), "--workers", "2"], cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for(lambda: len(_marked_containers(mark)) >= 2, 120, "two containers of the batch")
        child.send_signal(signal.SIGINT)
        # the promise is "exit 130, nothing left behind", not a speed: a loaded machine stops containers slowly
        # (the stop waits up to STOP_WAIT_S for the jobs to notice)
        output, _ = child.communicate(timeout=150)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 130, output
    assert _marked_containers(mark) == []
    assert stored(out) == []
