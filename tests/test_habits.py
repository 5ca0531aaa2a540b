"""Colab and JupyterHub habits are handled, not failed: shell escapes, Drive, GPU-only code, Colab paths."""
from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from grader.execution import RunRequest, get_runner
from grader.execution.habits import diagnose, neutralise
from grader.i18n import render
from grader.notebooks import inspect


def test_shell_escapes_become_notes_and_keep_the_cell_valid_python():
    source = "import os\n!pip install -q torchsummary\nif True:\n    !nvidia-smi\nfiles = !ls\n%pip install x"
    new, skipped = neutralise(source)
    assert skipped == ["!pip install -q torchsummary", "!nvidia-smi", "!ls", "%pip install x"]
    compile(new, "cell", "exec")
    assert "files = []" in new and "import os" in new


def test_a_bash_cell_is_skipped_whole_and_plain_code_is_untouched():
    assert neutralise("%%bash\nrm -rf ~\n")[1] == ["%%bash"]
    code = "x = 3  # not ! a shell\ny = x != 2\nprint('!pip')"
    assert neutralise(code) == (code, [])


def test_known_failures_get_a_reason_a_student_can_act_on():
    gpu = diagnose("AssertionError", "Torch not compiled with CUDA enabled", 4)
    assert gpu.code == "habit_needs_gpu" and "GPU" in render(gpu, "en") and "GPU" in render(gpu, "es")
    path = diagnose("FileNotFoundError", "[Errno 2] No such file or directory: '/content/drive/MyDrive/x.gz'", 2)
    assert path.code == "habit_colab_path"
    assert diagnose("ValueError", "shapes do not match", 1) is None


def _notebook(tmp_path, *sources, name="nb.ipynb"):
    nb = new_notebook(cells=[new_code_cell(s) for s in sources])
    nb.metadata["colab"] = {"provenance": []}
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


def _run(tmp_path, notebook):
    probe = tmp_path / "probe"
    probe.mkdir(exist_ok=True)
    return get_runner("local").run(RunRequest(notebook=notebook, work_dir=tmp_path / "work", probe_dir=probe,
                                              data_dir=None, parameters={}, extra_cells=(), timeout_s=90,
                                              cell_timeout_s=60))


@pytest.mark.slow
def test_a_colab_notebook_runs_with_installs_skipped_and_drive_stood_in(tmp_path):
    path = _notebook(tmp_path,
                     "!pip install torchsummary-does-not-exist",
                     "from google.colab import drive\ndrive.mount('/content/drive')",
                     "%matplotlib inline\nimport sys\nprint('warn', file=sys.stderr)\nresult = 6 * 7",
                     "from tqdm import tqdm\nfor _ in tqdm(range(3)): pass\nprint('answer', result)")
    report = inspect(path)
    assert report.colab and any(p.code == "habit_shell_skipped" for p in report.problems)
    run = _run(tmp_path, path)
    assert run.status == "ok", run.reason
    text = nbformat.read(run.executed_notebook, as_version=4)
    printed = "".join(o.get("text", "") for c in text.cells for o in c.get("outputs", []))
    assert "skipped at grading" in printed and "drive.mount('/content/drive') skipped" in printed
    assert "answer 42" in printed


@pytest.mark.slow
def test_cuda_code_on_a_cpu_runner_is_reported_as_needing_a_gpu(tmp_path):
    path = _notebook(tmp_path, "import torch\nx = torch.zeros(2).cuda()")
    run = _run(tmp_path, path)
    assert run.status == "error" and run.reason.code == "habit_needs_gpu"
    assert "1" in render(run.reason, "en")
