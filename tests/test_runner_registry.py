"""A runner is one class plus its registration: the toy runner below grades a course through the
pipeline, brings its own course.toml table, and no other module of the grader needed an edit for it."""
from __future__ import annotations

import shutil

import pytest
from pydantic import BaseModel, ConfigDict

import grader.execution.registry as registry
from grader.course import load_course
from grader.errors import ConfigError
from grader.execution import Runner, RunRequest, get_runner, register, runner_class, runner_names
from grader.pipeline import grade_course
from grader.records import RunResult
from tiny_course import ASSIGNMENT, tiny_course


class ToyOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    greeting: str = "hello"


class ToyRunner(Runner):
    """Runs nothing: the "executed" notebook is the handed-in one, copied as it is."""

    name = "toy"
    options_table = "toy"   # [toy] in course.toml
    isolated = False
    seen: list[tuple[str, str]] = []
    stopped: list[str] = []

    def __init__(self, *, greeting: str = "hello") -> None:
        self.greeting = greeting

    options_model = ToyOptions   # the table's declared schema: the course loader validates [toy] with it

    @classmethod
    def stop_leftovers(cls, mark: str) -> int:
        cls.stopped.append(mark)
        return 0

    def run(self, request: RunRequest) -> RunResult:
        request.out_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(request.notebook, request.executed_path)
        ToyRunner.seen.append((request.notebook.parent.name, self.greeting))
        return RunResult(status="ok", duration_s=0.0, executed_notebook=request.executed_path,
                         out_dir=request.out_dir)


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setattr(registry, "_RUNNERS", dict(registry._RUNNERS))  # the registry as it was, afterwards
    monkeypatch.setattr(ToyRunner, "seen", [])
    monkeypatch.setattr(ToyRunner, "stopped", [])
    register("toy", ToyRunner)
    return ToyRunner


def _notebook_check_only(root):
    """The tiny assignment without its function check (the toy runs no probe that could answer it)."""
    text = ASSIGNMENT.split('[[checks]]\nid = "softmax"')[0].replace('max_points = "2"', 'max_points = "1"')
    (root / "assignments" / "tiny" / "assignment.toml").write_text(text, encoding="utf-8")


@pytest.mark.slow
def test_a_registered_runner_grades_a_course_without_any_other_edit(tmp_path, toy):
    path = tiny_course(tmp_path, 2, side_effects=False, extra='[toy]\ngreeting = "hola"')
    _notebook_check_only(tmp_path)
    course = load_course(path)
    result = grade_course(course, tmp_path / "out", runner_name="toy", workers=1)
    assert sorted(toy.seen) == [("100", "hola"), ("101", "hola")]   # the [toy] table reached the runner
    assert result.executed == 2
    assert [(s.participant, s.status, s.score) for s in result.scores] == [("100", "graded", 1), ("101", "graded", 1)]
    assert toy.stopped, "a killed batch's leftovers are the runner's to stop, asked before anything runs"


def test_the_course_file_may_name_the_new_runner(tmp_path, toy):
    course = load_course(tiny_course(tmp_path, 1, side_effects=False, runner="toy"))
    assert course.runner == "toy" and course.runner_options("toy") == {}
    assert course.runner_options("local") == {}


def test_a_typo_in_the_runners_table_is_named_by_the_runner(tmp_path, toy):
    path = tiny_course(tmp_path, 1, side_effects=False, extra='[toy]\ngreting = "hola"')
    with pytest.raises(ConfigError, match=r"toy\.greting: unknown key \(allowed: greeting\)") as caught:
        load_course(path)
    assert str(path) in str(caught.value)


def test_the_runners_table_is_unknown_once_the_runner_is_gone(tmp_path):
    path = tiny_course(tmp_path, 1, side_effects=False, extra='[toy]\ngreeting = "hola"')
    with pytest.raises(ConfigError, match=r"toy: unknown top-level table .*\[docker\]"):
        load_course(path)


def test_an_unknown_runner_lists_the_registered_ones(tmp_path, toy):
    with pytest.raises(ConfigError, match="docker, local, toy"):
        get_runner("podman")
    with pytest.raises(ConfigError, match=r"course\.runner: unknown runner 'podman' \(registered: docker, local, toy"):
        load_course(tiny_course(tmp_path, 1, side_effects=False, runner="podman"))
    course = load_course(tiny_course(tmp_path / "c", 1, side_effects=False))
    with pytest.raises(ConfigError, match="known runners: docker, local, toy"):
        grade_course(course, tmp_path / "out", runner_name="podman")


def test_builtin_runners_say_what_they_own():
    assert runner_names()[:2] == ["docker", "local"]
    local, docker = runner_class("local"), runner_class("docker")
    assert (local.options_table, local.isolated) == ("local", False)
    assert (docker.options_table, docker.isolated) == ("docker", True)


def test_the_local_runner_hands_gpus_out_as_pool_slots_and_sizes_threads(monkeypatch):
    monkeypatch.setattr("grader.execution.pool.cpu_count", lambda: 8)
    options, slots = runner_class("local").assign_gpus({}, "0,1", None)
    assert slots == ["0", "1"] and options == {"threads": 4}
    assert runner_class("local").default_workers(options, slots) == 2


def test_the_docker_runner_hands_gpus_out_itself_one_per_container(monkeypatch):
    monkeypatch.setattr("grader.execution.pool.cpu_count", lambda: 8)
    docker = runner_class("docker")
    options, slots = docker.assign_gpus({"memory": "2g", "gpus": "all"}, "0,1", None)
    # two containers at once: each gets half the cores' threads, whatever its CPU quota allows beyond that
    assert slots == [] and options == {"memory": "2g", "gpus": ["0", "1"], "threads": 4}
    assert docker.default_workers(options, slots) == 2
    shared, _ = docker.assign_gpus({"gpus": [0, 1], "share_gpus": True}, None, None)
    assert shared["gpus"] == [0, 1]
    assert docker.cluster_options({}, "all") == ({"gpus": "all", "warm": False}, True)   # a worker outlives the batch
    assert runner_class("local").cluster_options({}, None) == ({}, False)
