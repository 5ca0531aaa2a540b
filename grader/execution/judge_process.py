"""The judge as a child process of the grader's own interpreter: isolated Python (``-I``), its own session, a
minimal environment, capped in memory, killed at its time limit. The runners' default place for the judge
(grader.judge); the local runner forks it from a judge's fork server instead (same limits, environment and
time), and the docker runner runs it in a fresh container.

The child runs only the grader's judge on a program it checks first (never student Python), so these caps are
against a program that asks for too much, not against code: nothing here trusts the program.
"""
from __future__ import annotations

import json
import resource
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from grader.execution.base import JudgeRequest, JudgeRun

MEMORY_LIMIT_MB = 8192
_ROOT = str(Path(__file__).resolve().parents[2])
_BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from grader.judge.main import main; main(sys.argv[-1])"
SPEC_FILE = "judge.json"
ANSWERS = "answers"


def judge_in_child(request: JudgeRequest, memory_limit_mb: int | None = MEMORY_LIMIT_MB,
                   python: str | None = None) -> JudgeRun:
    started = time.monotonic()
    folder = Path(request.folder)
    spec_path = write_spec(request)
    with (folder / "judge.log").open("wb") as out:
        proc = subprocess.Popen([python or sys.executable, "-I", "-c", _BOOT, _ROOT, str(spec_path)],
                                cwd=folder, env=environment(request.env, folder), stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=lambda: _limits(memory_limit_mb))
        try:
            proc.wait(timeout=max(request.timeout_s, 1.0))
        except subprocess.TimeoutExpired:
            _kill(proc)
            return JudgeRun(None, past_time(request), time.monotonic() - started)
    return finished(request, proc.returncode, memory_limit_mb, started)


def judge_forked(request: JudgeRequest, server, memory_limit_mb: int | None = MEMORY_LIMIT_MB) -> JudgeRun:
    """The same, forked from a judge's fork server (grader.execution.zygote, base "judge": torch and the judge's
    modules imported once per batch), under the same limits, environment and time."""
    started = time.monotonic()
    folder = Path(request.folder)
    spec_path = write_spec(request)
    with (folder / "judge.log").open("wb") as out:
        run = server.start({"path": str(spec_path)}, environment(request.env, folder), str(folder), None,
                           out.fileno(), memory_limit_mb=memory_limit_mb)
    try:
        in_time = server.wait(run, max(request.timeout_s, 1.0))
    finally:
        code = server.end(run)
    if not in_time:
        return JudgeRun(None, past_time(request), time.monotonic() - started)
    return finished(request, -signal.SIGKILL if code is None else code, memory_limit_mb, started)


def judge_server_key(threads_env: dict[str, str]):
    """A judge's fork server: isolated, with the environment the judge's child always had (a folder of its own
    for HOME and TMPDIR comes with each run) and the runs' share of the cores."""
    # start-up: the fork server's client only when a warm judge is asked for
    from grader.execution.zygote_client import ZygoteKey

    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "CUDA_VISIBLE_DEVICES")}
    env.update({**threads_env, "PYTHONDONTWRITEBYTECODE": "1"})
    return ZygoteKey((), tuple(sorted(env.items())), base="judge")


def write_spec(request: JudgeRequest) -> Path:
    folder = Path(request.folder)
    spec = {**request.spec, "answers": str(folder / ANSWERS), "device": _device(request.env),
            "threads": int(request.env.get("OMP_NUM_THREADS") or 1)}
    (folder / SPEC_FILE).write_text(json.dumps(spec), encoding="utf-8")
    return folder / SPEC_FILE


def past_time(request: JudgeRequest) -> str:
    return f"the judge ran past its {request.timeout_s:g} s"


def finished(request: JudgeRequest, code: int, memory_limit_mb: int | None, started: float) -> JudgeRun:
    seconds = time.monotonic() - started
    if code != 0:
        return JudgeRun(None, _failure(code, Path(request.folder) / "judge.log", memory_limit_mb), seconds)
    return JudgeRun(Path(request.folder) / ANSWERS, None, seconds)


def _device(env: dict[str, str]) -> str:
    """cuda when the run was given a GPU (the judge falls back to the CPU if it sees none)."""
    visible = env.get("CUDA_VISIBLE_DEVICES", os.environ.get("CUDA_VISIBLE_DEVICES"))
    return "auto" if visible not in (None, "", "-1") else "cpu"


def environment(env: dict[str, str], folder: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "CUDA_VISIBLE_DEVICES")}
    keep.update({k: v for k, v in env.items() if k in ("CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS")})
    keep.update({"HOME": str(folder), "TMPDIR": str(folder), "PYTHONDONTWRITEBYTECODE": "1"})
    return keep


def _limits(memory_limit_mb: int | None) -> None:

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if memory_limit_mb:
        limit = int(memory_limit_mb) << 20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _failure(code: int, log: Path, memory_limit_mb: int | None) -> str:
    try:
        with log.open("rb") as fh:
            fh.seek(max(0, log.stat().st_size - 2000))
            tail = fh.read().decode("utf-8", errors="replace").strip().splitlines()
    except OSError:
        tail = []
    last = tail[-1][:200] if tail else f"exit status {code}"
    if "MemoryError" in last or "std::bad_alloc" in last or code == -signal.SIGKILL:
        return f"the judge ran out of memory ({memory_limit_mb} MB) running the program"
    return f"the judge stopped: {last}"
