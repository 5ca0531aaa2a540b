"""Check kind ``notebook``: points for facts of the notebook as handed in (executed, in order...).

``executed`` needs evidence of a run, not only execution counts (one integer each, which anybody can
type): the template cells that print or plot when the grader runs the practical's own solution (its
record, grader.template_outputs) must show output in the hand-in's cells that stand for them
(``outputs_shown`` of them, half by default, as students print less than a solution and may clear an
output, and always the last of them: a run that stopped halfway shows the first half only). What the
student's code does when the grader runs it decides nothing here. A practical without templates
falls back to the cells that print in the grader's run of the hand-in. A notebook that was not executed
earns none of the points: "no errors" and "in order" say nothing about a notebook that never ran. Nor
does the template handed in untouched (every code cell one of the template's, run or not).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path

from grader.checks.base import Check, Option, ScoreContext, result
from grader.checks.shares import share
from grader.errors import ConfigError
from grader.evidence import OutputEvidence, output_evidence
from grader.i18n import msg
from grader.notebooks import cell_refs, read_notebook
from grader.records import CheckResult, InspectionReport, Reason
from grader.loaded_assignment import CheckSpec
from grader.template_outputs import TemplateEvidence, check_record, template_evidence

FACTS: dict[str, Callable[[InspectionReport], bool]] = {
    "readable": lambda r: r.readable,
    "executed": lambda r: r.readable and r.executed,
    "in_order": lambda r: r.readable and r.in_order,
    "no_errors": lambda r: r.readable and not r.error_cells,
    "has_plot": lambda r: r.readable and r.has_plot,
}
GATE = "executed"   # without it the other facts earn nothing


def _failure(fact: str, ctx: ScoreContext) -> Reason:
    report = ctx.inspection
    if not report.readable:
        return msg("notebook_unreadable")
    if fact == "executed":
        return msg("notebook_not_executed", executed=report.executed_cells, total=report.code_cells)
    if fact == "in_order":
        return msg("notebook_out_of_order")
    if fact == "no_errors":
        return msg("notebook_errors", cells=cell_refs(ctx.notebook, report.error_cells))
    return msg("notebook_no_plot")


def needed(printing: int, fraction: Decimal) -> int:
    """How many of the cells that print in the run must show output as handed in (rounded up)."""
    return math.ceil(printing * fraction)


class NotebookCheck(Check):
    kind = "notebook"
    static = True          # judged from the notebook as handed in alone, without a run
    codes = (
        "notebook_end_not_shown", "notebook_errors", "notebook_no_plot",
        "notebook_not_executed", "notebook_ok", "notebook_out_of_order",
        "notebook_outputs_missing", "notebook_run_outputs_missing", "notebook_template",
        "notebook_unreadable",
    )
    options = {"require": Option("strs", required=False, default=("executed", "in_order", "no_errors")),
               # students print less than a solution does (no print(model), a silent training loop), so
               # half of the solution's printing cells; never-run notebooks show none
               "outputs_shown": Option("decimal", required=False, default=Decimal("0.5"),
                                       meaning="share of the template cells that print or plot in the "
                                               "solution's run whose cells must show output in the hand-in")}

    @classmethod
    def validate(cls, options, where, path):
        unknown = [fact for fact in options["require"] if fact not in FACTS]
        if unknown:
            raise ConfigError(f"{path}: {where}.require: unknown fact {unknown[0]!r} "
                              f"(known: {', '.join(FACTS)})")
        if not Decimal("0") <= options["outputs_shown"] <= Decimal("1"):
            raise ConfigError(f"{path}: {where}.outputs_shown must lie between 0 and 1")

    @classmethod
    def check_files(cls, spec, assignment) -> None:
        """The record of which template cells print in the solution's run must be there and current."""
        if GATE in spec.options["require"]:
            check_record(assignment.directory, assignment.id, assignment.template_files())

    @classmethod
    def score(cls, spec: CheckSpec, ctx: ScoreContext) -> CheckResult:
        require = spec.options["require"]
        if is_untouched_template(ctx.notebook, ctx.templates):
            return result(spec, Decimal("0"), msg("notebook_template"), facts=f"0/{len(require)}",
                          failed=list(require))
        failed = [fact for fact in require if not FACTS[fact](ctx.inspection)]
        evidence = _evidence(ctx) if GATE in require else None
        shown = _details(evidence)
        unshown = _not_shown(evidence, spec, ctx) if GATE not in failed and evidence is not None else None
        if unshown is not None:
            return result(spec, Decimal("0"), unshown, facts=f"0/{len(require)}", failed=[GATE], **shown)
        if GATE in failed:    # the rest says nothing about a notebook that never ran
            return result(spec, Decimal("0"), _failure(GATE, ctx), facts=f"0/{len(require)}", failed=failed,
                          **shown)
        met = len(require) - len(failed)
        reason = _failure(failed[0], ctx) if failed else msg("notebook_ok")
        points = share(spec.points, met, len(require)) if failed else spec.points
        return result(spec, points, reason, facts=f"{met}/{len(require)}", failed=failed, **shown)


def _code_sources(path: Path | None) -> list[str] | None:
    """The stripped sources of a notebook's non-empty code cells, the parameters cell left out."""
    nb, _ = read_notebook(Path(path))
    if nb is None:
        return None
    found = []
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        tags = cell.get("metadata", {}).get("tags", [])
        source = cell.get("source", "")     # text: read_notebook joins a list of lines
        if source.strip() and "parameters" not in (tags if isinstance(tags, list) else []):
            found.append(" ".join(source.split()))
    return found


def is_untouched_template(notebook: Path | None, templates: Sequence[Path]) -> bool:
    """Every code cell of ``notebook`` is one of a template's (whitespace aside; any edition's): nothing of
    the student's."""
    mine = _code_sources(notebook) if notebook is not None else None
    if not mine:
        return False
    for template in templates:
        theirs = _code_sources(template)
        if theirs is not None and set(mine) <= set(theirs):
            return True
    return False


def _evidence(ctx: ScoreContext) -> TemplateEvidence | OutputEvidence | None:
    """The hand-in against its template's record of the solution's run; for a practical without templates,
    against the grader's run of the hand-in (None in a static look, or when the run left no notebook)."""
    if ctx.notebook is None:
        return None
    if ctx.templates:
        found = template_evidence(ctx.notebook, ctx.templates[0].parent)
        if found is not None:
            return found
    executed = ctx.run.executed_notebook if ctx.run is not None else None
    if executed is None or not executed.is_file():
        return None
    return output_evidence(ctx.notebook, executed)


def _details(evidence: TemplateEvidence | OutputEvidence | None) -> dict:
    if evidence is None:
        return {}
    if isinstance(evidence, TemplateEvidence):
        return {"template": evidence.template, "outputs_expected": len(evidence.printing),
                "outputs_shown": evidence.shown}
    return {"outputs_in_run": len(evidence.printing), "outputs_shown": evidence.shown}


def _not_shown(evidence: TemplateEvidence | OutputEvidence, spec: CheckSpec, ctx: ScoreContext) -> Reason | None:
    """Why the hand-in does not show the outputs of a run (too few, or none at the end); None: it does."""
    printing = len(evidence.printing)
    least = needed(printing, spec.options["outputs_shown"])
    if isinstance(evidence, OutputEvidence):
        if evidence.shown >= least:
            return None
        return msg("notebook_run_outputs_missing", missing=len(evidence.missing), printing=printing,
                   needed=least, cells=cell_refs(ctx.notebook, evidence.missing[:8]))
    if evidence.shown < least:
        return msg("notebook_outputs_missing", missing=len(evidence.missing), printing=printing,
                   needed=least, template=evidence.template, cells=cell_refs(ctx.notebook, evidence.named[:8]))
    if not evidence.end_shown:    # a run stopped halfway shows the first half's outputs only
        return msg("notebook_end_not_shown", template=evidence.template,
                   cells=cell_refs(ctx.notebook, evidence.end_cells[:8]))
    return None
