"""The local pool: up to N jobs at once, each a thread driving its runner's child process or container,
each holding one GPU slot (when there are GPUs) for as long as it runs.

Events come back to the caller's thread as they happen, so the caller alone stores results. On
Ctrl-C (or any stop) it submits nothing more and has every running job stopped; it never stores,
scores or retries anything itself.
"""
from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

STOP_WAIT_S = 30.0   # how long a stop waits for running jobs to notice their processes are gone


@dataclass(frozen=True)
class Started:
    item: Any
    slot: str | None = None      # the GPU this job holds, None without GPUs


@dataclass(frozen=True)
class Finished:
    item: Any
    result: Any = None
    error: str | None = None     # the job could not finish (a lost Dask worker): nothing to store


class LocalPool:
    """``run(items, work)`` calls ``work(item, slot)`` for every item, at most ``workers`` at a time."""

    def __init__(self, workers: int, gpus: Sequence[str] = (), *,
                 stop_running: Callable[[], Any] | None = None) -> None:
        if workers < 1:
            raise ValueError("a pool needs at least one worker")
        self.workers = workers
        self.gpus = tuple(str(g) for g in gpus)
        self.stop_running = stop_running

    def run(self, items: Iterable[Any], work: Callable[[Any, str | None], Any]) -> Iterator[Started | Finished]:
        """Items are taken from ``items`` only when a worker is free, so a batch is never held twice.
        Close the iterator (``contextlib.closing``) to stop early: running jobs are then stopped."""
        events: queue.Queue = queue.Queue()
        slots: queue.Queue = queue.Queue()
        for gpu in self.gpus:
            slots.put(gpu)
        stopping = threading.Event()
        source = iter(items)
        running = 0

        def job(item: Any) -> None:
            slot = slots.get() if self.gpus else None
            try:
                if stopping.is_set():
                    events.put(("skipped", item, None))
                    return
                events.put(("started", item, slot))
                try:
                    events.put(("done", item, work(item, slot)))
                except BaseException as err:   # handed to the caller's thread, which decides
                    events.put(("failed", item, err))
            finally:
                if slot is not None:
                    slots.put(slot)

        try:
            while True:
                while running < self.workers and not stopping.is_set():
                    item = next(source, _END)
                    if item is _END:
                        break
                    threading.Thread(target=job, args=(item,), daemon=True, name="grader-job").start()
                    running += 1
                if running == 0:
                    return
                kind, item, payload = events.get()
                if kind == "started":
                    yield Started(item, payload)
                    continue
                running -= 1
                if kind == "failed":
                    raise payload
                if kind == "done":
                    yield Finished(item, payload)
        except BaseException:
            stopping.set()
            self._stop(events, running)
            raise

    def _stop(self, events: queue.Queue, running: int) -> None:
        """Stop what runs, then wait for its threads; a second Ctrl-C must not cut this short."""
        with _signals_ignored():
            if running and self.stop_running is not None:
                self.stop_running()
            while running:
                try:
                    kind, _, _ = events.get(timeout=STOP_WAIT_S)
                except queue.Empty:
                    return   # a job that does not notice: its daemon thread dies with the process
                if kind != "started":
                    running -= 1


class _End:
    pass


_END = _End()


class _signals_ignored:
    """Ignore Ctrl-C and SIGTERM while a stop is under way (only the main thread may change handlers)."""

    def __enter__(self) -> None:
        self.previous = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.previous[sig] = signal.signal(sig, signal.SIG_IGN)

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


# --- how many workers, which GPUs --------------------------------------------------------------------

def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:   # not Linux
        return os.cpu_count() or 1


def detect_gpus() -> list[str]:
    """GPU ids this process may use: CUDA_VISIBLE_DEVICES when set, else what nvidia-smi lists, else none."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        ids = [part.strip() for part in visible.split(",") if part.strip()]
        return [] if ids in ([], ["-1"]) else ids
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        done = subprocess.run(["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"], capture_output=True,
                              text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in done.stdout.splitlines() if line.strip().isdigit()] if done.returncode == 0 else []


def gpu_ids(gpus: Any) -> list[str]:
    """``--gpus`` as a list of ids: None/"all" detected ones, an int N the first N, a list (or "0,1") those."""
    if gpus is False or gpus in ("", "none", 0) or (isinstance(gpus, (list, tuple)) and not gpus):
        return []
    if gpus is None or gpus is True or gpus in ("all", -1):
        return detect_gpus()
    if isinstance(gpus, int):
        return [str(i) for i in range(gpus)]
    parts = gpus.split(",") if isinstance(gpus, str) else list(gpus)
    return [str(p).strip() for p in parts if str(p).strip()]
