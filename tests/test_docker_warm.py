"""The docker runner's warm containers (grader/execution/docker_warm.py): in a batch, the next submission's
container is started while the current one runs and takes its submission when its turn comes; still one
container per submission, holding nothing of any submission before it; none is left when the batch ends."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from grader.execution.base import JudgeRequest
from grader.execution.docker import DockerRunner, connect
from grader.execution.docker_daemon import BATCH_LABEL
from grader.execution.marker import MARK_VAR

from test_docker_runner import LIMITS, report, request, runtime_image, seen  # noqa: F401  (the session fixture)

pytestmark = pytest.mark.slow
MARK = "warm-test-batch"


def _batch_containers() -> list:
    return connect().containers.list(all=True, filters={"label": f"{BATCH_LABEL}={MARK}"}, ignore_removed=True)


def _in_batch(req, data_dir=None):
    """The request as a batch makes it: the batch's mark, and one data folder for every run of the practical."""
    from dataclasses import replace

    return replace(req, env={**req.env, MARK_VAR: MARK}, data_dir=data_dir or req.data_dir)


def test_the_next_container_is_started_ahead_and_holds_nothing_of_a_submission_until_its_turn(runtime_image, tmp_path):  # noqa: F811
    runner = DockerRunner(image=runtime_image, **LIMITS)
    try:
        first = _in_batch(request(tmp_path / "a", [
            "import os, json\nopen('/tmp/planted', 'w').write('first')\nos.environ['LEAKED'] = '1'",
            report("{'host': open('/etc/hostname').read().strip()}")]))
        assert runner.run(first).status == "ok"
        waiting = _batch_containers()
        assert len(waiting) == 1, "one container started ahead for the next submission"
        ahead = waiting[0]
        ahead.reload()
        assert ahead.status == "running"
        spec_mount = next(m["Source"] for m in ahead.attrs["Mounts"] if m["Destination"] == "/grader/spec")
        probe_mount = next(m["Source"] for m in ahead.attrs["Mounts"] if m["Destination"] == "/probe")
        # what it holds before its turn: its settings and the kernelspec, nothing of a submission
        assert sorted(p.name for p in Path(spec_mount).iterdir()) == ["kernel", "warm.json"]
        assert list(Path(probe_mount).iterdir()) == []
        deadline = time.monotonic() + 60   # its kernel comes up while it waits: forked from its first process
        while len(ahead.top()["Processes"]) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(ahead.top()["Processes"]) == 2 and "warm_main" in json.dumps(ahead.top())
        second = _in_batch(request(tmp_path / "b", [report(
            "{'host': open('/etc/hostname').read().strip(), 'planted': os.path.exists('/tmp/planted'), "
            "'leaked': os.environ.get('LEAKED')}")]), data_dir=first.data_dir)
        assert runner.run(second).status == "ok"
        assert seen(second)["host"] == ahead.id[:12] != seen(first)["host"]   # the one started ahead took it
        assert seen(second)["planted"] is False and seen(second)["leaked"] is None
        after = [c.id for c in _batch_containers()]
        assert ahead.id not in after and len(after) == 1   # removed after its run; the next one waits
    finally:
        runner.close()
    assert _batch_containers() == []
    assert not list(tmp_path.glob("*/.warm-*")), "the warm containers' folders go with them"


def test_a_container_that_died_waiting_is_replaced_and_the_run_goes_on(runtime_image, tmp_path):  # noqa: F811
    runner = DockerRunner(image=runtime_image, **LIMITS)
    try:
        first = _in_batch(request(tmp_path / "a", [report("{'host': open('/etc/hostname').read().strip()}")]))
        assert runner.run(first).status == "ok"
        (ahead,) = _batch_containers()
        ahead.kill()   # as the daemon or the OOM killer may, before its turn
        second = _in_batch(request(tmp_path / "b", [report("{'host': open('/etc/hostname').read().strip()}")]),
                           data_dir=first.data_dir)
        assert runner.run(second).status == "ok"
        assert seen(second)["host"] not in (ahead.id[:12], seen(first)["host"])
        assert ahead.id not in [c.id for c in _batch_containers()]   # removed, with its folders
    finally:
        runner.close()
    assert _batch_containers() == []
    assert not list(tmp_path.glob("*/.warm-*"))


def test_a_lone_run_starts_nothing_ahead(runtime_image, tmp_path):  # noqa: F811
    """Outside a batch (no mark) nobody would remove a container started ahead: none is."""
    runner = DockerRunner(image=runtime_image, **LIMITS)
    before = {c.id for c in connect().containers.list(all=True, filters={"label": "grader=1"})}
    assert runner.run(request(tmp_path, ["x = 1"])).status == "ok"
    after = {c.id for c in connect().containers.list(all=True, filters={"label": "grader=1"})}
    assert after - before == set()


def test_the_cold_path_still_makes_the_container_for_the_run(runtime_image, tmp_path):  # noqa: F811
    runner = DockerRunner(image=runtime_image, warm=False, **LIMITS)
    req = _in_batch(request(tmp_path, [report("{'ok': True}")]))
    assert runner.run(req).status == "ok" and seen(req) == {"ok": True}
    assert _batch_containers() == []


def _judge_request(folder: Path, images, warm_dir: Path | None):
    """A program (a small CNN) and one item of inputs, as grader/judge/request.py writes them for the judge."""
    from test_judge import Cnn, exported
    import numpy as np
    import torch

    torch.manual_seed(0)
    folder.mkdir(parents=True)
    assert exported(folder, Cnn().eval())["ok"]
    np.save(folder / "scores.inputs.npy", images)
    spec = {"program": "program.npz", "items": [{"item": "scores", "kind": "model", "inputs": "scores.inputs.npy",
                                                  "batch_size": 100}]}
    return JudgeRequest(folder=folder, spec=spec, timeout_s=120, env={MARK_VAR: MARK}, warm_dir=warm_dir)


def _judges() -> list:
    return [c for c in _batch_containers() if c.labels.get("grader.judge") == "1"]


def test_the_next_judge_is_started_ahead_holds_nothing_until_its_turn_and_answers_as_a_cold_one(runtime_image,  # noqa: F811
                                                                                                tmp_path):
    import numpy as np

    images = np.random.default_rng(0).random((300, 1, 28, 28), dtype=np.float32)
    work = tmp_path / "work"
    work.mkdir()
    cold = DockerRunner(image=runtime_image, warm=False, **{**LIMITS, "memory": "1g"})
    warm = DockerRunner(image=runtime_image, **{**LIMITS, "memory": "1g"})
    try:
        expected = cold.judge(_judge_request(tmp_path / "cold", images, None))
        assert expected.problem is None, expected.problem
        assert _judges() == [], "the cold runner starts nothing ahead"
        first = warm.judge(_judge_request(tmp_path / "first", images, work))
        assert first.problem is None, first.problem
        waiting = _judges()
        deadline = time.monotonic() + 60   # started once the first was done, in the background
        while not waiting and time.monotonic() < deadline:
            time.sleep(0.1)
            waiting = _judges()
        assert len(waiting) == 1, "one judge started ahead for the next program"
        ahead = waiting[0]
        mount = Path(next(m["Source"] for m in ahead.attrs["Mounts"] if m["Destination"] == "/judge"))
        assert mount.parent.parent == work and list(mount.iterdir()) == []   # nothing of a program before its turn
        second = warm.judge(_judge_request(tmp_path / "second", images, work))
        assert second.problem is None, second.problem
        deadline = time.monotonic() + 60
        while (ahead.id in [c.id for c in _judges()] or not _judges()) and time.monotonic() < deadline:
            time.sleep(0.1)
        after = _judges()
        assert ahead.id not in [c.id for c in after] and len(after) == 1   # it took the program; the next one waits
        for run in (first, second):
            assert np.array_equal(np.load(run.answers / "scores.npy"), np.load(expected.answers / "scores.npy"))
    finally:
        warm.close()
        cold.close()
    assert _judges() == []
    assert not list(work.glob(".warm-*")), "the judges' folders go with them"
