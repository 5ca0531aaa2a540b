"""The docker runner: each notebook runs in its own locked-down container, through the same child entry
point (papermill, parameters, extra cells, per-cell timeout) as the local runner.

It must never mount anything but this run's scratch and out folders, the data and the probe folder, and
never leave a container behind: every container is labelled ``grader=1`` and removed in a finally.
"""
from __future__ import annotations

import math
import os
import queue
import shutil
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path, PurePath, PurePosixPath
from typing import Any, Iterator

from grader.errors import GraderError, RunnerError
from grader.execution.base import Runner, RunRequest
from grader.execution.local import (KERNEL_NAME, LOG_CAP_BYTES, _fresh_dirs, _interpret, _write_kernelspec)
from grader.execution.prepare import prepare
from grader.i18n import msg
from grader.records import RunResult

DEFAULT_IMAGE = "grader-runtime:latest"
LABEL = "grader"                       # every container of the grader carries grader=1
CONTAINER_UID = "1000:1000"            # used when the host runs as root; otherwise the host's own uid
# Where the mounts appear inside the container.
SCRATCH, OUT, DATA, PROBE = "/work/scratch", "/work/out", "/data", "/probe"
PYTHON = "/opt/venv/bin/python"
HOME = "/home/grader"
_RUNNER_DIR = ".grader"                # inside scratch: the child's spec, kernelspec and results
_CHILD = "import sys; from grader.execution.local import child_main; child_main(sys.argv[1])"
_PID_LIMIT_SIGNS = ("Resource temporarily unavailable", "BlockingIOError", "can't start new thread")


def connect(timeout_s: float = 120.0):
    """A Docker SDK client for the daemon of the environment; RunnerError (one line) when unreachable.

    ``timeout_s`` bounds each API call (a busy daemon can take seconds to create a container)."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError as err:
        raise RunnerError("the docker runner needs the 'docker' Python package (pip install docker)",
                          code="docker_daemon_unreachable") from err
    try:
        client = docker.from_env(timeout=int(max(timeout_s, 1)))
        client.ping()
    except (DockerException, OSError) as err:
        raise RunnerError(f"docker daemon unreachable ({_first_line(err)}): start dockerd or set DOCKER_HOST",
                          code="docker_daemon_unreachable",
                          reason=msg("docker_daemon_unreachable", detail=_first_line(err))) from err
    return client


def gpu_device_requests(gpus: Any) -> list:
    """Device requests for ``gpus``: None/False/[] none, "all"/True/-1 every GPU, an int N that many,
    a list (or "0,1") those device ids."""
    if gpus in (None, False, "", "none", [], ()):
        return []
    from docker.types import DeviceRequest

    if gpus in ("all", True, -1):
        return [DeviceRequest(count=-1, capabilities=[["gpu"]])]
    if isinstance(gpus, int):
        return [DeviceRequest(count=gpus, capabilities=[["gpu"]])]
    ids = gpus.split(",") if isinstance(gpus, str) else list(gpus)
    return [DeviceRequest(device_ids=[str(i).strip() for i in ids], capabilities=[["gpu"]])]


class DockerRunner(Runner):
    name = "docker"

    def __init__(self, *, image: str = DEFAULT_IMAGE, memory: str = "4g", cpus: float = 2.0, pids: int = 256,
                 gpus: Any = None, share_gpus: bool = False, tmpfs_mb: int = 512, home_mb: int = 256,
                 shm_mb: int = 256, start_timeout_s: float = 60.0, kill_grace_s: float = 2.0,
                 log_cap_bytes: int = LOG_CAP_BYTES, user: str | None = None, file_mb: int = 1024) -> None:
        self.image = image
        self.memory = str(memory)
        self.cpus = float(cpus)
        self.pids = int(pids)
        self.tmpfs_mb, self.home_mb, self.shm_mb = int(tmpfs_mb), int(home_mb), int(shm_mb)
        self.start_timeout_s = start_timeout_s
        self.kill_grace_s = kill_grace_s
        self.file_mb = file_mb
        self.log_cap_bytes = log_cap_bytes
        self.user = user or (CONTAINER_UID if os.getuid() == 0 else f"{os.getuid()}:{os.getgid()}")
        self.gpus = gpus
        self._gpu_pool = _gpu_pool(gpus, share_gpus)
        self._client = None
        self._ready_error: RunnerError | None = None
        self._lock = threading.Lock()

    # --- the batch-level checks: daemon and image, once --------------------------------------

    def preflight(self) -> None:
        """Raise RunnerError unless the daemon answers and the image exists; checked once per runner."""
        with self._lock:
            if self._ready_error is not None:
                raise self._ready_error
            if self._client is not None:
                return
            try:
                client = connect()
                _require_image(client, self.image)
            except RunnerError as err:
                self._ready_error = err
                raise
            self._client = client

    def run(self, request: RunRequest) -> RunResult:
        """A RunResult for every notebook; RunnerError only when no notebook can run (daemon, image)."""
        self.preflight()
        started = time.monotonic()
        try:
            with self._gpu() as gpus:
                return self._run(request, started, gpus)
        except RunnerError:
            raise
        except GraderError as err:
            return _result(request, "error", started, reason=err.reason)
        except Exception as err:
            if _daemon_gone(err):
                raise RunnerError(f"docker daemon unreachable during a run: {_first_line(err)}",
                                  code="docker_daemon_unreachable",
                                  reason=msg("docker_daemon_unreachable", detail=_first_line(err))) from err
            return _result(request, "runner_error", started,
                           reason=msg("docker_runner_error", detail=f"{type(err).__name__}: {_first_line(err)}"))

    # --- one run -------------------------------------------------------------------------------

    def _run(self, request: RunRequest, started: float, gpus: Any) -> RunResult:
        _fresh_dirs(request)
        request = _in_container_paths(request)
        prepare(request, KERNEL_NAME)
        runner_dir = request.scratch_dir / _RUNNER_DIR
        spec = self._write_spec(request, runner_dir)
        self._hand_over(request)
        container = self._client.containers.create(self.image, [PYTHON, "-c", _CHILD, spec],
                                                   **self._container_options(request, gpus))
        try:
            container.start()
            with _PidWatch(container.id) as pid_watch:
                timed_out = self._wait(container, request.timeout_s - (time.monotonic() - started))
            container.reload()
            state = container.attrs.get("State", {})
            pid_hits = pid_watch.hits
            log = _capped(container.logs(stdout=True, stderr=True), self.log_cap_bytes)
        finally:
            _remove(container)
        (request.work_dir / "runner.log").write_text(log, encoding="utf-8")
        _collect(runner_dir, request.work_dir)
        local = _interpret(request, started, timed_out, state.get("ExitCode"), log)
        return self._docker_outcome(request, local, state, timed_out, pid_hits)

    def _write_spec(self, request: RunRequest, runner_dir: Path) -> str:
        import json

        runner_dir.mkdir(parents=True, exist_ok=True)
        _write_kernelspec(runner_dir / "kernel", PYTHON)
        inner = f"{SCRATCH}/{_RUNNER_DIR}"
        spec = {
            "notebook": f"{SCRATCH}/notebook.ipynb", "output": f"{inner}/executed.ipynb", "cwd": SCRATCH,
            "kernel_name": KERNEL_NAME, "result": f"{inner}/run.json",
            "cell_timeout_s": max(1, math.ceil(request.cell_timeout_s)),
            "start_timeout_s": max(1, math.ceil(min(self.start_timeout_s, request.timeout_s))),
            "memory_limit_mb": None,   # the container's cgroup limits memory
            # scratch/ is a host folder: one file may not grow past file_mb (many files still can)
            "file_limit_mb": self.file_mb,
        }
        (runner_dir / "runner.json").write_text(json.dumps(spec), encoding="utf-8")
        return f"{inner}/runner.json"

    def _hand_over(self, request: RunRequest) -> None:
        """Make scratch/ and out/ writable for the container's uid (only a root host has to chown)."""
        uid, gid = (int(part) for part in self.user.split(":"))
        for top in (request.scratch_dir, request.out_dir):
            for path in [top, *top.rglob("*")]:
                if os.getuid() == 0:
                    os.chown(path, uid, gid, follow_symlinks=False)

    def _container_options(self, request: RunRequest, gpus: Any) -> dict[str, Any]:
        from docker.types import LogConfig, Mount

        mounts = [Mount(SCRATCH, str(request.scratch_dir.resolve()), type="bind", read_only=False),
                  Mount(OUT, str(request.out_dir.resolve()), type="bind", read_only=False),
                  Mount(PROBE, str(Path(request.probe_dir).resolve()), type="bind", read_only=True)]
        env = {"GRADER_PROBE_DIR": PROBE, "GRADER_OUT_DIR": OUT}
        if request.data_dir is not None:
            mounts.append(Mount(DATA, str(Path(request.data_dir).resolve()), type="bind", read_only=True))
            env["GRADER_DATA_DIR"] = DATA
        # As many BLAS/OpenMP threads as the CPU quota allows: a thread per host core would be throttled.
        env["OMP_NUM_THREADS"] = str(max(1, math.ceil(self.cpus)))
        env.update({str(k): str(v) for k, v in request.env.items()})
        env.update({"HOME": HOME, "JUPYTER_PATH": f"{SCRATCH}/{_RUNNER_DIR}/kernel",
                    "JUPYTER_RUNTIME_DIR": "/tmp/jupyter-runtime", "IPYTHONDIR": "/tmp/ipython",
                    "MPLCONFIGDIR": "/tmp/matplotlib", "PYTHONUNBUFFERED": "1"})
        tmpfs_opts = "rw,nosuid,nodev,mode=1777,size={}m"
        return dict(
            user=self.user, working_dir=SCRATCH, environment=env, mounts=mounts,
            network_mode="none", read_only=True, ipc_mode="private",
            tmpfs={"/tmp": tmpfs_opts.format(self.tmpfs_mb), HOME: tmpfs_opts.format(self.home_mb)},
            shm_size=f"{self.shm_mb}m",
            mem_limit=self.memory, memswap_limit=self.memory, nano_cpus=int(self.cpus * 1e9),
            pids_limit=self.pids, cap_drop=["ALL"], security_opt=["no-new-privileges"],
            device_requests=gpu_device_requests(gpus) or None,
            labels={LABEL: "1", "grader.run": uuid.uuid4().hex},
            log_config=LogConfig(type=LogConfig.types.JSON, config={"max-size": "1m", "max-file": "1"}),
        )

    def _wait(self, container, budget_s: float) -> bool:
        """Wait for the container within the budget; past it, stop it. True when it had to be stopped."""
        from requests.exceptions import ConnectionError as RequestsConnectionError, ReadTimeout

        try:
            container.wait(timeout=max(budget_s, 0.5))
            return False
        except (ReadTimeout, RequestsConnectionError):
            pass
        # Kill everything but the child (PID 1), as the local runner kills the kernel first: the child
        # then sees a dead kernel and saves the executed copy, which says where the time ran out.
        try:
            container.exec_run(["sh", "-c", "kill -9 -1"], user=self.user, detach=True)
            container.wait(timeout=self.kill_grace_s)
        except Exception:
            pass
        _kill(container)
        return True

    def _docker_outcome(self, request: RunRequest, local: RunResult, state: dict, timed_out: bool,
                        pid_hits: int) -> RunResult:
        """The local runner's reading of the run, corrected by what only the container knows."""
        cell = local.failed_cell
        number = cell + 1 if cell is not None else "?"
        # A refused thread in a run that went well (a BLAS pool) is no failure: only explain failures.
        if local.status != "ok" and (pid_hits or _mentions_pid_limit(local)):
            reason = msg("docker_pid_limit", limit=self.pids, number=number)
            return _replace(local, "error", reason)
        if state.get("OOMKilled") or (state.get("ExitCode") == 137 and not timed_out):
            return _replace(local, "out_of_memory", msg("docker_out_of_memory", limit=self.memory, number=number))
        if timed_out:
            return _replace(local, "timeout", msg("docker_timeout", limit_s=f"{request.timeout_s:g}", number=number))
        if local.status == "kernel_died":
            return _replace(local, "kernel_died", msg("docker_kernel_died", number=number))
        return local

    @contextmanager
    def _gpu(self) -> Iterator[Any]:
        """This run's GPUs: one device of the pool per concurrent run, or everything configured."""
        if self._gpu_pool is None:
            yield self.gpus
            return
        device = self._gpu_pool.get()
        try:
            yield [device]
        finally:
            self._gpu_pool.put(device)


# --- cleanup, usable by the CLI ------------------------------------------------------------------

def remove_leftover_containers(client=None) -> int:
    """Remove every container labelled grader=1 (left by a killed grader); returns how many."""
    client = client or connect()
    removed = 0
    for container in client.containers.list(all=True, filters={"label": f"{LABEL}=1"}, ignore_removed=True):
        _remove(container)
        removed += 1
    return removed


# --- helpers -------------------------------------------------------------------------------------

def _require_image(client, image: str) -> None:
    from docker.errors import ImageNotFound

    try:
        client.images.get(image)
    except ImageNotFound as err:
        raise RunnerError(f"image {image} not found: run grader image build", code="docker_image_missing",
                          reason=msg("docker_image_missing", image=image)) from err


def _gpu_pool(gpus: Any, share: bool) -> queue.Queue | None:
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


class _PidWatch:
    """Watches the container's cgroup ``pids.events`` while it runs (the cgroup goes with the container):
    ``hits`` is how many forks the PID limit refused; 0 when unknown (a remote daemon)."""

    def __init__(self, container_id: str, every_s: float = 0.2) -> None:
        self.container_id, self.every_s, self.hits = container_id, every_s, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> "_PidWatch":
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


def _mentions_pid_limit(result: RunResult) -> bool:
    """The failure says a fork or a thread was refused (the kernel's error, or the child's last words)."""
    reason_text = " ".join(str(v) for v in (result.reason.params.values() if result.reason else ()))
    return any(sign in reason_text or sign in result.log for sign in _PID_LIMIT_SIGNS)


def _in_container_paths(request: RunRequest) -> RunRequest:
    """The request with host paths in parameters and env (e.g. ``data_dir``) rewritten to the mounts."""
    from dataclasses import replace

    mounts = [(request.scratch_dir, SCRATCH), (request.out_dir, OUT), (Path(request.probe_dir), PROBE)]
    if request.data_dir is not None:
        mounts.append((Path(request.data_dir), DATA))
    mounts = [(host.resolve(), inner) for host, inner in mounts]

    def translate(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: translate(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(translate(v) for v in value)
        if isinstance(value, (str, PurePath)) and os.path.isabs(str(value)):
            path = Path(os.path.abspath(value))
            for host, inner in mounts:
                if path == host or host in path.parents:
                    return str(PurePosixPath(inner, path.relative_to(host)))
        return value

    return replace(request, parameters=translate(request.parameters),
                   env={k: translate(v) for k, v in request.env.items()})


def _collect(runner_dir: Path, work_dir: Path) -> None:
    """Move the child's files to where the local runner leaves them (work_dir/executed.ipynb, run.json)."""
    for name in ("executed.ipynb", "run.json"):
        source = runner_dir / name
        if source.is_file() and not source.is_symlink():
            shutil.move(str(source), str(work_dir / name))


def _kill(container) -> None:
    try:
        container.kill()
    except Exception:
        pass   # it may have ended by itself meanwhile
    try:
        container.wait(timeout=10)
    except Exception:
        pass


def _remove(container) -> None:
    from docker.errors import NotFound

    try:
        container.remove(force=True)
    except NotFound:
        pass


def _capped(data: bytes, cap: int) -> str:
    if len(data) > cap:
        half = cap // 2
        data = data[:half] + f"\n[... {len(data) - 2 * half} bytes left out ...]\n".encode() + data[-half:]
    return data.decode("utf-8", errors="replace")


def _replace(result: RunResult, status: str, reason) -> RunResult:
    from dataclasses import replace

    return replace(result, status=status, reason=reason)


def _result(request: RunRequest, status: str, started: float, *, reason=None) -> RunResult:
    return RunResult(status=status, duration_s=round(time.monotonic() - started, 3), executed_notebook=None,
                     out_dir=request.out_dir, reason=reason)


def _daemon_gone(err: Exception) -> bool:
    from requests.exceptions import ConnectionError as RequestsConnectionError

    return isinstance(err, RequestsConnectionError) or "Connection aborted" in str(err)


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:300] if text else type(err).__name__
