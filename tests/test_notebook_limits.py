"""Structural limits of a student's notebook (grader/notebook_limits.py), checked on the bytes before any
object is built, and every host-side reader refusing a notebook past one with the reason, never a traceback.

The batch under the docker runner, with the grader's own peak memory, is tests/test_notebook_limits_docker.py.
"""
from __future__ import annotations

import json
import random
import time
import tracemalloc
from pathlib import Path

import nbformat
import pytest

import hostile_cases as hc
from grader.i18n import render
from grader.notebook_limits import LIMITS, Breach, NotebookLimits, structure_breach
from grader.notebooks import inspect, read_notebook

REPO = Path(__file__).resolve().parents[1]


def _write(tmp_path: Path, content: bytes, name: str = "toy.ipynb") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def _refusal(report):
    assert not report.readable, report
    assert len(report.problems) == 1, report.problems
    return report.problems[0]


# --- each limit ----------------------------------------------------------------------------------

def test_the_node_bomb_is_refused_naming_the_node_limit_and_building_nothing(tmp_path):
    path = _write(tmp_path, hc.node_bomb())
    assert 8_000_000 < path.stat().st_size < 10_000_000
    tracemalloc.start()
    try:
        report = inspect(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    reason = _refusal(report)
    assert reason.code == "inspect_too_complex"
    assert reason.params["limit"] == {"code": "inspect_limit_nodes", "params": {"allowed": LIMITS.max_nodes}}
    assert peak < 2 * path.stat().st_size      # its bytes and the scan's counters: not 3 million objects
    assert "500000 JSON values" in render(reason, "en") and "500000 valores JSON" in render(reason, "es")


def test_nodes_up_to_the_limit_are_read_and_one_more_is_refused(tmp_path):
    path = _write(tmp_path, hc.node_bomb(1000))
    nodes = _nodes(json.loads(path.read_bytes()))
    assert inspect(path, NotebookLimits(max_nodes=nodes)).readable
    reason = _refusal(inspect(path, NotebookLimits(max_nodes=nodes - 1)))
    assert reason.params["limit"]["code"] == "inspect_limit_nodes"
    assert reason.params["limit"]["params"] == {"allowed": nodes - 1}


def test_nesting_up_to_the_limit_is_read_and_one_level_more_is_refused(tmp_path):
    # the first cell's metadata sits at level 4 (notebook, cells, cell, metadata): 60 more levels are 64
    sane = _write(tmp_path, hc.nested_metadata(LIMITS.max_depth - 4), "sane.ipynb")
    assert inspect(sane).readable and read_notebook(sane)[0] is not None
    deep = _write(tmp_path, hc.nested_metadata(LIMITS.max_depth - 3), "deep.ipynb")
    reason = _refusal(inspect(deep))
    assert reason.code == "inspect_too_complex"
    assert reason.params["limit"] == {"code": "inspect_limit_depth", "params": {"allowed": LIMITS.max_depth}}
    assert "64 levels of nesting" in render(reason, "en") and "64 niveles de anidamiento" in render(reason, "es")


def test_nesting_far_past_what_python_can_recurse_is_refused_by_the_limit(tmp_path):
    path = _write(tmp_path, hc.nested_metadata(200_000))
    reason = _refusal(inspect(path))
    assert reason.params["limit"]["code"] == "inspect_limit_depth"


def test_outputs_up_to_the_limit_are_read_and_one_more_is_refused(tmp_path):
    path = _write(tmp_path, hc.many_outputs(30))
    outputs = sum(len(cell.get("outputs", [])) for cell in json.loads(path.read_bytes())["cells"])
    assert outputs > 30
    assert inspect(path, NotebookLimits(max_outputs=outputs)).readable
    reason = _refusal(inspect(path, NotebookLimits(max_outputs=outputs - 1)))
    assert reason.code == "inspect_too_complex"
    assert reason.params["limit"] == {"code": "inspect_limit_outputs", "params": {"allowed": outputs - 1}}
    assert f"{outputs - 1} cell outputs" in render(reason, "en")
    assert f"{outputs - 1} salidas de celda" in render(reason, "es")


def test_only_cell_outputs_count_as_outputs_in_either_format():
    limits = NotebookLimits(max_outputs=2)
    cells = {"cells": [{"outputs": [{}, {}]}, {"outputs": [{"a": {}}]}]}
    assert structure_breach(json.dumps(cells).encode(), limits) == Breach("outputs", 2)
    worksheets = {"worksheets": [{"cells": [{"outputs": [{}, {}, {}]}]}]}
    assert structure_breach(json.dumps(worksheets).encode(), limits) == Breach("outputs", 2)
    escaped = b'{"cells": [{"outp\\u0075ts": [{}, {}, {}]}]}'     # the parser reads the key as "outputs"
    assert structure_breach(escaped, limits) == Breach("outputs", 2)
    elsewhere = {"metadata": {"outputs": [{}] * 5}, "cells": [{"metadata": {"outputs": [{}] * 5}}]}
    assert structure_breach(json.dumps(elsewhere).encode(), limits) is None


def test_a_file_past_the_byte_limit_is_refused_before_it_is_read(tmp_path):
    path = _write(tmp_path, hc.notebook(hc.CORRECT))
    reason = _refusal(inspect(path, NotebookLimits(max_bytes=100)))
    assert reason.code == "inspect_too_large" and reason.params["limit_mb"] == "0.0"


def test_text_with_emoji_has_a_lower_byte_limit_than_plain_text(tmp_path):
    limits = NotebookLimits(max_wide_bytes=2000)
    plain = _write(tmp_path, hc.notebook(hc.CORRECT, "print('x' * 3000)", "# " + "x" * 3000), "plain.ipynb")
    assert inspect(plain, limits).readable
    wide = _write(tmp_path, hc.notebook(hc.CORRECT, "print('x' * 3000)", "# \U0001F680" + "x" * 3000), "wide.ipynb")
    reason = _refusal(inspect(wide, limits))
    assert reason.code == "inspect_too_large_wide"
    assert "emoji" in render(reason, "en") and "emojis" in render(reason, "es")


def test_a_fifo_in_place_of_the_notebook_is_refused_without_waiting(tmp_path):
    import os

    path = tmp_path / "toy.ipynb"
    os.mkfifo(path)
    reason = _refusal(inspect(path))
    assert reason.code == "inspect_unreadable_file" and "regular" in reason.params["detail"]


# --- the scan reads JSON as the parser does ------------------------------------------------------

def test_the_scan_counts_exactly_what_the_parser_builds():
    rng = random.Random(20)
    for round_ in range(100):
        value = {"cells": [_random_value(rng, 4) for _ in range(rng.randint(1, 6))], "nbformat": 4}
        raw = json.dumps(value, indent=rng.choice([None, 1, 2]), ensure_ascii=rng.random() < 0.5).encode()
        nodes, depth = _nodes(value), _depth(value)
        assert structure_breach(raw, NotebookLimits(max_nodes=nodes, max_depth=depth, max_outputs=10**6)) is None
        assert structure_breach(raw, NotebookLimits(max_nodes=nodes - 1, max_depth=depth)) == \
            Breach("nodes", nodes - 1), round_
        assert structure_breach(raw, NotebookLimits(max_nodes=nodes, max_depth=depth - 1)) == \
            Breach("depth", depth - 1), round_


def _random_value(rng: random.Random, depth: int):
    kind = rng.choice(["dict", "list", "lines", "numbers", "str", "long", "num", "const"] if depth
                      else ["str", "long", "num", "const"])
    if kind == "lines":       # a printed log: the scan counts runs of such strings at once
        return [_random_text(rng, 30) + "\n" for _ in range(rng.randint(0, 30))]
    if kind == "numbers":     # a plot's data: the same for runs of numbers
        return [rng.choice([0, -1.5, 3e9, True, None]) for _ in range(rng.randint(0, 30))]
    if kind == "dict":
        return {_random_text(rng, 12): _random_value(rng, depth - 1) for _ in range(rng.randint(0, 4))}
    if kind == "list":
        return [_random_value(rng, depth - 1) for _ in range(rng.randint(0, 4))]
    if kind == "str":
        return _random_text(rng, 40)
    if kind == "long":   # past the regex's short strings: found by their closing quote
        return _random_text(rng, 40) * rng.randint(10, 200)
    if kind == "num":
        return rng.choice([0, -3, 2.5e-8, 10**30, 1.0])
    return rng.choice([True, False, None])


def _random_text(rng: random.Random, length: int) -> str:
    alphabet = 'ab "\\\n\t/:,{}[]é€🚀'
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, length)))


def _nodes(value) -> int:
    if isinstance(value, dict):
        return 1 + sum(1 + _nodes(v) for v in value.values())
    if isinstance(value, list):
        return 1 + sum(_nodes(v) for v in value)
    return 1


def _depth(value) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


# --- real notebooks stay well inside -------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(str(p.relative_to(REPO)) for p in (REPO / "assignments").glob("*/*.ipynb")))
def test_every_template_and_solution_is_read(name):
    assert inspect(REPO / name).readable and read_notebook(REPO / name)[0] is not None


def test_large_but_real_notebooks_are_read(tmp_path):
    nb = nbformat.reads(hc.notebook(hc.CORRECT).decode(), as_version=4)
    nb.metadata["colab"] = {"provenance": [{"file_id": f"id{i}", "timestamp": i} for i in range(200)],
                            "collapsed_sections": [], "gpuType": "T4"}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {
        f"model{i}": {"model_name": "LayoutModel", "state": {f"key{k}": None for k in range(30)}}
        for i in range(2000)}}}
    big_code = nbformat.v4.new_code_cell("\n".join(f"x{i} = {i}" for i in range(200_000)), execution_count=2)
    nb.cells.append(big_code)                                                     # a 2 MB code cell
    nb.cells[0].metadata["deep"] = json.loads("[" * 40 + "]" * 40)               # deep but sane metadata
    nb.cells[-1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * (50 << 20))]   # 50 MB
    path = _write(tmp_path, nbformat.writes(nb).encode())
    assert path.stat().st_size > 50 << 20
    assert inspect(path).readable and read_notebook(path)[0] is not None



# --- every reader refuses the same way -----------------------------------------------------------

@pytest.fixture
def too_deep(tmp_path) -> Path:
    """A notebook past a reading limit that costs nothing to build: metadata nested 100 levels deep."""
    return _write(tmp_path, hc.nested_metadata(100), "too_deep.ipynb")


@pytest.fixture
def good(tmp_path) -> Path:
    return _write(tmp_path, hc.notebook(hc.CORRECT), "good.ipynb")


def _too_complex(reason) -> bool:
    return reason is not None and reason.code == "inspect_too_complex"


@pytest.mark.parametrize("builder", [hc.node_bomb, lambda: hc.nested_metadata(100)], ids=["nodes", "depth"])
@pytest.mark.parametrize("static", [False, True], ids=["run", "static"])
def test_a_job_refuses_the_notebook_as_invalid_with_the_reason_and_runs_nothing(tmp_path, repo, builder, static):
    from grader.assignment import load_assignment
    from grader.jobs import JobSpec, run_job
    from grader.records import Submission

    path = _write(tmp_path, builder())
    sub = Submission(practical="mnist_cnn", participant="301", full_name="Bo Mb", source=str(tmp_path),
                     files=(path,), notebook=path, sha256="0" * 64)
    spec = JobSpec(submission=sub, assignment=load_assignment(repo / "assignments" / "mnist_cnn"),
                   parameters={}, course_data_dir=tmp_path, student_data_dir=tmp_path, work_dir=tmp_path / "work",
                   timeout_s=60, static=static)
    evaluation = run_job(spec, None)       # no runner at all: running anything would be an internal error
    assert evaluation.status == "invalid" and _too_complex(evaluation.reason), evaluation.reason
    assert evaluation.checks == () and not (tmp_path / "work").exists()


def test_the_self_check_refuses_it_with_the_reason(too_deep):
    from grader.errors import InputError
    from grader.selfcheck import check_notebook

    with pytest.raises(InputError) as refused:
        check_notebook(too_deep, practical="mnist_cnn")
    assert _too_complex(refused.value.reason)


def test_preparing_a_run_refuses_it_with_the_reason(tmp_path, too_deep):
    from grader.errors import InputError
    from grader.execution.base import RunRequest
    from grader.execution.prepare import prepare

    request = RunRequest(notebook=too_deep, work_dir=tmp_path / "work", probe_dir=tmp_path, data_dir=None,
                         parameters={"seed": 1}, extra_cells=(), timeout_s=60, cell_timeout_s=60)
    request.scratch_dir.mkdir(parents=True)
    with pytest.raises(InputError) as refused:
        prepare(request, "python3")
    assert _too_complex(refused.value.reason)
    assert list(request.scratch_dir.iterdir()) == []


def test_an_executed_copy_past_a_limit_makes_the_run_an_error_with_the_reason(tmp_path, good):
    from grader.execution.base import RunRequest
    from grader.execution.outcome import RUN_RECORD, interpret

    request = RunRequest(notebook=good, work_dir=tmp_path / "work", probe_dir=tmp_path, data_dir=None,
                         parameters={}, extra_cells=("probe()",), timeout_s=60, cell_timeout_s=60)
    request.out_dir.mkdir(parents=True)
    (request.out_dir / "status.json").write_text("{}")
    request.executed_path.write_bytes(hc.node_bomb(LIMITS.max_nodes))    # the student's outputs wrote it
    (request.work_dir / RUN_RECORD).write_text(json.dumps({"outcome": "completed"}))
    result = interpret(request, time.monotonic(), False, 0, "")
    assert result.status == "error" and _too_complex(result.reason), result
    assert result.reason.params["file"] == "executed.ipynb" and result.executed_notebook is None
    assert list(request.out_dir.iterdir()) == []      # no copy says the probe ran: its folder counts for nothing


def test_the_static_readers_find_nothing_in_it_and_raise_nothing(tmp_path, good, too_deep):
    from grader.checks.notebook import is_untouched_template
    from grader.checks.reported import printed_value
    from grader.editions import notebook_edition
    from grader.evidence import literal_assignments, output_evidence
    from grader.notebooks import cell_refs
    from grader.similarity.extract import load_template, student_code

    assert output_evidence(too_deep, good) is None and output_evidence(good, too_deep) is None
    assert literal_assignments(too_deep, "history") == []
    assert notebook_edition(too_deep) is None
    assert student_code(too_deep, load_template()) is None
    assert printed_value(too_deep, r"accuracy: ([0-9.]+)") is None
    assert not is_untouched_template(too_deep, [good]) and not is_untouched_template(good, [too_deep])
    assert cell_refs(too_deep, [1]) == [{"cell": 2}]


def test_its_page_is_refused_with_the_reason(tmp_path, too_deep):
    from grader.errors import InputError
    from grader.reports.notebook_page import write_notebook_page

    with pytest.raises(InputError) as refused:
        write_notebook_page(too_deep, tmp_path / "page.html", "Bo", "en")
    assert _too_complex(refused.value.reason) and not (tmp_path / "page.html").exists()


@pytest.mark.slow
def test_the_render_worker_answers_a_refused_page_with_the_reason(tmp_path, too_deep):
    from grader.reports.render_worker import LimitedRenderer

    with LimitedRenderer() as renderer:
        why = renderer.render(too_deep, tmp_path / "page.html", "Bo", "es")
        assert _too_complex(why)
        good = _write(tmp_path, hc.notebook(hc.CORRECT), "good.ipynb")
        assert renderer.render(good, tmp_path / "good.html", "Bo", "es") is None     # the worker serves on
    assert "demasiado complejo" in render(why, "es")
