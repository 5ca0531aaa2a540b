"""Host side of the probe, after the run: every check of the assignment scored into a CheckResult.

Never raises for anything the student caused: a missing run or untrusted outputs become the
reason of each probe check, while notebook checks still use the static inspection.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from grader.checks import get_check
from grader.checks.base import ScoreContext, result
from grader.checks.outputs import ProbeOutputs, read_outputs
from grader.checks.plan import ProbePlan
from grader.i18n import msg
from grader.records import CheckResult, InspectionReport, RunResult
from grader.loaded_assignment import Assignment


def evaluate(assignment: Assignment, plan: ProbePlan, inspection: InspectionReport,
             run: RunResult | None, notebook: Path | None = None,
             outputs: ProbeOutputs | None = None) -> list[CheckResult]:
    """``notebook``: the file as handed in, for checks that read the student's own outputs; ``outputs``: the
    answers to score (the probe's, with the judge's in place of the kernel's where it ran), else read here."""
    outputs = outputs if outputs is not None else probe_outputs(run, plan.nonce)
    templates = assignment.template_files()
    results = []
    for spec in assignment.checks:
        kind = get_check(spec.kind)
        if kind.uses_probe and outputs.problem is not None:
            results.append(result(spec, Decimal("0"), outputs.problem))
            continue
        ctx = ScoreContext(inspection=inspection, run=run, outputs=outputs, private=plan.private.get(spec.id, {}),
                           notebook=notebook, earlier={r.check_id: r for r in results}, templates=templates)
        results.append(kind.score(spec, ctx))
    return results


def probe_outputs(run: RunResult | None, nonce: str) -> ProbeOutputs:
    """The run's probe answers; when the probe never finished, the reason is the run's own."""
    if run is None:
        return ProbeOutputs.failed(msg("checks_not_run"), absent=True)
    outputs = read_outputs(run.out_dir, nonce)
    if outputs.absent and run.status != "ok":
        return ProbeOutputs.failed(run.reason or msg("checks_run_failed", status=run.status), absent=True)
    return outputs
