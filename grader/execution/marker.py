"""One batch's mark: every process and container a batch starts carries it, so Ctrl-C and the next run
can stop all of them, and a lock that keeps two graders off one output folder.

It only ever stops what carries this output folder's mark; it never touches another batch's jobs.
"""
from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from grader.errors import GraderError
from grader.execution.procfs import is_zombie, processes_with_env
from grader.execution.registry import runner_class

MARK_VAR = "GRADER_BATCH"      # in the environment of every job's processes and containers
LOCK_FILE = ".grader.lock"
DEAD_HOLDER_WAIT_S = 10.0


def batch_mark(out_dir: Path) -> str:
    """The same for every run on one output folder: what a killed grader left behind carries it too."""
    return hashlib.sha256(str(Path(out_dir).resolve()).encode()).hexdigest()[:16]


@contextmanager
def batch_lock(out_dir: Path) -> Iterator[str]:
    """Hold the output folder for this process (the kernel drops the lock when it dies, even by kill -9)
    and yield the batch's mark; GraderError when another live grader holds it."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _lock(fd, path, out_dir)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield batch_mark(out_dir)
    finally:
        os.close(fd)   # closing the descriptor releases the lock


def _lock(fd: int, path: Path, out_dir: Path) -> None:
    deadline = time.monotonic() + DEAD_HOLDER_WAIT_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as err:
            if err.errno not in (errno.EAGAIN, errno.EACCES):
                raise
        holder = path.read_text(encoding="utf-8", errors="replace").strip()
        # A grader killed while starting a job leaves a forked child holding the lock for a moment,
        # until it execs: wait for that, but never for a live grader.
        if (holder.isdigit() and _alive(int(holder))) or time.monotonic() > deadline:
            raise GraderError(f"another grader (pid {holder or '?'}) is working on {out_dir}; wait for it or "
                              "use another --out folder")
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and is_zombie(stat.parent))


def stop_marked(mark: str, runner: str | None = None) -> int:
    """Kill every process (and its process group) carrying ``mark`` and, given the batch's ``runner``,
    whatever else that runner leaves behind (its containers). Returns how many were stopped. Safe to
    call on any machine."""
    stopped = 0
    own_group = os.getpgid(0)
    for pid in marked_processes(mark):
        try:
            group = os.getpgid(pid)
            if group != own_group:
                os.killpg(group, signal.SIGKILL)
            os.kill(pid, signal.SIGKILL)
            stopped += 1
        except (ProcessLookupError, PermissionError):
            pass
    if runner is not None:

        stopped += runner_class(runner).stop_leftovers(mark)
    return stopped


def marked_processes(mark: str) -> list[int]:
    """Live processes of this user whose environment holds ``GRADER_BATCH=mark`` (Linux /proc; else none)."""
    return processes_with_env(MARK_VAR, mark)
