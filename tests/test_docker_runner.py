"""The docker runner against a real daemon and a real image (built by scripts/build_test_images.sh).

Nothing here is skipped: without a reachable Docker daemon these tests fail, saying so.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pytest

from grader.errors import RunnerError
from grader.execution import get_runner
from grader.execution.base import RunRequest
from grader.execution.docker import DockerRunner, connect
from grader.execution.docker_daemon import remove_leftover_containers
from grader.docker_image import check_image
from hostile_cases import OUT_DIR

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
BUILD_SCRIPT = REPO / "scripts" / "build_test_images.sh"
LIMITS = {"memory": "256m", "cpus": 1, "pids": 128, "tmpfs_mb": 64, "home_mb": 32, "shm_mb": 32}
SEEN = (("seen.json", 1 << 20),)   # what these tests' notebooks leave in out/ for the host to read back


# --- fixtures ------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def runtime_image() -> str:
    """The test image's tag; built (or found cached) once per session."""
    try:
        connect()
    except RunnerError as err:
        pytest.fail(f"these tests need a running Docker daemon (CI starts dockerd): {err}")
    done = subprocess.run(["bash", str(BUILD_SCRIPT)], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "PYTHON": sys.executable})
    if done.returncode != 0:
        pytest.fail(f"{BUILD_SCRIPT.name} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    yield done.stdout.strip().splitlines()[-1]
    left = _described_containers()
    remove_leftover_containers()
    assert not left, f"containers of the grader left behind: {left}"


@pytest.fixture
def runner(runtime_image) -> DockerRunner:
    return DockerRunner(image=runtime_image, **LIMITS)


@pytest.fixture(scope="session")
def startup_s(runtime_image, tmp_path_factory) -> float:
    """Wall time of a container run of a one-cell notebook: the start-up allowed on top of a limit."""
    tmp = tmp_path_factory.mktemp("startup")
    result = DockerRunner(image=runtime_image, **LIMITS).run(request(tmp, ["x = 1"]))
    assert result.status == "ok", result
    return result.duration_s


def notebook(path: Path, cells: list[str], parameters: str | None = None) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if parameters is not None:
        cell = nbformat.v4.new_code_cell(parameters)
        cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    nb.cells += [nbformat.v4.new_code_cell(textwrap.dedent(source)) for source in cells]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def request(tmp: Path, cells: list[str], *, parameters: dict | None = None, parameters_cell: str | None = None,
            extra: tuple[str, ...] = (), timeout_s: float = 60, cell_timeout_s: float = 60,
            outputs: tuple[tuple[str, int], ...] = SEEN) -> RunRequest:
    for folder in ("probe", "data"):
        (tmp / folder).mkdir(parents=True, exist_ok=True)
    return RunRequest(notebook=notebook(tmp / "in" / "student.ipynb", cells, parameters_cell),
                      work_dir=tmp / "work", probe_dir=tmp / "probe", data_dir=tmp / "data",
                      parameters=parameters or {}, extra_cells=extra, timeout_s=timeout_s,
                      cell_timeout_s=cell_timeout_s, expected_outputs=outputs)


# A cell that saves what the notebook observed, for the host to read back from out/.
def report(expr: str) -> str:
    return (f"import json, os\nwith open(os.path.join({OUT_DIR}, 'seen.json'), 'w') as f:\n"
            f"    json.dump({expr}, f)\n")


def seen(req: RunRequest):
    return json.loads((req.out_dir / "seen.json").read_text())


def _grader_containers() -> list[str]:
    out = subprocess.run(["docker", "ps", "-a", "-q", "--filter", "label=grader=1"],
                         capture_output=True, text=True, check=True).stdout
    return out.split()


def _described_containers() -> list[str]:
    """The grader's containers, each with what tells where it came from (status, age, command, labels)."""
    out = subprocess.run(["docker", "ps", "-a", "--no-trunc", "--filter", "label=grader=1", "--format",
                          "{{.ID}} {{.Status}} created {{.RunningFor}}: {{.Command}} {{.Labels}}"],
                         capture_output=True, text=True, check=True).stdout
    return [line[:12] + line[64:] for line in out.splitlines() if line.strip()]


def run_under_both_runners(req_factory, tmp_path: Path, docker_runner: DockerRunner):
    """Run the same request under the local and the docker runner (fresh work dirs); returns both results.

    For "same results as local" tests: ``req_factory(tmp)`` builds the RunRequest inside ``tmp``.
    """
    results = {}
    for name, runner in (("local", get_runner("local")), ("docker", docker_runner)):
        results[name] = runner.run(req_factory(tmp_path / name))
    return results


def grade_under_both_runners(spec_factory, tmp_path: Path, docker_runner: DockerRunner):
    """Grade one submission under both runners: ``spec_factory(work_dir)`` builds a jobs.JobSpec.

    Returns {"local": Evaluation, "docker": Evaluation}; compare ``points_by_check`` of the two.
    """
    from grader.jobs import run_job

    return {name: run_job(spec_factory(tmp_path / name), runner)
            for name, runner in (("local", get_runner("local")), ("docker", docker_runner))}


def points_by_check(evaluation) -> dict[str, object]:
    return {check.check_id: check.points for check in evaluation.checks}


# --- the runner's behaviour ----------------------------------------------------------------------

def test_trivial_notebook_runs_with_parameters_and_extra_cells(runner, tmp_path):
    req = request(tmp_path, ["y = x * 2", "raise ValueError('student bug')"], parameters={"x": 21},
                  parameters_cell="x = 1", extra=(report("{'y': y, 'probe': __GRADER_KERNEL_PROBE_DIR__}"),))
    result = runner.run(req)
    assert result.status == "error"        # the student's cell raised ...
    assert result.failed_cell == 2
    assert seen(req) == {"y": 42, "probe": "/probe"}   # ... and the extra cell still ran, with x injected
    assert result.executed_notebook == req.executed_path and req.executed_path.is_file()


def test_host_paths_in_parameters_become_container_paths(runner, tmp_path):
    req = request(tmp_path, [report("{'data': data_dir, 'files': os.listdir(data_dir), 'other': other}")],
                  parameters={"data_dir": str(tmp_path / "data"), "other": "/etc/hostname"},
                  parameters_cell="data_dir = other = None")
    (tmp_path / "data" / "train.csv").write_text("a,b\n")
    assert runner.run(req).status == "ok"
    assert seen(req) == {"data": "/data", "files": ["train.csv"], "other": "/etc/hostname"}


def test_only_the_expected_names_come_out_of_the_container_as_the_hosts_own_files(runner, tmp_path):
    in_out = (f"import os\nout = {OUT_DIR}\nos.mkdir(os.path.join(out, 'sub'))\n"
              "open(os.path.join(out, 'sub', 'made_here.txt'), 'w').write('x')\n"
              "open(os.path.join(out, 'unexpected.npy'), 'w').write('x')")
    req = request(tmp_path, ["open('made_here.txt', 'w').write('x')", in_out, report("'ok'")])
    result = runner.run(req)
    assert result.status == "ok" and result.leftovers == (), result
    assert not req.scratch_dir.exists()      # scratch was the container's own tmpfs: gone with it
    assert [p.name for p in req.out_dir.iterdir()] == ["seen.json"]
    assert stat.S_IMODE(req.out_dir.joinpath("seen.json").stat().st_mode) == 0o600
    assert all(p.stat().st_uid == os.getuid() for p in [req.work_dir, *req.work_dir.rglob("*")])
    shutil.rmtree(req.work_dir)
    assert not req.work_dir.exists()


def test_notebook_sees_only_the_loopback_interface(runner, tmp_path):
    req = request(tmp_path, [report("sorted(os.listdir('/sys/class/net'))")])
    assert runner.run(req).status == "ok"
    assert seen(req) == ["lo"]


def test_notebook_cannot_see_other_submissions_labels_or_the_results_store(runner, tmp_path):
    other = tmp_path / "other_student" / "work" / "scratch" / "notebook.ipynb"
    other.parent.mkdir(parents=True)
    other.write_text("{}")
    labels = tmp_path / "course_data" / "test_labels.csv"
    labels.parent.mkdir()
    labels.write_text("index,label\n0,7\n")
    store = tmp_path / "results.sqlite"
    sqlite3.connect(store).close()
    paths = [str(other), str(labels), str(store), str(other.parent), str(tmp_path), str(REPO)]
    req = request(tmp_path / "me", [report(f"{{p: os.path.exists(p) for p in {paths!r}}}"),
                                    "import os; listing = sorted(os.listdir('/work'))",
                                    "assert listing == ['scratch'], listing"])
    result = runner.run(req)
    assert result.status == "ok", result
    assert seen(req) == {p: False for p in paths}


def test_notebook_cannot_import_the_reference_implementations(runner, tmp_path):
    cells = ["import importlib.util\nfound = importlib.util.find_spec('reference') is not None",
             report("{'reference': found}")]
    req = request(tmp_path, cells)
    assert runner.run(req).status == "ok"
    assert seen(req) == {"reference": False}


def test_root_file_system_is_read_only_and_user_is_not_root(runner, tmp_path):
    cells = ["import os, subprocess\n"
             "try:\n    open('/evil', 'w'); wrote_root = True\nexcept OSError:\n    wrote_root = False\n"
             "uid = int(subprocess.run(['id', '-u'], capture_output=True, text=True).stdout)",
             report("{'wrote_root': wrote_root, 'uid': uid}")]
    req = request(tmp_path, cells)
    assert runner.run(req).status == "ok"
    assert seen(req) == {"wrote_root": False, "uid": seen(req)["uid"]}
    assert seen(req)["uid"] != 0


def test_memory_hog_is_stopped_with_out_of_memory_reason(runner, tmp_path):
    req = request(tmp_path, ["x = 1", "hog = b'x' * (1024 ** 3)", "y = 2"], timeout_s=60)
    result = runner.run(req)
    assert result.status == "out_of_memory", result
    assert result.reason.code == "docker_out_of_memory"
    assert result.reason.params["limit"] == "256m"
    assert result.duration_s < 30


def test_fork_bomb_is_stopped_by_the_pid_limit(runtime_image, tmp_path):
    # Few PIDs, so that the PID wall stands before the memory one (each fork copies the kernel).
    runner = DockerRunner(image=runtime_image, **{**LIMITS, "pids": 32, "memory": "512m"})
    req = request(tmp_path, ["import os\nwhile True:\n    os.fork()"], timeout_s=20, cell_timeout_s=20)
    result = runner.run(req)
    assert result.status in ("error", "timeout"), result
    assert result.reason.code == "docker_pid_limit", result.reason
    assert result.reason.params["limit"] == 32


def test_endless_loop_is_stopped_at_the_time_limit(runner, tmp_path, startup_s):
    limit = 8.0
    req = request(tmp_path, ["x = 1", "while True:\n    pass"], timeout_s=limit, cell_timeout_s=100)
    result = runner.run(req)
    assert result.status == "timeout", result
    assert result.reason.code == "run_timeout"
    assert result.failed_cell == 1             # the executed copy was saved: it says where time ran out
    assert limit <= result.duration_s <= limit * 1.1 + startup_s, (result.duration_s, startup_s)


def test_cell_timeout_keeps_the_local_runners_meaning(runner, tmp_path):
    req = request(tmp_path, ["import time\ntime.sleep(30)"], timeout_s=60, cell_timeout_s=2)
    result = runner.run(req)
    assert result.status == "timeout"
    assert result.reason.code == "run_cell_timeout"
    assert result.duration_s < 20


def test_ctrl_c_removes_the_container(runtime_image, tmp_path):
    req_dir = tmp_path / "interrupted"
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_docker_runner import request, LIMITS
        from grader.execution.docker import DockerRunner
        from pathlib import Path
        DockerRunner(image={runtime_image!r}, **LIMITS).run(
            request(Path({str(req_dir)!r}), ["import time\\ntime.sleep(120)"], timeout_s=120, cell_timeout_s=120))
    """)
    before = set(_grader_containers())
    child = subprocess.Popen([sys.executable, "-c", script], cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        while not set(_grader_containers()) - before and time.monotonic() < deadline:
            time.sleep(0.2)
        assert set(_grader_containers()) - before, "the container never started"
        child.send_signal(signal.SIGINT)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode != 0
    assert set(_grader_containers()) - before == set()


def test_missing_image_is_one_runner_error_naming_the_build_command(tmp_path):
    runner = DockerRunner(image="grader-runtime:no-such-tag", **LIMITS)
    with pytest.raises(RunnerError) as first:
        runner.run(request(tmp_path, ["x = 1"]))
    with pytest.raises(RunnerError) as second:
        runner.run(request(tmp_path, ["x = 1"]))
    assert "image grader-runtime:no-such-tag not found: run grader image build" in str(first.value)
    assert first.value is second.value     # checked once, not once per submission
    assert first.value.code == "docker_image_missing"


def test_unreachable_daemon_is_one_clear_runner_error(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-daemon.sock")
    with pytest.raises(RunnerError) as err:
        DockerRunner(image="anything").run(request(tmp_path, ["x = 1"]))
    assert err.value.code == "docker_daemon_unreachable"
    assert str(err.value).startswith("docker daemon unreachable") and "\n" not in str(err.value)


def test_image_check_reports_python_torch_and_cuda(runtime_image):
    import torch

    report_ = check_image(runtime_image)
    assert report_.usable, report_.problem
    assert report_.python.startswith("3.11")
    assert report_.torch.split("+")[0] == torch.__version__.split("+")[0]
    assert report_.cuda_available is False
    assert not check_image("grader-runtime:no-such-tag").exists


def test_same_outputs_as_the_local_runner(runner, tmp_path):
    def make(tmp: Path) -> RunRequest:
        return request(tmp, ["import numpy as np\nrng = np.random.default_rng(seed)\nv = rng.normal(size=3)",
                             "1 / 0"], parameters={"seed": 3}, parameters_cell="seed = 0",
                       extra=(report("[round(float(a), 12) for a in v]"),))
    results = run_under_both_runners(make, tmp_path, runner)
    assert results["local"].status == results["docker"].status == "error"
    assert results["local"].reason == results["docker"].reason
    assert seen(make(tmp_path / "local")) == seen(make(tmp_path / "docker"))
