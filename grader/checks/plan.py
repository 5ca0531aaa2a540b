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
from grader.errors import ConfigError
from grader.execution.base import OUT_DIR_MARK, PROBE_DIR_MARK, PROGRAM_PREFIX
from grader.checks.outputs import expected_outputs
from grader.probe import probe_sha256, probe_source
from grader.loaded_assignment import Assignment

SPEC_FILE = "spec.json"
PROBE_FILE = "probe.py"
DEFAULT_BATCH = 256     # the probe's batch when an item names none
PROGRAM_CAP = 1 << 30   # an exported program file (grader.judge); the judge checks what is in it
# what the probe may adapt between the contract's inputs and a model (README, "Leniencies"); a course may
# grade a practical by the contract's letter instead (practicals.<id>.adaptations)
ADAPTATIONS = ("dtype", "device", "layout")

# The probe file is checked against its hash, then run in a namespace of its own, so names the
# notebook shadowed (print, np, torch, open) cannot reach it. The nonce marks this run's answers.
_CELL = '''\
# Grader probe: appended by the grader to call your code on fresh inputs. Not part of your notebook.
def _grader_probe(nonce={nonce!r}, sha256={sha256!r}, probe_dir={probe_dir}, out_dir={out_dir}):
    import builtins, hashlib, os
    path = os.path.join(probe_dir, {probe_file!r})
    with builtins.open(path, "rb") as fh:
        source = fh.read()
    if hashlib.sha256(source).hexdigest() != sha256:
        raise builtins.RuntimeError("grader probe: probe.py is not the grader's")
    namespace = {{"__name__": "grader_probe", "__file__": path, "__builtins__": builtins}}
    builtins.exec(builtins.compile(source, path, "exec"), namespace)
    namespace["main"](builtins.globals(), nonce, probe_dir, out_dir)
_grader_probe()
del _grader_probe
'''


@dataclass
class ProbePlan:
    nonce: str                  # random per run; the probe writes it into its status file
    cell_source: str            # the probe cell to append (its folders written in by the runner)
    private: dict[str, Any] = field(default_factory=dict)   # check id -> what its scoring needs
    items: dict[str, dict[str, Any]] = field(default_factory=dict)   # item id -> the item as the probe reads it
    items_of: dict[str, tuple[str, ...]] = field(default_factory=dict)   # check id -> the ids of its items
    # the objects the kernel exports as programs for the judge (grader.judge): one entry per name
    exports: tuple[dict[str, Any], ...] = ()
    expected_outputs: tuple[tuple[str, int], ...] = ()       # (name in out/, byte cap): all a run brings back


def plan_probe(assignment: Assignment, probe_dir: Path, data_dir: Path, parameters: dict[str, Any],
               seed: int, *, export: bool = False, adaptations: tuple[str, ...] = ADAPTATIONS) -> ProbePlan:
    """Draw inputs with the secret ``seed`` (one independent stream per check) and write the probe folder.
    ``export``: the kernel exports each model as a program, which the grader's judge runs (grader.judge);
    ``adaptations``: what the probe may adapt between the contract's inputs and the model (README)."""
    probe_dir = Path(probe_dir)
    probe_dir.mkdir(parents=True, exist_ok=True)
    items: list[dict[str, Any]] = []
    private: dict[str, Any] = {}
    shared: dict[Any, Any] = {}
    items_of: dict[str, tuple[str, ...]] = {}
    for index, spec in enumerate(assignment.checks):
        kind = get_check(spec.kind)
        if not kind.uses_probe:
            continue
        ctx = PlanContext(probe_dir=probe_dir, data_dir=Path(data_dir), parameters=dict(parameters),
                          rng=np.random.default_rng([seed, index]), shared=shared)
        check_items, kept = kind.plan(spec, ctx)
        items += check_items
        private[spec.id] = kept
        # a check may score another's answer (two metrics of one pass): it depends on that item too
        reused = (kept["item"],) if isinstance(kept, dict) and isinstance(kept.get("item"), str) else ()
        items_of[spec.id] = tuple(dict.fromkeys(tuple(item["item"] for item in check_items) + reused))
    _resolve_input_references(items)
    for item in items:     # the Keras edition's layout of an object's inputs and outputs, whoever planned the item
        if item.get("kind") in ("model", "introspect") and item.get("name") in assignment.keras_layouts:
            item["keras_layout"] = assignment.keras_layouts[item["name"]]
        if item.get("kind") in ("model", "function") and item.get("name") in assignment.keras_output_layouts:
            item["keras_output_layout"] = assignment.keras_output_layouts[item["name"]]
    exports = tuple(plan_exports(items, probe_dir, assignment, adaptations)) if export else ()
    (probe_dir / PROBE_FILE).write_bytes(probe_source())
    spec = {"version": 1, "items": items, "exports": list(exports), "adaptations": list(adaptations),
            "parameters": sorted(parameters) if export else []}
    (probe_dir / SPEC_FILE).write_text(json.dumps(spec, indent=1), encoding="utf-8")
    nonce = secrets.token_hex(16)
    return ProbePlan(nonce=nonce, cell_source=probe_cell(nonce), private=private,
                     items={item["item"]: item for item in items}, items_of=items_of, exports=exports,
                     expected_outputs=expected_outputs(items) + tuple((e["file"], PROGRAM_CAP) for e in exports))


def plan_exports(items: list[dict[str, Any]], probe_dir: Path, assignment: Assignment,
                 adaptations: tuple[str, ...]) -> list[dict[str, Any]]:
    """One export per object whose model items the judge can answer: every batch shape it will be fed."""
    shapes: dict[str, dict[tuple[int, ...], None]] = {}
    dtypes: dict[str, str] = {}
    for item in items:
        if item.get("kind") not in ("model", "introspect") or item.get("method"):
            continue
        inputs = model_input(item)
        if inputs is None:
            continue
        array = np.load(probe_dir / inputs, mmap_mode="r", allow_pickle=False)
        rows = int(item.get("rows") or len(array))
        batch = rows if item["kind"] == "introspect" else int(item.get("batch_size", DEFAULT_BATCH))
        dtype = "int64" if array.dtype.kind in "iu" else "float32"
        name = item["name"]
        if dtypes.setdefault(name, dtype) != dtype:
            continue   # one contract dtype per object; the probe answers the odd item in the kernel
        for start in range(0, rows, batch):
            shapes.setdefault(name, {})[(min(batch, rows - start), *array.shape[1:])] = None
    return [{"item": f"_export__{name}", "name": name, "file": f"{PROGRAM_PREFIX}{name}.npz", "dtype": dtypes[name],
             "shapes": sorted((list(s) for s in found), key=lambda s: -s[0]), "adaptations": list(adaptations),
             **({"keras_layout": assignment.keras_layouts[name]} if name in assignment.keras_layouts else {})}
            for name, found in shapes.items()]


def model_input(item: dict[str, Any]) -> str | None:
    """The input file of a model or introspect item (its one array argument), None when it has another form."""
    if "inputs" in item:
        return item["inputs"][0] if len(item["inputs"]) == 1 else None
    args = item.get("args") or []
    return args[0]["npy"] if len(args) == 1 and "npy" in args[0] else None


def _resolve_input_references(items: list[dict[str, Any]]) -> None:
    """An argument {"npy_of": item} names another item's input file: the architecture is judged on the very
    inputs that are scored, whichever check planned them first."""
    files = {item["item"]: model_input(item) for item in items}
    for item in items:
        for arg in item.get("args") or []:
            if "npy_of" in arg:
                source = arg.pop("npy_of")
                if files.get(source) is not None:
                    arg["npy"] = files[source]
                elif "npy" in arg:    # not planned here (a self-check has no held-out data): its own batch
                    item.pop("rows", None)
                else:
                    raise ConfigError(f"check {item['item']!r} is judged on the inputs of {source!r}, which plans none")


def probe_cell(nonce: str) -> str:
    """The cell appended to the notebook: runs the probe file of the probe folder, if it is ours. Where the
    probe and out folders are is written in by the runner (grader.execution.base.with_kernel_dirs): no variable of the kernel's
    environment tells a notebook that the grader runs it."""
    return _CELL.format(nonce=nonce, sha256=probe_sha256(), probe_file=PROBE_FILE, probe_dir=PROBE_DIR_MARK,
                        out_dir=OUT_DIR_MARK)

