"""The local runner: papermill runs the prepared copy in a child process of its own session.

For students' self-checks and trusted runs only: it limits time and core dumps, not what the code may
touch. It must never let a notebook hang, kill or raise into the grader: every outcome is a RunResult.
"""
from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from grader.errors import GraderError
from grader.execution.base import Runner, RunRequest
from grader.execution.habits import diagnose
from grader.execution.procfs import processes_with_env
from grader.execution.prepare import prepare, source_index
from grader.execution.safe_files import UnsafeFile, kind_of, read_regular, remove
from grader.i18n import msg
from grader.notebooks import cell_refs, read_notebook
from grader.records import Reason, RunResult

KERNEL_NAME = "grader-python3"
LOG_CAP_BYTES = 64 * 1024
_TOKEN_VAR = "GRADER_RUN_TOKEN"   # marks every process of one run, wherever it moved its process group
_EVALUE_CAP = 500
_FILE_TOO_LARGE = "[Errno 27] File too large"   # EFBIG: a write past the file-size limit
_GRADER_ROOT = str(Path(__file__).resolve().parents[2])
_RUN_RECORD_CAP = 64 << 10


class LocalRunner(Runner):
    name = "local"

    def __init__(self, *, python: str | None = None, kill_grace_s: float = 3.0, memory_limit_mb: int | None = None,
                 log_cap_bytes: int = LOG_CAP_BYTES, start_timeout_s: float = 60.0,
                 file_limit_mb: int | None = None, threads: int | None = None) -> None:
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

    def run(self, request: RunRequest) -> RunResult:
        started = time.monotonic()
        try:
            return self._run(request, started)
        except GraderError as err:
            return _result(request, "error", started, reason=err.reason)
        except Exception as err:  # a runner bug costs this one run, never the grader process
            return _result(request, "runner_error", started,
                           reason=msg("run_runner_error", detail=f"{type(err).__name__}: {err}"))

    def _run(self, request: RunRequest, started: float) -> RunResult:
        _fresh_dirs(request)
        notebook = prepare(request, KERNEL_NAME)
        spec_path = self._write_spec(request, notebook)
        token = uuid.uuid4().hex
        log_path = request.work_dir / "runner.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [self.python, "-c", _CHILD_BOOT, _GRADER_ROOT, str(spec_path)],
                cwd=request.scratch_dir, env=self._child_env(request, token), stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            timed_out = _wait_or_stop(proc, token, request.timeout_s - (time.monotonic() - started),
                                      self.kill_grace_s)
        _kill_marked(token, signal.SIGKILL)  # what the notebook left running after a normal end, too
        log_text = read_capped(log_path, self.log_cap_bytes)
        return _interpret(request, started, timed_out, proc.returncode, log_text)

    def _write_spec(self, request: RunRequest, notebook: Path) -> Path:
        spec = {
            "notebook": str(notebook), "output": str(request.executed_path), "cwd": str(request.scratch_dir),
            "kernel_name": KERNEL_NAME, "result": str(request.work_dir / "run.json"),
            "cell_timeout_s": max(1, math.ceil(request.cell_timeout_s)),
            "start_timeout_s": max(1, math.ceil(min(self.start_timeout_s, request.timeout_s))),
            "memory_limit_mb": self.memory_limit_mb, "file_limit_mb": self.file_limit_mb,
        }
        path = request.work_dir / "runner.json"
        path.write_text(json.dumps(spec), encoding="utf-8")
        _write_kernelspec(request.work_dir / "kernel", self.python)
        return path

    def _child_env(self, request: RunRequest, token: str) -> dict[str, str]:
        env = dict(os.environ)
        # Our own kernelspec first, so a "python3" kernelspec elsewhere cannot pick another interpreter.
        env["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(request.work_dir / "kernel"),
                                                            env.get("JUPYTER_PATH")]))
        # Kernel connection files (left behind when a kernel is killed), IPython's history of the student's
        # code and temporary files go to this run's folder, never into the host's $HOME or /tmp.
        for var, name in (("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython"), ("TMPDIR", "tmp")):
            folder = request.work_dir / name
            folder.mkdir(parents=True, exist_ok=True)
            env[var] = str(folder)
        env["GRADER_PROBE_DIR"] = str(request.probe_dir)
        env["GRADER_OUT_DIR"] = str(request.out_dir)
        if request.data_dir is not None:
            env["GRADER_DATA_DIR"] = str(request.data_dir)
        env.update({str(k): str(v) for k, v in request.env.items()})
        env[_TOKEN_VAR] = token
        env["PYTHONUNBUFFERED"] = "1"
        if self.threads:
            env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(self.threads)
        return env


# --- the child process ---------------------------------------------------------------------------

# The child imports the grader from this checkout without putting it on the kernel's sys.path.
_CHILD_BOOT = ("import sys; sys.path.insert(0, sys.argv[1]); "
               "from grader.execution.local import child_main; child_main(sys.argv[2])")


def child_main(spec_path: str) -> None:
    """Runs in the child: execute the prepared notebook with papermill, record how it ended."""
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    _limit_resources(spec.get("memory_limit_mb"), spec.get("file_limit_mb"))
    # The kernel inherits this environment: a stand-in google.colab, and no tqdm bars flooding outputs.
    from grader.execution.habits import STANDINS_DIR
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(STANDINS_DIR), os.environ.get("PYTHONPATH")]))
    os.environ.setdefault("TQDM_DISABLE", "1")
    outcome = _execute(spec)
    Path(spec["result"]).write_text(json.dumps(outcome), encoding="utf-8")


def _execute(spec: dict[str, Any]) -> dict[str, Any]:
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    try:
        papermill.execute_notebook(
            spec["notebook"], spec["output"], kernel_name=spec["kernel_name"], cwd=spec["cwd"],
            progress_bar=False, start_timeout=spec["start_timeout_s"], execution_timeout=spec["cell_timeout_s"],
            # allow_errors reaches nbclient: a failing student cell is recorded and the next cells still run
            allow_errors=True, shutdown_kernel="immediate")
    except PapermillExecutionError:
        _drop_error_markers(spec["output"])  # errors stay in the outputs; papermill's "stopped here" is false
    except CellTimeoutError as err:
        return {"outcome": "cell_timeout", "detail": str(err)[:_EVALUE_CAP]}
    except DeadKernelError as err:
        return {"outcome": "kernel_died", "detail": str(err)[:_EVALUE_CAP]}
    except Exception as err:
        return {"outcome": "crashed", "detail": f"{type(err).__name__}: {err}"[:_EVALUE_CAP]}
    return {"outcome": "completed"}


def _drop_error_markers(output: str) -> None:
    import nbformat

    nb = nbformat.read(output, as_version=4)
    nb.cells = [c for c in nb.cells if "papermill-error-cell-tag" not in c.metadata.get("tags", [])]
    nbformat.write(nb, output)


def _limit_resources(memory_limit_mb: int | None, file_limit_mb: int | None = None) -> None:
    try:
        import resource
    except ImportError:  # not POSIX: no rlimits
        return
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if file_limit_mb:
        # One file past the cap fails with "File too large" (Python ignores SIGXFSZ) instead of filling
        # the disk; many smaller files are not caught by this.
        limit = int(file_limit_mb) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    if memory_limit_mb:
        limit = int(memory_limit_mb) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


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


# --- results -------------------------------------------------------------------------------------

def _interpret(request: RunRequest, started: float, timed_out: bool, returncode: int | None,
               log: str) -> RunResult:
    refused = _refused_results(request)
    if refused:   # a link there would show another notebook (or any file of the host) as this run's
        return _result(request, "error", started, log=log,
                       reason=msg("hostile_results_refused", detail="; ".join(refused)))
    cells = _executed_cells(request.executed_path)
    executed = request.executed_path if cells is not None else None
    cells = cells or []
    _forget_planted_outputs(request, cells)
    outcome = _child_outcome(request.work_dir / "run.json")
    last = _last_started(cells)
    common = {"executed": executed, "log": log}
    if timed_out:
        return _result(request, "timeout", started, reason=msg("run_timeout", limit_s=_seconds(request.timeout_s),
                       number=_number(request, last)), failed_cell=last, **common)
    if outcome is None:
        return _result(request, "runner_error", started, reason=msg("run_child_failed", exit_code=returncode,
                       detail=_last_line(log)), **common)
    kind = outcome.get("outcome")
    if kind == "cell_timeout":
        return _result(request, "timeout", started, reason=msg("run_cell_timeout", number=_number(request, last),
                       limit_s=_seconds(request.cell_timeout_s)), failed_cell=last, **common)
    if kind == "kernel_died":
        return _result(request, "kernel_died", started, reason=msg("run_kernel_died", number=_number(request, last)),
                       failed_cell=last, **common)
    if kind != "completed":
        return _result(request, "runner_error", started,
                       reason=msg("run_runner_error", detail=outcome.get("detail", "")), **common)
    return _from_outputs(request, started, cells, common)


def _from_outputs(request: RunRequest, started: float, cells: list[dict], common: dict) -> RunResult:
    injected_error = None
    for cell in cells:
        error = _error_output(cell)
        if error is None:
            continue
        index = source_index(cell)
        if index is None:
            injected_error = injected_error or error
            continue
        ename, evalue = error
        status = "out_of_memory" if ename == "MemoryError" else "error"
        code = "run_out_of_memory" if status == "out_of_memory" else "run_cell_error"
        if _FILE_TOO_LARGE in evalue:
            code = "hostile_file_too_large"
        number = _number(request, index)
        reason = diagnose(ename, evalue, number) or msg(code, number=number, ename=ename, evalue=evalue)
        return _result(request, status, started, failed_cell=index, reason=reason, **common)
    if injected_error:
        return _result(request, "runner_error", started, reason=msg(
            "run_injected_cell_error", ename=injected_error[0], evalue=injected_error[1]), **common)
    return _result(request, "ok", started, **common)


def _forget_planted_outputs(request: RunRequest, cells: list[dict]) -> None:
    """out/ is the extra cells' (the probe's): when none of them started (the kernel died, or time ran
    out, before them), whatever lies there was written by the student's cells and must never count."""
    extra = [c for c in cells[-len(request.extra_cells):] if source_index(c) is None] if request.extra_cells else []
    if not request.extra_cells or any(_started(c) for c in extra):
        return
    remove(request.out_dir)
    request.out_dir.mkdir(parents=True, exist_ok=True)


def _started(cell: dict) -> bool:
    return bool(cell.get("metadata", {}).get("papermill", {}).get("start_time"))


def _error_output(cell: dict) -> tuple[str, str] | None:
    for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
        if output.get("output_type") != "error":
            continue
        ename, evalue = str(output.get("ename", "")), str(output.get("evalue", ""))
        if ename == "SystemExit" and evalue in ("", "0"):  # a clean sys.exit() is no failure (as papermill)
            continue
        return ename, evalue[:_EVALUE_CAP]
    return None


def _last_started(cells: list[dict]) -> int | None:
    """Original index of the last student cell papermill started: where a timeout or death struck."""
    last = None
    for cell in cells:
        if _started(cell):
            last = source_index(cell)
    return last


def _executed_cells(path: Path) -> list[dict] | None:
    if not path.exists():
        return None
    nb, _ = read_notebook(path)  # a copy cut short by a kill may be truncated JSON
    return list(nb.cells) if nb is not None else None


def _refused_results(request: RunRequest) -> list[str]:
    """What stands where the child leaves its files, when it is not a regular file (never followed)."""
    paths = (request.executed_path, request.work_dir / "run.json")
    return [f"{path.name} is {kind}" for path in paths if (kind := kind_of(path)) is not None]


def _child_outcome(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(read_regular(path, _RUN_RECORD_CAP).decode("utf-8"))
    except (OSError, UnsafeFile, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _result(request: RunRequest, status: str, started: float, *, reason: Reason | None = None,
            failed_cell: int | None = None, executed: Path | None = None, log: str = "") -> RunResult:
    return RunResult(status=status, duration_s=round(time.monotonic() - started, 3), executed_notebook=executed,
                     out_dir=request.out_dir, reason=reason, failed_cell=failed_cell, log=log)


# --- small helpers -------------------------------------------------------------------------------

def _fresh_dirs(request: RunRequest) -> None:
    """scratch/ and out/ belong to the runner: stale files of an earlier run must not pass for this one's."""
    request.work_dir.mkdir(parents=True, exist_ok=True)
    for folder in (request.scratch_dir, request.out_dir):
        remove(folder)   # a link left there by an earlier run is removed, never followed
        folder.mkdir()
    for stale in (request.executed_path, request.work_dir / "run.json"):
        stale.unlink(missing_ok=True)


def _write_kernelspec(root: Path, python: str) -> None:
    folder = root / "kernels" / KERNEL_NAME
    folder.mkdir(parents=True, exist_ok=True)
    spec = {"argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (grader)", "language": "python"}
    (folder / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")


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


def _number(request: RunRequest, index: int | None) -> dict[str, int] | str:
    """The cell as the student finds it in the notebook they handed in (In [n], or the k-th code cell)."""
    return cell_refs(request.notebook, [index])[0] if index is not None else "?"


def _seconds(value: float) -> str:
    return f"{value:g}"


def _last_line(log: str) -> str:
    lines = [line for line in log.strip().splitlines() if line.strip()]
    return lines[-1][:_EVALUE_CAP] if lines else ""
