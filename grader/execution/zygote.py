"""The local runner's fork server (a zygote, as PrairieLearn's): a process of its own, started once per batch and
worker slot with the batch's environment, that imports what every kernel needs once (numpy, ipykernel, papermill,
the practical's declared preloads) and forks one fresh run per submission. The judge has servers of its own, never
these (started isolated, with the judge's modules only): a student's run and the judge never share a parent.

It only imports: no thread pool, no CUDA, no autograd, no zmq context and no event loop exist in it, so a fork is a
clean interpreter that skipped the imports. Nothing a run does reaches it: a run is a forked copy in a session of its
own that ends with ``os._exit``, this process cannot be traced (``PR_SET_DUMPABLE`` 0), and it is the subreaper of
everything a run starts, so ending a run kills every process descended from it, however it moved its session,
process group or environment. It never runs a notebook's code itself and never holds anything of a student.

Protocol (grader/execution/zygote_client.py is the other end): JSON messages over a SOCK_SEQPACKET socket.
``{"op": "run", ...}`` with the run's log file descriptor -> ``{"pid": N}`` with a pidfd of the run;
``{"op": "stop", "spare": N, "signal": S}`` signals every descendant but ``spare``; ``{"op": "end"}`` kills every
descendant and says the last run's exit status. End of file: the grader is gone, so is everything here.
"""
from __future__ import annotations

import ctypes
import importlib
import json
import os
import resource
import select
import signal
import socket
import sys
import time
import traceback
from contextlib import contextmanager

PR_SET_PDEATHSIG, PR_GET_DUMPABLE, PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER = 1, 3, 4, 36
# What a fresh ipykernel imports while it starts (its debugger, IPython's completer and inspector, tornado's
# queues), besides what importing its app brings: imported here, each kernel skips them.
KERNEL_MODULES = ("numpy", "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.debugger",
                  "IPython.core.debugger", "IPython.core.completerlib", "IPython.core.oinspect",
                  "IPython.extensions.storemagic", "sqlite3", "pydoc", "http.server", "tornado.platform.asyncio",
                  "tornado.queues", "jupyter_client.connect", "jupyter_client.manager", "nbclient",
                  "papermill.clientwrap", "papermill.engines", "papermill.execute", "papermill.iorw",
                  "grader.execution.child", "grader.execution.forked_kernel")
# The kernel's debugger (debugpy and its pydevd) serves a frontend that attaches to a kernel, which nobody does in a
# batch: ipykernel decides once, when ipykernel.debugger is imported, whether it has one; kept away meanwhile, its
# kernels have none, and each warm container saves 0.06 CPU-s. A notebook's own ``import debugpy`` works as ever.
NO_DEBUGGER = ("debugpy",)
# What the probe's export imports the first time it runs (torch.export's tracer pulls in functorch and networkx:
# 1.6 s of a 2.5 s probe on MNIST): with torch preloaded, these are too.
EXPORT_MODULES = ("torch.export", "torch.export._trace", "torch._export.serde.serialize")
# The judge's servers: its own modules and torch's deserializer, nothing of a kernel.
JUDGE_MODULES = ("numpy", "torch", *EXPORT_MODULES, "grader.judge.main", "grader.judge.programs",
                 "grader.judge.answers", "grader.judge.program_json")
_MESSAGE_BYTES = 1 << 20
_KILL_ROUNDS = 200


def main(argv: list[str]) -> None:
    """``argv``: the control socket's descriptor and the JSON configuration (``base``: "kernel" or "judge",
    ``preload``)."""
    control = socket.socket(fileno=int(argv[0]))
    config = json.loads(argv[1])
    # the kernels' sys.path as a fresh `python -m ipykernel_launcher` starts with it: the interpreter's own, without
    # the grader's checkout (put first by the boot line) and the script's empty entry, which IPython puts back
    kernel_path = [p for p in sys.path[1:] if p != ""]
    _prctl(PR_SET_DUMPABLE, 0)
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: _shutdown(control))
    before = dict(os.environ)
    failed = preload(config)
    # what the imports themselves put in the environment (pydevd does): a fresh kernel has it after its imports too
    # (not a folder the imports derived from this server's temporary folder: a run derives its own again)
    # start-up: after the environment is the run's (tempfile reads TMPDIR when first asked)
    import tempfile

    config["import_env"] = {k: v for k, v in os.environ.items()
                            if before.get(k) != v and not v.startswith(tempfile.gettempdir())}
    settle_threads()
    torch = sys.modules.get("torch")
    _send(control, {"ready": True, "failed": failed, "pid": os.getpid(), "dumpable": _prctl(PR_GET_DUMPABLE, 0),
                    "threads": len(os.listdir("/proc/self/task")),
                    "cuda_initialized": bool(torch is not None and torch.cuda.is_initialized())})
    Server(control, kernel_path, config).serve()


def preload(config: dict) -> list[str]:
    """Import the base modules (a kernel's or the judge's) and the practical's preloads; those that fail to import
    are named (the notebook then imports them itself, as in a fresh kernel)."""
    names = tuple(config.get("preload", ()))
    if config.get("base") == "judge":
        return _imported(JUDGE_MODULES + names)
    with _without(NO_DEBUGGER):
        failed = _imported(KERNEL_MODULES)
    return failed + _imported(names + (EXPORT_MODULES if "torch" in names else ()))


def _imported(modules: tuple[str, ...]) -> list[str]:
    failed = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as err:   # a preload the machine lacks costs its import time later, nothing else
            failed.append(f"{name}: {type(err).__name__}: {err}"[:300])
    return failed


@contextmanager
def _without(modules: tuple[str, ...]):
    """Those modules unimportable meanwhile (None in ``sys.modules``), importable again after (an import of them
    then loads them as in a fresh interpreter)."""
    blocked = [name for name in modules if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None
    try:
        yield
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


def settle_threads() -> None:
    """numpy's OpenBLAS starts its worker threads when it loads and joins them before any fork (its own atfork
    handler), starting them again lazily: one fork here, of a child that exits at once, joins them now, so that
    this process holds no thread but its own while it waits for runs."""
    if len(os.listdir("/proc/self/task")) > 1:
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)


class Server:
    """The zygote's loop: one run at a time (the grader leases a zygote to one job), reaping whatever ends."""

    def __init__(self, control: socket.socket, kernel_path: list[str], config: dict) -> None:
        self.control, self.kernel_path, self.config = control, kernel_path, config
        self.run_pid: int | None = None
        self.statuses: dict[int, int] = {}

    def serve(self) -> None:
        while True:
            ready, _, _ = select.select([self.control], [], [], 0.5)
            self._reap()
            if not ready:
                continue
            try:
                data, fds, _, _ = socket.recv_fds(self.control, _MESSAGE_BYTES, 4)
            except OSError:
                data, fds = b"", []
            if not data:
                _shutdown(self.control)
            self._handle(json.loads(data), fds)

    def _handle(self, message: dict, fds: list[int]) -> None:
        op = message.get("op")
        if op == "run":
            pid = os.fork()
            if pid == 0:
                _run_child(self.control, message, fds, self.kernel_path, self.config["import_env"])   # never returns
            for fd in fds:
                os.close(fd)
            self.run_pid = pid
            pidfd = os.pidfd_open(pid)
            try:
                socket.send_fds(self.control, [json.dumps({"pid": pid}).encode()], [pidfd])
            finally:
                os.close(pidfd)
        elif op == "stop":
            signalled = signal_descendants(int(message["signal"]), spare=message.get("spare"))
            _send(self.control, {"signalled": signalled})
        elif op == "end":
            left = kill_descendants()
            self._reap()
            status = self.statuses.pop(self.run_pid, None) if self.run_pid is not None else None
            self.run_pid, self.statuses = None, {}
            _send(self.control, {"status": status, "left": left})
        else:
            _send(self.control, {"error": f"unknown op {op!r}"})

    def _reap(self) -> None:
        """Collect every child that ended: runs, and orphans of runs handed to this subreaper."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.statuses[pid] = os.waitstatus_to_exitcode(status)


def signal_descendants(sig: int, spare: int | None = None) -> int:
    """Send ``sig`` to every live descendant of this process but ``spare``; how many."""
    # start-up: /proc reading only when a run is stopped
    from grader.execution.procfs import live_descendants

    count = 0
    for pid in live_descendants(os.getpid()):
        if pid == spare:
            continue
        try:
            os.kill(pid, sig)
            count += 1
        except (ProcessLookupError, PermissionError):
            pass
    return count


def kill_descendants() -> int:
    """SIGKILL every descendant until none is left (an orphan comes back to this subreaper, so it is found on the
    next round); the number still alive when the rounds ran out (a fork bomb outrunning them), else 0."""
    # start-up: /proc reading only when a run is stopped
    from grader.execution.procfs import live_descendants

    for _ in range(_KILL_ROUNDS):
        found = live_descendants(os.getpid())
        if not found:
            return 0
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        _reap_all()
        time.sleep(0.005)
    return len(live_descendants(os.getpid()))


def _reap_all() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _run_child(control: socket.socket, message: dict, fds: list[int], kernel_path: list[str],
               import_env: dict[str, str]) -> None:
    """The forked run: its own session, the run's log as stdout and stderr, cwd, environment and limits; then the
    child's work (grader.execution.child), and ``os._exit`` whatever happens."""
    code = 1
    try:
        control.close()
        os.setsid()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)   # the zygote gone (killed): the run goes too
        log = fds[0]
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        os.chdir(message["cwd"])
        os.environ.clear()
        os.environ.update({**import_env, **message["env"]})
        # start-up: after the environment is the run's (tempfile reads TMPDIR when first asked)
        import tempfile

        tempfile.tempdir = None   # an import here may have asked for it already: the run's TMPDIR it is
        _limit(message.get("memory_limit_mb"))
        if message.get("entry") == "judge":   # a judge server's run: the grader's judge on one program
            # start-up: a judge server's run imports the judge (preloaded by that server)
            from grader.judge.main import main as judge_main

            judge_main(message["spec"]["path"])
        else:
            # start-up: a kernel server's run imports the child (preloaded by that server)
            from grader.execution.child import forked_main

            forked_main(message["spec"], kernel_path, message.get("threads"))
        code = 0
    except BaseException:   # noqa: BLE001  whatever it was, the traceback goes to the run's log
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _limit(memory_limit_mb: int | None) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if memory_limit_mb:
        limit = int(memory_limit_mb) << 20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _send(control: socket.socket, message: dict) -> None:
    control.send(json.dumps(message).encode())


def _shutdown(control: socket.socket) -> None:
    """The grader is gone or asks us to go: nothing of a run may outlive this process."""
    kill_descendants()
    try:
        control.close()
    finally:
        os._exit(0)


def _prctl(option: int, value: int) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    result = libc.prctl(option, value, 0, 0, 0)
    if result < 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}) failed")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
