"""The grading parameters as the kernel held them at the end of the run, compared with what the grader injected.

Static analysis (execution/reassign.py) names the cells that assign a parameter again; this reads back what is
in force however it was changed (``exec("epochs = 5")``, ``setattr(sys.modules["__main__"], ...)``, a loop), so
a different budget is named on the student's page and flagged for a person. What the probe reports is a claim
of the student's process: it can hide a change, never invent a grade. ``device = "auto"`` resolved to a device and
``data_dir`` turned into a Path are the template's own habits, never reported.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import PurePath
from typing import Any

from grader.checks.outputs import ProbeOutputs
from grader.i18n import msg
from grader.records import Reason

PARAMETERS_ITEM = "_parameters"    # the probe's status entry (grader.probe.probe.PARAMETERS_ITEM)
_FREE = frozenset({"device", "data_dir"})


def changed_parameters(outputs: ProbeOutputs, injected: dict[str, Any]) -> list[Reason]:
    """One note per grading parameter whose value at the end differs from the injected one."""
    status = outputs.statuses.get(PARAMETERS_ITEM) if outputs.problem is None else None
    found = status.get("value") if isinstance(status, dict) else None
    if not isinstance(found, dict):
        return []
    notes = []
    for name, value in sorted(injected.items()):
        entry = found.get(name)
        if name in _FREE or not isinstance(entry, dict) or entry.get("missing"):
            continue
        now = entry["value"] if "value" in entry else f"<{str(entry.get('type'))[:40]}>"
        if not _same(now, value):
            notes.append(msg("params_in_force", name=name, injected=_shown(value), found=_shown(now)))
    return notes


def _same(found: Any, injected: Any) -> bool:
    if isinstance(injected, (PurePath,)):
        return str(found) == str(injected)
    if isinstance(found, bool) or isinstance(injected, bool):
        return found is injected
    if isinstance(found, (int, float)) and isinstance(injected, (int, float, Decimal)):
        try:
            return Decimal(repr(found)) == Decimal(str(injected))
        except InvalidOperation:
            return False
    return found == injected


def _shown(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) or not value.startswith("<") else value
    return text if len(text) <= 60 else text[:57] + "..."
