"""Per-submission overhead (issue #22): the warm runners against today's, each ratio measured side by side.

    .venv/bin/python benchmarks/warm_bench.py [--rounds 5] [--only trivial,mnist,nbgrader,docker,judge,memory]
        [--no-readme] [--baseline REF]

Every measure runs `grader grade` as a command, in rounds, the two sides of a ratio in the same round in
alternating order (so the machine's load weighs on both alike); the figures are medians over the rounds.
"today" is the grader at ``--baseline`` (default: ``de9a69a``, main before the warm runners), exported to a temporary
folder with `git archive` and run on this checkout's interpreter; "cold" is this checkout with `[local] warm =
false`; "warm" is this checkout as it ships. A job's time is the one the store records (`Evaluation.duration_s`:
plan, run, judge, checks): per round, the median over the batch's jobs.

- trivial: the tiny course's notebook (tests/tiny_course.py), 5 per batch, 1 worker.
- mnist: the MNIST solution at a GPU-like budget (train_size = 512, one epoch), 3 per batch, 1 worker.
- nbgrader: 24 trivial notebooks, the grader's command (1 and 2 workers) against `nbgrader autograde` on the same
  notebooks and the same softmax test (nbgrader from PyPI in benchmarks/.nbgrader-venv, made when missing; it is
  never a dependency of the grader).
- docker: the docker runner's per-job time over the local runner's, both warm, 1 worker: 5 trivial notebooks and 5
  notebooks that sleep 1 s (the CPU left free while a notebook runs, as it is while one waits on a GPU: there the
  next container starts beside the run; with trivial notebooks on 2 cores it cannot keep up), each the median job
  of the batch; and 24 trivial notebooks, the mean job. In a batch of 5 the median job is one of the first few,
  which share the CPU with the batch's start; the mean over 24 is what each submission of a batch costs.
- judge: the docker runner's judge of one exported program (a small CNN on 2,000 MNIST-sized inputs), a fresh
  container each: started cold when asked (`[docker] warm = false`) against started ahead once the previous judge
  was done, with a pause between judges as a job's scoring and its next run make (the CPU free meanwhile).
- memory: the grader's own peak RSS (its process alone, not its children) on 120 trivial submissions.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(Path(__file__).parent)]

from bench_lib import machine, today, write_readme_section  # noqa: E402
from nbgrader_course import autograde, nbgrader_course  # noqa: E402
from tiny_course import tiny_course  # noqa: E402

README_PART = "### Per-submission overhead: warm runners"
MEASURES = ("trivial", "mnist", "nbgrader", "docker", "judge", "memory")
JUDGE_PAUSE_S = 8.0   # between two judges: the rest of a job (scoring, the next run), with the CPU left free
TODAY = "de9a69a"   # main before the warm runners were merged
# runs the grader of the code root given first, whatever this checkout's editable install points to
_RUN_AT = "import runpy, sys; sys.path.insert(0, sys.argv.pop(1)); runpy.run_module('grader', run_name='__main__')"
# the same, printing its own peak RSS (this process, not its children) when it exits
_RSS_AT = ("import atexit, resource, runpy, sys; sys.path.insert(0, sys.argv.pop(1)); atexit.register(lambda: "
           "print('peak_rss_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)); "
           "runpy.run_module('grader', run_name='__main__')")


# --- running a batch ------------------------------------------------------------------------------

def grade(root: Path, course: Path, out: Path, workers: int, *, rss: bool = False) -> dict:
    """`grader grade` of the code at ``root``: wall, the jobs' times, statuses (and its own peak RSS)."""
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, "-c", _RSS_AT if rss else _RUN_AT, str(root), "grade", str(course), "--out", str(out),
               "--workers", str(workers), "--quiet"]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[4:])}: exit {done.returncode}\n{done.stderr[-2000:]}")
    records = [json.loads(r) for (r,) in sqlite3.connect(out / "grader.sqlite").execute("select record from evaluations")]
    peak = next((int(line.split()[1]) / 1024 for line in done.stderr.splitlines() if line.startswith("peak_rss_kb")),
                None)
    return {"wall": wall, "jobs": [r["duration_s"] for r in records], "statuses": [r["status"] for r in records],
            "points": [sum(float(c["points"]) for c in r["checks"]) for r in records], "rss_mb": peak}


def with_runner_table(course: Path, table: str) -> Path:
    """A copy of course.toml with a runner table added (``[local] warm = false``, ``[docker] image = ...``)."""
    text = course.read_text(encoding="utf-8")
    copy = course.with_name(course.stem + "-" + str(abs(hash(table)) % 10000) + ".toml")
    marker = "\n[practicals."
    copy.write_text(text.replace(marker, f"\n{table}\n{marker}", 1), encoding="utf-8")
    return copy


def baseline_tree(ref: str, dest: Path) -> Path:
    """The grader at ``ref``, exported (no git metadata): today's code, run on this interpreter."""
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def side_by_side(rounds: int, sides: dict, measure) -> dict[str, list]:
    """``measure(name, round)`` for every side in every round, the order alternating between rounds."""
    results: dict[str, list] = {name: [] for name in sides}
    names = list(sides)
    for number in range(rounds):
        for name in (names if number % 2 == 0 else names[::-1]):
            results[name].append(measure(name, number))
            print(f"  round {number + 1} {name}: {summary(results[name][-1])}", flush=True)
    return results


def summary(result: dict) -> str:
    jobs = result.get("jobs")
    per_job = f", job median {statistics.median(jobs):.2f} s" if jobs else ""
    return f"wall {result['wall']:.1f} s{per_job}"


def job_median(results: list[dict]) -> float:
    """Median over rounds of each batch's median job time."""
    return statistics.median(statistics.median(r["jobs"]) for r in results)


def job_mean(results: list[dict]) -> float:
    """Median over rounds of each batch's mean job time: what the batch's jobs cost each, every one counted."""
    return statistics.median(statistics.fmean(r["jobs"]) for r in results)


def wall_median(results: list[dict]) -> float:
    return statistics.median(r["wall"] for r in results)


def require(results: list[dict], status: str, count: int) -> None:
    for result in results:
        if result["statuses"].count(status) != count:
            raise RuntimeError(f"expected {count} {status}, got {result['statuses']}")


# --- the measures ---------------------------------------------------------------------------------

def trivial(tmp: Path, today_root: Path, rounds: int) -> dict:
    course = tiny_course(tmp / "trivial", 5, side_effects=False)
    cold = with_runner_table(course, "[local]\nwarm = false")
    sides = {"today": (today_root, course), "cold": (REPO, cold), "warm": (REPO, course)}
    results = side_by_side(rounds, sides, lambda name, n: grade(sides[name][0], sides[name][1],
                                                                tmp / "trivial" / f"out-{name}-{n}", 1))
    for found in results.values():
        require(found, "graded", 5)
    return results


def mnist(tmp: Path, today_root: Path, rounds: int, data: Path) -> dict:
    import nbformat
    from conftest import as_handed_in_executed, moodle_entry, notebook_bytes, write_zip

    root = tmp / "mnist"
    root.mkdir()
    solution = as_handed_in_executed(nbformat.read(REPO / "assignments" / "mnist_cnn" / "solution.ipynb", as_version=4))
    write_zip(root / "s.zip", {moodle_entry(f"S {i}", str(100 + i), "mnist_cnn.ipynb"): notebook_bytes(solution)
                               for i in range(3)})
    course = root / "course.toml"
    course.write_text(f"""[course]
name = "bench"
deadline = "2027-03-31T23:59:00"
timezone = "Europe/Madrid"
data_dir = "{data}"
lang = "en"

[practicals.mnist_cnn]
submissions = ["s.zip"]
timeout_s = 900
parameters = {{ epochs = 1, train_size = 512 }}
[similarity]
enabled = false
""", encoding="utf-8")
    cold = with_runner_table(course, "[local]\nwarm = false")
    sides = {"today": (today_root, course), "cold": (REPO, cold), "warm": (REPO, course)}
    results = side_by_side(rounds, sides, lambda name, n: grade(sides[name][0], sides[name][1],
                                                                root / f"out-{name}-{n}", 1))
    for found in results.values():
        require(found, "graded", 3)
        if len({p for r in found for p in r["points"]}) != 1:
            raise RuntimeError(f"the solution's points differ between runs: {[r['points'] for r in found]}")
    return results


def nbgrader(tmp: Path, today_root: Path, rounds: int) -> dict:
    course = tiny_course(tmp / "nbg-grader", 24, side_effects=False)
    notebooks = tmp / "nbg-grader" / "plain"
    with zipfile.ZipFile(course.parent / "submissions.zip") as zf:
        zf.extractall(notebooks)
    nb_course = nbgrader_course(tmp / "nbg-nbgrader", sorted(notebooks.rglob("*.ipynb")))
    sides = {"nbgrader": None, "warm-1": 1, "warm-2": 2, "today-1": 1}

    def measure(name: str, number: int) -> dict:
        if name == "nbgrader":
            return autograde(nb_course)
        root = today_root if name.startswith("today") else REPO
        return grade(root, course, tmp / "nbg-grader" / f"out-{name}-{number}", sides[name])

    results = side_by_side(rounds, sides, measure)
    for name, found in results.items():
        if name != "nbgrader":
            require(found, "graded", 24)
    return results


def runtime_image() -> str:
    """The test image's tag (built, or found cached); a sentence saying why not when there is none."""
    if shutil.which("docker") is None or subprocess.run(["docker", "info"], capture_output=True).returncode:
        raise RuntimeError("not measured: no Docker daemon")
    built = subprocess.run(["bash", str(REPO / "scripts" / "build_test_images.sh")], cwd=REPO, capture_output=True,
                           text=True, env={**os.environ, "PYTHON": sys.executable})
    if built.returncode:
        raise RuntimeError(f"not measured: the runtime image could not be built ({built.stderr.strip()[-300:]})")
    return built.stdout.strip().splitlines()[-1]


# (suffix, notebooks, seconds each sleeps): small batches, where the batch's start weighs on the median job, and a
# larger one, whose mean job is what each submission of a real batch costs.
DOCKER_BATCHES = (("", 5, 0.0), ("-1s", 5, 1.0), ("-24", 24, 0.0))


def docker(tmp: Path, rounds: int) -> dict | str:
    try:
        image = runtime_image()
    except RuntimeError as err:
        return str(err)
    sides, counts = {}, {}
    for suffix, count, sleep_s in DOCKER_BATCHES:
        course = tiny_course(tmp / f"docker{suffix}", count, side_effects=False, sleep_s=sleep_s)
        in_docker = with_runner_table(course, f'[docker]\nimage = "{image}"').read_text(encoding="utf-8")
        docker_course = course.with_name("docker.toml")
        docker_course.write_text(in_docker.replace('runner = "local"', 'runner = "docker"'), encoding="utf-8")
        sides.update({f"local{suffix}": course, f"docker{suffix}": docker_course})
        counts.update({f"local{suffix}": count, f"docker{suffix}": count})
    results = side_by_side(rounds, sides, lambda name, n: grade(REPO, sides[name], tmp / "docker" / f"out-{name}-{n}", 1))
    for name, found in results.items():
        require(found, "graded", counts[name])
    return results


def judge(tmp: Path, rounds: int) -> dict | str:
    """Seconds per judge, cold and started ahead, one side after the other in each round."""
    try:
        image = runtime_image()
    except RuntimeError as err:
        return str(err)
    import numpy as np
    import torch
    from test_judge import Cnn, exported

    from grader.execution.base import JudgeRequest
    from grader.execution.docker import DockerRunner
    from grader.execution.docker_daemon import remove_marked_containers
    from grader.execution.marker import MARK_VAR

    mark = f"warm-bench-{os.getpid()}"
    torch.manual_seed(0)
    program = tmp / "judge" / "program"
    program.mkdir(parents=True)
    assert exported(program, Cnn().eval())["ok"]
    np.save(program / "scores.inputs.npy", np.random.default_rng(0).random((2000, 1, 28, 28), dtype=np.float32))
    spec = {"program": "program.npz", "items": [{"item": "scores", "kind": "model", "inputs": "scores.inputs.npy",
                                                  "batch_size": 256}]}
    runners = {side: DockerRunner(image=image, warm=side == "ahead", memory="2g", cpus=2) for side in ("cold", "ahead")}
    seconds: dict[str, list[float]] = {side: [] for side in runners}
    try:
        for number in range(rounds + 1):   # the first judge of the warm side has nobody started ahead: not counted
            for side in (("cold", "ahead") if number % 2 == 0 else ("ahead", "cold")):
                folder = tmp / "judge" / f"{side}-{number}"
                shutil.copytree(program, folder)
                time.sleep(JUDGE_PAUSE_S)
                started = time.perf_counter()
                run = runners[side].judge(JudgeRequest(folder=folder, spec=spec, timeout_s=300, env={MARK_VAR: mark},
                                                       warm_dir=tmp / "judge"))
                if run.problem is not None:
                    raise RuntimeError(f"the {side} judge failed: {run.problem}")
                if number:
                    seconds[side].append(time.perf_counter() - started)
                print(f"  round {number} {side}: {time.perf_counter() - started:.2f} s", flush=True)
    finally:
        for runner in runners.values():
            runner.close()
        remove_marked_containers(mark)
    return seconds


def memory(tmp: Path, today_root: Path | None) -> dict:
    course = tiny_course(tmp / "memory", 120, side_effects=False)
    found = {"warm": grade(REPO, course, tmp / "memory" / "out-warm", 2, rss=True)}
    if today_root is not None:
        found["today"] = grade(today_root, course, tmp / "memory" / "out-today", 2, rss=True)
    for result in found.values():
        if result["statuses"].count("graded") != 120:
            raise RuntimeError(f"memory batch: {result['statuses']}")
    return found


# --- the report -----------------------------------------------------------------------------------

def table(results: dict, args: argparse.Namespace, loads: dict) -> str:
    rows = []
    if "trivial" in results:
        r = results["trivial"]
        today_job, cold_job, warm_job = job_median(r["today"]), job_median(r["cold"]), job_median(r["warm"])
        ratio = warm_job / today_job
        rows.append(("trivial notebook, per job, 1 worker", f"today {today_job:.2f} s · cold {cold_job:.2f} s · warm "
                     f"{warm_job:.2f} s: ratio **{ratio:.2f}** (batch of 5: {wall_median(r['today']):.1f} s → "
                     f"{wall_median(r['warm']):.1f} s)", "≤ 0.35", ratio <= 0.35))
    if "mnist" in results:
        r = results["mnist"]
        today_job, cold_job, warm_job = job_median(r["today"]), job_median(r["cold"]), job_median(r["warm"])
        ratio = warm_job / today_job
        rows.append(("MNIST solution, train_size 512, one epoch, per job, 1 worker", f"today {today_job:.1f} s · cold "
                     f"{cold_job:.1f} s · warm {warm_job:.1f} s: ratio **{ratio:.2f}** (points "
                     f"{r['warm'][0]['points'][0]:g} in every run)", "≤ 0.5", ratio <= 0.5))
    if "nbgrader" in results:
        r = results["nbgrader"]
        base = wall_median(r["nbgrader"])
        for workers, target in ((1, 0.5), (2, 0.3)):
            mine = wall_median(r[f"warm-{workers}"])
            rows.append((f"24 trivial notebooks, `grader grade --workers {workers}` vs `nbgrader autograde` (commands)",
                         f"{mine:.1f} s vs {base:.1f} s: ratio **{mine / base:.2f}**"
                         + (f" (today, 1 worker: {wall_median(r['today-1']):.1f} s, "
                            f"{wall_median(r['today-1']) / base:.2f})" if workers == 1 else ""),
                         f"≤ {target}", mine / base <= target))
    if "docker" in results:
        r = results["docker"]
        if isinstance(r, str):
            rows.append(("docker runner's per-job cost over the local runner", r, "≤ +0.3 s", None))
        else:
            for suffix, what, per_job in (
                    ("", "trivial notebooks, batches of 5, median job", job_median),
                    ("-1s", "notebooks that run 1 s and leave the CPU free, as one waiting on a GPU does, batches of 5, "
                     "median job", job_median),
                    ("-24", "trivial notebooks, batches of 24, mean job (the first, cold, container included)",
                     job_mean)):
                docker_job, local_job = per_job(r[f"docker{suffix}"]), per_job(r[f"local{suffix}"])
                rows.append((f"docker runner's per-job cost over the local runner (both warm, 1 worker): {what}",
                             f"{docker_job:.2f} s vs {local_job:.2f} s: **{docker_job - local_job:+.2f} s**",
                             "≤ +0.3 s", docker_job - local_job <= 0.3))
    if "judge" in results:
        r = results["judge"]
        if isinstance(r, str):
            rows.append(("docker runner's judge of one exported program", r, "-", None))
        else:
            cold, ahead = statistics.median(r["cold"]), statistics.median(r["ahead"])
            rows.append((f"docker runner's judge of one exported program (a small CNN, 2,000 inputs), {JUDGE_PAUSE_S:g} s "
                         "apart", f"started cold {cold:.2f} s · started ahead **{ahead:.2f} s**", "-", None))
    if "memory" in results:
        r = results["memory"]
        peak = r["warm"]["rss_mb"]
        also = f" (today: {r['today']['rss_mb']:.0f} MB)" if "today" in r else ""
        rows.append(("grader's own peak RSS, 120 trivial submissions, 2 workers", f"**{peak:.0f} MB**{also}",
                     "≤ 200 MB", peak <= 200))
    lines = ["| measure | result | target | met |", "|---|---|---|---|"]
    for what, result, target, met in rows:
        lines.append(f"| {what} | {result} | {target} | {'-' if met is None else ('yes' if met else '**no**')} |")
    lines.append("")
    lines.append("Load average (1 min) at the start and end of each measure: " + "; ".join(
        f"{name} {a:.1f} → {b:.1f}" for name, (a, b) in loads.items()) + ".")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", default=",".join(MEASURES))
    parser.add_argument("--baseline", default=TODAY, help=f"the git ref of today's grader (default: {TODAY}, main "
                        "before the warm runners: the grader #22 measured)")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args()
    wanted = args.only.split(",")
    ref = args.baseline
    where = machine()
    results, loads = {}, {}
    with tempfile.TemporaryDirectory(prefix="grader-warm-bench-") as name:
        tmp = Path(name)
        today_root = baseline_tree(ref, tmp / "today")
        for measure in wanted:
            print(f"{measure}:", flush=True)
            start = os.getloadavg()[0]
            if measure == "trivial":
                results[measure] = trivial(tmp, today_root, args.rounds)
            elif measure == "mnist":
                results[measure] = mnist(tmp, today_root, args.rounds, args.data)
            elif measure == "nbgrader":
                results[measure] = nbgrader(tmp, today_root, args.rounds)
            elif measure == "docker":
                results[measure] = docker(tmp, args.rounds)
            elif measure == "judge":
                results[measure] = judge(tmp, args.rounds)
            elif measure == "memory":
                results[measure] = memory(tmp, today_root)
            loads[measure] = (start, os.getloadavg()[0])
    body = (f"Measured {today()} on {where}, by `benchmarks/warm_bench.py --rounds {args.rounds}` (today = "
            f"`{ref[:10]}`); medians over the rounds.\n\n{table(results, args, loads)}")
    print(body)
    (Path(tempfile.gettempdir()) / "warm_bench.json").write_text(json.dumps(results, default=str), encoding="utf-8")
    if set(wanted) != set(MEASURES) and not args.no_readme:   # the README's table holds every measure of one run
        print("README not written: a run of every measure writes it (this one ran only some)")
    elif not args.no_readme:
        write_readme_section(REPO / "README.md", body, part=README_PART)
    return 0


if __name__ == "__main__":
    sys.exit(main())
