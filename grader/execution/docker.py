"""The docker runner: each notebook runs in its own locked-down container, through the same child entry
point (papermill, parameters, extra cells, per-cell timeout) as the local runner.

It must never bind-mount anything of the host but this run's spec, the data and the probe folder (all
read-only), and never leave a container or its volumes behind: every container is labelled ``grader=1``
and removed with its volumes in a finally. Nothing the container wrote lands on the host: its out and
results folders are anonymous volumes that the daemon removes with it, scratch is a tmpfs, and only
the names the protocol expects come out, through the daemon (docker_results.py).
"""
from __future__ import annotations

import json
import math
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any, Iterator

from grader.errors import GraderError, RunnerError
from grader.execution.base import KERAS_BACKEND, JudgeRequest, JudgeRun, Runner, RunRequest
from grader.execution.child import CHILD_CALL, KERNEL_NAME, child_spec, write_kernelspec
from grader.execution.marker import MARK_VAR
from grader.execution.docker_daemon import (LABEL, connect, container_labels, daemon_gone, first_line, kill, remove,
                                            remove_marked_containers, require_image)
from grader.execution.docker_judge import WarmJudges, judge_in_container
from grader.execution.docker_limits import (PidWatch, gpu_device_requests, gpu_pool,
                                            mentions_pid_limit, pool_gpus, with_gpus)
from grader.execution.docker_mounts import (DATA, HOME, KERAS_HOME, OUT, PROBE, PYTHON, RESULTS, RUN_DIR, SCRATCH,
                                            SPEC, in_container_paths)
from grader.execution.docker_options import DockerOptions
from grader.execution.docker_results import RESULT_CAPS, copy_folders
from grader.execution.docker_warm import WarmContainers
from grader.execution.leftovers import discard, noted, settled
from grader.execution.outcome import LOG_CAP_BYTES, cell_number, interpret
from grader.execution.prepare import PREPARED_NAME, fresh_dirs, prepare, provide_datasets
from grader.execution.safe_files import fresh_dir
from grader.i18n import msg
from grader.records import RunResult

DEFAULT_IMAGE = "grader-runtime:latest"
# The container's uid (and gid) when the host runs as root: no account of a usual host, so a file the
# notebook leaves (a setuid copy of a shell) gives no host user anything. A host that is not root cannot
# hand folders over to another uid: its runs use its own.
DEFAULT_UID = 1_000_000
MAX_UID = 2**31 - 1
# On the host, under work_dir: the folder mounted at SPEC.
_SPEC_DIR = "spec"
_TMPFS = "rw,nosuid,nodev,mode=1777,size={}m"
_CHILD = f"import sys; {CHILD_CALL}"
_WARM = f"from grader.execution.child import warm_main; warm_main({SPEC!r})"


class DockerRunner(Runner):
    name = "docker"
    options_table = "docker"   # [docker] in course.toml: image, memory, cpus, pids, gpus, ...
    options_model = DockerOptions
    isolated = True

    # --- what the pipeline, the Dask backend and the course loader ask --------------------------

    @classmethod
    def assign_gpus(cls, options: dict, gpus: Any, workers: int | None) -> tuple[dict, list[str]]:
        # no pool slots: the runner hands one device to each container itself (unless share_gpus); each
        # container's BLAS/OpenMP threads sized to its share of the host's cores as well as to its CPU quota
        # start-up: the pool's module only when a batch sizes its containers
        from grader.execution.pool import cpu_count

        options = pool_gpus(options, gpus)
        jobs = workers or cls.default_workers(options, [])
        options.setdefault("threads", max(1, cpu_count() // jobs))
        return options, []

    @classmethod
    def default_workers(cls, options: dict, slots: list[str]) -> int:
        devices = options.get("gpus")
        return len(devices) if isinstance(devices, list) and devices else super().default_workers(options, slots)

    @classmethod
    def cluster_options(cls, options: dict, gpus: Any) -> tuple[dict, bool]:
        options = with_gpus(options, gpus)   # every worker's runner takes them as the table's gpus
        # a Dask worker outlives the batch, and nobody would remove a container it started ahead: cold there
        options["warm"] = False
        return super().cluster_options(options, options.get("gpus"))

    @classmethod
    def stop_leftovers(cls, mark: str) -> int:
        return remove_marked_containers(mark)

    def __init__(self, *, image: str = DEFAULT_IMAGE, memory: str = "4g", cpus: float = 2.0, pids: int = 256,
                 gpus: Any = None, share_gpus: bool = False, tmpfs_mb: int = 512, home_mb: int = 256,
                 shm_mb: int = 256, start_timeout_s: float = 60.0, kill_grace_s: float = 2.0,
                 log_cap_bytes: int = LOG_CAP_BYTES, uid: int | None = None, file_mb: int = 1024,
                 scratch_mb: int = 1024, warm: bool = True, threads: int | None = None) -> None:
        self.image = image
        self.memory = str(memory)
        self.cpus = float(cpus)
        self.pids = int(pids)
        self.tmpfs_mb, self.home_mb, self.shm_mb = int(tmpfs_mb), int(home_mb), int(shm_mb)
        self.scratch_mb = int(scratch_mb)
        self.start_timeout_s = start_timeout_s
        self.kill_grace_s = kill_grace_s
        self.file_mb = file_mb
        self.log_cap_bytes = log_cap_bytes
        self.uid, self._uid_error = _container_uid(uid)
        self.user = f"{self.uid}:{self.uid}" if os.getuid() == 0 else f"{self.uid}:{os.getgid()}"
        self.gpus = gpus
        self._gpu_pool = gpu_pool(gpus, share_gpus)
        self._client = None
        self._ready_error: RunnerError | None = None
        self._lock = threading.Lock()
        self._threads = threads
        self.python, self.spec_mount = PYTHON, SPEC
        # warm: the next run's container is started while the current one runs (grader.execution.docker_warm), and
        # the next program's judge while the current job goes on (grader.execution.docker_judge)
        self._warm = WarmContainers(self) if warm else None
        self._warm_judges = WarmJudges(self) if warm else None

    def threads(self) -> int:
        """BLAS/OpenMP threads of one container: its CPU quota, and no more than its share of the host's cores."""
        quota = max(1, math.ceil(self.cpus))
        return min(quota, self._threads) if self._threads else quota

    def close(self) -> None:
        for warm in (self._warm, self._warm_judges):
            if warm is not None:
                warm.close()

    def __del__(self) -> None:
        for warm in (getattr(self, "_warm", None), getattr(self, "_warm_judges", None)):
            if warm is not None:
                warm.close()

    # --- the batch-level checks: daemon and image, once --------------------------------------

    def preflight(self) -> None:
        """Raise RunnerError unless the daemon answers and the image exists; checked once per runner."""
        with self._lock:
            if self._ready_error is not None:
                raise self._ready_error
            if self._client is not None:
                return
            try:
                if self._uid_error is not None:
                    raise self._uid_error
                client = connect()
                require_image(client, self.image)
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
                outcome = self._run(request, started, gpus)
        except RunnerError:
            raise
        except GraderError as err:
            outcome = _result(request, "error", started, reason=err.reason)
        except Exception as err:
            if daemon_gone(err):
                raise RunnerError(f"docker daemon unreachable during a run: {first_line(err)}",
                                  code="docker_daemon_unreachable",
                                  reason=msg("docker_daemon_unreachable", detail=first_line(err))) from err
            outcome = _result(request, "runner_error", started,
                              reason=msg("run_runner_error", detail=f"{type(err).__name__}: {first_line(err)}"))
        discard(request.work_dir, (request.scratch_dir.name, _SPEC_DIR))   # made by the host, read-only inside
        return settled(request, outcome)

    def judge(self, request: JudgeRequest) -> JudgeRun:
        """The judge in a fresh container of the same image and limits (grader.execution.docker_judge)."""
        self.preflight()
        try:
            with self._gpu() as gpus:
                return judge_in_container(self, request, gpus, self._warm_judges)
        except Exception as err:
            if daemon_gone(err):
                raise RunnerError(f"docker daemon unreachable during a run: {first_line(err)}",
                                  code="docker_daemon_unreachable",
                                  reason=msg("docker_daemon_unreachable", detail=first_line(err))) from err
            return JudgeRun(None, f"the judge's container failed: {type(err).__name__}: {first_line(err)}")

    # --- one run -------------------------------------------------------------------------------

    def _run(self, request: RunRequest, started: float, gpus: Any) -> RunResult:
        fresh_dirs(request)
        request = in_container_paths(request)
        notebook = prepare(request, KERNEL_NAME, (PROBE, OUT))
        warm = container = None
        try:
            if self._warm is None:   # cold: the container is made for this run now
                spec = self._write_spec(request, notebook, request.work_dir / _SPEC_DIR, provided=True)
                self.hand_over_folder(request.work_dir / _SPEC_DIR)
                container = self._client.containers.create(self.image, [PYTHON, "-c", _CHILD, spec],
                                                           **self._container_options(request, gpus))
                container.start()
            else:   # warm: a started container takes this run (its kernel is up), another starts for the next
                warm = self._warm.take_for(request, gpus)
                container = warm.container
                self._write_spec(request, notebook, warm.spec_dir, provided=False)
                self._warm.hand_over(warm, request)
            with PidWatch(container.id) as pid_watch:
                timed_out = self._wait(container, request.timeout_s - (time.monotonic() - started))
            container.reload()
            state = container.attrs.get("State", {})
            pid_hits = pid_watch.hits
            log = _capped(container.logs(stdout=True, stderr=True), self.log_cap_bytes)
            # the child's files, and what the probe wrote by the names the protocol expects: a refused answer is
            # left out (a check then finds it missing), named in the log for the instructor
            results, out = PurePosixPath(RESULTS).name, PurePosixPath(OUT).name
            problems = copy_folders(container, RUN_DIR, {results: (request.work_dir, RESULT_CAPS),
                                                         out: (request.out_dir, request.expected_outputs)})
            refused, dropped = problems[results], problems[out]
        finally:
            left_behind = remove(container) if container is not None else []
            if warm is not None:
                self._warm.finish(warm)
        log += "".join(f"\n[grader] out/: {problem}; not used" for problem in dropped)
        (request.work_dir / "runner.log").write_text(log, encoding="utf-8")
        local = interpret(request, started, timed_out, state.get("ExitCode"), log)
        outcome = self._docker_outcome(request, local, state, timed_out, pid_hits)
        if refused:   # the notebook tampered with what tells how its run went: nothing of it is believed
            outcome = _replace(outcome, "error", msg("hostile_results_refused", detail="; ".join(refused)))
        return noted(outcome, left_behind)

    def create_warm(self, request: RunRequest, gpus: Any, spec_dir: Path, probe_dir: Path):
        """A warm container (grader.execution.docker_warm): the same options, its own spec and probe folders."""
        return self._client.containers.create(self.image, [PYTHON, "-c", _WARM],
                                              **self._container_options(request, gpus, spec_dir, probe_dir))

    def _write_spec(self, request: RunRequest, notebook: Path, spec_dir: Path, provided: bool) -> str:
        """The child's spec, kernelspec and the prepared notebook, in the folder mounted read-only. ``provided``:
        the dataset caches go there too (a warm container has them already, unpacked before its kernel started)."""
        if provided:
            fresh_dir(spec_dir)
        notebook.replace(spec_dir / PREPARED_NAME)   # scratch/ is the container's own tmpfs
        write_kernelspec(spec_dir / "kernel", PYTHON)
        spec = child_spec(
            notebook=f"{SPEC}/{PREPARED_NAME}", output=f"{RESULTS}/executed.ipynb", cwd=SCRATCH,
            result=f"{RESULTS}/run.json", cell_timeout_s=request.cell_timeout_s,
            start_timeout_s=min(self.start_timeout_s, request.timeout_s),
            memory_limit_mb=None,   # the container's cgroup limits memory
            # out/ is a volume on the daemon's disk: one file may not grow past file_mb (many files still can)
            file_limit_mb=self.file_mb,
            # the dataset caches travel in the read-only spec folder; the child copies them into the tmpfs
            provided=f"{SPEC}/provided" if provided and provide_datasets(request, spec_dir / "provided") else None)
        (spec_dir / "runner.json").write_text(json.dumps(spec), encoding="utf-8")
        return f"{SPEC}/runner.json"

    def hand_over_folder(self, top: Path) -> None:
        """Give the container's uid a folder it reads (only a root host has to chown; mounted read-only, so owning
        it gives it nothing). The host made every file there: nothing of a notebook."""
        if os.getuid() != 0:
            return
        uid, gid = (int(part) for part in self.user.split(":"))
        for path in [top, *top.rglob("*")]:
            os.chown(path, uid, gid, follow_symlinks=False)

    def _container_options(self, request: RunRequest, gpus: Any, spec_dir: Path | None = None,
                           probe_dir: Path | None = None) -> dict[str, Any]:
        # start-up: the docker SDK only when a container is started
        from docker.types import LogConfig, Mount

        # out/ and results/ are anonymous volumes: what the notebook writes there (a setuid file, a
        # folder chain deeper than any walk) never lands on the host, and the daemon removes it with the
        # container; they outlive the stop, so the expected names can be copied out. The image makes both
        # mount points 1777, which a new volume takes. Scratch, /tmp and HOME are nosuid,nodev tmpfs.
        work = request.work_dir.resolve()
        mounts = [Mount(OUT, None, type="volume", labels={LABEL: "1"}),
                  Mount(RESULTS, None, type="volume", labels={LABEL: "1"}),
                  Mount(SPEC, str(Path(spec_dir or work / _SPEC_DIR).resolve()), type="bind", read_only=True),
                  Mount(PROBE, str(Path(probe_dir or request.probe_dir).resolve()), type="bind", read_only=True)]
        env = {}   # the probe cell names its folders itself: nothing here says a grader runs the notebook
        if request.data_dir is not None:
            mounts.append(Mount(DATA, str(Path(request.data_dir).resolve()), type="bind", read_only=True))
        # As many BLAS/OpenMP threads as the CPU quota allows: a thread per host core would be throttled.
        env["OMP_NUM_THREADS"] = str(self.threads())
        env.update(KERAS_BACKEND)
        env.update({str(k): str(v) for k, v in request.env.items() if k != MARK_VAR})
        env.update({"HOME": HOME, "JUPYTER_PATH": f"{SPEC}/kernel",
                    "JUPYTER_RUNTIME_DIR": "/tmp/jupyter-runtime", "IPYTHONDIR": "/tmp/ipython",
                    "KERAS_HOME": KERAS_HOME,   # writable (else Keras caches in /tmp/.keras), as the local runner's
                    "MPLCONFIGDIR": "/tmp/matplotlib", "PYTHONUNBUFFERED": "1",
                    # the uid has no passwd entry: getpass.getuser() (torch's caches) reads these first
                    "USER": "grader", "LOGNAME": "grader"})
        return dict(
            user=self.user, working_dir=SCRATCH, environment=env, mounts=mounts,
            network_mode="none", read_only=True, ipc_mode="private",
            tmpfs={SCRATCH: self._scratch_options(), "/tmp": _TMPFS.format(self.tmpfs_mb),
                   HOME: _TMPFS.format(self.home_mb)},
            shm_size=f"{self.shm_mb}m",
            mem_limit=self.memory, memswap_limit=self.memory, nano_cpus=int(self.cpus * 1e9),
            pids_limit=self.pids, cap_drop=["ALL"], security_opt=["no-new-privileges"],
            device_requests=gpu_device_requests(gpus) or None,
            labels=container_labels(request.env),
            log_config=LogConfig(type=LogConfig.types.JSON, config={"max-size": "1m", "max-file": "1"}),
        )

    def _scratch_options(self) -> str:
        # The image's /work/scratch is root's and its mode wins over mode=: the tmpfs is given to the uid.
        uid, gid = self.user.split(":")
        return f"rw,nosuid,nodev,size={self.scratch_mb}m,uid={uid},gid={gid},mode=0700"

    def _wait(self, container, budget_s: float) -> bool:
        """Wait for the container within the budget; past it, stop it. True when it had to be stopped."""
        # start-up: requests (the docker SDK's transport) only when a container is started
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
        kill(container)
        return True

    def _docker_outcome(self, request: RunRequest, local: RunResult, state: dict, timed_out: bool,
                        pid_hits: int) -> RunResult:
        """The local runner's reading of the run, corrected by what only the container knows."""
        number = cell_number(request, local.failed_cell)   # as Jupyter shows it
        # A refused thread in a run that went well (a BLAS pool) is no failure: only explain failures.
        if local.status != "ok" and (pid_hits or mentions_pid_limit(local)):
            reason = msg("docker_pid_limit", limit=self.pids, number=number)
            return _replace(local, "error", reason)
        if state.get("OOMKilled") or (state.get("ExitCode") == 137 and not timed_out):
            return _replace(local, "out_of_memory", msg("docker_out_of_memory", limit=self.memory, number=number))
        if timed_out:
            return _replace(local, "timeout", msg("run_timeout", limit_s=f"{request.timeout_s:g}", number=number))
        if local.status == "kernel_died":
            return _replace(local, "kernel_died", msg("run_kernel_died", number=number))
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


# --- helpers -------------------------------------------------------------------------------------

def _container_uid(uid: int | None) -> tuple[int, RunnerError | None]:
    """The uid runs get, and the batch's error when the configured one cannot be used."""
    if os.getuid() != 0:
        if uid is not None and uid != os.getuid():
            return os.getuid(), RunnerError(
                f"[docker] uid = {uid} needs the grader to run as root (it hands each run's folders to that "
                f"uid); leave uid out to run as this user ({os.getuid()})", code="docker_uid_unusable",
                reason=msg("run_runner_error", detail=f"uid {uid} needs a grader running as root"))
        return os.getuid(), None
    return (DEFAULT_UID if uid is None else int(uid)), None


def _capped(data: bytes, cap: int) -> str:
    if len(data) > cap:
        half = cap // 2
        data = data[:half] + f"\n[... {len(data) - 2 * half} bytes left out ...]\n".encode() + data[-half:]
    return data.decode("utf-8", errors="replace")


def _replace(result: RunResult, status: str, reason) -> RunResult:
    return replace(result, status=status, reason=reason)


def _result(request: RunRequest, status: str, started: float, *, reason=None) -> RunResult:
    return RunResult(status=status, duration_s=round(time.monotonic() - started, 3), executed_notebook=None,
                     out_dir=request.out_dir, reason=reason)
