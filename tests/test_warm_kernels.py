"""The local runner's fork server (grader/execution/zygote.py): kernels forked from one warm process behave as
fresh ones, and nothing one run does reaches the next run forked from the same server."""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from grader.execution import RunRequest
from grader.execution.local import LocalRunner
from grader.execution.zygote_client import Zygote, ZygoteKey

pytestmark = pytest.mark.slow

SEEN = "seen.json"
OUTPUTS = ((SEEN, 1 << 20),)
_OUT = "os.path.join(os.path.dirname(os.getcwd()), 'out', " + repr(SEEN) + ")"

# The first student: patches torch and numpy in place, leaves a variable in the environment, a file in the run's
# temporary folder and one beside it, a thread and a detached process (its own session, a clean environment) that
# keep beating, and a module and a builtin of its own.
POLLUTER = """
import builtins, json, os, subprocess, sys, tempfile, threading, time, types
import numpy, torch
torch.tensor = lambda *a, **k: "patched"
torch.nn.Module.__call__ = lambda self, *a, **k: "patched"
numpy.mean = lambda *a, **k: -1
os.environ["LEAKED_BY_THE_FIRST"] = "1"
builtins.LEAKED_BY_THE_FIRST = 1
sys.modules["leaked_by_the_first"] = types.ModuleType("leaked_by_the_first")
planted = os.path.join(tempfile.gettempdir(), "planted.txt")
open(planted, "w").write("from the first student")

def beat(path):
    while True:
        with open(path, "a") as fh:
            fh.write("x")
        time.sleep(0.05)

threading.Thread(target=beat, args=(os.path.join(__BASE__, "thread.beat"),), name="left-running", daemon=False).start()
code = "import time\\nwhile True:\\n    open(%r, 'a').write('x'); time.sleep(0.05)" % os.path.join(__BASE__, "detached.beat")
detached = subprocess.Popen([sys.executable, "-c", code], start_new_session=True, env={"PATH": "/usr/bin"})
time.sleep(0.3)
server = int(open(f"/proc/{os.getppid()}/stat").read().split(")")[1].split()[1])
json.dump({"planted": planted, "detached": detached.pid, "server": server}, open(__OUT__, "w"))
""".replace("__OUT__", _OUT)

# The next student: says what it finds.
WITNESS = f"""
import builtins, json, os, sys, threading
import numpy, torch
json.dump({{"tensor": str(torch.tensor([1, 2]).sum().item()), "call": type(torch.nn.Identity()(torch.ones(1))).__name__,
           "mean": float(numpy.mean([1.0, 3.0])), "env": os.environ.get("LEAKED_BY_THE_FIRST"),
           "builtin": hasattr(builtins, "LEAKED_BY_THE_FIRST"), "module": "leaked_by_the_first" in sys.modules,
           "threads": sorted(t.name for t in threading.enumerate()), "server": int(open(f"/proc/{{os.getppid()}}/stat").read().split(")")[1].split()[1])}},
          open({_OUT}, "w"))
"""


def _request(tmp_path: Path, name: str, source: str, *, timeout_s: float = 60, preload=("torch",)) -> RunRequest:
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell(source)]), path)
    probe = tmp_path / "probe"
    probe.mkdir(exist_ok=True)
    return RunRequest(notebook=path, work_dir=tmp_path / name, probe_dir=probe, data_dir=None, parameters={},
                      extra_cells=(), timeout_s=timeout_s, cell_timeout_s=timeout_s, expected_outputs=OUTPUTS,
                      preload=tuple(preload))


def _seen(request: RunRequest) -> dict:
    return json.loads((request.out_dir / SEEN).read_text())


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] not in "ZX"


def test_nothing_a_kernel_does_reaches_the_next_one_forked_from_the_same_server(tmp_path):
    runner = LocalRunner(warm=True)
    try:
        first = _request(tmp_path, "first", POLLUTER.replace("__BASE__", repr(str(tmp_path))))
        assert runner.run(first).status == "ok"
        polluted = _seen(first)
        beats = [tmp_path / "thread.beat", tmp_path / "detached.beat"]
        sizes = [p.stat().st_size for p in beats]
        second = _request(tmp_path, "second", WITNESS)
        assert runner.run(second).status == "ok"
        seen = _seen(second)
    finally:
        runner.close()
    assert seen["server"] == polluted["server"], "both runs were forked from the same fork server"
    assert seen["tensor"] == "3" and seen["call"] == "Tensor" and seen["mean"] == 2.0   # torch and numpy as shipped
    assert seen["env"] is None and not seen["builtin"] and not seen["module"]
    assert "left-running" not in seen["threads"]
    assert not Path(polluted["planted"]).exists()   # the run's temporary folder went with the run
    assert not _alive(polluted["detached"])          # its own session and environment did not save it
    time.sleep(0.5)
    assert [p.stat().st_size for p in beats] == sizes, "something of the first run still beats"


def test_a_forked_kernel_is_the_interpreter_a_fresh_kernel_is(tmp_path):
    """sys.path and argv as ipykernel_launcher has them, matplotlib's inline backend (a plot is an output), the
    environment's names, the cores; and random state of its own (Python's, numpy's, torch's). The one difference:
    no debugger (debugpy) loaded with the kernel, which a notebook can still import."""
    source = f"""
import json, os, random, sys
env, debugger = sorted(os.environ), "debugpy" in sys.modules
import debugpy
import matplotlib.pyplot as plt
import numpy as np, torch
plt.plot([1, 2, 3]); plt.show()
json.dump({{"path": sys.path, "argv": sys.argv[1:2], "backend": plt.get_backend(), "env": env,
           "debugger": debugger, "debugpy": hasattr(debugpy, "listen"),
           "threads": torch.get_num_threads(), "random": [random.random(), float(np.random.rand()), float(torch.rand(1))]}},
          open({_OUT}, "w"))
"""
    seen = {}
    for name, warm in (("cold", False), ("warm1", True), ("warm2", True)):
        runner = LocalRunner(warm=warm, threads=1)
        request = _request(tmp_path, name, source, preload=("torch", "matplotlib.pyplot"))
        try:
            result = runner.run(request)
        finally:
            runner.close()
        assert result.status == "ok", result
        cells = json.loads(request.executed_path.read_text())["cells"]
        seen[name] = {**_seen(request), "outputs": [o["output_type"] for o in cells[0]["outputs"]]}
    cold, warm = seen["cold"], seen["warm1"]
    assert warm["path"] == cold["path"] and warm["argv"] == cold["argv"] and warm["backend"] == cold["backend"]
    assert "display_data" in warm["outputs"] and warm["outputs"] == cold["outputs"]
    # the debugger's own variable (pydevd sets it when imported) is the cold kernel's only
    assert set(warm["env"]) == set(cold["env"]) - {"GRADER_RUN_TOKEN", "PYDEVD_USE_FRAME_EVAL"}
    assert cold["debugger"] and not warm["debugger"] and warm["debugpy"] and cold["debugpy"]
    assert warm["threads"] == cold["threads"] == 1
    assert all(a != b for a, b in zip(seen["warm1"]["random"], seen["warm2"]["random"]))


def test_the_fork_server_only_imports_and_cannot_be_traced(tmp_path):
    server = Zygote(sys.executable, ZygoteKey(("torch", "matplotlib.pyplot"), tuple(sorted(os.environ.items()))))
    try:
        facts = server.facts
        assert server.failed_preloads == ()
        assert facts["threads"] == 1          # no thread pool: nothing but its own thread while it waits
        assert facts["dumpable"] == 0         # PR_SET_DUMPABLE 0: no same-user process may trace it or read its memory
        status = Path(f"/proc/{facts['pid']}/status").read_text()
        assert "\nThreads:\t1\n" in status
    finally:
        server.close()
    assert not _alive(facts["pid"]) and not Path(server.workspace).exists()


def test_a_run_outliving_its_kernel_by_a_new_session_and_environment_is_killed_with_it(tmp_path):
    """Runs are found by descent from the server (its subreaper), not by a token in their environment."""
    source = f"""
import json, os, subprocess, sys
code = "import os, time\\nif os.fork(): os._exit(0)\\nos.setsid()\\ntime.sleep(600)"
subprocess.Popen([sys.executable, "-c", code], env={{}}).wait()
json.dump({{"session": os.getsid(0)}}, open({_OUT}, "w"))
"""
    runner = LocalRunner(warm=True)
    request = _request(tmp_path, "daemon", source, preload=())
    before = {int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()}
    try:
        assert runner.run(request).status == "ok"
        server = next(iter(runner._zygotes._idle)).facts["pid"]
        from grader.execution.procfs import live_descendants
        assert live_descendants(server) == []
    finally:
        runner.close()
    sleepers = [pid for pid in {int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()} - before
                if _alive(pid) and b"time.sleep(600)" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert sleepers == []


def test_the_cold_path_still_runs_a_notebook_in_a_new_interpreter(tmp_path):
    source = f"import json, os, sys\njson.dump({{'token': 'GRADER_RUN_TOKEN' in os.environ}}, open({_OUT}, 'w'))"
    runner = LocalRunner(warm=False)
    request = _request(tmp_path, "cold", source, preload=())
    assert runner.run(request).status == "ok"
    assert _seen(request) == {"token": True}
    assert runner._zygotes is None


def test_no_preloaded_module_keeps_a_folder_of_the_fork_servers_environment(tmp_path, monkeypatch):
    """Modules that compute a folder from the environment when imported (tempfile, Keras's home, torch's compiler
    cache) point into the run's own folders in a forked kernel, as in a fresh one: no module-level text names the
    fork server's temporary folder or workspace."""
    system_tmp = "/tmp"
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    source = f"""
import json, os, sys, tempfile
found = []
for name, module in list(sys.modules.items()):
    for key, value in list(getattr(module, "__dict__", {{}}).items()):
        if isinstance(value, str) and value.startswith({system_tmp!r}) and not value.startswith(os.environ["TMPDIR"]):
            found.append([name, key, value])
json.dump({{"found": found, "tempdir": tempfile.gettempdir()}}, open({_OUT}, "w"))
"""
    runner = LocalRunner(warm=True)
    request = _request(tmp_path, "paths", source, preload=("torch", "matplotlib.pyplot", "keras"))
    try:
        assert runner.run(request).status == "ok"
        workspace = next(iter(runner._zygotes._idle)).workspace
    finally:
        runner.close()
    seen = _seen(request)
    run_tmp = str(request.work_dir / "tmp")
    assert seen["tempdir"] == run_tmp
    # the test's own folders lie under /tmp too: only what is neither the run's nor the test's counts
    leftovers = [hit for hit in seen["found"] if not hit[2].startswith(str(tmp_path)) or hit[2].startswith(workspace)]
    assert leftovers == [], leftovers
