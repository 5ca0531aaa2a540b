"""The docker runner's judge: each exported program runs in a fresh container of the runtime image, never in
the student's one (whatever that left running, planted in HOME or patched cannot reach it).

The container gets the judge folder read-only (the program, the inputs, the request), no network, a read-only
root, the run's memory, CPU and PID limits and its GPU; its answers go to an anonymous volume and come out
through the daemon by the names the request expects, size-capped, as the probe's do.

In a batch the next program's judge is started ahead (WarmJudges): it imports torch while the current job goes on,
with a folder of its own that holds nothing until the host copies the next program there and says ``go``. Still one
fresh container per program, with the same limits.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from grader.execution.base import JudgeRequest, JudgeRun
from grader.execution.docker_daemon import LABEL, container_labels, kill, remove
from grader.execution.docker_limits import gpu_device_requests
from grader.execution.docker_mounts import PYTHON
from grader.execution.docker_results import copy_files
from grader.execution.docker_warm import StartedAhead, Warm, say_go
from grader.execution.marker import MARK_VAR
from grader.execution.safe_files import fresh_dir
from grader.execution.warm_judge import SPEC_FILE

JUDGE_DIR, ANSWERS = "/judge", "/grader/results"   # the image makes /grader/results 1777 for the volume
# the container's command: the judge now (cold), or once the host says go (started ahead)
_BOOT = [PYTHON, "-I", "-c", f"from grader.judge.main import main; main('{JUDGE_DIR}/{SPEC_FILE}')"]
_WARM_BOOT = [PYTHON, "-I", "-c", f"from grader.execution.warm_judge import main; main('{JUDGE_DIR}')"]
_STATUS_CAP, _ANSWER_CAP = 1 << 20, 256 << 20


class WarmJudges(StartedAhead):
    """The judges' containers, each started with torch and the judge's modules imported."""

    def next_after(self, request: JudgeRequest, gpus: Any) -> None:
        """Once a judge is done: the next one starts importing torch while the job is scored and the next one runs
        (started at the same time as this judge, it would take the CPU this judge runs on). Only in a batch, as the
        runs' (grader.execution.docker_warm): its mark has the container removed after Ctrl-C or a kill -9."""
        if MARK_VAR in request.env:
            self.start_ahead(request, gpus)

    def key(self, request: JudgeRequest, gpus: Any) -> tuple:
        """Everything of a judge container's options that does not depend on the program: the GPUs and the env."""
        return (repr(gpus), tuple(sorted(request.env.items())))

    def start(self, key: tuple, request: JudgeRequest, gpus: Any) -> Warm:
        runner = self.runner()
        root = Path(request.warm_dir) / f".warm-judge-{uuid.uuid4().hex}"   # beside the runs' (a leading dot)
        fresh_dir(root, 0o755)
        fresh_dir(root / "judge", 0o755)
        runner.hand_over_folder(root)
        return self.started(key, root, lambda: runner._client.containers.create(
            runner.image, _WARM_BOOT, **_options(runner, request, root / "judge", gpus)))

    def hand_over(self, warm: Warm, request: JudgeRequest, spec: dict[str, Any]) -> None:
        """The program, its inputs and the request into the container's folder, then ``go``. The host wrote every
        file of the request's folder: one flat folder, linked where it can be (the inputs may be large)."""
        folder = warm.root / "judge"
        for entry in os.scandir(request.folder):
            if entry.is_file(follow_symlinks=False):
                try:
                    os.link(entry.path, folder / entry.name, follow_symlinks=False)
                except OSError:   # another file system
                    shutil.copyfile(entry.path, folder / entry.name, follow_symlinks=False)
        (folder / SPEC_FILE).write_text(json.dumps(spec), encoding="utf-8")
        self.runner().hand_over_folder(warm.root)
        say_go(folder)


def judge_in_container(runner: Any, request: JudgeRequest, gpus: Any, warm: WarmJudges | None = None) -> JudgeRun:
    """Run the judge for ``request`` in a container of ``runner``'s image and limits (a DockerRunner): one started
    ahead when ``warm`` has one and the request says where its folders go, else one made now."""
    started = time.monotonic()
    folder = Path(request.folder)
    spec = {**request.spec, "answers": ANSWERS, "device": "auto" if gpus else "cpu",
            "threads": max(1, math.ceil(runner.cpus))}
    answers = folder / "answers"
    taken = container = None
    try:
        if warm is None or request.warm_dir is None:
            (folder / SPEC_FILE).write_text(json.dumps(spec), encoding="utf-8")
            _hand_over(runner, folder)
            container = runner._client.containers.create(runner.image, _BOOT, **_options(runner, request, folder, gpus))
            container.start()
        else:
            taken = warm.take(request, gpus, ahead=False)
            container = taken.container
            warm.hand_over(taken, request, spec)
        try:
            result = container.wait(timeout=max(request.timeout_s, 1.0))
        except Exception:   # past its time (a read timeout) or the daemon's trouble: stop it either way
            kill(container)
            return JudgeRun(None, f"the judge ran past its {request.timeout_s:g} s", time.monotonic() - started)
        container.reload()
        state = container.attrs.get("State", {})
        log = container.logs(stdout=True, stderr=True)[-2000:].decode("utf-8", errors="replace")
        fresh_dir(answers, 0o700)
        names = [("status.json", _STATUS_CAP)] + [(f"{item['item']}.npy", _ANSWER_CAP) for item in spec["items"]]
        copy_files(container, ANSWERS, answers, names)
    finally:
        if container is not None:
            remove(container)
        if taken is not None:
            warm.finish(taken)
            warm.next_after(request, gpus)
    seconds = time.monotonic() - started
    if state.get("OOMKilled") or result.get("StatusCode") == 137:
        return JudgeRun(None, f"the judge ran out of memory ({runner.memory}) running the program", seconds)
    if result.get("StatusCode") != 0:
        lines = log.strip().splitlines()
        return JudgeRun(None, f"the judge stopped: {lines[-1][:200] if lines else result.get('StatusCode')}", seconds)
    return JudgeRun(answers, None, seconds)


def _options(runner: Any, request: JudgeRequest, folder: Path, gpus: Any) -> dict[str, Any]:
    # start-up: the docker SDK only when a container is started
    from docker.types import LogConfig, Mount

    env = {"HOME": "/tmp", "OMP_NUM_THREADS": str(max(1, math.ceil(runner.cpus))), "PYTHONDONTWRITEBYTECODE": "1"}
    env.update({k: v for k, v in request.env.items() if k == "CUDA_VISIBLE_DEVICES"})
    return dict(
        user=runner.user, working_dir=JUDGE_DIR, environment=env,
        mounts=[Mount(JUDGE_DIR, str(folder.resolve()), type="bind", read_only=True),
                Mount(ANSWERS, None, type="volume", labels={LABEL: "1"})],
        network_mode="none", read_only=True, ipc_mode="private",
        tmpfs={"/tmp": f"rw,nosuid,nodev,mode=1777,size={runner.tmpfs_mb}m"},
        mem_limit=runner.memory, memswap_limit=runner.memory, nano_cpus=int(runner.cpus * 1e9),
        pids_limit=runner.pids, cap_drop=["ALL"], security_opt=["no-new-privileges"],
        device_requests=gpu_device_requests(gpus) or None,
        # the batch's mark among them: a killed grader's next run finds and removes this container too
        labels={**container_labels(request.env), "grader.judge": "1"},
        log_config=LogConfig(type=LogConfig.types.JSON, config={"max-size": "1m", "max-file": "1"}),
    )


def _hand_over(runner: Any, folder: Path) -> None:
    """The judge's uid reads the folder (mounted read-only); only a root host has to hand it over. The host
    wrote every file in it: one flat folder, no walk of anything a notebook made."""
    if os.getuid() != 0:
        return
    uid, gid = (int(part) for part in runner.user.split(":"))
    os.chown(folder, uid, gid)
    for entry in os.scandir(folder):
        os.chown(entry.path, uid, gid, follow_symlinks=False)
