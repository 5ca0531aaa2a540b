"""The grader's own process during a batch: it never imports torch (reference hooks that need it run in a child
interpreter, grader/reference_child.py; the reference modules import it only where a network is built)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# grades the course, then says whether torch was ever imported in this process and its peak memory
_GRADE = """
import json, resource, sys
from pathlib import Path
from grader.course import load_course
from grader.pipeline import grade_course
result = grade_course(load_course(Path(sys.argv[1])), Path(sys.argv[2]), workers=1)
print(json.dumps({"torch": "torch" in sys.modules, "scores": [str(s.score) for s in result.scores],
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}))
"""


def _grade_in_a_fresh_process(course: Path, out: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", _GRADE, str(course), str(out)], cwd=REPO, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_grading_the_mnist_practical_never_imports_torch_in_the_graders_process(tmp_path, shared_data):
    sys.path.insert(0, str(REPO / "tests"))
    try:
        import nbformat
        from conftest import as_handed_in_executed, moodle_entry, notebook_bytes, write_zip
    finally:
        sys.path.remove(str(REPO / "tests"))
    solution = as_handed_in_executed(nbformat.read(REPO / "assignments" / "mnist_cnn" / "solution.ipynb", as_version=4))
    write_zip(tmp_path / "s.zip", {moodle_entry("Ana", "101", "mnist_cnn.ipynb"): notebook_bytes(solution)})
    (tmp_path / "course.toml").write_text(f"""
[course]
name = "lean"
deadline = "2027-03-31T23:59:00"
timezone = "Europe/Madrid"
data_dir = "{shared_data}"
lang = "en"
[practicals.mnist_cnn]
submissions = ["s.zip"]
timeout_s = 600
parameters = {{ epochs = 1, train_size = 512 }}
[similarity]
enabled = false
""")
    seen = _grade_in_a_fresh_process(tmp_path / "course.toml", tmp_path / "out")
    assert seen["torch"] is False
    assert seen["scores"] and seen["scores"][0] not in ("None", "0")   # graded: the student data, checks, judge


@pytest.mark.slow
def test_building_a_reference_runs_its_hook_in_a_child_interpreter(tmp_path):
    """A relative threshold's reference is built by the practical's hook, which imports torch here, in a child."""
    (tmp_path / "torch_ref.py").write_text(
        "import torch\n\ndef build(data_dir, params):\n    return {'accuracy': float(torch.tensor(0.75))}\n")
    sys.path.insert(0, str(tmp_path))
    try:
        from grader.reference_child import call_hook

        assert call_hook("torch_ref:build", tmp_path, {"epochs": 1}) == {"accuracy": 0.75}
        assert "torch_ref" not in sys.modules
        with pytest.raises(ValueError, match="no such"):
            (tmp_path / "bad_ref.py").write_text("def build(data_dir, params):\n    raise ValueError('no such file')\n")
            call_hook("bad_ref:build", tmp_path, {})
    finally:
        sys.path.remove(str(tmp_path))


# what a warm container's first process imports before its kernel starts (grader/execution/child.py, warm_main)
_CONTAINER_CHILD = """
import json, sys
from grader.execution.child import warm_main
from grader.execution.forked_kernel import fork_kernel
from grader.execution.zygote import preload, settle_threads
from grader.execution.habits import STANDINS_DIR
print(json.dumps(sorted(sys.modules)))
"""


def test_a_containers_child_imports_neither_the_course_types_nor_the_runner_registry():
    """Every container pays its own imports: pydantic (the course's config types) cost it 0.1 CPU-s for nothing."""
    done = subprocess.run([sys.executable, "-c", _CONTAINER_CHILD], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = set(json.loads(done.stdout))
    assert "grader.execution.child" in seen
    assert not {"pydantic", "grader.config_types", "grader.execution.base", "grader.execution.registry"} & seen


def test_the_execution_package_still_hands_out_the_runner_contract():
    import grader.execution as execution
    from grader.execution import RunRequest, get_runner
    from grader.execution.base import RunRequest as request_class
    from grader.execution.registry import get_runner as registry_get_runner

    assert RunRequest is request_class and get_runner is registry_get_runner
    assert set(execution.__all__) == {"RunRequest", "Runner", "get_runner", "register", "runner_class", "runner_names"}
    with pytest.raises(AttributeError, match="no attribute 'DockerRunner'"):
        execution.DockerRunner
