"""Nothing a notebook wrote may harm the grader's host or stop a batch: a folder chain deeper than any
recursion, with a setuid+setgid file at its bottom, written into every folder a run may write, leaves
nothing setuid and no run folder on the host under both runners; the run's record is clear, the batch
goes on, and ``--force`` re-grades it over a tree an earlier run left. What a run leaves anyway (the
local runner's notebook is the grader's own user) is removed, named in its evaluation and flagged.
"""
from __future__ import annotations

import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

import hostile_cases as hc
from conftest import moodle_entry
from grader.course import load_course
from grader.execution import get_runner
from grader.execution.docker import DockerRunner, connect
from grader.execution.docker_mounts import OUT, RESULTS
from grader.i18n import render
from grader.pipeline import grade_course
from grader.reports.summary import needs_human
from test_docker_runner import LIMITS, report, request, runtime_image, seen  # noqa: F401  (session fixture)
from test_hostile import CASES, toy_course
from test_safe_files import _chain

pytestmark = pytest.mark.slow

# Where a run may write: the container's out and results folders and its scratch (its working folder);
# the local runner's out folder and scratch.
IN_CONTAINER = (hc.OUT_DIR, repr(RESULTS), '"."')
LOCAL = (hc.OUT_DIR, '"."')
RUN_FILES = ["executed.ipynb", "out", "run.json", "runner.log"]
LONG = "d" * 200      # the chain's folder name


def _found(root: Path, *test: str) -> list[str]:
    """Paths under ``root`` matching a find(1) test: find walks any depth, without following links."""
    done = subprocess.run(["find", str(root), *test, "-print"], capture_output=True, text=True, check=True)
    return done.stdout.split()


def _host_is_clean(root: Path) -> None:
    assert _found(root, "-perm", "/6000") == []               # no setuid/setgid file or folder
    assert _found(root, "(", "-type", "b", "-o", "-type", "c", ")") == []
    assert _found(root, "-name", LONG) == []                   # nothing of a chain


def _grader_volumes() -> set[str]:
    """The grader's volumes now (a test compares before and after: another test's may still be going away)."""
    return {v.name for v in connect().volumes.list(filters={"label": "grader=1"})}


# --- one run -------------------------------------------------------------------------------------

def test_a_deep_setid_chain_in_every_folder_a_container_writes_leaves_nothing_on_the_host(runtime_image,  # noqa: F811
                                                                                           tmp_path):
    req = request(tmp_path, [hc.deep_setid_chain_cell(*IN_CONTAINER), report("chained")])
    before = _grader_volumes()

    result = DockerRunner(image=runtime_image, **LIMITS).run(req)

    assert result.status == "ok" and result.reason is None and result.leftovers == (), result
    assert seen(req) == {OUT: True, RESULTS: True, ".": True}   # planted, bits held inside
    assert sorted(p.name for p in req.work_dir.iterdir()) == RUN_FILES
    assert [p.name for p in req.out_dir.iterdir()] == ["seen.json"]
    _host_is_clean(tmp_path)
    assert _grader_volumes() - before == set()                 # the volumes went with the container


def test_a_deep_setid_chain_in_the_local_runners_out_and_scratch_leaves_nothing(tmp_path):
    req = request(tmp_path, [hc.deep_setid_chain_cell(*LOCAL), report("chained")])

    result = get_runner("local").run(req)

    assert result.status == "ok" and result.reason is None and result.leftovers == (), result
    assert list(seen(req).values()) == [True, True]
    assert sorted(p.name for p in req.work_dir.iterdir()) == RUN_FILES
    _host_is_clean(tmp_path)


# --- a batch -------------------------------------------------------------------------------------

def _course(root: Path, sources: dict[str, bytes], runner: str, image: str | None = None):
    path = toy_course(root, sources, workers=1)
    text = path.read_text(encoding="utf-8").replace('runner = "local"', f'runner = "{runner}"')
    if image:
        text += f'[docker]\nimage = "{image}"\nmemory = "512m"\ncpus = 1\n'
    path.write_text(text, encoding="utf-8")
    return load_course(path)


def _entry(participant: str) -> str:
    return moodle_entry(CASES[participant][0], participant, "toy.ipynb")


def _scores(result) -> dict:
    return {s.participant: s for s in result.scores if s.status != "missing"}


def _regraded_over_an_old_tree(course, root: Path, participant: str):
    """--force for one submission whose work folder holds what an earlier grader left: a deep chain with
    a setuid file in out/ (the clean-up that recursed gave up there)."""
    _chain(root / "out" / "work" / hc.PRACTICAL / participant / "out" / "left", 1500)
    assert _found(root / "out" / "work", "-perm", "/6000")
    return grade_course(course, root / "out", force=True, only=hc.PRACTICAL, student=participant)


def test_under_docker_a_chain_writer_is_graded_clean_and_regraded_with_force(runtime_image, tmp_path):  # noqa: F811
    root = tmp_path / "course"
    course = _course(root, {_entry("201"): hc.deep_setid_chain(*IN_CONTAINER),
                            _entry("218"): hc.notebook(hc.CORRECT)}, "docker", runtime_image)
    before = _grader_volumes()

    result = grade_course(course, root / "out")

    scores = _scores(result)
    assert {p: (s.status, s.score) for p, s in scores.items()} == {"201": ("graded", Decimal("3")),
                                                                  "218": ("graded", Decimal("3"))}
    assert [n.code for n in scores["201"].notes if n.code == "run_host_leftovers"] == []
    assert sorted(p.name for p in (root / "out" / "work" / hc.PRACTICAL / "201").iterdir()) == RUN_FILES
    _host_is_clean(root)
    assert _grader_volumes() - before == set()

    forced = _regraded_over_an_old_tree(course, root, "201")

    assert forced.executed == 1
    assert (_scores(forced)["201"].status, _scores(forced)["201"].score) == ("graded", Decimal("3"))
    _host_is_clean(root)


def test_under_the_local_runner_what_a_run_leaves_is_removed_named_and_flagged(tmp_path):
    root = tmp_path / "course"
    course = _course(root, {_entry("201"): hc.deep_setid_chain(*LOCAL),
                            _entry("202"): hc.setid_in_the_run_folder(),
                            _entry("218"): hc.notebook(hc.CORRECT)}, "local")

    result = grade_course(course, root / "out")

    scores = _scores(result)
    assert {p: (s.status, s.score) for p, s in scores.items()} == {
        "201": ("graded", Decimal("3")), "202": ("graded", Decimal("3")), "218": ("graded", Decimal("3"))}
    assert [n for n in scores["201"].notes if n.code == "run_host_leftovers"] == []
    (left,) = [n for n in scores["202"].notes if n.code == "run_host_leftovers"]
    assert sorted(left.params["found"].split("; ")) == ["stash (a folder)", "suid (setuid/setgid)"]
    for lang in ("es", "en"):
        assert "{" not in render(left, lang)
    flags = [f for f in needs_human(result.scores, result.grades, "en") if f.participant == "202"]
    assert [f.why for f in flags] == [f"the run left files on the grader's computer: {render(left, 'en')}"]
    assert "stash (a folder)" in (root / "out" / "report.html").read_text(encoding="utf-8")
    for participant in ("201", "202"):
        assert sorted(p.name for p in (root / "out" / "work" / hc.PRACTICAL / participant).iterdir()) == RUN_FILES
    _host_is_clean(root)

    forced = _regraded_over_an_old_tree(course, root, "201")

    assert forced.executed == 1
    assert (_scores(forced)["201"].status, _scores(forced)["201"].score) == ("graded", Decimal("3"))
    _host_is_clean(root)
