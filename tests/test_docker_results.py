"""What comes out of a stopped container (grader/execution/docker_results.py), against a real daemon: a folder's
expected names come out of one archive, and whatever else the folder holds (a large file, a crowd of small ones)
changes nothing of what is copied or refused, only how many daemon calls it takes."""
from __future__ import annotations

import os
import stat
import textwrap

import pytest

from grader.execution.docker import connect
from grader.execution.docker_daemon import remove
from grader.execution.docker_mounts import OUT, RESULTS, RUN_DIR
from grader.execution.docker_results import copy_files, copy_folders

from test_docker_runner import runtime_image  # noqa: F401  (the session fixture)

pytestmark = pytest.mark.slow

CAPS = [("status.json", 1 << 20), ("a.npy", 1 << 20), ("hard.npy", 1 << 20), ("link.npy", 1 << 20),
        ("folder.npy", 1 << 20), ("missing.npy", 1 << 20)]

# What a notebook might leave in out/: regular files, a hard link, a link, a folder by an expected name.
_WRITE = textwrap.dedent("""
    import os
    open('status.json', 'w').write('{"ok": true}')
    open('a.npy', 'wb').write(b'A' * 1000)
    os.link('a.npy', 'hard.npy')
    os.symlink('/etc/passwd', 'link.npy')
    os.mkdir('folder.npy')
    """)
_CLUTTER = {
    "none": "",
    "a large other file": "open('junk.bin', 'wb').write(os.urandom(20 << 20))\n",
    "many small other files": "[open(f'junk{i}.txt', 'w').write('x') for i in range(400)]\n",
}


class _Counted:
    """A container that counts the archives asked of the daemon."""

    def __init__(self, container) -> None:
        self.container, self.asked = container, []

    def get_archive(self, path: str):
        self.asked.append(path)
        return self.container.get_archive(path)


def _stopped_container(image: str, script: str):
    container = connect().containers.create(image, ["/opt/venv/bin/python", "-c", script], network_disabled=True,
                                            labels={"grader": "1"})
    container.start()
    assert container.wait(timeout=60)["StatusCode"] == 0, container.logs()
    return container


def _copied(image: str, script: str, dest, caps):
    """What ``copy_files`` makes of out/ after ``script`` ran in a container: (problems, archives asked for)."""
    dest.mkdir()
    container = _stopped_container(image, f"import os\nos.chdir({OUT!r})\n" + script)
    try:
        counted = _Counted(container)
        problems = copy_files(counted, OUT, dest, caps)
    finally:
        remove(container)
    return problems, counted.asked


@pytest.mark.parametrize("clutter", list(_CLUTTER))
def test_each_expected_name_is_decided_the_same_whatever_else_the_folder_holds(runtime_image, tmp_path, clutter):  # noqa: F811
    dest = tmp_path / "out"
    problems, asked = _copied(runtime_image, _WRITE + _CLUTTER[clutter], dest, CAPS)

    assert sorted(problems) == ["folder.npy is not a regular file", "link.npy is not a regular file"]
    assert sorted(p.name for p in dest.iterdir()) == ["a.npy", "hard.npy", "status.json"]
    assert (dest / "a.npy").read_bytes() == (dest / "hard.npy").read_bytes() == b"A" * 1000
    assert (dest / "status.json").read_text() == '{"ok": true}'
    for path in dest.iterdir():   # the host's own new files, never a link
        info = path.lstat()
        assert stat.S_ISREG(info.st_mode) and info.st_uid == os.getuid() and info.st_nlink == 1
    if clutter == "none":   # one archive; by themselves only the link, the folder and one of the linked pair
        assert asked[0] == OUT and len(asked) == 4, asked
    else:                   # every name by itself, the other files never read
        assert asked == [OUT] + [f"{OUT}/{name}" for name, _ in CAPS]


def test_a_file_past_its_cap_is_refused_and_the_others_still_come_out(runtime_image, tmp_path):  # noqa: F811
    script = ("open('status.json', 'w').write('{}')\n"
              "open('big.npy', 'wb').write(os.urandom(30 << 20))")
    dest = tmp_path / "out"
    problems, asked = _copied(runtime_image, script, dest, [("status.json", 1 << 20), ("big.npy", 1 << 20)])

    assert problems == ["big.npy is larger than 1 MB"] and [p.name for p in dest.iterdir()] == ["status.json"]


def test_a_folder_of_regular_files_comes_out_in_one_daemon_call(runtime_image, tmp_path):  # noqa: F811
    script = ("open('status.json', 'w').write('{}')\n"
              "[open(f'{i}.npy', 'wb').write(bytes(100 * i)) for i in range(10)]\nopen('other.txt', 'w').write('x')")
    caps = [("status.json", 1 << 20)] + [(f"{i}.npy", 1 << 20) for i in range(12)]
    dest = tmp_path / "out"
    problems, asked = _copied(runtime_image, script, dest, caps)

    assert problems == [] and asked == [OUT]
    assert sorted(p.name for p in dest.iterdir()) == sorted(["status.json"] + [f"{i}.npy" for i in range(10)])
    assert all((dest / f"{i}.npy").read_bytes() == bytes(100 * i) for i in range(10))


def test_a_folder_crowded_with_other_files_is_read_name_by_name_never_whole(runtime_image, tmp_path):  # noqa: F811
    script = ("open('status.json', 'w').write('{}')\n"
              "open('junk.bin', 'wb').write(os.urandom(40 << 20))")
    dest = tmp_path / "out"
    problems, asked = _copied(runtime_image, script, dest, [("status.json", 1 << 20), ("a.npy", 1 << 20)])

    assert problems == [] and [p.name for p in dest.iterdir()] == ["status.json"]
    assert asked == [OUT, f"{OUT}/status.json", f"{OUT}/a.npy"]


# --- a run's two folders, out of one archive of their parent ------------------------------------------------------

_RUN_FILES = ("open('results/run.json', 'w').write('{\"outcome\": \"completed\"}')\n"
              "open('results/executed.ipynb', 'w').write('{}')\n"
              "open('out/status.json', 'w').write('{}')\n"
              "open('out/a.npy', 'wb').write(b'A' * 100)\n")
_RESULT_CAPS = [("executed.ipynb", 1 << 20), ("run.json", 1 << 20)]
_OUT_CAPS = [("status.json", 1 << 20), ("a.npy", 1 << 20), ("missing.npy", 1 << 20)]


def _copied_folders(image: str, script: str, tmp_path):
    """What ``copy_folders`` makes of a run's out/ and results/ after ``script`` ran in RUN_DIR: (problems by
    folder, archives asked for, the files copied by folder)."""
    dests = {"results": tmp_path / "results", "out": tmp_path / "out"}
    for dest in dests.values():
        dest.mkdir()
    container = _stopped_container(image, f"import os\nos.chdir({RUN_DIR!r})\n" + script)
    try:
        counted = _Counted(container)
        problems = copy_folders(counted, RUN_DIR, {"results": (dests["results"], _RESULT_CAPS),
                                                   "out": (dests["out"], _OUT_CAPS)})
    finally:
        remove(container)
    return problems, counted.asked, {k: _files(v) for k, v in dests.items()}


def _files(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_runs_two_folders_come_out_of_one_archive_each_file_where_it_belongs(runtime_image, tmp_path):  # noqa: F811
    assert {OUT, RESULTS} == {f"{RUN_DIR}/out", f"{RUN_DIR}/results"}
    problems, asked, files = _copied_folders(runtime_image, _RUN_FILES, tmp_path)

    assert problems == {"results": [], "out": []} and asked == [RUN_DIR]
    assert files == {"results": {"executed.ipynb": b"{}", "run.json": b'{"outcome": "completed"}'},
                     "out": {"a.npy": b"A" * 100, "status.json": b"{}"}}


def test_a_link_in_one_folder_is_refused_there_and_the_other_folder_still_comes_out_whole(runtime_image,  # noqa: F811
                                                                                        tmp_path):
    script = _RUN_FILES + "os.remove('results/run.json')\nos.symlink('/etc/passwd', 'results/run.json')\n"
    problems, asked, files = _copied_folders(runtime_image, script, tmp_path)

    assert problems == {"results": ["run.json is not a regular file"], "out": []}
    assert asked == [RUN_DIR, f"{RESULTS}/run.json"]
    assert files == {"results": {"executed.ipynb": b"{}"}, "out": {"a.npy": b"A" * 100, "status.json": b"{}"}}


def test_a_crowded_out_folder_sends_each_folder_back_to_its_own_archive_and_changes_no_file(runtime_image,  # noqa: F811
                                                                                          tmp_path):
    script = _RUN_FILES + "open('out/junk.bin', 'wb').write(os.urandom(20 << 20))\n"
    problems, asked, files = _copied_folders(runtime_image, script, tmp_path)

    assert problems == {"results": [], "out": []}
    # the parent's archive given up; results/ whole in one; out/ given up too, then each of its names by itself
    assert asked == [RUN_DIR, RESULTS, OUT] + [f"{OUT}/{name}" for name, _ in _OUT_CAPS], asked
    assert files == {"results": {"executed.ipynb": b"{}", "run.json": b'{"outcome": "completed"}'},
                     "out": {"a.npy": b"A" * 100, "status.json": b"{}"}}
