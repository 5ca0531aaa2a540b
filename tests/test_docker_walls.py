"""The docker runner's walls against a notebook that attacks the host through the folders it may write:
links that would make the host move another student's files, and setuid files left on the host.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from grader.execution.docker import DEFAULT_UID, DockerRunner
from grader.execution.docker_mounts import OUT, RESULTS, SCRATCH
from grader.i18n import render
from test_docker_runner import LIMITS, report, request, runtime_image, seen  # noqa: F401  (session fixture)

pytestmark = pytest.mark.slow

# Where the results folder's host path is found: /proc/self/mountinfo, whose 4th field is the mount's root.
_HOST_PATH = """
def host_path(mount_point):
    for line in open('/proc/self/mountinfo'):
        fields = line.split()
        if fields[4] == mount_point:
            return fields[3]
"""

# The thief's cell: every name the grader collects (and the old scratch/.grader) becomes a link to the
# victim's folder, found relative to its own or by the absolute host path read from mountinfo.
_STEAL = _HOST_PATH + """
import os
results = {results!r}
victim = {victim!r}
if {absolute!r}:
    victim = os.path.join(os.path.dirname(os.path.dirname(host_path(results))), victim)
else:
    victim = os.path.join('..', '..', victim)
os.symlink(victim, '.grader')
for name in ('executed.ipynb', 'run.json'):
    try:
        os.remove(os.path.join(results, name))
    except FileNotFoundError:
        pass
    os.symlink(os.path.join(victim, name), os.path.join(results, name))
try:
    os.rename(results, '/work/scratch/moved')
    moved = True
except OSError:
    moved = False
"""

_PLANT_SETID = """
import os, shutil, stat, sys
planted = {}
for folder in """ + repr((SCRATCH, OUT, RESULTS)) + """:
    copy = os.path.join(folder, 'suid-python')
    shutil.copy(sys.executable, copy)
    os.chmod(copy, 0o6755)
    sub = os.path.join(folder, 'sgid-dir')
    os.mkdir(sub)
    os.chmod(sub, 0o2777)
    planted[folder] = bool(os.stat(copy).st_mode & stat.S_ISUID) and bool(os.stat(sub).st_mode & stat.S_ISGID)
flags = {l.split()[4]: l.split()[5] for l in open('/proc/self/mountinfo') if l.split()[4] == '/work/scratch'}
"""


def _files(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(root.iterdir()) if p.is_file()}


@pytest.fixture
def runner(runtime_image):  # noqa: F811
    return DockerRunner(image=runtime_image, **LIMITS)


@pytest.mark.parametrize("absolute", [False, True], ids=["relative-link", "absolute-host-path"])
def test_linking_the_results_to_another_student_leaves_the_victims_files_in_place(runner, tmp_path, absolute):
    practical = tmp_path / "work" / "mnist_cnn"
    victim_req = request(practical / "17", ["secret = 'victim code 17'"])
    assert runner.run(victim_req).status == "ok"
    victim_dir = victim_req.work_dir
    before = _files(victim_dir)
    assert {"executed.ipynb", "run.json"} <= set(before)
    thief_dir = practical / "42"
    # seen from the thief's results folder, two levels up is thief_dir (as <practical> is in a batch)
    victim_link = os.path.relpath(victim_dir, thief_dir)
    # one cell: papermill's next save of the executed copy fails on the link, so no later cell runs
    thief_req = request(thief_dir, [_STEAL.format(victim=victim_link, absolute=absolute, results=RESULTS)
                                    + report("{'moved': moved}")])

    result = runner.run(thief_req)

    assert _files(victim_dir) == before                     # still there, byte for byte
    assert result.status == "error", result
    assert result.reason.code == "hostile_results_refused"
    # the run record it linked is refused (the executed copy is written at the end as a new file, renamed over
    # the link: the thief's own notebook, never the victim's)
    assert "run.json is not a regular file" in result.reason.params["detail"]
    assert "victim code 17" not in render(result.reason, "en")
    assert not thief_req.executed_path.is_symlink()
    assert "victim code 17" not in (thief_req.executed_path.read_text() if thief_req.executed_path.exists() else "")
    assert seen(thief_req) == {"moved": False}              # the results folder itself cannot be swapped
    for lang in ("es", "en"):
        assert "{" not in render(result.reason, lang)


def test_setuid_files_planted_in_every_writable_folder_do_not_survive_on_the_host(runner, tmp_path):
    req = request(tmp_path, [_PLANT_SETID, report("{'planted': planted, 'flags': flags}")])

    result = runner.run(req)

    assert result.status == "ok", result
    observed = seen(req)
    assert all(observed["planted"].values()), observed     # the bits were set inside the container
    assert "nosuid" in observed["flags"]["/work/scratch"] and "nodev" in observed["flags"]["/work/scratch"]
    setid = [str(p) for p in tmp_path.rglob("*")
             if not p.is_symlink() and p.lstat().st_mode & (stat.S_ISUID | stat.S_ISGID)]
    assert setid == []
    assert not (req.out_dir / "suid-python").exists()      # not an expected name: it never came out
    assert not req.scratch_dir.exists() and not (req.work_dir / "results").exists()
    assert result.leftovers == ()


def test_the_container_runs_as_the_configured_uid_that_no_host_account_has(runtime_image, tmp_path):  # noqa: F811
    uid_report = report("{'uid': os.getuid(), 'gid': os.getgid(), 'euid': os.geteuid()}")
    default = request(tmp_path / "default", [uid_report])
    assert DockerRunner(image=runtime_image, **LIMITS).run(default).status == "ok"
    configured = request(tmp_path / "configured", [uid_report])
    assert DockerRunner(image=runtime_image, uid=2_000_123, **LIMITS).run(configured).status == "ok"

    assert seen(default) == {"uid": DEFAULT_UID, "gid": DEFAULT_UID, "euid": DEFAULT_UID}
    assert seen(configured) == {"uid": 2_000_123, "gid": 2_000_123, "euid": 2_000_123}
    assert DEFAULT_UID not in (0, 1000) and DEFAULT_UID not in {p.pw_uid for p in _accounts()}
    assert (configured.out_dir / "seen.json").stat().st_uid == os.getuid()   # the host's copy, not the uid's file


def test_the_host_copies_of_the_results_are_new_regular_files(runner, tmp_path):
    req = request(tmp_path, ["x = 1"])
    result = runner.run(req)
    assert result.status == "ok", result
    for name in ("executed.ipynb", "run.json"):
        info = (req.work_dir / name).lstat()
        assert stat.S_ISREG(info.st_mode) and info.st_uid == os.getuid()
    assert sorted(p.name for p in req.work_dir.iterdir()) == ["executed.ipynb", "out", "run.json", "runner.log"]


def _accounts():
    import pwd

    return pwd.getpwall()
