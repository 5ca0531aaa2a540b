"""A kernel forked from the warm run process instead of started as a new interpreter, and the jupyter_client
manager that adopts it, so that nbclient drives it as any kernel it started itself.

The fork happens before the run process makes any thread, event loop or zmq context; the kernel then sets up what
a fresh interpreter would have of its own (sys.path and argv as ``python -m ipykernel_launcher`` has them, Python's
and numpy's random state from the OS, its share of the cores) and runs ipykernel's app. It never reads anything of
the grader's but its connection file, and it ends with ``os._exit``.
"""
from __future__ import annotations

import ctypes
import os
import random
import select
import signal
import subprocess
import sys
import time
import traceback
import uuid
from dataclasses import dataclass
from pathlib import Path
from queue import Empty

PR_SET_PDEATHSIG = 1
# (module, attribute) holding the working folder at the module's import
_CWD_AT_IMPORT = (("multiprocessing.process", "ORIGINAL_DIR"), ("rich", "_IMPORT_CWD"))


class ForkedProcess:
    """The forked kernel as ``subprocess.Popen`` looks to jupyter_client's provisioner (it is our own child)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.returncode = pid, None
        self.stdin = self.stdout = self.stderr = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.returncode = -signal.SIGKILL
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:

                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.01)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


@dataclass(frozen=True)
class ForkedKernel:
    process: ForkedProcess
    connection_file: str
    ready_fd: int          # the kernel writes one byte here once its sockets are bound

    def wait_ready(self, timeout_s: float) -> bool:
        """Block until the kernel's sockets are bound (a client connecting earlier waits for zmq's reconnect
        interval, 0.1 s a socket); False if it died or timed out first (the client's own checks then say which)."""

        ready, _, _ = select.select([self.ready_fd], [], [], max(timeout_s, 0.0))
        answered = bool(ready) and os.read(self.ready_fd, 1) == b"1"
        os.close(self.ready_fd)
        return answered

    def kill(self) -> None:
        """The kernel's whole process group, at once: nothing of the kernel needs a polite shutdown."""
        for kill in (os.killpg, os.kill):
            try:
                kill(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.process.wait()


def fork_kernel(runtime_dir: str, kernel_path: list[str], threads: int | None) -> ForkedKernel:
    """Write a connection file, fork, and run ipykernel in the child with this process's cwd and environment."""
    # start-up: jupyter_client only in a run (the fork server imports it when preloading)
    from jupyter_client.connect import write_connection_file

    Path(runtime_dir).mkdir(parents=True, exist_ok=True)
    name = os.path.join(runtime_dir, f"kernel-{uuid.uuid4()}.json")
    connection_file, _ = write_connection_file(name, ip="127.0.0.1", key=uuid.uuid4().hex.encode(), transport="tcp")
    parent = os.getpid()
    ready_read, ready_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(ready_read)
            _become_kernel(parent, connection_file, kernel_path, threads, ready_write)
            code = 0
        except BaseException:   # noqa: BLE001  the traceback is the run log's
            traceback.print_exc()
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
    try:
        os.setpgid(pid, pid)   # from this side too: the group exists before anyone signals it
    except (PermissionError, ProcessLookupError):   # the kernel got there first, or is already gone
        pass
    os.close(ready_write)
    return ForkedKernel(ForkedProcess(pid), connection_file, ready_read)


def _become_kernel(parent: int, connection_file: str, kernel_path: list[str], threads: int | None,
                   ready_fd: int) -> None:
    os.setpgid(0, 0)   # its own group, as jupyter_client gives a kernel: an interrupt reaches the kernel only

    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:   # the run died between the fork and the line above
        os._exit(1)
    sys.path[:] = kernel_path
    os.environ["JPY_PARENT_PID"] = str(parent)   # as jupyter_client tells a kernel it starts: who its parent is
    launcher = os.path.join(os.path.dirname(os.path.dirname(sys.modules["ipykernel"].__file__)), "ipykernel_launcher.py")
    sys.argv = [launcher, "-f", connection_file]
    fresh_state(threads)
    # start-up: ipykernel's app in the kernel's own fork (preloaded by the server: a dictionary lookup)
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()   # launch_instance's two steps, with word in between that the sockets are bound
    app.initialize(["-f", connection_file])
    os.write(ready_fd, b"1")
    os.close(ready_fd)
    app.start()


def fresh_state(threads: int | None) -> None:
    """What a new interpreter would not share with its siblings: random state drawn from the OS (Python's, numpy's
    global one and torch's, each seeded from the OS at a new interpreter's start), the run's share of the cores,
    and the folders preloaded modules computed from the environment when they were imported (Keras's home, torch's
    compiler cache under TMPDIR), as the run's environment names them. tests/test_warm_kernels.py looks for any
    other such folder left over from the fork server."""

    random.seed()
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.seed()   # a CUDA generator takes it too, when CUDA starts
    if torch is not None and threads:
        torch.set_num_threads(int(threads))
        try:
            torch.set_num_interop_threads(int(threads))
        except RuntimeError:   # set once per process; nothing ran in parallel yet here, but never fail a run on it
            pass
    for module, name in _CWD_AT_IMPORT:   # the working folder they were imported in: the fork server's
        if module in sys.modules and hasattr(sys.modules[module], name):
            setattr(sys.modules[module], name, os.getcwd())
    config = sys.modules.get("keras.src.backend.config")
    if config is not None and os.environ.get("KERAS_HOME"):
        config._KERAS_DIR = os.environ["KERAS_HOME"]
        config._config_path = os.path.join(config._KERAS_DIR, "keras.json")
    codecache = sys.modules.get("torch._inductor.codecache")   # its compiler's header cache, under TMPDIR
    if codecache is not None and hasattr(codecache, "_HEADER_DIR"):
        # start-up: only when a preload already imported torch's compiler (never imports torch itself)
        from torch._inductor.runtime.cache_dir_utils import default_cache_dir

        codecache._HEADER_DIR = os.path.join(default_cache_dir(), "precompiled_headers")
        codecache._HEADER_LOCK_DIR = os.path.join(codecache._HEADER_DIR, "locks")


def adopting_manager(kernel: ForkedKernel, kernel_name: str):
    """An AsyncKernelManager whose start_kernel adopts ``kernel`` instead of launching one."""
    # start-up: jupyter_client's manager only in a run
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_client.provisioning.local_provisioner import LocalProvisioner

    class Adopted(LocalProvisioner):
        async def pre_launch(self, **kwargs):
            self.parent.load_connection_file(kernel.connection_file)
            self.connection_info = self.parent.get_connection_info()
            return {**kwargs, "cmd": []}

        async def launch_kernel(self, cmd, **kwargs):
            self.process = kernel.process
            self.pid = self.pgid = kernel.process.pid
            self.cwd = os.getcwd()
            return self.connection_info

    manager = AsyncKernelManager(kernel_name=kernel_name, connection_file=kernel.connection_file)
    manager.client_factory = _ready_client()
    manager.kernel_id = str(uuid.uuid4())
    manager.provisioner = Adopted(kernel_id=manager.kernel_id, kernel_spec=None, parent=manager)
    return manager


def _ready_client():
    """jupyter_client's async client with a wait_for_ready for a kernel known to be bound: one kernel_info round
    trip, and the IOPub subscription confirmed by a message (ipykernel's iopub_welcome). jupyter_client's own
    wait then listens 0.2 s more to drop stale IOPub messages, which nbclient drops anyway (it reads only the
    messages of its own requests): 0.2 s of every run, for nothing."""

    # start-up: jupyter_client's client only in a run
    from jupyter_client.asynchronous import AsyncKernelClient

    class ReadyClient(AsyncKernelClient):
        async def wait_for_ready(self, timeout=None):
            deadline = time.monotonic() + (timeout or 60)
            self.kernel_info()
            while time.monotonic() < deadline:
                try:
                    reply = await self.shell_channel.get_msg(timeout=1)
                except Empty:
                    if not await self._async_is_alive():
                        raise RuntimeError("Kernel died before replying to kernel_info") from None
                    self.kernel_info()
                    continue
                if reply["msg_type"] != "kernel_info_reply":
                    continue
                try:
                    await self.iopub_channel.get_msg(timeout=1)
                except Empty:   # IOPub said nothing yet: jupyter_client's own wait, which starts over
                    return await super().wait_for_ready(max(deadline - time.monotonic(), 1))
                self._handle_kernel_info_reply(reply)
                return
            raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")

    return ReadyClient
