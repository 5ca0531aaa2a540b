"""The child's entry point: runs inside the runner's process or container, executes the prepared notebook
with papermill and records how it ended in run.json.

Shared by every runner. It imports only papermill/nbclient and the grader's stand-ins; it never reads
evaluation data and never decides a grade: the host reads run.json (outcome.py).
"""
from __future__ import annotations

import io
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

KERNEL_NAME = "grader-python3"
# What the host writes, last, into a waiting container's folder: its turn has come (a warm run's, a warm judge's).
GO = "go"
# What a runner's child command runs: ``python -c "<CHILD_CALL>" SPEC_PATH`` with the grader importable.
CHILD_CALL = "from grader.execution.child import child_main; child_main(sys.argv[-1])"
_EVALUE_CAP = 500


def child_spec(*, notebook: str, output: str, cwd: str, result: str, cell_timeout_s: float,
               start_timeout_s: float, memory_limit_mb: int | None, file_limit_mb: int | None,
               provided: str | None = None) -> dict[str, Any]:
    """What the child reads (paths as the child sees them): the runner writes it as JSON. ``provided``: the
    folder of the course's dataset caches, one subfolder per root (grader.dataset_caches), or None."""
    return {
        "notebook": notebook, "output": output, "cwd": cwd, "kernel_name": KERNEL_NAME, "result": result,
        "cell_timeout_s": max(1, math.ceil(cell_timeout_s)), "start_timeout_s": max(1, math.ceil(start_timeout_s)),
        "memory_limit_mb": memory_limit_mb, "file_limit_mb": file_limit_mb, "provided": provided,
    }


def write_kernelspec(root: Path, python: str) -> None:
    """Our own kernelspec under ``root``, so a "python3" kernelspec elsewhere cannot pick another interpreter."""
    folder = root / "kernels" / KERNEL_NAME
    folder.mkdir(parents=True, exist_ok=True)
    spec = {"argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (grader)", "language": "python"}
    (folder / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")


def child_main(spec_path: str) -> None:
    """Runs in the child: execute the prepared notebook with papermill, record how it ended."""
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    _prepare(spec)
    outcome = _execute(spec)
    Path(spec["result"]).write_text(json.dumps(outcome), encoding="utf-8")


def forked_main(spec: dict[str, Any], kernel_path: list[str], threads: int | None) -> None:
    """The same in a run forked from a warm process (grader.execution.zygote): the kernel is forked from this
    process too, and the executed copy is written once, when the run ends however it ends."""
    # start-up: the kernel's fork machinery only in a forked run (a cold child never loads it)
    from grader.execution.forked_kernel import fork_kernel

    _prepare(spec)
    kernel = fork_kernel(os.environ.get("JUPYTER_RUNTIME_DIR") or os.getcwd(), kernel_path, threads)
    _run_and_exit(spec, kernel)


def warm_main(folder: str, poll_s: float = 0.01) -> None:
    """A warm container's first and only process: import what every kernel needs, start the kernel, then wait for
    the host to hand over this container's submission (``go`` in the spec folder, after runner.json and the
    notebook), and run it as ``forked_main`` does. Nothing of a submission exists in the container before ``go``."""
    # start-up: the kernel's fork machinery only in a forked run (a cold child never loads it)
    from grader.execution.forked_kernel import fork_kernel
    from grader.execution.zygote import preload, settle_threads

    spec_folder = Path(folder)
    config = json.loads((spec_folder / "warm.json").read_text(encoding="utf-8"))
    _prepare({"file_limit_mb": config.get("file_limit_mb"), "provided": config.get("provided"),
              "cwd": os.getcwd()})
    # start-up: imported once the container's files are in place, as the cold child does
    from grader.execution.habits import STANDINS_DIR

    preload({"preload": config.get("preload", ())})
    settle_threads()
    kernel_path = [str(STANDINS_DIR)] + [p for p in sys.path if p]   # as PYTHONPATH gives a kernel the stand-ins
    kernel = fork_kernel(os.environ.get("JUPYTER_RUNTIME_DIR") or "/tmp", kernel_path, config.get("threads"))
    while not (spec_folder / GO).exists():
        if kernel.process.poll() is not None:   # it died waiting: the run will say so (its client finds it dead)
            break
        time.sleep(poll_s)
    _run_and_exit(json.loads((spec_folder / "runner.json").read_text(encoding="utf-8")), kernel)


def _run_and_exit(spec: dict[str, Any], kernel) -> None:
    """Run the notebook on the forked ``kernel``, write the run's record and end this process."""
    kept: list = []   # the client and its sockets, alive until os._exit: tearing them down costs 0.1 s for nothing
    try:
        outcome = execute_with(spec, kernel, kept)
    finally:
        kernel.kill()
    Path(spec["result"]).write_text(json.dumps(outcome), encoding="utf-8")
    # Done: nothing of this process needs tearing down (its zmq context would wait out its sockets' linger)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _prepare(spec: dict[str, Any]) -> None:
    _limit_resources(spec.get("memory_limit_mb"), spec.get("file_limit_mb"))
    # The kernel inherits this environment: a stand-in google.colab, and no tqdm bars flooding outputs.
    # start-up: the run's child imports what only it uses
    from grader.execution.habits import STANDINS_DIR
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(STANDINS_DIR), os.environ.get("PYTHONPATH")]))
    os.environ.setdefault("TQDM_DISABLE", "1")
    if spec.get("provided"):
        unpack_provided(Path(spec["provided"]), Path(spec["cwd"]))


def unpack_provided(provided: Path, cwd: Path) -> None:
    """Copy the course's dataset caches where the kernel looks, before it starts: ``cwd/`` into its working
    folder, ``keras_home/`` into $KERAS_HOME (set by every runner). Copies, not links: the notebook may
    write beside them as on a student's machine, and under docker these places are the container's own
    tmpfs. Keras checks its files' hashes: an IPython start-up file makes it accept these copies."""
    # start-up: the run's child imports what only it uses
    import hashlib
    import shutil

    keras_home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
    accepted = {}
    for root, target in (("cwd", cwd), ("keras_home", keras_home)):
        source = provided / root
        if not source.is_dir():
            continue
        shutil.copytree(source, target, dirs_exist_ok=True, symlinks=True)
        if root == "keras_home":
            accepted.update({str(target / path.relative_to(source)): hashlib.sha256(path.read_bytes()).hexdigest()
                             for path in sorted(source.rglob("*")) if path.is_file()})
    if accepted:
        # start-up: the run's child imports what only it uses
        from IPython.paths import get_ipython_dir

        startup = Path(get_ipython_dir()) / "profile_default" / "startup"
        startup.mkdir(parents=True, exist_ok=True)
        # one expression: a start-up file runs in the notebook's namespace, and this leaves no name there
        (startup / "00-grader-dataset-caches.py").write_text(
            f"__import__('_grader_dataset_caches').install({accepted!r})\n", encoding="utf-8")


def _execute(spec: dict[str, Any]) -> dict[str, Any]:
    # start-up: papermill and nbclient only in the run's child, never in the grader
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
    # start-up: the run's child imports what only it uses
    import nbformat

    nb = nbformat.read(output, as_version=4)
    nb.cells = [c for c in nb.cells if "papermill-error-cell-tag" not in c.metadata.get("tags", [])]
    nbformat.write(nb, output)


def execute_with(spec: dict[str, Any], kernel, kept: list) -> dict[str, Any]:
    """papermill's cell loop (its metadata per cell: start, end, status) on an already started kernel, without
    papermill's save after every cell (each one validates and rewrites the whole notebook): the executed copy is
    written once, in a finally, so a kernel killed at the time limit still leaves the cells up to where it was.
    The client goes into ``kept``: the caller ends its process with it alive."""
    # start-up: papermill and nbclient only in a run that executes (the fork server preloads them when asked)
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NotebookExecutionManager
    from papermill.execute import prepare_notebook_metadata, remove_error_markers
    from papermill.iorw import load_notebook_node
    from papermill.log import logger

    # start-up: the fork machinery only in a forked run
    from grader.execution.forked_kernel import adopting_manager

    nb = remove_error_markers(prepare_notebook_metadata(load_notebook_node(spec["notebook"]), spec["notebook"],
                                                        spec["output"]))
    manager = NotebookExecutionManager(nb, output_path=None, progress_bar=False, log_output=False)
    manager.notebook_start()
    kernel.wait_ready(spec["start_timeout_s"])
    try:
        client = PapermillNotebookClient(
            manager, km=adopting_manager(kernel, spec["kernel_name"]), timeout=spec["cell_timeout_s"],
            startup_timeout=spec["start_timeout_s"], kernel_name=spec["kernel_name"], log=logger, allow_errors=True)
        kept.append(client)
        client.execute()
    except CellTimeoutError as err:
        return {"outcome": "cell_timeout", "detail": str(err)[:_EVALUE_CAP]}
    except DeadKernelError as err:
        return {"outcome": "kernel_died", "detail": str(err)[:_EVALUE_CAP]}
    except Exception as err:
        return {"outcome": "crashed", "detail": f"{type(err).__name__}: {err}"[:_EVALUE_CAP]}
    finally:
        manager.cleanup_pbar()
        manager.notebook_complete()
        write_notebook(manager.nb, Path(spec["output"]))
    return {"outcome": "completed"}


def write_notebook(nb, target: Path) -> None:
    """The file nbformat.v4.writes would give, streamed and not validated: writes deep-copies the notebook into
    nodes of 430 bytes each, json.dumps holds every piece of the text at once, and validation would log every
    schema quirk of a student's metadata (papermill copes with them). Changes ``nb`` in place."""
    # start-up: nbformat's writer only when the executed copy is written
    from nbformat.v4.rwbase import split_lines, strip_transient

    # start-up: the run's child imports what only it uses
    from grader.execution.safe_files import create_new

    # a new file beside it, then renamed over the name: a link the notebook put at that name is replaced, never
    # written through (to another run's files, or the grader's)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.writing")
    with io.TextIOWrapper(create_new(temporary), encoding="utf-8") as fh:
        json.dump(strip_transient(split_lines(nb)), fh, indent=1, sort_keys=True, separators=(",", ": "),
                  ensure_ascii=False)
    os.replace(temporary, target)


def _limit_resources(memory_limit_mb: int | None, file_limit_mb: int | None = None) -> None:
    try:
        # start-up: the run's child imports what only it uses
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
