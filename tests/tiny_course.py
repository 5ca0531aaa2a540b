"""A tiny course for batch tests and benchmarks: a two-check assignment (notebook + function) and trivial
notebooks that take a few seconds, each appending what it did to a side-effect file.

Side-effect lines: ``start|end <participant> <CUDA_VISIBLE_DEVICES or -> <unix time>``.
"""
from __future__ import annotations

import sqlite3
import zipfile
from pathlib import Path

import nbformat

ASSIGNMENT = """\
[assignment]
id = "tiny"
title = "Tiny"
version = "1"
max_points = "2"
cell_timeout_s = 300

[parameters]
n = 1

[[checks]]
id = "executed"
kind = "notebook"
points = "1"

[[checks]]
id = "softmax"
kind = "function"
name = "softmax"
reference = "reference.functions:softmax"
cases = "reference.mnist_cnn:softmax_cases"
rtol = "1e-4"
atol = "1e-6"
points = "1"
[[checks.parts]]              # the cases name this part (reference.mnist_cnn:softmax_cases)
id = "stable"
points = "0.5"
es = "estable con logits de ±1000"
en = "stable with logits of ±1000"
"""

_SOFTMAX = """\
import numpy as np

def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
"""

_LOG = """\
import os, time
def _note(event):
    with open({side!r}, "a") as fh:
        fh.write(f"{{event}} {participant} {{os.environ.get('CUDA_VISIBLE_DEVICES', '-')}} {{time.time()}}\\n")
_note("start")
"""


def trivial_notebook(participant: str, *, sleep_s: float = 0.0, side_file: Path | None = None,
                     padding_bytes: int = 0) -> bytes:
    """An executed notebook (numbered cells) defining softmax; ``padding_bytes`` of text output make it big."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell("n = 0")
    params.metadata["tags"] = ["parameters"]
    cells = [params]
    if side_file is not None:
        cells.append(nbformat.v4.new_code_cell(_LOG.format(side=str(side_file), participant=participant)))
    cells.append(nbformat.v4.new_code_cell(f"import time\ntime.sleep({sleep_s})"))
    body = nbformat.v4.new_code_cell(_SOFTMAX)
    if padding_bytes:
        body.outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * padding_bytes)]
    cells.append(body)
    if side_file is not None:
        cells.append(nbformat.v4.new_code_cell('_note("end")'))
    for number, cell in enumerate(cells, start=1):
        cell.execution_count = number
    nb.cells = cells
    return nbformat.writes(nb).encode("utf-8")


def tiny_course(root: Path, count: int, *, sleep_s: float | dict[int, float] = 0.0, side_effects: bool = True,
                runner: str = "local", extra: str = "", first: int = 100, padding_bytes: int = 0) -> Path:
    """``count`` submissions (participants first, first+1, ...) in a Moodle zip, the tiny assignment,
    and course.toml; ``sleep_s`` may give some participants their own sleep. Returns course.toml."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "assignments" / "tiny").mkdir(parents=True, exist_ok=True)
    (root / "assignments" / "tiny" / "assignment.toml").write_text(ASSIGNMENT, encoding="utf-8")
    (root / "data").mkdir(exist_ok=True)
    side = root / "side.txt" if side_effects else None
    with zipfile.ZipFile(root / "submissions.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        for participant in range(first, first + count):
            seconds = sleep_s.get(participant, 0.0) if isinstance(sleep_s, dict) else sleep_s
            zf.writestr(f"Student {participant}_{participant}_assignsubmission_file_/tiny.ipynb",
                        trivial_notebook(str(participant), sleep_s=seconds, side_file=side,
                                         padding_bytes=padding_bytes))
    course = root / "course.toml"
    course.write_text(f"""
[course]
name = "Tiny course"
deadline = "2027-03-31T23:59:00"
timezone = "Europe/Madrid"
runner = "{runner}"
data_dir = "data"
assignments_dir = "assignments"
lang = "en"
{extra}
[practicals.tiny]
submissions = ["submissions.zip"]
timeout_s = 300
[similarity]
enabled = false
""", encoding="utf-8")
    return course


def side_effects(root: Path) -> list[tuple[str, str, str, float]]:
    """(event, participant, gpu, time) for every line the notebooks wrote."""
    path = root / "side.txt"
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        event, participant, gpu, when = line.split()
        rows.append((event, participant, gpu, float(when)))
    return rows


def stored(out_dir: Path) -> list[tuple[str, str, str]]:
    """(practical, participant, status) of every stored evaluation, read with plain SQL (WAL: safe while
    a grader writes)."""
    path = out_dir / "grader.sqlite"
    if not path.exists():
        return []
    with sqlite3.connect(path, timeout=30) as db:
        try:
            return db.execute("SELECT practical, participant, status FROM evaluations ORDER BY participant").fetchall()
        except sqlite3.OperationalError:   # the grader has not created the table yet
            return []
