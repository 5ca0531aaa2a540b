"""The judge's cost: grading the MNIST solution with the judge (the model exported in the kernel and run by a
fresh grader-owned process or container) against the in-kernel probe of earlier versions, side by side.

    .venv/bin/python benchmarks/judge_bench.py [--runner local|docker] [--image TAG] [--repeats 5]
        [--train-size 8000] [--epochs 1]

Each repetition grades the solution once each way, in alternating order (so that the machine's load weighs on
both alike); prints the medians, their ratio and what the judge itself took. Needs ../shared/data.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.assignment import load_assignment  # noqa: E402
from grader.execution import get_runner  # noqa: E402
from grader.jobs import JobSpec, run_job  # noqa: E402
from grader.pipeline import _student_data  # noqa: E402
from grader.submissions import collect  # noqa: E402


def one_job(runner, assignment, notebook: Path, data: Path, work: Path, parameters: dict, judge: bool) -> float:
    submission = collect("mnist_cnn", [notebook], work / "intake").submissions[0]
    student_data = _student_data(assignment, data, work.parent / "student_data", parameters)   # as a batch does
    spec = JobSpec(submission=submission, assignment=assignment, parameters=parameters, course_data_dir=data,
                   student_data_dir=student_data, work_dir=work / "run", timeout_s=3600, judge=judge)
    started = time.perf_counter()
    evaluation = run_job(spec, runner)
    seconds = time.perf_counter() - started
    if evaluation.status not in ("graded", "not_executed") or evaluation.checks[2].points == 0:
        raise SystemExit(f"the solution did not grade ({evaluation.status}): {evaluation.reason}")
    judged = {c.details.get("judge") for c in evaluation.checks if "judge" in c.details}
    if judged != ({"outside"} if judge else set()):
        raise SystemExit(f"expected the model judged {'outside' if judge else 'in the kernel'}, got {judged}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runner", default="local")
    parser.add_argument("--image", default=None)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--train-size", type=int, default=8000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    assignment = load_assignment(ROOT / "assignments" / "mnist_cnn")
    parameters = {**assignment.parameters, "train_size": args.train_size, "epochs": args.epochs, "device": "cpu"}
    runner = get_runner(args.runner, **({"image": args.image} if args.image else {}))
    times: dict[bool, list[float]] = {True: [], False: []}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for judge in ((True, False) if repeat % 2 == 0 else (False, True)):
                work = Path(tmp) / f"{repeat}-{judge}"
                times[judge].append(one_job(runner, assignment, ROOT / "assignments" / "mnist_cnn" / "solution.ipynb",
                                            args.data, work, parameters, judge))
                print(f"repeat {repeat + 1}: {'judge' if judge else 'in-kernel probe'} {times[judge][-1]:.1f} s",
                      flush=True)
    judge, probe = statistics.median(times[True]), statistics.median(times[False])
    print(f"\n{args.runner} runner, train_size {args.train_size}, {args.epochs} epoch(s), {args.repeats} repeats")
    print(f"median with the judge: {judge:.1f} s; with the in-kernel probe: {probe:.1f} s; "
          f"ratio {judge / probe:.3f} ({(judge / probe - 1) * 100:+.1f} %)")


if __name__ == "__main__":
    main()
