"""Hostile submissions where isolation matters, under the docker runner: writing outside the scratch
folder, reading the host, filling the disk, planting probe answers and killing the kernel.

The memory hog and the fork bomb are in tests/test_docker_runner.py (docker_out_of_memory,
docker_pid_limit); the image comes from its session fixture.
"""
from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

import pytest

import hostile_cases as hc
from grader.execution.base import RunRequest
from grader.execution.docker import DockerRunner, connect
from test_docker_runner import LIMITS, SEEN, runtime_image  # noqa: F401  (the session fixture)

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]


def _request(tmp: Path, content: bytes, *, extra: tuple[str, ...] = (), timeout_s: float = 60,
             outputs: tuple[tuple[str, int], ...] = SEEN) -> RunRequest:
    for folder in ("probe", "data", "in"):
        (tmp / folder).mkdir(parents=True, exist_ok=True)
    path = tmp / "in" / "student.ipynb"
    path.write_bytes(content)
    return RunRequest(notebook=path, work_dir=tmp / "work", probe_dir=tmp / "probe", data_dir=tmp / "data",
                      parameters={}, extra_cells=extra, timeout_s=timeout_s, cell_timeout_s=timeout_s,
                      expected_outputs=outputs)


def _seen(req: RunRequest):
    return json.loads((req.out_dir / "seen.json").read_text())


def _containers_mounting(path: Path) -> list[str]:
    client = connect()
    return [c.id for c in client.containers.list(all=True, filters={"label": "grader=1"}, ignore_removed=True)
            if any(str(m.get("Source", "")).startswith(str(path)) for m in c.attrs.get("Mounts", []))]


@pytest.fixture
def runner(runtime_image):  # noqa: F811
    return DockerRunner(image=runtime_image, **LIMITS, file_mb=16)


def test_writing_outside_the_scratch_folder_reaches_nothing_of_the_host(runner, tmp_path):
    marker = f"hostile-canary-{uuid.uuid4().hex[:8]}"
    req = _request(tmp_path, hc.write_outside_scratch(marker))
    result = runner.run(req)
    assert result.status == "ok", result
    seen = _seen(req)
    for refused in (f"/work/{marker}", f"/data/{marker}", f"/probe/{marker}", f"/{marker}", f"/etc/{marker}"):
        assert seen[refused] == "OSError", seen     # read-only root, read-only mounts
    # $HOME and /tmp are the container's own small tmpfs: written there, gone with the container
    assert seen["/tmp/" + marker] == "written"
    assert [p for p in tmp_path.rglob(f"*{marker}*")] == []
    assert not (Path("/tmp") / marker).exists() and not (Path.home() / marker).exists()
    assert _containers_mounting(tmp_path) == []


def test_reading_other_submissions_labels_solutions_or_the_store_finds_nothing(runner, tmp_path):
    other = tmp_path / "other" / "work" / "scratch" / "notebook.ipynb"
    other.parent.mkdir(parents=True)
    other.write_text("{}")
    labels = tmp_path / "course_data" / "t10k-labels-idx1-ubyte.gz"
    labels.parent.mkdir()
    labels.write_bytes(b"labels")
    store = tmp_path / "out" / "grader.sqlite"
    store.parent.mkdir()
    sqlite3.connect(store).close()
    solution = REPO / "assignments" / "mnist_cnn" / "solution.ipynb"
    paths = [str(other), str(labels), str(store), str(solution), str(REPO)]
    req = _request(tmp_path / "me", hc.read_host(paths))
    result = runner.run(req)
    assert result.status == "ok", result
    seen = _seen(req)
    assert seen.pop("listing") == ["scratch"]
    assert seen == {p: False for p in paths}


def test_filling_the_disk_from_the_scratch_folder_stops_at_the_file_size_limit(runner, tmp_path):
    req = _request(tmp_path, hc.fill_disk())
    result = runner.run(req)
    assert result.status == "error", result
    assert result.reason.code == "hostile_file_too_large" and result.reason.params["number"] == {"in": 3}
    assert not req.scratch_dir.exists()     # the file was in the container's tmpfs: nothing of it on the host


def test_answers_planted_before_the_kernel_is_killed_never_count(runner, tmp_path):
    probe_like = f"import os\nopen(os.path.join({hc.OUT_DIR}, 'probe_ran'), 'w').write('1')"
    # status.json and probe_ran are names the host would bring back: they must not come out
    req = _request(tmp_path, hc.plant_then_kill_kernel(), extra=(probe_like,),
                   outputs=(("status.json", 1 << 20), ("probe_ran", 10)))
    (tmp_path / "probe" / "spec.json").write_text(json.dumps({"version": 1, "items": []}))
    result = runner.run(req)
    assert result.status == "kernel_died", result
    assert result.reason.code == "run_kernel_died" and result.reason.params["number"] == {"in": 4}
    assert list(req.out_dir.iterdir()) == []      # status.json and the .npy files it planted: gone
