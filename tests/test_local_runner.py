"""The local runner: real kernels in a child process, parameters, extra cells, limits (grader/execution)."""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.errors import ConfigError
from grader.execution import RunRequest, get_runner, register, runner_names
from grader.notebook_tags import INJECTED_TAG
from grader.execution.local import LocalRunner, read_capped
from grader.execution.prepare import SOURCE_INDEX_KEY, prepare


def _notebook(tmp_path: Path, *sources: str, parameters: str | None = None) -> Path:
    cells = [new_markdown_cell("# Practical")]
    if parameters is not None:
        cell = new_code_cell(parameters)
        cell.metadata["tags"] = ["parameters"]
        cells.append(cell)
    cells += [new_code_cell(source) for source in sources]
    path = tmp_path / "student.ipynb"
    nbformat.write(new_notebook(cells=cells), path)
    return path


# what these tests' notebooks leave in out/ for the host to read back
OUTPUTS = tuple((name, 1 << 20) for name in ("r.txt", "probe.txt", "seen.json"))


def _request(tmp_path: Path, notebook: Path, *, extra=(), parameters=None, timeout_s=60.0, cell_timeout_s=30.0,
             env=None) -> RunRequest:
    probe = tmp_path / "probe"
    probe.mkdir(exist_ok=True)
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    return RunRequest(notebook=notebook, work_dir=tmp_path / "work", probe_dir=probe, data_dir=data,
                      parameters=parameters or {}, extra_cells=tuple(extra), timeout_s=timeout_s,
                      cell_timeout_s=cell_timeout_s, env=env or {}, expected_outputs=OUTPUTS)


def _run(request: RunRequest):
    return get_runner("local").run(request)


def _executed(result) -> nbformat.NotebookNode:
    return nbformat.read(result.executed_notebook, as_version=4)


def _live_members(pgids: set[int]) -> list[int]:
    """Live (non-zombie) processes in any of these process groups, read from /proc."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        state, pgid = fields[0], int(fields[2])
        if pgid in pgids and state not in ("Z", "X"):
            alive.append(int(entry.name))
    return alive


@pytest.mark.slow
def test_trivial_notebook_runs_with_parameters_visible(tmp_path):
    notebook = _notebook(tmp_path, "result = epochs * 2\nprint(result)", parameters="epochs = 1")
    before = hashlib.sha256(notebook.read_bytes()).hexdigest()
    result = _run(_request(tmp_path, notebook, parameters={"epochs": 21},
                           extra=("import os\nopen(os.path.join(os.path.join(os.path.dirname(os.getcwd()), 'out'), 'r.txt'), 'w')"
                                  ".write(str(result))",)))
    assert result.status == "ok", result
    assert result.reason is None and result.failed_cell is None
    assert (result.out_dir / "r.txt").read_text() == "42"
    assert hashlib.sha256(notebook.read_bytes()).hexdigest() == before   # handed-in copy untouched
    cells = _executed(result).cells
    injected = [c for c in cells if INJECTED_TAG in c.metadata.get("tags", [])]
    assert len(injected) == 2 and "epochs = 21" in injected[0].source   # parameters right after their cell
    assert cells.index(injected[0]) == 2 and cells[-1] is injected[1]
    assert [c.metadata.get(SOURCE_INDEX_KEY) for c in cells] == [0, 1, None, 2, None]
    assert cells[3].outputs[0].text == "42\n"


@pytest.mark.slow
def test_extra_cell_runs_after_a_student_cell_raised(tmp_path):
    notebook = _notebook(tmp_path, "a = 1", "raise ValueError('bad shape')", "b = 2")
    result = _run(_request(tmp_path, notebook, extra=(
        "import os\nopen(os.path.join(os.path.dirname(os.getcwd()), 'out') + '/probe.txt', 'w').write(f'{a} {b}')",)))
    assert result.status == "error"
    assert result.failed_cell == 2   # index in the notebook as handed in: markdown, a = 1, raise
    assert result.reason.code == "run_cell_error"
    assert result.reason.params["ename"] == "ValueError" and result.reason.params["evalue"] == "bad shape"
    assert (result.out_dir / "probe.txt").read_text() == "1 2"
    # papermill's "execution stopped here" markers are not left in the executed copy
    assert not any("papermill-error-cell-tag" in c.metadata.get("tags", []) for c in _executed(result).cells)


@pytest.mark.slow
def test_failing_grader_cell_is_a_runner_error_not_the_students(tmp_path):
    notebook = _notebook(tmp_path, "a = 1")
    result = _run(_request(tmp_path, notebook, extra=("raise RuntimeError('probe bug')",)))
    assert result.status == "runner_error" and result.failed_cell is None
    assert result.reason.code == "run_injected_cell_error"


@pytest.mark.slow
def test_endless_loop_is_killed_at_the_run_limit_with_its_whole_group(tmp_path):
    notebook = _notebook(
        tmp_path,
        "import os, subprocess, json\n"
        "child = subprocess.Popen(['sleep', '600'])\n"
        "json.dump({'kernel_pgid': os.getpgid(0), 'runner_pgid': os.getpgid(os.getppid()), 'sleep': child.pid},"
        f" open({str(tmp_path / 'pids.json')!r}, 'w'))",   # outside the run's folders, which go with it
        "while True:\n    pass")
    result = _run(_request(tmp_path, notebook, timeout_s=10, extra=(f"open({str(tmp_path / 'probe_ran')!r}, 'w')",)))
    assert result.status == "timeout"
    assert result.reason.code == "run_timeout" and result.reason.params["limit_s"] == "10"
    assert result.failed_cell == 2
    assert 10 <= result.duration_s < 10 + 10
    pids = json.loads((tmp_path / "pids.json").read_text())
    assert pids["kernel_pgid"] != pids["runner_pgid"]   # jupyter gives the kernel its own session
    assert _live_members({pids["kernel_pgid"], pids["runner_pgid"]}) == []
    assert not (tmp_path / "probe_ran").exists()
    assert result.executed_notebook is not None   # saved up to the cell that was running


@pytest.mark.slow
def test_cell_over_its_time_limit_is_a_timeout_naming_the_cell(tmp_path):
    notebook = _notebook(tmp_path, "x = 1", "import time\ntime.sleep(60)", "y = 2")
    result = _run(_request(tmp_path, notebook, cell_timeout_s=2))
    assert result.status == "timeout"
    assert result.reason.code == "run_cell_timeout"
    assert result.failed_cell == 2 and result.reason.params["number"] == {"code": 2}   # never run: 2nd code cell
    assert result.duration_s < 30


@pytest.mark.slow
def test_kernel_exit_is_reported_as_kernel_died(tmp_path):
    notebook = _notebook(tmp_path, "x = 1", "import os\nos._exit(0)", "y = 2")
    result = _run(_request(tmp_path, notebook))
    assert result.status == "kernel_died"
    assert result.reason.code == "run_kernel_died" and result.failed_cell == 2
    assert result.duration_s < 30


@pytest.mark.slow
def test_kernel_sees_the_runs_env_but_no_grader_folders_and_runs_in_scratch(tmp_path):
    notebook = _notebook(tmp_path, "import os, sys, json\njson.dump({'cwd': os.getcwd(), 'python': sys.prefix, "
                         "'env': {k: os.environ.get(k) for k in ('GRADER_PROBE_DIR', 'GRADER_OUT_DIR', "
                         "'GRADER_DATA_DIR', 'COURSE_SEED')}}, open(os.path.join(os.path.dirname(os.getcwd()), 'out') + '/seen.json', 'w'))")
    request = _request(tmp_path, notebook, env={"COURSE_SEED": "7"}, parameters={"seed": 3})
    result = _run(request)
    assert result.status == "ok", result
    first = _executed(result).cells[0]   # no `parameters` cell: papermill's place, the top
    assert first.source.endswith("seed = 3\n") and INJECTED_TAG in first.metadata["tags"]
    seen = json.loads((result.out_dir / "seen.json").read_text())
    assert Path(seen["cwd"]).resolve() == (tmp_path / "work" / "scratch").resolve()
    # the run's own variables reach the kernel; none names the grader's folders (the probe cell does)
    assert seen["env"] == {"GRADER_PROBE_DIR": None, "GRADER_OUT_DIR": None, "GRADER_DATA_DIR": None,
                           "COURSE_SEED": "7"}
    assert seen["python"] == sys.prefix   # the kernel runs on the grader's own interpreter


def test_prepared_copy_drops_old_outputs_and_papermill_markers(tmp_path):
    old = new_code_cell("print(1)", execution_count=7)
    old.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    marker = new_markdown_cell("papermill stopped here")
    marker.metadata["tags"] = ["papermill-error-cell-tag"]
    path = tmp_path / "student.ipynb"
    nbformat.write(new_notebook(cells=[marker, new_markdown_cell("intro"), old]), path)
    request = _request(tmp_path, path, extra=("probe()",))
    request.scratch_dir.mkdir(parents=True)
    cells = nbformat.read(prepare(request, "k"), as_version=4).cells
    assert [c.metadata.get(SOURCE_INDEX_KEY) for c in cells] == [1, 2, None]
    assert cells[1].outputs == [] and cells[1].execution_count is None
    assert cells[2].source == "probe()" and cells[2].metadata["tags"] == [INJECTED_TAG]


def test_unreadable_notebook_is_an_error_without_a_kernel(tmp_path):
    notebook = tmp_path / "student.ipynb"
    notebook.write_text("not json")
    result = _run(_request(tmp_path, notebook))
    assert result.status == "error" and result.reason.code == "inspect_not_json"
    assert result.executed_notebook is None


def test_stale_outputs_of_an_earlier_run_are_cleared(tmp_path):
    request = _request(tmp_path, tmp_path / "missing.ipynb")
    (request.out_dir).mkdir(parents=True)
    (request.out_dir / "old.npy").write_bytes(b"old")
    result = _run(request)
    assert result.status == "error" and result.reason.code == "inspect_unreadable_file"
    assert request.out_dir.is_dir() and not (request.out_dir / "old.npy").exists()


def test_runners_are_found_by_name(monkeypatch):
    import grader.execution.registry as registry

    monkeypatch.setattr(registry, "_RUNNERS", dict(registry._RUNNERS))  # keep the registry as it was
    assert "local" in runner_names()
    runner = get_runner("local", kill_grace_s=1.0)
    assert isinstance(runner, LocalRunner) and runner.name == "local" and runner.kill_grace_s == 1.0
    with pytest.raises(ConfigError, match="docker-ish"):
        get_runner("docker-ish")
    with pytest.raises(ConfigError, match="options"):
        get_runner("local", no_such_option=1)

    class Echo(LocalRunner):
        name = "echo"
    register("echo", Echo)
    assert isinstance(get_runner("echo"), Echo)


def test_long_logs_keep_head_and_tail(tmp_path):
    log = tmp_path / "runner.log"
    log.write_text("HEAD\n" + "x" * 10_000 + "\nTAIL")
    text = read_capped(log, 1000)
    assert text.startswith("HEAD") and text.endswith("TAIL") and "bytes left out" in text
    assert len(text) < 1100
    assert read_capped(tmp_path / "absent.log", 1000) == ""


@pytest.mark.slow
def test_a_stale_injected_parameters_cell_never_overrides_the_graders_values(tmp_path):
    """A notebook the student ran with papermill keeps papermill's injected cell; the grader's wins."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("epochs = 5")
    params.metadata["tags"] = ["parameters"]
    stale = nbformat.v4.new_code_cell("# Parameters\nepochs = 99\n")
    stale.metadata["tags"] = ["injected-parameters"]
    nb.cells = [params, stale, nbformat.v4.new_code_cell("print('epochs =', epochs)")]
    path = tmp_path / "student.ipynb"
    nbformat.write(nb, path)
    work = tmp_path / "work"
    probe = tmp_path / "probe"
    probe.mkdir()
    result = LocalRunner().run(RunRequest(notebook=path, work_dir=work, probe_dir=probe, data_dir=None,
                                          parameters={"epochs": 1}, extra_cells=(), timeout_s=60,
                                          cell_timeout_s=30))
    assert result.status == "ok", result.reason
    executed = nbformat.read(result.executed_notebook, as_version=4)
    printed = "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs)
    assert "epochs = 1" in printed and "99" not in printed
