"""The local runner: papermill runs the prepared copy in a process of its own session, forked from a warm fork
server (zygote.py, zygote_client.py) that imported the kernel's modules once per batch, or (``warm = false``, the
cold path) started as a new interpreter that starts its kernel as another.

For students' self-checks and trusted runs only: it limits time and core dumps, not what the code may
touch. It must never let a notebook hang, kill or raise into the grader: every outcome is a RunResult.
The child's side is child.py; reading how the run went is outcome.py.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from grader.errors import GraderError
from grader.execution.base import KERAS_BACKEND, PROGRAM_PREFIX, JudgeRequest, JudgeRun, Runner, RunRequest
from grader.execution.child import CHILD_CALL, KERNEL_NAME, child_spec, write_kernelspec
from grader.execution.judge_process import judge_server_key
from grader.execution.leftovers import discard, settled
from grader.execution.local_options import LocalOptions
from grader.execution.outcome import LOG_CAP_BYTES, interpret, result
from grader.execution.prepare import fresh_dirs, prepare, provide_datasets
from grader.execution.procfs import processes_with_env
from grader.execution.safe_files import copy_out, remove
from grader.execution.zygote_client import Zygote, ZygoteKey, ZygotePool
from grader.i18n import msg
from grader.records import RunResult
from grader.execution import pool

_KERAS_HOME = "keras"             # the run's $KERAS_HOME, under work_dir
_WRITTEN = "out.written"          # out/ as the notebook left it, renamed aside while its copies are made
# What a run makes under work_dir besides its results, all writable by the notebook (the grader's own
# user): removed after every run, out/ once the expected names are copied out of it.
_RUN_FOLDERS = ("scratch", _WRITTEN, "tmp", "runtime", "ipython", _KERAS_HOME, "provided", "kernel", "runner.json")
_TOKEN_VAR = "GRADER_RUN_TOKEN"   # marks every process of one cold run, wherever it moved its process group
_GRADER_ROOT = str(Path(__file__).resolve().parents[2])
# The child imports the grader from this checkout without putting it on the kernel's sys.path.
_CHILD_BOOT = f"import sys; sys.path.insert(0, sys.argv[1]); {CHILD_CALL}"


class LocalRunner(Runner):
    name = "local"
    options_table = "local"   # [local] in course.toml: warm
    options_model = LocalOptions
    isolated = False       # the notebook runs as the grader's user: the CLI warns about it

    @classmethod
    def assign_gpus(cls, options: dict, gpus: Any, workers: int | None) -> tuple[dict, list[str]]:
        """One GPU per job through the pool's slots, and each kernel's BLAS/OpenMP threads sized to its
        share of the cores."""

        options, slots = super().assign_gpus(options, gpus, workers)
        jobs = workers or cls.default_workers(options, slots)
        options.setdefault("threads", max(1, pool.cpu_count() // jobs))
        return options, slots

    def __init__(self, *, python: str | None = None, kill_grace_s: float = 3.0, memory_limit_mb: int | None = None,
                 log_cap_bytes: int = LOG_CAP_BYTES, start_timeout_s: float = 60.0,
                 file_limit_mb: int | None = None, threads: int | None = None, warm: bool = True) -> None:
        # The kernel runs on this interpreter (the grader's own, by default), so the notebook sees the
        # same torch/numpy the checks and the reference implementations use.
        self.python = python or sys.executable
        self.kill_grace_s = kill_grace_s
        self.memory_limit_mb = memory_limit_mb
        self.log_cap_bytes = log_cap_bytes
        self.start_timeout_s = start_timeout_s
        self.file_limit_mb = file_limit_mb
        # Parallel jobs on few cores: each kernel's BLAS/OpenMP pool sized to its share, or torch
        # threads fight each other (LSTM steps were seen 25x slower with 2 kernels x 2 threads on 2 cores).
        self.threads = threads
        # warm: each run is forked from a fork server that imported the kernel's modules once (the fork server
        # dies with this object, or at the latest with the grader's process: its socket closes)
        self._zygotes = ZygotePool(self.python) if warm and _forks_here() else None

    def warm_up(self, preload: tuple[str, ...], env: dict[str, str], runs: int) -> None:
        if self._zygotes is not None:
            self._zygotes.prestart(self._zygote_key(preload, env), runs)

    def judge(self, request: JudgeRequest) -> JudgeRun:
        """Warm: the judge forked from a judge's own fork server (torch and the judge imported once per batch),
        never from the students' (grader.execution.judge_process)."""
        if self._zygotes is None:
            return super().judge(request)
        # start-up: the warm judge's machinery only when a program is judged
        from grader.execution.judge_process import judge_forked

        with self._zygotes.lease(judge_server_key(self._thread_env())) as server:
            return judge_forked(request, server)

    def stop(self) -> None:
        if self._zygotes is not None:
            self._zygotes.stop_all()

    def close(self) -> None:
        if self._zygotes is not None:
            self._zygotes.close()

    def __del__(self) -> None:
        zygotes = getattr(self, "_zygotes", None)
        if zygotes is not None:
            zygotes.close()

    def run(self, request: RunRequest) -> RunResult:
        started = time.monotonic()
        try:
            outcome = self._run(request, started)
        except GraderError as err:
            outcome = result(request, "error", started, reason=err.reason)
        except Exception as err:  # a runner bug costs this one run, never the grader process
            outcome = result(request, "runner_error", started,
                             reason=msg("run_runner_error", detail=f"{type(err).__name__}: {err}"))
        discard(request.work_dir, _RUN_FOLDERS)   # everything the notebook could write but out/'s copies
        return settled(request, outcome)

    def _run(self, request: RunRequest, started: float) -> RunResult:
        fresh_dirs(request)
        notebook = prepare(request, KERNEL_NAME)
        provided = provide_datasets(request, request.work_dir / "provided")
        spec_path = self._write_spec(request, notebook, provided)
        log_path = request.work_dir / "runner.log"
        if self._zygotes is not None:
            if any(name.startswith(PROGRAM_PREFIX) for name, _ in request.expected_outputs):
                # the judge will run this run's exported program: its server starts while the notebook runs
                self._zygotes.prestart(judge_server_key(self._thread_env()))
            with self._zygotes.lease(self._zygote_key(request.preload, request.env)) as zygote:
                timed_out, returncode = self._run_forked(zygote, request, spec_path, log_path, started)
        else:
            timed_out, returncode = self._run_cold(request, spec_path, log_path, started)
        dropped = _collect_outputs(request)
        log_text = read_capped(log_path, self.log_cap_bytes)
        log_text += "".join(f"\n[grader] out/: {problem}; not used" for problem in dropped)
        return interpret(request, started, timed_out, returncode, log_text)

    def _run_forked(self, zygote: Zygote, request: RunRequest, spec_path: Path, log_path: Path,
                    started: float) -> tuple[bool, int | None]:
        """One run forked from ``zygote``; whatever it started is killed when it ends (the zygote is the
        subreaper of every process of the run, however it moved its session, group or environment)."""
        spec = json.loads(spec_path.read_text(encoding="utf-8"))
        with log_path.open("wb") as log:
            run = zygote.start(spec, self._child_env(request, None), str(request.scratch_dir), self.threads,
                               log.fileno())
        timed_out = False
        try:
            if not zygote.wait(run, request.timeout_s - (time.monotonic() - started)):
                timed_out = True
                # The kernel first: the run then sees a dead kernel and writes the executed copy before exiting.
                zygote.stop(spare=run.pid, sig=signal.SIGKILL)
                zygote.wait(run, self.kill_grace_s)
        finally:
            returncode = zygote.end(run)
        return timed_out, returncode

    def _zygote_key(self, preload: tuple[str, ...], run_env: dict[str, str]) -> ZygoteKey:
        """The batch's environment (without the GPU, which each run sets for itself) and the preloads."""
        env = dict(os.environ)
        env.update(KERAS_BACKEND)
        env.update({str(k): str(v) for k, v in run_env.items() if k != "CUDA_VISIBLE_DEVICES"})
        # start-up: only when a run's environment is written
        from grader.execution.habits import STANDINS_DIR

        # the kernels' sys.path is the fork server's: with the stand-ins first, as PYTHONPATH gives a cold kernel
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(STANDINS_DIR), env.get("PYTHONPATH")]))
        # what ipykernel sets before any notebook imports matplotlib: pyplot is imported here before ipykernel runs
        env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        env["TQDM_DISABLE"] = env.get("TQDM_DISABLE", "1")
        # Keras asks at import whether CUDA is there: by NVML, which leaves CUDA untouched (a CUDA initialised before
        # a fork is broken in the fork). The runs' own environment does not have it: their check is the usual one.
        env["PYTORCH_NVML_BASED_CUDA_CHECK"] = "1"
        env["PYTHONUNBUFFERED"] = "1"
        env.update(self._thread_env())
        return ZygoteKey(tuple(preload), tuple(sorted(env.items())))

    def _thread_env(self) -> dict[str, str]:
        if not self.threads:
            return {}
        return {var: str(self.threads) for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}

    def _run_cold(self, request: RunRequest, spec_path: Path, log_path: Path, started: float) -> tuple[bool, int]:
        token = uuid.uuid4().hex
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [self.python, "-c", _CHILD_BOOT, _GRADER_ROOT, str(spec_path)],
                cwd=request.scratch_dir, env=self._child_env(request, token), stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            timed_out = _wait_or_stop(proc, token, request.timeout_s - (time.monotonic() - started),
                                      self.kill_grace_s)
        _kill_marked(token, signal.SIGKILL)  # what the notebook left running after a normal end, too
        return timed_out, proc.returncode

    def _write_spec(self, request: RunRequest, notebook: Path, provided: Path | None) -> Path:
        spec = child_spec(
            notebook=str(notebook), output=str(request.executed_path), cwd=str(request.scratch_dir),
            result=str(request.work_dir / "run.json"), cell_timeout_s=request.cell_timeout_s,
            start_timeout_s=min(self.start_timeout_s, request.timeout_s),
            memory_limit_mb=self.memory_limit_mb, file_limit_mb=self.file_limit_mb,
            provided=None if provided is None else str(provided))
        path = request.work_dir / "runner.json"
        path.write_text(json.dumps(spec), encoding="utf-8")
        write_kernelspec(request.work_dir / "kernel", self.python)
        return path

    def _child_env(self, request: RunRequest, token: str | None) -> dict[str, str]:
        env = dict(os.environ)
        # Our own kernelspec first, so a "python3" kernelspec elsewhere cannot pick another interpreter.
        env["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(request.work_dir / "kernel"),
                                                            env.get("JUPYTER_PATH")]))
        # Kernel connection files (left behind when a kernel is killed), IPython's history of the student's
        # code and temporary files go to this run's folder, never into the host's $HOME or /tmp.
        # Keras's home too (its config and dataset cache, grader.dataset_caches): a run never reads the host's
        # ~/.keras, which may hold the real MNIST, and behaves as under docker.
        for var, name in (("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython"), ("TMPDIR", "tmp"),
                          ("KERAS_HOME", _KERAS_HOME)):
            folder = request.work_dir / name
            folder.mkdir(parents=True, exist_ok=True)
            env[var] = str(folder)
        env.update(KERAS_BACKEND)
        env.update({str(k): str(v) for k, v in request.env.items()})
        if token is not None:   # a forked run is found by descent instead: the token would not show in /proc
            env[_TOKEN_VAR] = token
        env["PYTHONUNBUFFERED"] = "1"
        env.update(self._thread_env())
        return env


def _collect_outputs(request: RunRequest) -> list[str]:
    """out/ as the notebook left it goes aside; a new out/ of the host's gets copies of the expected
    names (regular files within their caps, never through a link). Returns what was refused."""
    aside = request.work_dir / _WRITTEN
    remove(aside)
    try:
        os.rename(request.out_dir, aside)   # a link or a file in out/'s place moves as it is
    except FileNotFoundError:
        pass
    request.out_dir.mkdir(mode=0o700)
    return copy_out(aside, request.out_dir, request.expected_outputs)


# --- process control -----------------------------------------------------------------------------

def _wait_or_stop(proc: subprocess.Popen, token: str, budget_s: float, grace_s: float) -> bool:
    """Wait for the child within the run's budget; past it, stop everything of the run. True if stopped."""
    try:
        proc.wait(timeout=max(budget_s, 0.0))
        return False
    except subprocess.TimeoutExpired:
        pass
    # The kernel first: the child then sees a dead kernel and saves the executed copy before exiting.
    _kill_marked(token, signal.SIGTERM, spare=proc.pid)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        _signal_group(proc.pid, signal.SIGKILL)
        proc.wait()
    _signal_group(proc.pid, signal.SIGKILL)  # whatever else still sits in the child's group
    return True


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError, AttributeError):
        pass


def _kill_marked(token: str, sig: int, spare: int | None = None) -> None:
    """Signal every live process carrying this run's token, and its process group.

    The kernel starts its own session (jupyter_client does so), so killing the child's group alone
    would leave it running; the token finds it and anything it spawned. Linux (/proc) only; elsewhere
    the kernel notices its parent died and exits by itself.
    """
    own_group = os.getpgid(0)
    for pid in marked_processes(token):
        if pid == spare:
            continue
        try:
            group = os.getpgid(pid)
            if group not in (own_group, spare):
                os.killpg(group, sig)
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def marked_processes(token: str) -> list[int]:
    """Live (non-zombie) processes whose environment holds this run's token."""
    return processes_with_env(_TOKEN_VAR, token)


# --- small helpers -------------------------------------------------------------------------------

def _forks_here() -> bool:
    """The fork server needs Linux: fork, pidfds, prctl and /proc."""
    return sys.platform.startswith("linux") and hasattr(os, "pidfd_open") and hasattr(os, "fork")


def read_capped(path: Path, cap: int) -> str:
    """The file's text, or its head and tail with a marker when it is longer than ``cap`` bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size <= cap:
                data = fh.read()
            else:
                head = fh.read(cap // 2)
                fh.seek(size - cap // 2)
                data = head + f"\n[... {size - 2 * (cap // 2)} bytes left out ...]\n".encode() + fh.read()
    except OSError:
        return ""
    return data.decode("utf-8", errors="replace")
