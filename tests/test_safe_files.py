"""Files in folders a notebook could write to: read, created, copied out and removed without following
links or recursing (a 1,500-deep chain); the run folder's post-condition; the local runner's collection
of results refuses links; the [docker] uid is checked."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from grader.course import load_course
from grader.errors import ConfigError
from grader.execution import get_runner
from grader.execution.base import RunRequest
from grader.execution.leftovers import leftovers
from grader.execution.safe_files import (UnsafeFile, copy_out, create_new, fresh_dir, private_dir, read_regular,
                                         remove)
from test_docker_runner import notebook, report

REPO = Path(__file__).resolve().parents[1]


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


def _chain(top: Path, depth: int, name: str = "d" * 200) -> None:
    """A folder chain ``depth`` deep under ``top`` (long names: the path outgrows PATH_MAX), a
    setuid+setgid file and a link to the chain's own top at the bottom; built through descriptors."""
    top.mkdir()
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(depth):
        os.mkdir(name, dir_fd=fd)
        inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = inner
    setid = os.open("suid", os.O_CREAT | os.O_WRONLY, 0o6755, dir_fd=fd)
    os.fchmod(setid, 0o6755)
    os.close(setid)
    os.symlink(str(top), "up", dir_fd=fd)
    os.close(fd)


def test_a_folder_chain_deeper_than_any_recursion_is_removed(tmp_path):
    _chain(tmp_path / "chain", 1500)
    (tmp_path / "kept").write_text("x")
    remove(tmp_path / "chain")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept"]


def test_removing_follows_no_link_inside_and_stops_at_its_limit(tmp_path):
    target = tmp_path / "victim"
    target.mkdir()
    (target / "keep.txt").write_text("victim")
    tree = tmp_path / "tree"
    (tree / "a" / "b").mkdir(parents=True)
    (tree / "a" / "b" / "to-victim").symlink_to(target)
    (tree / "a" / "file-link").symlink_to(target / "keep.txt")
    for n in range(30):
        (tree / f"f{n}").write_text("x")
    with pytest.raises(UnsafeFile, match="too many entries"):
        remove(tree, max_entries=10)
    assert tree.is_dir()                       # what the limit left stays, for the post-condition to report
    remove(tree)
    assert not tree.exists() and (target / "keep.txt").read_text() == "victim"


def test_folders_a_notebook_closed_to_its_own_user_are_removed(tmp_path):
    """As the notebook's own user (not root, who may open anything): folders of mode 0 and 0500."""
    uid = 65534 if os.getuid() == 0 else os.getuid()
    base = Path(tempfile.mkdtemp(prefix="grader-closed-")) if os.getuid() == 0 else tmp_path   # nobody may enter
    try:                                                                                           # pytest's root
        tree = base / "tree"
        (tree / "closed" / "inner").mkdir(parents=True)
        (tree / "closed" / "inner" / "f").write_text("x")
        (tree / "readonly").mkdir()
        (tree / "readonly" / "f").write_text("x")
        for path in [base, *base.rglob("*")]:
            os.chown(path, uid, uid, follow_symlinks=False)
        os.chmod(tree / "closed" / "inner", 0)
        os.chmod(tree / "closed", 0)
        os.chmod(tree / "readonly", 0o500)
        code = ("import os\nfrom pathlib import Path\nfrom grader.execution.safe_files import remove\n"
                f"if os.getuid() == 0:\n    os.setgid({uid})\n    os.setuid({uid})\nremove(Path({str(tree)!r}))")
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
        assert done.returncode == 0, done.stderr
        assert not tree.exists()
    finally:
        if base != tmp_path:
            remove(base)


def test_only_named_regular_files_within_their_caps_are_copied_out(tmp_path):
    source, dest = tmp_path / "out", tmp_path / "copies"
    source.mkdir()
    dest.mkdir()
    (source / "status.json").write_text("{}")
    (source / "big.npy").write_bytes(b"x" * 101)
    (tmp_path / "secret").write_text("other student")
    (source / "link.npy").symlink_to(tmp_path / "secret")
    os.mkfifo(source / "fifo.npy")
    (source / "folder.npy").mkdir()
    (source / "suid.npy").write_text("s")
    os.chmod(source / "suid.npy", 0o6755)
    (source / "unlisted.npy").write_text("u")
    caps = [(name, 100) for name in ("status.json", "big.npy", "link.npy", "fifo.npy", "folder.npy", "suid.npy",
                                      "absent.npy")]
    problems = copy_out(source, dest, caps)
    assert sorted(problems) == ["big.npy is larger than 100 bytes", "fifo.npy is not a regular file",
                                "folder.npy is not a regular file",
                                "link.npy is not a regular file"]
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in dest.iterdir()} == {"status.json": 0o600,
                                                                                 "suid.npy": 0o600}
    (tmp_path / "out-link").symlink_to(source)
    assert copy_out(tmp_path / "out-link", tmp_path / "copies", caps) == ["out-link is not a folder (Not a directory)"]
    with pytest.raises(ValueError):
        copy_out(source, dest, [("../secret", 100)])


def _run_request(work: Path, outputs=(("status.json", 10),)) -> RunRequest:
    return RunRequest(notebook=work / "nb.ipynb", work_dir=work, probe_dir=work / "probe", data_dir=None,
                      parameters={}, extra_cells=(), timeout_s=1, cell_timeout_s=1, expected_outputs=outputs)


def test_the_post_condition_removes_and_names_what_a_run_must_not_leave(tmp_path):
    work = tmp_path / "work"
    for name in ("out", "probe"):
        (work / name).mkdir(parents=True)
    for name in ("executed.ipynb", "run.json", "runner.log", "out/status.json", "probe/spec.json"):
        (work / name).write_text("{}")
    assert leftovers(_run_request(work)) == []                 # what the host made: nothing to say
    _chain(work / "scratch", 1500)
    (work / "out" / "planted.npy").write_text("x")
    os.chmod(work / "out" / "status.json", 0o4755)
    (work / "out" / "sub").mkdir()
    os.mkfifo(work / "fifo")
    (work / "runner.log").unlink()
    (work / "runner.log").symlink_to("/etc/passwd")
    found = leftovers(_run_request(work))
    assert sorted(found) == ["fifo (not a regular file)", "out/planted.npy (a file the run should not leave)",
                             "out/status.json (setuid/setgid)", "out/sub (a folder)", "runner.log (a link)",
                             "scratch (a folder)"]
    assert sorted(p.name for p in work.iterdir()) == ["executed.ipynb", "out", "probe", "run.json"]
    assert list((work / "out").iterdir()) == [] and Path("/etc/passwd").exists()
    assert leftovers(_run_request(work)) == []


def test_the_work_folder_is_made_private(tmp_path):
    private_dir(tmp_path / "out" / "work")
    assert stat.S_IMODE((tmp_path / "out" / "work").stat().st_mode) == 0o700


@pytest.mark.slow
@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
def test_local_runner_never_writes_or_reads_through_a_linked_executed_copy(tmp_path, warm):
    victim = tmp_path / "victim" / "executed.ipynb"
    victim.parent.mkdir()
    victim.write_text('{"cells": [], "victim": true}')
    swap = ("import os\nexecuted = os.path.join(os.path.dirname(os.getcwd()), 'executed.ipynb')\n"
            "if os.path.lexists(executed):\n    os.remove(executed)\n"
            f"os.symlink({str(victim)!r}, executed)")
    (tmp_path / "probe").mkdir()
    req = RunRequest(notebook=notebook(tmp_path / "in" / "student.ipynb", [swap, report("'swapped'")]),
                     work_dir=tmp_path / "work", probe_dir=tmp_path / "probe", data_dir=None, parameters={},
                     extra_cells=(), timeout_s=60, cell_timeout_s=60)
    result = get_runner("local", warm=warm).run(req)
    if warm:   # the executed copy is written once, at the end, as a new file renamed over the link
        assert victim.read_text() == '{"cells": [], "victim": true}'     # never written through the link
        assert result.status == "ok", result
        executed = req.work_dir / "executed.ipynb"
        assert not executed.is_symlink() and '"victim": true' not in executed.read_text()
        assert result.executed_notebook == executed
    else:      # papermill saves after every cell, through the link (the notebook's own uid could write there
        # anyway: the local runner is no wall, README): what it left at the name is a link, refused
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
