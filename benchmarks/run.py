"""Batch benchmarks: prints a markdown table and rewrites the README's `## Benchmarks` section.

    .venv/bin/python benchmarks/run.py [--repeat 3] [--notebooks 24] [--no-readme] [--no-docker]

Measures: 24 trivial notebooks on 2 workers vs sequential `papermill` CLI calls (median of --repeat);
static inspection of 1,000 executed ~200 KB notebooks; a re-run of a finished batch; the grader's peak
memory over 500 submissions in static mode; the docker runner's per-notebook overhead over the local one.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(Path(__file__).parent)]

from bench_lib import (executed_notebook, machine, median, moodle_zip, peak_rss_mb,  # noqa: E402
                       require_graded, timed, today, write_readme_section)
from tiny_course import tiny_course  # noqa: E402

GRADER = [sys.executable, "-m", "grader", "grade"]
PAPERMILL = str(Path(sys.executable).parent / "papermill")


def memory_static(tmp: Path, count: int) -> float:
    """Peak RSS (MB) of `grader grade --static` over ``count`` ~200 KB submissions: intake, inspection,
    scoring and export, nothing executed. Measured first: RUSAGE_CHILDREN keeps the largest child."""
    course = tiny_course(tmp / "memory", 0, side_effects=False)
    moodle_zip(course.parent / "submissions.zip", {str(1000 + i): executed_notebook(200, i) for i in range(count)})
    return peak_rss_mb([*GRADER, str(course), "--static", "--quiet", "--out", str(tmp / "memory" / "out")], cwd=REPO)


def inspection(tmp: Path, count: int) -> float:
    """Seconds to inspect ``count`` executed ~200 KB notebooks, in this process (files already on disk)."""
    from grader.notebooks import inspect

    folder = tmp / "inspect"
    folder.mkdir()
    paths = []
    for i in range(count):
        path = folder / f"{i}.ipynb"
        path.write_bytes(executed_notebook(200, i))
        paths.append(path)
    started = time.perf_counter()
    reports = [inspect(p) for p in paths]
    seconds = time.perf_counter() - started
    assert all(r.readable and r.executed for r in reports)
    return seconds


def parallel_vs_papermill(tmp: Path, count: int, repeat: int) -> dict[str, float]:
    """Median wall time of `grader grade --workers 2` and of sequential papermill calls on the same
    notebooks; then the re-run of a finished batch (CLI and in-process)."""
    course = tiny_course(tmp / "batch", count, side_effects=False)
    plain = tmp / "batch" / "plain"
    with zipfile.ZipFile(course.parent / "submissions.zip") as zf:
        zf.extractall(plain)
    notebooks = sorted(plain.rglob("*.ipynb"))
    grader, baseline = [], []
    for round_ in range(repeat):
        out = tmp / "batch" / f"out{round_}"
        grader.append(timed([*GRADER, str(course), "--workers", "2", "--quiet", "--out", str(out)], cwd=REPO))
        require_graded(out, count)
        started = time.perf_counter()
        for nb in notebooks:
            subprocess.run([PAPERMILL, str(nb), str(nb.with_suffix(".out.ipynb")), "-p", "n", "1",
                            "--cwd", str(nb.parent), "--log-level", "WARNING"], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        baseline.append(time.perf_counter() - started)
    again = [*GRADER, str(course), "--workers", "2", "--quiet", "--out", str(tmp / "batch" / "out0")]
    rerun_cli = median([timed(again, cwd=REPO) for _ in range(repeat)])
    return {"grader": median(grader), "papermill": median(baseline), "rerun_cli": rerun_cli,
            "rerun_inprocess": _rerun_in_process(course, tmp / "batch" / "out0", repeat),
            "probe_s": probe_seconds(tmp / "batch" / "out0"), "per_papermill_s": median(baseline) / count}


def probe_seconds(out: Path) -> float:
    """Mean time of the probe cell (the last one the grader appends) in the executed copies."""
    times = []
    for path in out.glob("work/*/*/executed.ipynb"):
        cell = json.loads(path.read_text(encoding="utf-8"))["cells"][-1]
        times.append(cell["metadata"].get("papermill", {}).get("duration") or 0.0)
    return sum(times) / len(times) if times else 0.0


def _rerun_in_process(course: Path, out: Path, repeat: int) -> float:
    from grader.course import load_course
    from grader.pipeline import grade_course

    times = []
    for _ in range(repeat + 1):   # the first call pays this process's imports (torch): not counted
        started = time.perf_counter()
        result = grade_course(load_course(course), out, workers=2)
        times.append(time.perf_counter() - started)
        assert result.executed == 0
    return median(times[1:])


def docker_overhead(tmp: Path, count: int) -> float | str:
    """Per-notebook seconds the docker runner adds over the local one (one worker each, same notebooks)."""
    if shutil.which("docker") is None or subprocess.run(["docker", "info"], capture_output=True).returncode:
        return "not measured: no Docker daemon"
    built = subprocess.run(["bash", str(REPO / "scripts" / "build_test_images.sh")], cwd=REPO, capture_output=True,
                           text=True, env={**os.environ, "PYTHON": sys.executable})
    if built.returncode:
        return "not measured: the runtime image could not be built"
    image = built.stdout.strip().splitlines()[-1]
    times = {}
    for runner in ("local", "docker"):
        course = tiny_course(tmp / runner, count, side_effects=False, runner=runner,
                             extra=f'[docker]\nimage = "{image}"\n')
        out = tmp / runner / "out"
        times[runner] = timed([*GRADER, str(course), "--workers", "1", "--quiet", "--out", str(out)], cwd=REPO)
        require_graded(out, count)
    return (times["docker"] - times["local"]) / count


def table(results: dict, args: argparse.Namespace) -> str:
    par = results["parallel"]
    ratio = par["grader"] / par["papermill"]
    rerun = par["rerun_cli"] / par["grader"]
    rerun_in = par["rerun_inprocess"] / par["grader"]
    docker = results["docker"]
    rows = [
        ("batch", f"{args.notebooks} trivial notebooks, `--workers 2`, local runner vs sequential `papermill` "
                  f"CLI calls (median of {args.repeat})",
         f"{par['grader']:.1f} s vs {par['papermill']:.1f} s: ratio **{ratio:.2f}**", "<= 0.55", ratio <= 0.55),
        ("inspection", f"static inspection of {args.inspect} executed ~200 KB notebooks",
         f"**{results['inspection']:.1f} s**", "<= 10 s", results["inspection"] <= 10),
        ("re-run", "re-run of the finished batch above, `grader grade` command (interpreter start included)",
         f"{par['rerun_cli']:.2f} s: **{100 * rerun:.1f} %** of the first run", "<= 2 %", rerun <= 0.02),
        ("re-run", "the same re-run in a warm process (`grade_course()`: intake, store look-ups, scoring, export)",
         f"{par['rerun_inprocess']:.2f} s: **{100 * rerun_in:.1f} %**", "<= 2 %", rerun_in <= 0.02),
        ("memory", f"peak memory of `grader grade --static` over {args.memory} ~200 KB submissions",
         f"**{results['memory']:.0f} MB**", "<= 300 MB", results["memory"] <= 300),
        ("docker", "docker runner overhead per notebook over the local runner (one worker each)",
         f"**{docker:+.1f} s**" if isinstance(docker, float) else docker, "(reported)", None),
    ]
    lines = ["| measure | what | result | target | met |", "|---|---|---|---|---|"]
    for name, what, result, target, met in rows:
        verdict = "-" if met is None else ("yes" if met else "**no**")
        lines.append(f"| {name} | {what} | {result} | {target} | {verdict} |")
    return "\n".join(lines + [""] + notes(results))


def notes(results: dict) -> list[str]:
    """Why a target is missed, from what was measured."""
    par = results["parallel"]
    ratio, rerun = par["grader"] / par["papermill"], par["rerun_cli"] / par["grader"]
    found = []
    if ratio > 0.55:
        found.append(
            f"- **batch** missed by {ratio - 0.55:.2f}. A grader job is more than a papermill call: it inspects "
            f"the notebook, runs the probe cell ({par['probe_s']:.1f} s a notebook here, against "
            f"{par['per_papermill_s']:.1f} s for a whole papermill call; the probe imports torch only when the "
            "notebook did), draws the checks' inputs and scores the answers. And two workers halve the wall time "
            "only with cores to spare: each job is a papermill host and a kernel, and this machine has "
            f"{os.cpu_count()} cores for both jobs and the grader. On a real practical the notebook itself "
            "(training) dominates both sides and the ratio tends to 1/workers.")
    if rerun > 0.02:
        found.append(
            f"- **re-run** (command) missed by {100 * (rerun - 0.02):.1f} points: its {par['rerun_cli']:.1f} s are "
            "a fixed cost whatever the batch (the interpreter, importing torch for the reference functions, "
            "the HTML report); the work that grows with the batch is the warm re-run "
            f"({par['rerun_inprocess']:.2f} s). Against a batch whose notebooks train (minutes each), it is far "
            "below 2 %.")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--notebooks", type=int, default=24)
    parser.add_argument("--inspect", type=int, default=1000)
    parser.add_argument("--memory", type=int, default=500)
    parser.add_argument("--docker-notebooks", type=int, default=4)
    parser.add_argument("--no-docker", action="store_true")
    parser.add_argument("--no-readme", action="store_true", help="print the table only")
    args = parser.parse_args()
    where = machine()
    with tempfile.TemporaryDirectory(prefix="grader-bench-") as name:
        tmp = Path(name)
        results = {"memory": memory_static(tmp, args.memory)}
        print(f"memory: {results['memory']:.0f} MB", flush=True)
        results["inspection"] = inspection(tmp, args.inspect)
        print(f"inspection: {results['inspection']:.1f} s", flush=True)
        results["parallel"] = parallel_vs_papermill(tmp, args.notebooks, args.repeat)
        print(f"batch: {results['parallel']}", flush=True)
        results["docker"] = ("not measured (--no-docker)" if args.no_docker
                             else docker_overhead(tmp, args.docker_notebooks))
    body = f"Measured {today()} on {where}, by `benchmarks/run.py`.\n\n{table(results, args)}"
    print(body)
    if not args.no_readme:
        write_readme_section(REPO / "README.md", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
