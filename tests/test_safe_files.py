"""Files in folders a notebook could write to: read, created and cleaned without following links; the
local runner's collection of results refuses links; the [docker] uid is checked."""
from __future__ import annotations

import os
import shutil
import stat
import sys
from pathlib import Path

import pytest

from grader.course import load_course
from grader.errors import ConfigError
from grader.execution import get_runner
from grader.execution.base import RunRequest
from grader.execution.safe_files import (UnsafeFile, create_new, fresh_dir, private_dir, read_regular, remove,
                                         strip_setid)
from test_docker_runner import notebook, report


def test_reading_refuses_links_fifos_and_oversized_files(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("other student")
    (tmp_path / "link").symlink_to(secret)
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "big").write_bytes(b"x" * 11)
    (tmp_path / "ok").write_bytes(b"fine")
    for name in ("link", "fifo", "big"):
        with pytest.raises(UnsafeFile):
            read_regular(tmp_path / name, 10)
    assert read_regular(tmp_path / "ok", 10) == b"fine"


def test_creating_a_file_never_writes_through_a_planted_link(tmp_path):
    victim = tmp_path / "victim.ipynb"
    victim.write_text("victim")
    (tmp_path / "executed.ipynb").symlink_to(victim)
    with pytest.raises(FileExistsError):
        create_new(tmp_path / "executed.ipynb")
    assert victim.read_text() == "victim"


def test_removing_and_refreshing_a_linked_folder_leaves_its_target_alone(tmp_path):
    target = tmp_path / "victim"
    target.mkdir()
    (target / "executed.ipynb").write_text("victim")
    (tmp_path / "scratch").symlink_to(target)
    fresh_dir(tmp_path / "scratch")
    assert (tmp_path / "scratch").is_dir() and not (tmp_path / "scratch").is_symlink()
    assert (target / "executed.ipynb").read_text() == "victim"
    (tmp_path / "scratch" / "inner").symlink_to(target)
    remove(tmp_path / "scratch")
    assert not (tmp_path / "scratch").exists() and (target / "executed.ipynb").read_text() == "victim"


def test_setuid_and_setgid_bits_are_cleared_without_following_links(tmp_path):
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    shell = out / "sub" / "suid-python"
    shutil.copy(sys.executable, shell)
    os.chmod(shell, 0o6755)
    os.chmod(out / "sub", 0o2755)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("x")
    os.chmod(elsewhere, 0o4644)
    (out / "link").symlink_to(elsewhere)
    assert strip_setid(out) == 2
    assert not shell.stat().st_mode & (stat.S_ISUID | stat.S_ISGID) and stat.S_IMODE(shell.stat().st_mode) == 0o755
    assert not (out / "sub").stat().st_mode & stat.S_ISGID
    assert elsewhere.stat().st_mode & stat.S_ISUID        # outside out/: not touched through the link


def test_the_work_folder_is_made_private(tmp_path):
    private_dir(tmp_path / "out" / "work")
    assert stat.S_IMODE((tmp_path / "out" / "work").stat().st_mode) == 0o700


@pytest.mark.slow
def test_local_runner_refuses_a_linked_executed_copy(tmp_path):
    victim = tmp_path / "victim" / "executed.ipynb"
    victim.parent.mkdir()
    victim.write_text('{"cells": [], "victim": true}')
    swap = ("import os\nexecuted = os.path.join(os.path.dirname(os.getcwd()), 'executed.ipynb')\n"
            f"os.remove(executed)\nos.symlink({str(victim)!r}, executed)")
    (tmp_path / "probe").mkdir()
    req = RunRequest(notebook=notebook(tmp_path / "in" / "student.ipynb", [swap, report("'swapped'")]),
                     work_dir=tmp_path / "work", probe_dir=tmp_path / "probe", data_dir=None, parameters={},
                     extra_cells=(), timeout_s=60, cell_timeout_s=60)
    result = get_runner("local").run(req)
    assert result.status == "error", result
    assert result.reason.code == "hostile_results_refused"
    assert "executed.ipynb is a symbolic link" in result.reason.params["detail"]
    assert result.executed_notebook is None


def _course(tmp_path: Path, docker_table: str) -> Path:
    path = tmp_path / "course.toml"
    path.write_text('[course]\nname = "c"\ndeadline = "2027-03-31T23:59:00"\ntimezone = "Europe/Madrid"\n'
                    'runner = "docker"\n[practicals.mnist_cnn]\nsubmissions = ["a.zip"]\n[docker]\n' + docker_table,
                    encoding="utf-8")
    return path


def test_docker_uid_and_scratch_size_reach_the_runner(tmp_path):
    course = load_course(_course(tmp_path, "uid = 1000000\nscratch_mb = 2048\n"))
    assert course.runner_options("docker") == {"uid": 1000000, "scratch_mb": 2048}


@pytest.mark.parametrize("value", ["0", "-5", "true", '"1000000"', str(2**31)])
def test_a_docker_uid_that_is_root_or_not_a_uid_is_refused(tmp_path, value):
    with pytest.raises(ConfigError, match=r"docker\.uid"):
        load_course(_course(tmp_path, f"uid = {value}\n"))
