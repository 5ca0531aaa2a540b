"""Mutants: plausible wrong implementations a practical's function checks must punish, every run.

Each practical may keep ``assignments/<id>/mutants.py``: functions marked ``@mutant(check, loses)``,
each a mistake students make (an off-by-one k, no max shift, a missing crop) with the points the
point table means it to lose. ``points_lost`` scores one through the check's own code path, in
this process and without a kernel: the check plans its cases from a seed, the real probe calls
the function on them, and the check scores the probe's answers. Because cases come from a secret
seed per run, a mutant must lose its share for every seed, not on average; tests/test_mutants.py
proves it over many seeds, and ``python -m grader.mutants PRACTICAL`` prints the table.
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import sys
import tempfile
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

from grader.assignment import Assignment, load_assignment

FILE_NAME = "mutants.py"


@dataclass(frozen=True)
class Mutant:
    check: str                  # the id of the check it must fail
    function: Callable[..., Any]
    loses: Decimal              # points it must lose in every run
    exact: bool                 # loses exactly that: right in every other respect, it keeps the rest

    @property
    def name(self) -> str:
        return self.function.__name__


def mutant(check: str, loses: str, *, exact: bool = False) -> Callable[[Callable], Callable]:
    """Mark a function as a mutant of ``check`` that must lose ``loses`` points (a string: Decimal)."""
    def mark(function: Callable) -> Callable:
        function.mutant = Mutant(check, function, Decimal(loses), exact)
        return function
    return mark


def load_mutants(assignment: Assignment) -> list[Mutant]:
    """The mutants kept beside the practical, in file order; none when it has no mutants.py."""
    path = assignment.directory / FILE_NAME
    if not path.is_file():
        return []
    spec = importlib.util.spec_from_file_location(f"mutants_{assignment.id}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [value.mutant for value in vars(module).values() if isinstance(getattr(value, "mutant", None), Mutant)]


def points_lost(assignment: Assignment, check_id: str, functions: dict[str, Callable], seed: int
                ) -> dict[str, Any]:
    """label -> CheckResult of ``check_id`` for each function, all on the cases of one ``seed``."""
    from grader.checks.evaluate import evaluate
    from grader.checks.plan import plan_probe
    from grader.records import RunResult
    from grader.selfcheck import _LIVE_KERNEL

    spec = assignment.check(check_id)
    alone = replace(assignment, checks=(spec,))
    probe = _probe_module()
    results = {}
    with tempfile.TemporaryDirectory(prefix="grader-mutants-") as tmp:
        probe_dir = Path(tmp) / "probe"
        plan = plan_probe(alone, probe_dir, Path(tmp), dict(assignment.parameters), seed)
        for label, function in functions.items():
            out_dir = Path(tmp) / f"out-{len(results)}"
            with contextlib.redirect_stdout(io.StringIO()):     # the probe's "n/m items answered"
                probe.main({spec.options["name"]: function}, plan.nonce, str(probe_dir), str(out_dir))
            run = RunResult(status="ok", duration_s=0.0, executed_notebook=None, out_dir=out_dir)
            results[label] = evaluate(alone, plan, _LIVE_KERNEL, run)[0]
    return results


def _probe_module():
    """The probe file as the kernel runs it; loaded after torch, so that it passes tensors."""
    from grader.probe import load_probe

    return load_probe("grader_probe_mutants")


def loss_table(assignment: Assignment, seeds: range) -> list[tuple[Mutant, Decimal, Decimal]]:
    """(mutant, least points lost, most points lost) over ``seeds``, for every mutant of the practical."""
    mutants = load_mutants(assignment)
    lost: dict[str, list[Decimal]] = {}
    for check_id in dict.fromkeys(m.check for m in mutants):
        mine = {m.name: m.function for m in mutants if m.check == check_id}
        for seed in seeds:
            for name, res in points_lost(assignment, check_id, mine, seed).items():
                lost.setdefault(name, []).append(res.max_points - res.points)
    return [(m, min(lost[m.name]), max(lost[m.name])) for m in mutants]


def main(argv: list[str]) -> int:
    """``python -m grader.mutants assignments/mnist_cnn [SEEDS]``: each mutant's points lost, min/max."""
    assignment = load_assignment(Path(argv[0]))
    seeds = range(int(argv[1]) if len(argv) > 1 else 20)
    print(f"{'check':16} {'mutant':44} {'must lose':>9} {'lost min':>9} {'lost max':>9}")
    failed = 0
    for m, low, high in loss_table(assignment, seeds):
        wrong = "  <-- too little" if low < m.loses else "  <-- too much" if m.exact and high > m.loses else ""
        failed += bool(wrong)
        print(f"{m.check:16} {m.name:44} {m.loses!s:>9} {low!s:>9} {high!s:>9}{wrong}")
    return 1 if failed else 0


if __name__ == "__main__":
    # mutants.py files mark functions with grader.mutants.Mutant, not this __main__ module's copy
    from grader.mutants import main as _main
    sys.exit(_main(sys.argv[1:]))
