"""Mutants: plausible wrong implementations a practical's checks must punish, every run, on exactly the
checks its point table names.

Each practical may keep ``assignments/<id>/mutants.py``: mistakes students make, each marked
``@mutant(check, loses, also={...})`` with the points the point table means it to cost on the check it is a
mistake for and on any other check the table names (a ``sample`` that ignores T makes the ``generate``
that draws with it ignore T too). A mutant is a function that replaces its check's object (an off-by-one
``topk_accuracy``) or, with ``edits=True``, an edit of a right student's source (``STUDENT`` in
mutants.py), which may change several objects at once (a model that returns probabilities and a generate
that samples from log p / T). ``grade_practical`` scores the right student and each mutant through the
checks' own code paths, in this process and without a kernel: the checks plan their cases from a seed, the
real probe calls the objects, and every check that names one of the student's objects scores the answers.
Because cases come from a secret seed per run, a mutant must cost its points for every seed, and no other
check may pay for the same defect; tests/test_mutants.py proves both, and ``python -m grader.mutants
PRACTICAL [SEEDS] [--data DIR]`` prints the table.
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import sys
import tempfile
import types
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

import numpy as np

from grader.assignment import Assignment, load_assignment
from grader.checks import get_check
from grader.checks.evaluate import evaluate
from grader.checks.plan import plan_probe
from grader.loaded_assignment import CheckSpec, resolve
from grader.probe import load_probe
from grader.records import RunResult
from grader.references import needs_reference, with_reference
from grader.selfcheck import LIVE_KERNEL
from grader.student_data import write_student_data

FILE_NAME = "mutants.py"


@dataclass(frozen=True)
class Mutant:
    check: str                  # the id of the check it is a mistake for
    function: Callable[..., Any]
    loses: Decimal              # points it must lose there in every run
    exact: bool                 # loses exactly that (and exactly ``also``): right in every other respect
    also: tuple[tuple[str, Decimal], ...] = ()   # other checks the point table says the same defect costs
    edits: bool = False         # ``function`` edits the right student's source instead of replacing an object

    @property
    def name(self) -> str:
        return self.function.__name__

    @property
    def costs(self) -> dict[str, Decimal]:
        """check id -> the points the point table takes for this defect there (the only checks that may pay)."""
        return {self.check: self.loses, **dict(self.also)}


def mutant(check: str, loses: str, *, exact: bool = False, also: dict[str, str] | None = None,
           edits: bool = False) -> Callable[[Callable], Callable]:
    """Mark a function as a mutant of ``check`` that must lose ``loses`` points (strings: Decimal), and
    ``also`` on other checks the point table names for the same defect."""
    def mark(function: Callable) -> Callable:
        extra = tuple((check_id, Decimal(points)) for check_id, points in (also or {}).items())
        function.mutant = Mutant(check, function, Decimal(loses), exact, extra, edits)
        return function
    return mark


def edit(source: str, old: str, new: str) -> str:
    """``source`` with its one occurrence of ``old`` replaced: a mutant's edit that misses fails loudly."""
    if source.count(old) != 1:
        raise ValueError(f"the right student's source holds {source.count(old)} copies of {old!r}, not one")
    return source.replace(old, new)


def _module(assignment: Assignment) -> types.ModuleType | None:
    path = assignment.directory / FILE_NAME
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location(f"mutants_{assignment.id}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_mutants(assignment: Assignment) -> list[Mutant]:
    """The mutants kept beside the practical, in file order; none when it has no mutants.py."""
    module = _module(assignment)
    if module is None:
        return []
    return [value.mutant for value in vars(module).values() if isinstance(getattr(value, "mutant", None), Mutant)]


def student_source(assignment: Assignment) -> str | None:
    """The right student's source kept in mutants.py (``STUDENT``), which edit mutants change."""
    module = _module(assignment)
    return getattr(module, "STUDENT", None) if module is not None else None


def run_source(source: str, student_dir: Path | None) -> dict[str, Any]:
    """The namespace a notebook of ``source`` leaves, run here with ``data_dir`` set to the student's data."""
    namespace: dict[str, Any] = {"__name__": "student", "data_dir": str(student_dir) if student_dir else "."}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(source, "student", "exec"), namespace)
    return namespace


def right_student(assignment: Assignment, student_dir: Path | None = None) -> dict[str, Any]:
    """What a student who earns every point defines: ``STUDENT`` run, else each function check's reference."""
    source = student_source(assignment)
    if source is not None:
        return run_source(source, student_dir)
    return {spec.options["name"]: resolve(spec.options["reference"]) for spec in assignment.checks
            if spec.kind == "function"}


def mutant_student(assignment: Assignment, one: Mutant, student_dir: Path | None = None) -> dict[str, Any]:
    """The right student with one mistake: her source edited, or her object of the mutant's check replaced."""
    if one.edits:
        return run_source(one.function(student_source(assignment)), student_dir)
    return {**right_student(assignment, student_dir), assignment.check(one.check).options["name"]: one.function}


def reachable(assignment: Assignment, names: set[str]) -> tuple[CheckSpec, ...]:
    """The probe checks that name one of ``names`` among their options: the only ones a student's objects can
    change (a check of ``model`` cannot see a mutant of ``softmax`` in a namespace without a model)."""
    return tuple(spec for spec in assignment.checks if get_check(spec.kind).uses_probe
                 and any(isinstance(v, str) and v in names for v in spec.options.values()))


def grade_practical(assignment: Assignment, students: dict[str, dict[str, Any]], seed: int,
                    data_dir: Path | None = None, parameters: dict[str, Any] | None = None
                    ) -> dict[str, dict[str, Any]]:
    """label -> {check id: CheckResult} of every check the students' objects reach, all on one seed's cases.
    ``data_dir``: the course data folder the checks plan from; relative thresholds must be resolved first
    (grader.references.with_reference)."""
    names = {name for namespace in students.values() for name in namespace}
    alone = replace(assignment, checks=reachable(assignment, names))
    if needs_reference(alone):
        raise ValueError(f"{assignment.id}: resolve the relative thresholds first (grader.references.with_reference)")
    probe = _probe_module()
    results = {}
    with tempfile.TemporaryDirectory(prefix="grader-mutants-") as tmp:
        probe_dir = Path(tmp) / "probe"
        plan = plan_probe(alone, probe_dir, Path(data_dir or tmp), dict(parameters or assignment.parameters), seed)
        for label, namespace in students.items():
            out_dir = Path(tmp) / f"out-{len(results)}"
            _seed_student(seed)
            with contextlib.redirect_stdout(io.StringIO()):     # the probe's "n/m items answered"
                probe.main(namespace, plan.nonce, str(probe_dir), str(out_dir))
            run = RunResult(status="ok", duration_s=0.0, executed_notebook=None, out_dir=out_dir)
            results[label] = {r.check_id: r for r in evaluate(alone, plan, LIVE_KERNEL, run)}
    return results


def points_lost(assignment: Assignment, check_id: str, functions: dict[str, Callable], seed: int
                ) -> dict[str, Any]:
    """label -> CheckResult of ``check_id`` for each function put in place of its object, on one seed's cases."""
    spec = assignment.check(check_id)
    alone = replace(assignment, checks=(spec,))
    students = {label: {spec.options["name"]: function} for label, function in functions.items()}
    return {label: checks[check_id] for label, checks in grade_practical(alone, students, seed).items()}


def _seed_student(seed: int) -> None:
    """The student's own draws (torch.multinomial, np.random.choice) repeat with the seed."""
    np.random.seed(seed)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


def _probe_module():
    """The probe file as the kernel runs it; loaded after torch, so that it passes tensors."""
    return load_probe("grader_probe_mutants")


@dataclass(frozen=True)
class Lost:
    """What one mutant cost over some seeds: check id -> (least, most) points lost, beside the right student."""

    mutant: Mutant
    checks: dict[str, tuple[Decimal, Decimal]]

    def problems(self) -> list[str]:
        """Where the point table and the losses disagree: a check it names that lost too little (or, for an
        exact mutant, too much), and every other check that paid for the same defect."""
        found = []
        for check_id, points in self.mutant.costs.items():
            low, high = self.checks.get(check_id, (Decimal("0"), Decimal("0")))
            if low < points:
                found.append(f"{check_id} lost only {low} of the {points} the table takes")
            elif self.mutant.exact and high > points:
                found.append(f"{check_id} lost {high}, more than the {points} the table takes")
        found += [f"{check_id} paid {high} for the same defect" for check_id, (_, high) in self.checks.items()
                  if check_id not in self.mutant.costs and high > 0]
        return found


def loss_table(assignment: Assignment, seeds: range, data_dir: Path | None = None, student_dir: Path | None = None,
               parameters: dict[str, Any] | None = None) -> tuple[list[Lost], dict[str, list[Decimal]]]:
    """Every mutant's losses on every check it reaches over ``seeds`` (beside the right student), and the
    right student's own losses per check (each must be 0 for a loss to mean anything)."""
    mutants = load_mutants(assignment)
    right_lost: dict[str, list[Decimal]] = {}
    lost: dict[str, dict[str, list[Decimal]]] = {m.name: {} for m in mutants}
    students = {"right": right_student(assignment, student_dir)}
    students.update({m.name: mutant_student(assignment, m, student_dir) for m in mutants})
    for seed in seeds:
        graded = grade_practical(assignment, students, seed, data_dir, parameters)
        for check_id, res in graded.pop("right").items():
            right_lost.setdefault(check_id, []).append(res.max_points - res.points)
        for name, checks in graded.items():
            for check_id, res in checks.items():
                lost[name].setdefault(check_id, []).append(res.max_points - res.points)
    table = [Lost(m, {c: (min(v), max(v)) for c, v in lost[m.name].items()}) for m in mutants]
    return table, right_lost


def main(argv: list[str]) -> int:
    """``python -m grader.mutants assignments/rnn_text [SEEDS] [--data DIR]``: each mutant's points lost per
    check (least and most over the seeds) and whether that is what the point table takes."""
    args = list(argv)
    data_dir = Path(args.pop(args.index("--data") + 1)) if "--data" in args else None
    args = [a for a in args if a != "--data"]
    assignment = load_assignment(Path(args[0]))
    seeds = range(int(args[1]) if len(args) > 1 else 20)
    with tempfile.TemporaryDirectory(prefix="grader-mutants-") as tmp:
        student_dir = None
        if data_dir is not None:
            assignment = with_reference(assignment, data_dir, dict(assignment.parameters), Path(tmp))
            if assignment.student_data is not None:
                student_dir = write_student_data(assignment, Path(tmp) / "data", data_dir, dict(assignment.parameters))
        table, right = loss_table(assignment, seeds, data_dir, student_dir)
    print("right student: " + ", ".join(f"{c} lost {max(v)}" for c, v in right.items()))
    print(f"{'mutant':48} {'table takes':28} lost (min-max)")
    failed = 0
    for row in table:
        takes = ", ".join(f"{c} {p}" for c, p in row.mutant.costs.items())
        paid = ", ".join(f"{c} {low}-{high}" for c, (low, high) in row.checks.items() if high > 0)
        problems = row.problems()
        failed += bool(problems)
        print(f"{row.mutant.name:48} {takes:28} {paid}" + (f"  <-- {'; '.join(problems)}" if problems else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    # mutants.py files mark functions with grader.mutants.Mutant, not this __main__ module's copy
    from grader.mutants import main as _main
    sys.exit(_main(sys.argv[1:]))
