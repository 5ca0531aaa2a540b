"""Benchmark of the checked notebook reader (grader/notebook_limits.py, grader/notebooks.py): what the
structural scan adds to reading ordinary notebooks, and the time and memory of the worst notebooks the
limits let through (and of the node bomb they refuse). Prints markdown tables for the README.

    .venv/bin/python benchmarks/notebook_limits_bench.py [--repeat 5]

Times are CPU times of the reading process (the reader is single-threaded: on a quiet machine the wall
time is the same; on a shared one, CPU time is the figure that stays put). Memory is measured in a fresh
child process per case: the peak resident memory (VmHWM, reset just before the read) above what the
process held before it (the grader imported). Linux only.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(Path(__file__).parent)]

import hostile_cases as hc  # noqa: E402
import nbformat  # noqa: E402
from bench_lib import executed_notebook, machine  # noqa: E402

from grader.notebook_limits import LIMITS, structure_breach  # noqa: E402
from grader.notebooks import inspect, read_notebook  # noqa: E402

# --- what the scan adds ---------------------------------------------------------------------------

def ordinary(tmp: Path) -> dict[str, Path]:
    """The practicals' solutions as they are, and executed notebooks as students hand them in."""
    found = {str(p.relative_to(REPO)): p for p in sorted((REPO / "assignments").glob("*/solution*.ipynb"))}
    made = {"executed, ~200 KB (30 cells, 5 plots)": executed_notebook(200, 1),
            "executed, ~5 MB (30 cells, 5 plots)": executed_notebook(5 * 1024, 2),
            "a 50 MB output (one text)": hc.huge_output(50),
            "a 20 MB output of 400,000 printed lines": _printed_lines(400_000)}
    for name, data in made.items():
        path = tmp / f"ordinary{len(found)}.ipynb"
        path.write_bytes(data)
        found[name] = path
    return found


def _printed_lines(count: int) -> bytes:
    nb = nbformat.reads(hc.notebook(hc.CORRECT, "train()").decode(), as_version=4)
    nb.cells[-1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="epoch 1 batch 10 loss 0.1234\n"
                                                   * (count // 2) + "step 20 accuracy 0.9876 lr 0.001\n"
                                                   * (count - count // 2))]
    return nbformat.writes(nb).encode()


def _median_cpu_s(call, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.process_time()
        call()
        times.append(time.process_time() - started)
    return statistics.median(times)


def added_cost(tmp: Path, repeat: int) -> list[str]:
    rows = ["| notebook | size | scan | `inspect` (scan included) | `read_notebook` (scan included) | scan's share of a read |",
            "|---|---|---|---|---|---|"]
    for name, path in ordinary(tmp).items():
        raw = path.read_bytes()
        assert structure_breach(raw) is None, name
        scan = _median_cpu_s(lambda: structure_breach(raw), repeat)
        look = _median_cpu_s(lambda: inspect(path), repeat)
        read = _median_cpu_s(lambda: read_notebook(path), repeat)
        rows.append(f"| {name} | {_size(len(raw))} | {_ms(scan)} | {_ms(look)} | {_ms(read)} | {scan / read:.0%} |")
    return rows


# --- the worst within the limits -------------------------------------------------------------------

_CHILD = r'''
import sys, tempfile, time
from pathlib import Path

from grader.execution.base import RunRequest
from grader.execution.prepare import prepare
from grader.notebooks import inspect, read_notebook

def status(key):
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith(key + ":")) // 1024

path, what = Path(sys.argv[1]), sys.argv[2]
before = status("VmRSS")
open("/proc/self/clear_refs", "w").write("5")     # the peak starts again from here
started = time.process_time()
if what == "prepare":
    tmp = Path(tempfile.mkdtemp())
    (tmp / "scratch").mkdir()
    prepare(RunRequest(notebook=path, work_dir=tmp, probe_dir=tmp, data_dir=None, parameters={"seed": 1},
                       extra_cells=("probe()",), timeout_s=1, cell_timeout_s=1), "python3")
    ok = True
elif what == "inspect":
    ok = inspect(path).readable
else:
    ok = read_notebook(path)[0] is not None
print(status("VmHWM") - before, time.process_time() - started, ok)
'''


def worst_cases(tmp: Path) -> dict[str, bytes]:
    nodes = LIMITS.max_nodes - 200      # the rest of the notebook holds fewer than 200
    return {
        f"{nodes:,} empty objects (the node limit)": _in_metadata("[" + ",".join(["{}"] * nodes) + "]"),
        f"{nodes // 3:,} one-key objects (the node limit)": _in_metadata("[" + ",".join(['{"k":0}'] * (nodes // 3)) + "]"),
        f"{nodes // 2:,} distinct keys (the node limit)": _in_metadata(
            "{" + ",".join(f'"k{i}":0' for i in range(nodes // 2)) + "}"),
        f"{nodes:,} two-letter strings (the node limit)": _in_metadata("[" + ",".join(['"ab"'] * nodes) + "]"),
        f"{nodes:,} floats (the node limit)": _in_metadata("[" + ",".join(["0.5"] * nodes) + "]"),
        f"lists nested {LIMITS.max_depth} deep, 5,000 times": _in_metadata(
            "[" + ",".join(["[" * (LIMITS.max_depth - 5) + "]" * (LIMITS.max_depth - 5)] * 5000) + "]"),
        f"{LIMITS.max_outputs:,} outputs (the output limit)": hc.many_outputs(LIMITS.max_outputs - 10),
        "99 MB of plain text in one output (the byte limit)": _one_output("x" * (99 << 20)),
        "99 MB of text with one `█` in one output (the byte limit)": _one_output("\u2588" + "x" * (99 << 20)),
        "49 MB of text with one emoji in one output (the emoji byte limit)": _one_output("\U0001F680" + "x" * (49 << 20)),
    }


def _in_metadata(value: str) -> bytes:
    data = json.loads(hc.notebook(hc.CORRECT))
    data["cells"][0]["metadata"]["x"] = "@@"
    return json.dumps(data).replace('"@@"', value).encode()


def _one_output(text: str) -> bytes:
    nb = nbformat.reads(hc.notebook(hc.CORRECT, "print(data)").decode(), as_version=4)
    nb.cells[-1].outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    return nbformat.writes(nb).encode("utf-8")


def measured(path: Path, what: str) -> tuple[int, float, bool]:
    done = subprocess.run([sys.executable, "-c", _CHILD, str(path), what], cwd=REPO, capture_output=True,
                          text=True, check=True)
    peak, seconds, ok = done.stdout.split()
    return int(peak), float(seconds), ok == "True"


def worst(tmp: Path) -> list[str]:
    rows = ["| notebook | size | `inspect` | `read_notebook` | `prepare` (read + the copy a run executes) |",
            "|---|---|---|---|---|"]
    cases = {**worst_cases(tmp), "the node bomb: 3,000,000 `{}` (refused)": hc.node_bomb()}
    for name, data in cases.items():
        path = tmp / "worst.ipynb"
        path.write_bytes(data)
        cells = []
        for what in ("inspect", "read_notebook", "prepare"):
            try:
                peak, seconds, ok = measured(path, what)
            except subprocess.CalledProcessError as err:   # prepare refuses what inspect refused: InputError
                cells.append("refused" if "InputError" in err.stderr else f"failed: {err.stderr[-200:]}")
                continue
            cells.append(f"+{peak} MB, {seconds:.2f} s" + ("" if ok else " (refused)"))
        rows.append(f"| {name} | {_size(len(data))} | " + " | ".join(cells) + " |")
    return rows


def _size(count: int) -> str:
    return f"{count / (1 << 20):.1f} MB" if count >= 1 << 20 else f"{count / 1024:.0f} KB"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"Limits: {LIMITS}\n{machine()}\n")
    with tempfile.TemporaryDirectory(prefix="limits-bench-") as tmp:
        print("\n".join(added_cost(Path(tmp), args.repeat)) + "\n")
        print("\n".join(worst(Path(tmp))))


if __name__ == "__main__":
    main()
