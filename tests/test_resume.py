"""Resume and cache: a killed batch finishes only what is missing, a finished one runs nothing, --force
re-grades exactly what it names."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from grader.course import load_course
from grader.errors import ConfigError, GraderError
from grader.execution.marker import batch_lock, batch_mark, marked_processes
from grader.jobs import job_key
from grader.pipeline import grade_course
from grader.records import Submission
from tiny_course import side_effects, stored, tiny_course

REPO = Path(__file__).resolve().parents[1]


def _ends(root: Path) -> list[str]:
    return sorted(p for event, p, _, _ in side_effects(root) if event == "end")


@pytest.fixture(scope="module")
def killed_then_resumed(tmp_path_factory):
    """A batch of 4 killed with SIGKILL after 2 results, while 2 more run; then the same batch again."""
    root = tmp_path_factory.mktemp("resume")
    course = tiny_course(root, 4, sleep_s=2.0)
    out = root / "out"
    child = subprocess.Popen([sys.executable, "-m", "grader", "grade", str(course), "--out", str(out),
                              "--workers", "2", "--quiet"], cwd=REPO, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not (len(stored(out)) >= 2 and marked_processes(batch_mark(out))):
            assert child.poll() is None, "the batch ended before it could be killed"
            assert time.monotonic() < deadline, "no two results within 120 s"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    before = [row[1] for row in stored(out)]
    resumed = grade_course(load_course(course), out, workers=2)
    return root, course, out, before, resumed


@pytest.mark.slow
def test_kill_9_mid_batch_then_rerun_grades_every_submission_exactly_once(killed_then_resumed):
    root, _, out, before, resumed = killed_then_resumed
    assert 2 <= len(before) < 4
    assert resumed.executed == 4 - len(before) and resumed.reused == len(before)
    assert [(row[1], row[2]) for row in stored(out)] == [(p, "graded") for p in ("100", "101", "102", "103")]
    # the killed grader's jobs were stopped before they finished: every notebook ran to its end once
    assert _ends(root) == ["100", "101", "102", "103"]
    starts = [p for event, p, _, _ in side_effects(root) if event == "start"]
    assert all(starts.count(p) == 1 for p in before), "a stored result was executed again"


@pytest.mark.slow
def test_rerun_of_a_finished_batch_executes_nothing(killed_then_resumed):
    root, course, out, _, _ = killed_then_resumed
    lines = side_effects(root)
    again = grade_course(load_course(course), out, workers=2)
    assert (again.executed, again.reused) == (0, 4)
    assert side_effects(root) == lines
    assert {s.status for s in again.scores} == {"graded"}


@pytest.mark.slow
def test_force_with_student_regrades_that_submission_alone(killed_then_resumed):
    root, course, out, _, _ = killed_then_resumed
    again = grade_course(load_course(course), out, force=True, only="tiny", student="102")
    assert (again.executed, again.reused) == (1, 3)
    assert _ends(root) == ["100", "101", "102", "102", "103"]
    assert [row[1] for row in stored(out)] == ["100", "101", "102", "103"]   # replaced, never stored twice


def test_a_second_grader_on_the_same_output_folder_is_refused(tmp_path):
    with batch_lock(tmp_path / "out") as mark:
        assert mark == batch_mark(tmp_path / "out")
        with pytest.raises(GraderError, match="another grader"):
            with batch_lock(tmp_path / "out"):
                pass
    with batch_lock(tmp_path / "out"):   # released with the first
        pass


def test_student_needs_only_when_practicals_have_their_own_numbers(tmp_path):
    course = load_course(tiny_course(tmp_path, 1, side_effects=False))
    two = replace(course, practicals={**course.practicals, "other": course.practicals["tiny"]})
    with pytest.raises(ConfigError, match="--student N needs --only"):
        grade_course(two, tmp_path / "out", student="100")
    with pytest.raises(ConfigError, match="no such practical"):
        grade_course(course, tmp_path / "out", only="tinny")


def test_a_static_evaluation_never_passes_for_a_run(tmp_path):
    course = load_course(tiny_course(tmp_path, 1, side_effects=False))
    from grader.assignment import load_assignment

    assignment = load_assignment(course.practicals["tiny"].assignment_dir)
    sub = Submission("tiny", "100", "A", "src", (), None, "ab" * 32)
    keys = {job_key(sub, assignment, {"n": 1}), job_key(sub, assignment, {"n": 1}, static=True),
            job_key(sub, assignment, {"n": 2}), job_key(replace(sub, sha256="cd" * 32), assignment, {"n": 1})}
    assert len(keys) == 4
    assert job_key(sub, assignment, {"n": 1}) == job_key(sub, assignment, {"n": 1})
