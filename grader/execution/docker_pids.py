"""The docker runner's PID limit: how many forks the container's cgroup refused, and whether a failure
says a fork or a thread was refused."""
from __future__ import annotations

import threading
from pathlib import Path

from grader.records import RunResult

_PID_LIMIT_SIGNS = ("Resource temporarily unavailable", "BlockingIOError", "can't start new thread")


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
