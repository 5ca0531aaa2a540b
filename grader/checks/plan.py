"""Host side of the probe, before the run: draw this run's inputs, write them and the probe.

Writes probe.py, spec.json and input .npy files into the probe folder, and returns the cell
to append. Labels and expected outputs stay in ``ProbePlan.private``: never written there.
"""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from grader.checks import get_check
from grader.checks.base import PlanContext
from grader.checks.outputs import expected_outputs
from grader.probe import probe_sha256, probe_source
from grader.specs import Assignment

SPEC_FILE = "spec.json"
PROBE_FILE = "probe.py"

# The probe file is checked against its hash, then run in a namespace of its own, so names the
# notebook shadowed (print, np, torch, open) cannot reach it. The nonce marks this run's answers.
_CELL = '''\
# Grader probe: appended by the grader to call your code on fresh inputs. Not part of your notebook.
def _grader_probe(nonce={nonce!r}, sha256={sha256!r}):
    import builtins, hashlib, os
    path = os.path.join(os.environ["GRADER_PROBE_DIR"], {probe_file!r})
    with builtins.open(path, "rb") as fh:
        source = fh.read()
    if hashlib.sha256(source).hexdigest() != sha256:
        raise builtins.RuntimeError("grader probe: probe.py is not the grader's")
    namespace = {{"__name__": "grader_probe", "__file__": path, "__builtins__": builtins}}
    builtins.exec(builtins.compile(source, path, "exec"), namespace)
    namespace["main"](builtins.globals(), nonce)
_grader_probe()
del _grader_probe
'''


@dataclass
class ProbePlan:
    nonce: str                  # random per run; the probe writes it into its status file
    cell_source: str            # the probe cell to append (reads GRADER_PROBE_DIR / GRADER_OUT_DIR)
    private: dict[str, Any] = field(default_factory=dict)   # check id -> what its scoring needs
    expected_outputs: tuple[tuple[str, int], ...] = ()       # (name in out/, byte cap): all a run brings back


def plan_probe(assignment: Assignment, probe_dir: Path, data_dir: Path, parameters: dict[str, Any],
               seed: int) -> ProbePlan:
    """Draw inputs with the secret ``seed`` (one independent stream per check) and write the probe folder."""
    probe_dir = Path(probe_dir)
    probe_dir.mkdir(parents=True, exist_ok=True)
    items: list[dict[str, Any]] = []
    private: dict[str, Any] = {}
    shared: dict[Any, Any] = {}
    for index, spec in enumerate(assignment.checks):
        kind = get_check(spec.kind)
        if not kind.uses_probe:
            continue
        ctx = PlanContext(probe_dir=probe_dir, data_dir=Path(data_dir), parameters=dict(parameters),
                          rng=np.random.default_rng([seed, index]), shared=shared)
        check_items, kept = kind.plan(spec, ctx)
        items += check_items
        private[spec.id] = kept
    for item in items:     # the Keras edition's layout of an object's inputs and outputs, whoever planned the item
        if item.get("kind") in ("model", "introspect") and item.get("name") in assignment.keras_layouts:
            item["keras_layout"] = assignment.keras_layouts[item["name"]]
        if item.get("kind") in ("model", "function") and item.get("name") in assignment.keras_output_layouts:
            item["keras_output_layout"] = assignment.keras_output_layouts[item["name"]]
    (probe_dir / PROBE_FILE).write_bytes(probe_source())
    (probe_dir / SPEC_FILE).write_text(json.dumps({"version": 1, "items": items}, indent=1), encoding="utf-8")
    nonce = secrets.token_hex(16)
    return ProbePlan(nonce=nonce, cell_source=probe_cell(nonce), private=private,
                     expected_outputs=expected_outputs(items))


def probe_cell(nonce: str) -> str:
    """The cell appended to the notebook: runs the probe file of the probe folder, if it is ours."""
    return _CELL.format(nonce=nonce, sha256=probe_sha256(), probe_file=PROBE_FILE)
