"""The docker runner's limits (its ``[docker]`` table is declared in docker_options.py): which GPUs a run gets, how many forks the container's cgroup refused, and whether a failure says a fork or a
thread was refused. It checks and counts only: it starts no container."""
from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import Any

from grader.records import RunResult
from grader.execution.pool import gpu_ids

_PID_LIMIT_SIGNS = ("Resource temporarily unavailable", "BlockingIOError", "can't start new thread")


def pool_gpus(options: dict, gpus: Any) -> dict:
    """The options for the local pool: --gpus (else the table's ``gpus``) as a list of device ids, which
    the runner hands out one per container, unless ``share_gpus`` gives every run all of them."""
    options = with_gpus(options, gpus)
    if options.get("gpus") not in (None, False) and not options.get("share_gpus"):
        options["gpus"] = gpu_ids(options["gpus"])
    return options


def with_gpus(options: dict, gpus: Any) -> dict:
    """--gpus, when given, replaces the table's ``gpus``."""
    return {**options, "gpus": gpus} if gpus is not None else dict(options)


def gpu_device_requests(gpus: Any) -> list:
    """Device requests for ``gpus``: None/False/[] none, "all"/True/-1 every GPU, an int N that many,
    a list (or "0,1") those device ids."""
    if gpus in (None, False, "", "none", [], ()):
        return []
    # start-up: the docker SDK only when a container is started
    from docker.types import DeviceRequest

    if gpus in ("all", True, -1):
        return [DeviceRequest(count=-1, capabilities=[["gpu"]])]
    if isinstance(gpus, int):
        return [DeviceRequest(count=gpus, capabilities=[["gpu"]])]
    ids = gpus.split(",") if isinstance(gpus, str) else list(gpus)
    return [DeviceRequest(device_ids=[str(i).strip() for i in ids], capabilities=[["gpu"]])]


def gpu_pool(gpus: Any, share: bool) -> queue.Queue | None:
    """A pool of single devices when a list of GPUs is given: never two runs on one GPU unless ``share``."""
    if share or gpus in (None, False, "", "all", True, -1) or isinstance(gpus, int):
        return None
    ids = gpus.split(",") if isinstance(gpus, str) else list(gpus)
    pool: queue.Queue = queue.Queue()
    for device in ids:
        pool.put(str(device).strip())
    return pool


def _pid_limit_hits(container_id: str) -> int:
    """How many forks the PID limit refused (cgroup ``pids.events``); 0 when unknown (remote daemon)."""
    candidates = (f"/sys/fs/cgroup/pids/docker/{container_id}/pids.events",
                  f"/sys/fs/cgroup/docker/{container_id}/pids.events",
                  f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope/pids.events")
    for candidate in candidates:
        try:
            for line in Path(candidate).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "max":
                    return int(value)
        except (OSError, ValueError):
            continue
    return 0


class PidWatch:
    """Watches the container's cgroup ``pids.events`` while it runs (the cgroup goes with the container):
    ``hits`` is how many forks the PID limit refused; 0 when unknown (a remote daemon)."""

    def __init__(self, container_id: str, every_s: float = 0.2) -> None:
        self.container_id, self.every_s, self.hits = container_id, every_s, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> "PidWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _poll(self) -> None:
        while True:
            self.hits = max(self.hits, _pid_limit_hits(self.container_id))
            if self._stop.wait(self.every_s):
                return


def mentions_pid_limit(result: RunResult) -> bool:
    """The failure says a fork or a thread was refused (the kernel's error, or the child's last words)."""
    reason_text = " ".join(str(v) for v in (result.reason.params.values() if result.reason else ()))
    return any(sign in reason_text or sign in result.log for sign in _PID_LIMIT_SIGNS)
