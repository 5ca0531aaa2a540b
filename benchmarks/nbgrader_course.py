"""nbgrader's side of benchmarks/warm_bench.py: the same trivial notebooks as an nbgrader course (the softmax the
student wrote, an autograded test of it on the same kinds of logits as the grader's softmax cases), and the
wall time of `nbgrader autograde` on them. nbgrader comes from PyPI into a virtual environment of its own
(benchmarks/.nbgrader-venv): it is never a dependency of the grader."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

NBGRADER_VENV = Path(__file__).parent / ".nbgrader-venv"
_TEST = '''import numpy as np
rng = np.random.default_rng(0)
for scale in (1.0, 1.0, 1.0, 1.0, 1.0, 1000.0, 1000.0):   # ordinary logits, then the stable part's
    x = rng.normal(size=(4, 10)) * scale
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    got = softmax(x)
    assert np.isfinite(got).all() and np.allclose(got, e / e.sum(axis=-1, keepdims=True), rtol=1e-4, atol=1e-6)
'''


def ensure_nbgrader() -> Path:
    """The venv's bin folder, with nbgrader and this interpreter's numpy installed in it (made once)."""
    bin_dir = NBGRADER_VENV / "bin"
    if not (bin_dir / "nbgrader").exists():
        import numpy

        subprocess.run([sys.executable, "-m", "venv", str(NBGRADER_VENV)], check=True)
        subprocess.run([str(bin_dir / "pip"), "install", "-q", "nbgrader", f"numpy=={numpy.__version__}"], check=True)
    return bin_dir


def _env(bin_dir: Path) -> dict[str, str]:
    """nbgrader runs `alembic` and its kernel from PATH: the venv's first."""
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}


def _tagged(cell, **flags):
    cell.metadata["nbgrader"] = {"schema_version": 3, "locked": False, "solution": False, "grade": False,
                                 "task": False, **flags}
    return cell


def nbgrader_course(root: Path, notebooks: list[Path]) -> Path:
    """An nbgrader course with assignment ps1 generated and one submission per notebook (its cells as the student
    wrote them, the softmax cell as the solution cell); returns the course folder."""
    bin_dir = ensure_nbgrader()
    source = root / "source" / "ps1"
    source.mkdir(parents=True)
    (root / "nbgrader_config.py").write_text(f"c = get_config()\nc.CourseDirectory.root = {str(root)!r}\n"
                                             "c.CourseDirectory.course_id = 'bench'\n", encoding="utf-8")
    first = nbformat.read(notebooks[0], as_version=4)
    student_cells = [c for c in first.cells if c.cell_type == "code"]
    cells = [_tagged(new_code_cell(c.source), grade_id=f"given{i}", locked=True)
             for i, c in enumerate(student_cells[:-1])]
    cells.append(_tagged(new_code_cell("### BEGIN SOLUTION\n" + student_cells[-1].source + "\n### END SOLUTION"),
                         grade_id="softmax", solution=True))
    cells.append(_tagged(new_code_cell(_TEST), grade_id="softmax_test", grade=True, locked=True, points=1))
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, source / "ps1.ipynb")
    subprocess.run([str(bin_dir / "nbgrader"), "generate_assignment", "ps1", "--force"], cwd=root, check=True,
                   capture_output=True, env=_env(bin_dir))
    released = nbformat.read(root / "release" / "ps1" / "ps1.ipynb", as_version=4)
    for number, path in enumerate(notebooks):
        student = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"][-1]
        for cell in released.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == "softmax":
                cell.source = student.source
        folder = root / "submitted" / f"s{number:03d}" / "ps1"
        folder.mkdir(parents=True)
        nbformat.write(released, folder / "ps1.ipynb")
    return root


def autograde(root: Path) -> dict:
    """Wall time of `nbgrader autograde ps1` over every submission (again from scratch), and the scores."""
    bin_dir = ensure_nbgrader()
    started = time.perf_counter()
    subprocess.run([str(bin_dir / "nbgrader"), "autograde", "ps1", "--create", "--force"], cwd=root, check=True,
                   capture_output=True, env=_env(bin_dir))
    wall = time.perf_counter() - started
    scores = subprocess.run([str(bin_dir / "python"), "-c", (
        "from nbgrader.api import Gradebook\n"
        f"with Gradebook('sqlite:///{root}/gradebook.db') as gb:\n"
        "    print(sorted(s.score for s in gb.assignment_submissions('ps1')))")],
        check=True, capture_output=True, text=True).stdout
    if "0.0" in scores or scores.count("1.0") != len(list((root / "submitted").iterdir())):
        raise RuntimeError(f"nbgrader did not give every submission its point: {scores}")
    return {"wall": wall}
