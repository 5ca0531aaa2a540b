"""The image's build inputs and the runner's GPU mapping: fast, no daemon needed."""
from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

from grader.execution.docker import DockerRunner, gpu_device_requests
from grader.docker_image import (RUNTIME_REQUIREMENTS, _check_script, content_tag, runtime_packages,
                                 runtime_requirements, stage_context, wheel_fits)

REPO = Path(__file__).resolve().parents[1]


def test_only_cp311_linux_x86_64_wheels_fit_the_wheelhouse():
    assert wheel_fits("torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl")
    assert wheel_fits("numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl")
    assert wheel_fits("tqdm-4.70.1-py3-none-any.whl")
    assert wheel_fits("wcwidth-0.9.4-cp310-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.whl")
    assert not wheel_fits("numpy-2.4.6-cp312-cp312-manylinux_2_28_x86_64.whl")
    assert not wheel_fits("numpy-2.4.6-cp311-cp311-macosx_14_0_arm64.whl")
    assert not wheel_fits("numpy-2.4.6-cp311-cp311-manylinux_2_28_aarch64.whl")
    assert not wheel_fits("numpy-2.4.6.tar.gz")


def test_runtime_requirements_are_pinned_to_this_host_and_skip_a_torch_the_base_has():
    import numpy

    pinned = runtime_requirements()
    assert f"numpy=={numpy.__version__}" in pinned
    assert any(line.startswith("torch==") and "+" not in line for line in pinned)
    assert {"papermill", "ipykernel", "scikit-learn", "tqdm"} <= set(runtime_packages())
    for name in runtime_packages():
        assert any(line.split("==")[0] == name for line in pinned), name
    assert not any(line.startswith("torch") for line in runtime_requirements(torch_in_base=True))
    assert "torchvision" not in " ".join(pinned)


def test_build_context_holds_only_what_the_dockerfile_copies(tmp_path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / "tqdm-4.70.1-py3-none-any.whl").write_bytes(b"not really a wheel")
    context = stage_context(tmp_path / "ctx", ["tqdm==4.70.1"], wheels, REPO)
    top = sorted(p.name for p in context.iterdir())
    assert top == sorted(["Dockerfile", "README.md", "pyproject.toml", "grader",
                          RUNTIME_REQUIREMENTS, "wheelhouse"])   # never reference/
    assert (context / "wheelhouse" / "tqdm-4.70.1-py3-none-any.whl").is_file()
    assert not list(context.rglob("__pycache__"))


def test_image_tag_changes_with_the_wheel_list_and_the_base_only():
    reqs = ["numpy==2.4.6", "torch==2.13.0"]
    assert content_tag(reqs, "base:a") == content_tag(list(reversed(reqs)), "base:a")
    assert content_tag(reqs, "base:a") != content_tag(reqs, "base:b")
    assert content_tag(reqs, "base:a") != content_tag(["numpy==2.4.7", "torch==2.13.0"], "base:a")


def test_gpus_map_to_device_requests():
    assert gpu_device_requests(None) == []
    assert gpu_device_requests([]) == []
    [every] = gpu_device_requests("all")
    assert every["Count"] == -1 and every["Capabilities"] == [["gpu"]]
    [listed] = gpu_device_requests([0, 1])
    assert listed["DeviceIDs"] == ["0", "1"]
    assert gpu_device_requests("0,2")[0]["DeviceIDs"] == ["0", "2"]


def test_concurrent_runs_never_share_a_listed_gpu():
    runner = DockerRunner(gpus=[0, 1])
    held: list[list[str]] = []
    overlaps = []
    lock = threading.Lock()

    def job():
        with runner._gpu() as gpus:
            with lock:
                overlaps.extend(g for g in gpus if any(g in h for h in held))
                held.append(gpus)
            time.sleep(0.05)
            with lock:
                held.remove(gpus)

    threads = [threading.Thread(target=job) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == []
    with runner._gpu() as gpus:
        assert len(gpus) == 1


def test_scripts_are_valid_bash():
    for script in ("build_test_images.sh", "gpu_check.sh"):
        subprocess.run(["bash", "-n", str(REPO / "scripts" / script)], check=True)


def test_the_runtime_package_list_is_written_once_and_read_by_the_build_and_the_check():
    packages = runtime_packages()
    assert "torch" in packages and "tqdm" in packages
    script = _check_script()
    assert all(repr(name) in script for name in packages if name != "torch")
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert f"COPY {RUNTIME_REQUIREMENTS} " in dockerfile and "-r /build/reqs.txt" in dockerfile
    assert "tqdm" not in dockerfile and "sklearn" not in dockerfile   # no second copy of the list


def test_image_check_lists_the_deep_learning_packages_and_the_keras_backend():
    from grader.docker_image import ImageReport

    script = _check_script()
    assert "keras" in runtime_packages() and '"keras"' in script and "KERAS_BACKEND" in script
    report = ImageReport("t", exists=True, deep_learning={"torch": "2.5.1", "keras": "3.15.1"},
                         keras_backend="torch")
    assert report.deep_learning_line() == "torch 2.5.1, keras 3.15.1 (KERAS_BACKEND=torch)"
    assert "KERAS_BACKEND=torch" in (REPO / "Dockerfile").read_text()
    namespace: dict = {}
    exec(script.replace("import grader", "import grader_is_absent_here"), namespace)   # runs here, too


def test_both_runners_give_the_kernel_keras_backend_torch_unless_the_course_chooses_another(tmp_path):
    from grader.course import single_practical_course
    from grader.execution.base import RunRequest
    from grader.execution.local import LocalRunner

    def request(env):
        return RunRequest(notebook=tmp_path / "nb.ipynb", work_dir=tmp_path, probe_dir=tmp_path, data_dir=None,
                          parameters={}, extra_cells=(), timeout_s=10, cell_timeout_s=10, env=env)

    for env, backend in (({}, "torch"), ({"KERAS_BACKEND": "jax"}, "jax")):
        assert LocalRunner()._child_env(request(env), "t")["KERAS_BACKEND"] == backend
        assert DockerRunner()._container_options(request(env), None)["environment"]["KERAS_BACKEND"] == backend
    course = single_practical_course("mnist_cnn", [tmp_path / "nb.ipynb"], tmp_path, tmp_path / "out")
    assert course.keras_backend == "torch"
