"""The grader's side of the local runner's fork servers (grader/execution/zygote.py): start one per worker slot and
batch environment, hand it a run, wait for the run within its budget, stop it, end it.

A server is leased to one job at a time, so one run per server; every call here is bounded in time. It never reads
anything a run wrote: that is the runner's business (local.py).
"""
from __future__ import annotations

import json
import os
import select
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from grader.errors import RunnerError

_GRADER_ROOT = str(Path(__file__).resolve().parents[2])
_BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from grader.execution.zygote import main; main(sys.argv[2:])"
START_TIMEOUT_S = 300.0   # importing torch and Keras on a loaded machine
REPLY_TIMEOUT_S = 60.0
_MESSAGE_BYTES = 1 << 20


@dataclass(frozen=True)
class ZygoteKey:
    """What a server's imports depend on: the preloads and the environment it imported them in; ``base`` says
    whose server it is ("kernel": students' runs; "judge": the grader's judge, started isolated)."""

    preload: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    base: str = "kernel"


@dataclass(frozen=True)
class Run:
    pid: int
    pidfd: int


class Zygote:
    """One fork server process and its control socket."""

    def __init__(self, python: str, key: ZygoteKey) -> None:
        self.key = key
        self.workspace = tempfile.mkdtemp(prefix="grader-warm-")
        env = dict(key.env)
        # Keras writes its config where it is imported: here, never the host's ~/.keras (each run names its own)
        env["KERAS_HOME"] = os.path.join(self.workspace, "keras")
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._lock = threading.Lock()
        self.socket = ours
        config = json.dumps({"preload": list(key.preload), "base": key.base})
        # the judge's server is isolated as the judge's process always was: no PYTHON* variable, no user site
        flags = ["-I"] if key.base == "judge" else []
        log = open(os.path.join(self.workspace, "zygote.log"), "wb")
        try:
            self.process = subprocess.Popen(
                [python, *flags, "-c", _BOOT, _GRADER_ROOT, str(theirs.fileno()), config], pass_fds=[theirs.fileno()],
                env=env, cwd=self.workspace, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        finally:
            theirs.close()
            log.close()
        ready = self._receive(START_TIMEOUT_S)[0]
        if not ready or not ready.get("ready"):
            self.close()
            raise RunnerError(f"the local runner's fork server did not start: {self._log_tail()}",
                              code="run_runner_error")
        self.failed_preloads = tuple(ready.get("failed", ()))
        self.facts = ready   # what the server says of itself: pid, threads, dumpable (the tests read it)

    def start(self, spec: dict, env: dict[str, str], cwd: str, threads: int | None, log_fd: int,
              memory_limit_mb: int | None = None) -> Run:
        """Fork a run: ``spec`` for grader.execution.child (a judge's server: {"path": its request}), its
        environment, folder, log and address-space limit."""
        message = {"op": "run", "spec": spec, "env": env, "cwd": cwd, "threads": threads,
                   "memory_limit_mb": memory_limit_mb, "entry": self.key.base}
        with self._lock:
            socket.send_fds(self.socket, [json.dumps(message).encode()], [log_fd])
            reply, fds = self._receive(REPLY_TIMEOUT_S)
        if not reply or "pid" not in reply or not fds:
            raise RunnerError(f"the fork server did not start the run: {reply}", code="run_runner_error")
        return Run(int(reply["pid"]), fds[0])

    def wait(self, run: Run, timeout_s: float) -> bool:
        """True when the run's process ended within ``timeout_s``."""
        ready, _, _ = select.select([run.pidfd], [], [], max(timeout_s, 0.0))
        return bool(ready)

    def stop(self, spare: int | None, sig: int) -> None:
        """Signal everything the run started but ``spare`` (the run's own process, to let it save its copy)."""
        self._ask({"op": "stop", "spare": spare, "signal": int(sig)})

    def end(self, run: Run | None) -> int | None:
        """Kill whatever is left of the run; its exit status (None when killed or unknown)."""
        try:
            reply = self._ask({"op": "end"})
        finally:
            if run is not None:
                os.close(run.pidfd)
        if reply.get("left"):
            raise RunnerError(f"{reply['left']} processes of a run outlived every kill", code="run_runner_error")
        return reply.get("status")

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        """The server kills what is left of its runs when its socket closes; it is waited for, then killed."""
        try:
            self.socket.close()
        finally:
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            shutil.rmtree(self.workspace, ignore_errors=True)

    def _ask(self, message: dict) -> dict:
        with self._lock:
            self.socket.send(json.dumps(message).encode())
            reply, _ = self._receive(REPLY_TIMEOUT_S)
        if reply is None:
            raise RunnerError("the local runner's fork server stopped answering", code="run_runner_error")
        return reply

    def _receive(self, timeout_s: float) -> tuple[dict | None, list[int]]:
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.socket], [], [], max(0.0, min(left, 1.0)))
            if ready:
                data, fds, _, _ = socket.recv_fds(self.socket, _MESSAGE_BYTES, 4)
                return (json.loads(data) if data else None), list(fds)
            if left <= 0 or self.process.poll() is not None:
                return None, []

    def _log_tail(self) -> str:
        try:
            lines = Path(self.workspace, "zygote.log").read_text(errors="replace").strip().splitlines()
        except OSError:
            lines = []
        return lines[-1][:300] if lines else f"exit status {self.process.poll()}"


class ZygotePool:
    """Idle servers by key; a job leases one (starting it when none is idle) and gives it back healthy. Servers can
    be started ahead (``prestart``), while the batch is still being prepared or a run still runs."""

    def __init__(self, python: str) -> None:
        self.python = python
        self._idle: list[Zygote] = []
        self._pending: list[tuple[ZygoteKey, Future]] = []
        self._leased: set[Zygote] = set()
        self._lock = threading.Lock()
        self._closed = False

    def prestart(self, key: ZygoteKey, count: int = 1) -> None:
        """Have ``count`` servers of ``key`` idle or starting, starting the missing ones in the background."""
        with self._lock:
            have = sum(1 for z in self._idle if z.key == key) + sum(1 for k, _ in self._pending if k == key)
            for _ in range(max(0, count - have)):
                future: Future = Future()
                self._pending.append((key, future))
                threading.Thread(target=self._start, args=(key, future), daemon=True, name="grader-zygote").start()

    def _start(self, key: ZygoteKey, future: Future) -> None:
        try:
            future.set_result(Zygote(self.python, key))
        except BaseException as err:   # the job that takes it starts its own, and says why if that fails too
            future.set_exception(err)

    @contextmanager
    def lease(self, key: ZygoteKey) -> Iterator[Zygote]:
        zygote = self._take(key)
        healthy = False
        try:
            yield zygote
            healthy = zygote.alive()
        finally:
            with self._lock:
                self._leased.discard(zygote)
                keep = healthy and not self._closed
                if keep:
                    self._idle.append(zygote)
            if not keep:
                zygote.close()

    def _take(self, key: ZygoteKey) -> Zygote:
        with self._lock:
            match = next((z for z in self._idle if z.key == key and z.alive()), None)
            # another practical's servers of the same kind are not needed any more (the batch moved on)
            others = [z for z in self._idle if z is not match and z.key != key and z.key.base == key.base]
            self._idle = [z for z in self._idle if z is not match and z not in others]
            pending = next((f for k, f in self._pending if k == key), None) if match is None else None
            self._pending = [(k, f) for k, f in self._pending if f is not pending]
        for zygote in others:
            zygote.close()
        if match is None and pending is not None:
            try:
                match = pending.result()
            except Exception:   # it could not start: start one here, whose failure is the job's
                match = None
        zygote = match or Zygote(self.python, key)
        with self._lock:
            self._leased.add(zygote)
        return zygote

    def stop_all(self) -> None:
        """Kill every run in flight (Ctrl-C): each leased server ends its run; the jobs then see it gone."""
        with self._lock:
            leased = list(self._leased)
        for zygote in leased:
            try:
                zygote.stop(None, 9)
            except (OSError, RunnerError):
                pass

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            pending, self._pending = self._pending, []
        for _, future in pending:   # started ahead and never used: waited for, then closed
            try:
                idle.append(future.result())
            except Exception:
                pass
        for zygote in idle:
            zygote.close()
