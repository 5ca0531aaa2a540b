"""Reading and static inspection of notebooks as handed in (grader/notebooks.py)."""
from __future__ import annotations

import json
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from grader.i18n import render
from grader.notebook_limits import NotebookLimits
from grader.notebooks import inspect, practical_hint, read_notebook


def _write(tmp_path: Path, nb, name: str = "nb.ipynb") -> Path:
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


def _cell(source: str, count: int | None, outputs=()) -> nbformat.NotebookNode:
    cell = new_code_cell(source, execution_count=count)
    cell.outputs = list(outputs)
    return cell


def _codes(report) -> list[str]:
    return [r.code for r in report.problems]


def test_run_all_once_is_executed_and_in_order(tmp_path):
    params = _cell("lr = 0.1", 1)
    params.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[new_markdown_cell("# MNIST"), params, _cell("x = lr * 2", 2),
                             new_code_cell(""), _cell("print(x)", 3)])
    report = inspect(_write(tmp_path, nb))
    assert report.readable and report.nbformat == 4
    assert report.code_cells == 4 and report.executed_cells == 3
    assert report.executed and report.in_order
    assert report.has_parameters_cell
    assert report.error_cells == () and not report.has_plot and not report.colab
    assert report.problems == ()


def test_out_of_order_counts_are_reported_with_cell_numbers(tmp_path):
    nb = new_notebook(cells=[new_markdown_cell("intro"), _cell("a = 1", 5), _cell("b = 2", 3), _cell("c = 3", 6)])
    report = inspect(_write(tmp_path, nb))
    assert report.executed and not report.in_order
    problem = next(r for r in report.problems if r.code == "inspect_out_of_order")
    assert problem.params["numbers"] == [{"in": 3}]   # named as Jupyter shows it, never "cell 3" of all cells
    assert "In [3]" in render(problem, "en")


def test_never_executed_notebook_is_not_executed(tmp_path):
    nb = new_notebook(cells=[_cell("a = 1", None), _cell("b = 2", None)])
    report = inspect(_write(tmp_path, nb))
    assert not report.executed and not report.in_order and report.executed_cells == 0
    problem = next(r for r in report.problems if r.code == "inspect_not_executed")
    assert problem.params["unexecuted"] == 2 and problem.params["numbers"] == [{"code": 1}, {"code": 2}]
    assert "cells #1, #2 (counting code cells only))" in render(problem, "en")   # said once for the list
    assert "celdas n.º 1, n.º 2 (contando solo las celdas de código))" in render(problem, "es")
    assert "inspect_no_parameters_cell" in _codes(report)


def test_partly_executed_notebook_is_not_executed(tmp_path):
    nb = new_notebook(cells=[_cell("a = 1", 1), _cell("b = 2", None)])
    report = inspect(_write(tmp_path, nb))
    assert not report.executed and report.in_order


def test_error_outputs_name_their_cells(tmp_path):
    error = new_output("error", ename="ZeroDivisionError", evalue="division by zero", traceback=[])
    nb = new_notebook(cells=[_cell("a = 1", 1), new_markdown_cell("x"), _cell("1/0", 2, [error])])
    report = inspect(_write(tmp_path, nb))
    assert report.error_cells == (2,)
    assert "In [2]" in render(next(r for r in report.problems if r.code == "inspect_error_outputs"), "en")


def test_cells_never_run_are_counted_among_code_cells_only(tmp_path):
    error = new_output("error", ename="ZeroDivisionError", evalue="division by zero", traceback=[])
    cells = [new_markdown_cell(f"m{i}") for i in range(3)] + [_cell("a = 1", None), new_markdown_cell("x"), _cell("1/0", None, [error])]
    report = inspect(_write(tmp_path, new_notebook(cells=cells)))
    shown = render(next(r for r in report.problems if r.code == "inspect_error_outputs"), "es")
    assert "celda n.º 2 (contando solo las celdas de código)" in shown and "6" not in shown


def test_image_output_counts_as_plot(tmp_path):
    plot = new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})
    nb = new_notebook(cells=[_cell("plt.plot([1, 2])", 1, [plot])])
    assert inspect(_write(tmp_path, nb)).has_plot
    text = new_output("execute_result", data={"text/plain": "3"}, execution_count=1)
    assert not inspect(_write(tmp_path, new_notebook(cells=[_cell("1+2", 1, [text])]))).has_plot


def test_colab_is_recognised_by_metadata_or_import(tmp_path):
    nb = new_notebook(cells=[_cell("a = 1", 1)])
    nb.metadata["colab"] = {"provenance": []}
    assert inspect(_write(tmp_path, nb, "a.ipynb")).colab
    mounted = new_notebook(cells=[_cell("from google.colab import drive\ndrive.mount('/content/drive')", 1)])
    assert inspect(_write(tmp_path, mounted, "b.ipynb")).colab
    assert not inspect(_write(tmp_path, new_notebook(cells=[_cell("a = 1", 1)]), "c.ipynb")).colab


def test_practical_hint_is_read_from_grader_metadata(tmp_path):
    nb = new_notebook(cells=[_cell("a = 1", 1)])
    nb.metadata["grader"] = {"practical": "mnist"}
    assert inspect(_write(tmp_path, nb)).practical_hint == "mnist"
    assert practical_hint({"metadata": {"grader": "oops"}}) is None
    assert practical_hint({"metadata": {}}) is None


def test_v3_notebook_is_upgraded_and_noted(tmp_path):
    v3 = {"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": ""}, "worksheets": [{"cells": [
        {"cell_type": "code", "input": "x = 1", "language": "python", "prompt_number": 1, "outputs": [],
         "metadata": {}},
        {"cell_type": "code", "input": "print(x)", "language": "python", "prompt_number": 2,
         "outputs": [{"output_type": "stream", "stream": "stdout", "text": "1\n"}], "metadata": {}},
    ], "metadata": {}}]}
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(v3))
    nb, reasons = read_notebook(path)
    assert nb is not None and nb.nbformat == 4 and nb.cells[1].source == "print(x)"
    assert [r.code for r in reasons] == ["inspect_upgraded_v3"]
    report = inspect(path)
    assert report.readable and report.nbformat == 3 and report.executed and report.in_order
    assert "inspect_upgraded_v3" in _codes(report)


def test_hand_written_notebook_without_optional_keys_is_read(tmp_path):
    path = tmp_path / "minimal.ipynb"
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 2,
                                "cells": [{"cell_type": "code", "source": ["x = ", "1"]}]}))
    nb, reasons = read_notebook(path)
    assert reasons == [] and nb.cells[0].source == "x = 1" and nb.cells[0].outputs == []
    report = inspect(path)
    assert report.readable and not report.executed


def test_format_older_than_3_is_refused(tmp_path):
    path = tmp_path / "ancient.ipynb"
    path.write_text(json.dumps({"nbformat": 2, "worksheets": []}))
    report = inspect(path)
    assert not report.readable and _codes(report) == ["inspect_too_old"]


def test_empty_file_is_refused_with_its_name(tmp_path):
    path = tmp_path / "empty.ipynb"
    path.write_bytes(b"  \n")
    nb, reasons = read_notebook(path)
    assert nb is None and [r.code for r in reasons] == ["inspect_empty_file"]
    assert "empty.ipynb" in render(reasons[0], "es")
    assert not inspect(path).readable


def test_text_that_is_not_json_is_refused_with_position(tmp_path):
    path = tmp_path / "broken.ipynb"
    path.write_text('{"cells": [\n  {"cell_type": ')
    report = inspect(path)
    assert not report.readable
    assert report.problems[0].code == "inspect_not_json" and report.problems[0].params["line"] == 2


def test_json_that_is_not_a_notebook_is_refused(tmp_path):
    for name, content in (("list.ipynb", "[1, 2]"), ("dict.ipynb", '{"cells": []}'),
                          ("version.ipynb", '{"nbformat": "4", "cells": []}')):
        path = tmp_path / name
        path.write_text(content)
        report = inspect(path)
        assert not report.readable and _codes(report) == ["inspect_not_notebook"], name


def test_non_utf8_bytes_are_refused(tmp_path):
    path = tmp_path / "latin1.ipynb"
    path.write_bytes('{"nbformat": 4, "cells": [], "metadata": {"t": "Pérez"}}'.encode("latin-1"))
    nb, reasons = read_notebook(path)
    assert nb is None and reasons[0].code == "inspect_not_utf8"


def test_broken_cell_structure_is_refused_not_raised(tmp_path):
    path = tmp_path / "cells.ipynb"
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                                "cells": [{"cell_type": "code", "source": 3, "outputs": []}]}))
    report = inspect(path)
    assert not report.readable and _codes(report) == ["inspect_invalid_structure"]
    assert read_notebook(path)[0] is None


def test_missing_file_is_a_reason_not_an_exception(tmp_path):
    report = inspect(tmp_path / "nowhere.ipynb")
    assert not report.readable and _codes(report) == ["inspect_unreadable_file"]


def test_oversized_file_is_refused(tmp_path):
    path = _write(tmp_path, new_notebook(cells=[_cell("a = 1", 1)]))
    report = inspect(path, NotebookLimits(max_bytes=10))
    assert not report.readable and _codes(report) == ["inspect_too_large"]


def test_every_inspection_code_has_both_languages(tmp_path):
    from grader.i18n import catalogue

    codes = [c for c in catalogue() if c.startswith("inspect_")]
    assert len(codes) >= 15
    assert all(catalogue()[c].get("en") and catalogue()[c].get("es") for c in codes)


def test_inspection_is_fast_enough_for_a_course(tmp_path):
    # The target is 1,000 notebooks of ~200 KB in 10 s; 50 here keeps the suite quick.
    plot = new_output("display_data", data={"image/png": "A" * 20_000})
    cells = []
    for i in range(30):
        cells.append(new_markdown_cell("text " * 50))
        cells.append(_cell("\n".join(f"x{j} = {j}" for j in range(40)), i + 1, [plot]))
    path = _write(tmp_path, new_notebook(cells=cells))
    assert 150_000 < path.stat().st_size < 1_000_000
    started = time.perf_counter()
    for _ in range(50):
        report = inspect(path)
    per_notebook = (time.perf_counter() - started) / 50
    assert report.executed and report.has_plot
    assert per_notebook < 0.01 * 3   # generous margin for a loaded machine
