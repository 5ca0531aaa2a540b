"""Check kind ``notebook``: points for facts of the notebook as handed in (executed, in order...).

Reads only the static InspectionReport; it never looks at the grader's own run of the notebook.
"""
from __future__ import annotations

from collections.abc import Callable
from grader.assignment import CheckSpec
from grader.checks.base import Check, Option, ScoreContext, result, share
from grader.errors import ConfigError
from grader.i18n import msg
from grader.records import CheckResult, InspectionReport, Reason

FACTS: dict[str, Callable[[InspectionReport], bool]] = {
    "readable": lambda r: r.readable,
    "executed": lambda r: r.readable and r.executed,
    "in_order": lambda r: r.readable and r.in_order,
    "no_errors": lambda r: r.readable and not r.error_cells,
    "has_plot": lambda r: r.readable and r.has_plot,
}


def _failure(fact: str, report: InspectionReport) -> Reason:
    if not report.readable:
        return msg("checks_notebook_unreadable")
    if fact == "executed":
        return msg("checks_notebook_not_executed", executed=report.executed_cells, total=report.code_cells)
    if fact == "in_order":
        return msg("checks_notebook_out_of_order")
    if fact == "no_errors":
        return msg("checks_notebook_errors", cells=[i + 1 for i in report.error_cells])
    return msg("checks_notebook_no_plot")


class NotebookCheck(Check):
    kind = "notebook"
    options = {"require": Option("strs", required=False, default=("executed", "in_order", "no_errors"))}

    @classmethod
    def validate(cls, options, where, path):
        unknown = [fact for fact in options["require"] if fact not in FACTS]
        if unknown:
            raise ConfigError(f"{path}: {where}.require: unknown fact {unknown[0]!r} "
                              f"(known: {', '.join(FACTS)})")

    @classmethod
    def score(cls, spec: CheckSpec, ctx: ScoreContext) -> CheckResult:
        require = spec.options["require"]
        failed = [fact for fact in require if not FACTS[fact](ctx.inspection)]
        met = len(require) - len(failed)
        reason = _failure(failed[0], ctx.inspection) if failed else msg("checks_notebook_ok")
        points = share(spec.points, met, len(require)) if failed else spec.points
        return result(spec, points, reason,
                      facts=f"{met}/{len(require)}", failed=failed)
