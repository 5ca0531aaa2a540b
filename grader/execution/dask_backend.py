"""The same jobs on a Dask cluster (``distributed``): an existing scheduler, or a LocalCluster of processes.

Workers run ``run_remote`` (importable, picklable arguments) and send Evaluations back; only the grader's
process stores them, as each completes. Workers never touch the results store.
"""
from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from grader.errors import ConfigError, GraderError
from grader.execution.marker import stop_marked
from grader.execution.pool import Finished, Started
from grader.jobs import JobSpec, run_job
from grader.records import Evaluation
from grader.execution import get_runner

_RUNNERS: dict[str, Any] = {}   # per worker process: one runner per (name, options), built on first use


def run_remote(spec: JobSpec, runner_name: str, options: dict[str, Any]) -> Evaluation:
    """What a Dask worker runs: the runner is rebuilt there (a docker client does not travel)."""
    cache_key = json.dumps([runner_name, options], sort_keys=True, default=str)
    if cache_key not in _RUNNERS:
        _RUNNERS[cache_key] = get_runner(runner_name, **options)
    return run_job(spec, _RUNNERS[cache_key])


def parse_address(text: str) -> tuple[str, int | str]:
    """ "local:N" -> ("local", N); "tcp://host:8786" (any scheduler address) -> ("remote", address)."""
    text = text.strip()
    if text.startswith("local"):
        _, _, count = text.partition(":")
        try:
            workers = int(count) if count else 2
        except ValueError:
            workers = 0
        if workers < 1:
            raise ConfigError(f"--dask {text!r}: write local:N with N >= 1 workers, e.g. local:4")
        return "local", workers
    if "://" not in text and ":" not in text:
        raise ConfigError(f"--dask {text!r}: give a scheduler address (tcp://host:8786) or local:N")
    return "remote", text


class DaskDispatcher:
    """``run(specs)`` yields the pool's events; use it as a context manager (it owns its LocalCluster)."""

    def __init__(self, address: str, *, runner_name: str, runner_options: dict[str, Any], gpu: bool,
                 mark: str, window: int | None = None) -> None:
        self.address = address
        self.runner_name, self.runner_options = runner_name, dict(runner_options)
        self.gpu, self.mark = gpu, mark
        self.window = window
        self._cluster = None
        self._client = None

    def __enter__(self) -> "DaskDispatcher":
        try:
            # start-up: Dask only when a batch goes to a cluster
            from distributed import Client, LocalCluster
        except ImportError as err:
            raise ConfigError("--dask needs dask[distributed]: pip install 'grader[dask]'") from err
        kind, where = parse_address(self.address)
        try:
            if kind == "local":
                self._cluster = LocalCluster(
                    n_workers=where, threads_per_worker=1, processes=True, dashboard_address=None,
                    silence_logs=logging.ERROR, resources={"GPU": 1} if self.gpu else None)
                self._client = Client(self._cluster)
            else:
                self._client = Client(where, timeout="30s")
        except (OSError, TimeoutError) as err:
            self.__exit__(None, None, None)
            raise GraderError(f"cannot reach the Dask scheduler at {self.address}: {err}") from None
        # What a killed grader left running on the workers: the same mark, so it is this batch's.
        self._client.run(stop_marked, self.mark, self.runner_name)
        return self

    def __exit__(self, *exc: object) -> None:
        for closable in (self._client, self._cluster):
            if closable is not None:
                try:
                    closable.close()
                except Exception:   # closing after a failure must not hide it
                    pass
        self._client = self._cluster = None

    def run(self, specs: Iterable[JobSpec]) -> Iterator[Started | Finished]:
        """Submit as workers free up (a window of futures, not the whole batch); yield as they complete."""
        # start-up: Dask only when a batch goes to a cluster
        from distributed import as_completed

        window = self.window or max(2 * _thread_count(self._client), 4)
        source = iter(specs)
        pending: dict[Any, JobSpec] = {}
        stream = as_completed()
        try:
            while len(pending) < window and self._submit(next(source, None), pending, stream):
                pass
            for future in stream:
                spec = pending.pop(future)
                self._submit(next(source, None), pending, stream)
                yield self._finished(spec, future)
        except BaseException:
            self._stop(list(pending))
            raise

    def _submit(self, spec: JobSpec | None, pending: dict, stream) -> bool:
        if spec is None:
            return False
        future = self._client.submit(
            run_remote, spec, self.runner_name, self.runner_options, pure=False,
            key=f"grade-{spec.submission.practical}-{spec.submission.participant}-{uuid.uuid4().hex[:8]}",
            resources={"GPU": 1} if self.gpu else None)
        pending[future] = spec
        stream.add(future)
        return True

    def _finished(self, spec: JobSpec, future) -> Finished:
        if future.status == "finished":
            return Finished(spec, future.result())
        try:
            error = future.exception()
        except BaseException as err:   # a cancelled future raises instead of answering
            error = err
        if isinstance(error, GraderError):   # the runner cannot work at all (docker daemon): stop the batch
            raise error
        return Finished(spec, None, error=f"{type(error).__name__}: {error}")

    def _stop(self, futures: list) -> None:
        """Cancel what is queued and stop what runs: running tasks cannot be cancelled, their processes can."""
        try:
            self._client.cancel(futures, force=True)
            self._client.run(stop_marked, self.mark, self.runner_name)
        except Exception:   # the cluster may be going down with us
            pass


def _thread_count(client) -> int:
    try:
        return sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values()) or 1
    except Exception:
        return 1
