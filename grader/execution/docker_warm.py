"""The docker runner's warm containers: the next submission's container is created and started while the current
one runs (its kernel started, the practical's preloads imported), and takes its submission when its turn comes.
Still one container per submission, with the same limits and walls as a cold one.

A warm container waits with nothing of any submission: its spec and probe folders are host folders of its own
(mounted read-only), empty but for the kernelspec, its settings and the practical's dataset caches, until the host
writes its submission there and then ``go``. A container that is not used (the batch ends, the next job is of
another practical) is removed with its volumes and folders like any other.
"""
from __future__ import annotations

import json
import os
import shutil
import threading
import uuid
import weakref
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.execution.base import RunRequest
from grader.execution.child import GO, write_kernelspec
from grader.execution.docker_daemon import remove
from grader.execution.marker import MARK_VAR
from grader.execution.prepare import provide_datasets
from grader.execution.safe_files import UnsafeFile, fresh_dir
from grader.execution.safe_files import remove as remove_tree

WARM_FILE = "warm.json"


@dataclass(frozen=True)
class Warm:
    container: Any
    root: Path        # the host folder holding what is mounted read-only (a run's spec/ and probe/, a judge's judge/)
    key: tuple

    @property
    def spec_dir(self) -> Path:
        return self.root / "spec"

    @property
    def probe_dir(self) -> Path:
        return self.root / "probe"


class StartedAhead:
    """Started containers by what they were started for: one is taken per use and one started for the next. A kind
    of container (a run's, a judge's) says what it is started for (``key``) and how (``start``)."""

    def __init__(self, runner: Any) -> None:
        # weakly: the runner's own finaliser removes what is left here, which a cycle would put off to the collector
        self._runner = weakref.ref(runner)
        self._ready: list[tuple[tuple, Future]] = []
        self._lock = threading.Lock()
        self._closed = False

    def key(self, request: Any, gpus: Any) -> tuple:
        raise NotImplementedError

    def start(self, key: tuple, request: Any, gpus: Any) -> Warm:
        raise NotImplementedError

    def runner(self) -> Any:
        runner = self._runner()
        if runner is None:
            raise RuntimeError("the runner is gone")
        return runner

    def take(self, request: Any, gpus: Any, *, ahead: bool) -> Warm:
        """A started container for this use (one started ahead for it, else one started now) and, when ``ahead``,
        another started in the background for the next use of the same kind."""
        key = self.key(request, gpus)
        with self._lock:
            found = next((f for k, f in self._ready if k == key), None)
            stale = [(k, f) for k, f in self._ready if k != key]   # another practical's, or another GPU's
            self._ready = [(k, f) for k, f in self._ready if k == key and f is not found]
        for _, future in stale:
            self._discard(future)
        warm = None
        if found is not None:
            try:
                warm = found.result()
            except Exception:   # it could not start: one started now says why, if it cannot either
                warm = None
        if warm is not None and not _running(warm.container):   # it died waiting (its preloads, the daemon)
            remove(warm.container)
            self.finish(warm)
            warm = None
        warm = warm or self.start(key, request, gpus)
        if ahead:
            self._prestart(key, request, gpus)
        return warm

    def start_ahead(self, request: Any, gpus: Any) -> None:
        """Start one in the background for the next use like ``request``, unless one is started already."""
        self._prestart(self.key(request, gpus), request, gpus)

    def started(self, key: tuple, root: Path, create) -> Warm:
        """``create()``'s container started, or removed with ``root`` when it cannot start."""
        container = create()
        try:
            container.start()
        except BaseException:   # Ctrl-C too: a container made here is removed here until someone holds it
            remove(container)
            remove_tree(root)
            raise
        return Warm(container, root, key)

    def finish(self, warm: Warm) -> None:
        """The container's folders go with it (the caller removes the container)."""
        try:
            remove_tree(warm.root)
        except (OSError, UnsafeFile):
            pass

    def _prestart(self, key: tuple, request: Any, gpus: Any) -> None:
        with self._lock:
            if self._closed or any(k == key for k, _ in self._ready):
                return
            future: Future = Future()
            self._ready.append((key, future))
        threading.Thread(target=self._start_into, args=(future, key, request, gpus), daemon=True,
                         name="grader-warm-container").start()

    def _start_into(self, future: Future, key: tuple, request: Any, gpus: Any) -> None:
        try:
            future.set_result(self.start(key, request, gpus))
        except BaseException as err:
            future.set_exception(err)

    def _discard(self, future: Future) -> None:
        try:
            warm = future.result()
        except Exception:
            return
        remove(warm.container)
        self.finish(warm)

    def close(self) -> None:
        """Remove every container started ahead and never used, with its volumes and folders."""
        with self._lock:
            self._closed = True
            ready, self._ready = self._ready, []
        for _, future in ready:
            self._discard(future)


class WarmContainers(StartedAhead):
    """The runs' containers: each started with its kernel up and the practical's preloads imported."""

    def take_for(self, request: RunRequest, gpus: Any) -> Warm:
        # only in a batch: its mark labels the container, so that Ctrl-C or the next run after a kill -9 removes
        # it like any other of the batch (a lone run has nobody to remove one started ahead)
        return self.take(request, gpus, ahead=MARK_VAR in request.env)

    def key(self, request: RunRequest, gpus: Any) -> tuple:
        """What a warm container was made for: everything of its options that does not depend on the submission."""
        env = tuple(sorted((k, v) for k, v in request.env.items()))
        data = str(Path(request.data_dir).resolve()) if request.data_dir is not None else None
        return (data, tuple(request.dataset_caches), tuple(request.preload), env, repr(gpus))

    def start(self, key: tuple, request: RunRequest, gpus: Any) -> Warm:
        """Create and start a container for runs like ``request``: its folders first, then the container."""
        runner = self.runner()
        # beside the run folders of the practical (a leading dot: no participant's number), the host's own
        root = request.work_dir.parent / f".warm-{uuid.uuid4().hex}"
        fresh_dir(root, 0o755)
        fresh_dir(root / "spec", 0o755)
        fresh_dir(root / "probe", 0o755)
        provided = provide_datasets(request, root / "spec" / "provided")
        write_kernelspec(root / "spec" / "kernel", runner.python)
        (root / "spec" / WARM_FILE).write_text(json.dumps({
            "preload": list(request.preload), "file_limit_mb": runner.file_mb, "threads": runner.threads(),
            "provided": f"{runner.spec_mount}/provided" if provided else None}), encoding="utf-8")
        runner.hand_over_folder(root)
        return self.started(key, root, lambda: runner.create_warm(request, gpus, root / "spec", root / "probe"))

    def hand_over(self, warm: Warm, request: RunRequest) -> None:
        """The submission into the container's folders (its spec and notebook are in spec/ already), then ``go``."""
        for entry in os.scandir(request.probe_dir):   # the probe folder the host wrote: its files, flat
            if entry.is_file(follow_symlinks=False):
                shutil.copyfile(entry.path, warm.probe_dir / entry.name)
        self.runner().hand_over_folder(warm.root)
        say_go(warm.spec_dir)


def _running(container: Any) -> bool:
    try:
        container.reload()
    except Exception:   # gone, or the daemon's trouble: a container started now will tell which
        return False
    return container.status == "running"


def say_go(folder: Path) -> None:
    """``go`` in a waiting container's folder, in one step: everything it needs is there before."""
    ready = folder / (GO + ".tmp")
    ready.write_text(GO, encoding="utf-8")
    os.replace(ready, folder / GO)
