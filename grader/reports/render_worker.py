"""Notebook pages are rendered in a child process with a time and a memory limit.

Rendering runs after every limit of the grading run has passed, in the grader's own process it could
stall the batch for minutes and take gigabytes (one 1 MB cell did). So one worker process renders the
pages one at a time, under an address-space limit it sets on itself, and the batch waits for a page at
most ``time_limit_s``: then the worker is killed, the page says why, and a fresh worker takes the next.

Protocol: the parent writes one JSON job per line on the worker's stdin, the worker answers one JSON
line per job on its (private) stdout. ``python -m grader.reports.render_worker MEMORY_MB``.
"""
from __future__ import annotations

import json
import os
import resource
import select
import subprocess
import sys
import time
from pathlib import Path

from grader.errors import GraderError
from grader.i18n import msg
from grader.records import Reason

RENDER_TIME_S = 60.0        # per page; a capped page renders in a few seconds
RENDER_MEMORY_MB = 1536     # address space of the worker: Python + nbconvert need ~0.3 GB of it
_START_TIME_S = 120.0       # importing nbconvert on a loaded machine


class LimitedRenderer:
    """Renders notebook pages in a worker process; started on first use, restarted after a kill."""

    def __init__(self, time_limit_s: float = RENDER_TIME_S, memory_mb: int = RENDER_MEMORY_MB):
        self.time_limit_s = time_limit_s
        self.memory_mb = memory_mb
        self._worker: subprocess.Popen | None = None
        self._failed_start = False      # one failed start is enough: the next pages do not wait again

    def __enter__(self) -> LimitedRenderer:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def render(self, source: Path, dest: Path, title: str, lang: str, hide: list[str] = ()) -> Reason | None:
        """Write ``dest`` from ``source``; None when done, else why not (``dest`` is then untouched).
        ``hide``: the grader's folders, replaced on the page by a neutral name."""
        worker = self._started()
        if worker is None:
            return msg("notebook_render_failed", error="the rendering process did not start")
        job = {"source": str(source), "dest": str(dest), "title": title, "lang": lang, "hide": list(hide)}
        try:
            worker.stdin.write(json.dumps(job) + "\n")
            worker.stdin.flush()
        except OSError:
            return self._lost(worker)
        answer = _read_line(worker, self.time_limit_s)
        if answer is None:
            self._stop()
            return msg("notebook_render_timeout", limit_s=f"{self.time_limit_s:g}")
        if not answer:
            return self._lost(worker)
        reply = json.loads(answer)
        if reply.get("ok"):
            return None
        if reply.get("kind") == "memory":
            return msg("notebook_render_memory", limit_mb=self.memory_mb)
        if reply.get("kind") == "refused":
            return Reason.from_json(reply["reason"])
        return msg("notebook_render_failed", error=reply.get("detail", "unknown error"))

    def close(self) -> None:
        if self._worker is not None and self._worker.poll() is None:
            self._worker.stdin.close()          # the worker's loop ends at end of input
            try:
                self._worker.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self._stop()

    def _started(self) -> subprocess.Popen | None:
        if self._worker is not None and self._worker.poll() is None:
            return self._worker
        if self._failed_start:
            return None
        self._worker = subprocess.Popen(
            [sys.executable, "-m", "grader.reports.render_worker", str(self.memory_mb)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env={**os.environ, "PYTHONPATH": _import_path()})
        if _read_line(self._worker, _START_TIME_S) != "ready":
            self._stop()
            self._failed_start = True
        return self._worker

    def _lost(self, worker: subprocess.Popen) -> Reason:
        """The worker died mid-page: past its memory limit, the allocator often kills it outright."""
        code = worker.wait()
        self._stop()
        return msg("notebook_render_failed", error=f"the rendering process stopped (exit status {code})")

    def _stop(self) -> None:
        if self._worker is not None:
            if self._worker.poll() is None:
                self._worker.kill()
                self._worker.wait()
            for stream in (self._worker.stdin, self._worker.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
        self._worker = None


def _read_line(worker: subprocess.Popen, timeout_s: float) -> str | None:
    """One answer line within ``timeout_s``: None on timeout, "" when the worker ended."""
    deadline = time.monotonic() + timeout_s
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([worker.stdout], [], [], left)
        if ready:
            return worker.stdout.readline().strip()


def _import_path() -> str:
    """The worker imports this very grader: from a checkout, its root goes first on the path (an
    installed wheel is found as it is; site-packages ahead of the standard library could shadow it)."""
    root = Path(__file__).resolve().parents[2]
    first = [] if root.name in ("site-packages", "dist-packages") else [str(root)]
    return os.pathsep.join([*first, *filter(None, [os.environ.get("PYTHONPATH")])])


# --- the worker -----------------------------------------------------------------------------------------
def _limit_memory(memory_mb: int) -> None:

    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def serve(memory_mb: int) -> None:
    # answers go to a private copy of stdout; anything a library prints goes to stderr instead
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    _limit_memory(memory_mb)
    # start-up: the notebook page's renderer (nbconvert) is imported in the render worker, under its memory limit
    from grader.reports.notebook_page import warm_up, write_notebook_page  # imported under the limit

    warm_up()       # imports and template compiling happen before "ready": a page's time is its own
    print("ready", file=answers, flush=True)
    for line in sys.stdin:
        job = json.loads(line)
        try:
            write_notebook_page(Path(job["source"]), Path(job["dest"]), job["title"], job["lang"],
                                tuple(job.get("hide", ())))
            reply = {"ok": True}
        except MemoryError:
            reply = {"ok": False, "kind": "memory"}
        except GraderError as err:  # refused by the checked reader: its reason is the page's
            reply = {"ok": False, "kind": "refused", "reason": err.reason.to_json()}
        except Exception as err:  # a student's odd notebook: say what, keep serving
            reply = {"ok": False, "kind": "error", "detail": f"{type(err).__name__}: {err}"[:300]}
        print(json.dumps(reply), file=answers, flush=True)


if __name__ == "__main__":
    serve(int(sys.argv[1]))
