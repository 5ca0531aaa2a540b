"""Host side of the judge: after the kernel's run, hand each exported program and the inputs of its items to the
runner's judge, and read the answers back. Never imports torch, never runs a program itself.

What comes from the kernel is a claim: the export status says a program was written, the host takes the file
only as a regular file under a size cap, and the judge checks everything in it. Inputs come from the probe
folder the host wrote; token ids are put into the student's own numbering here, exactly as the probe would
(grader.probe.probe.translation_table), so the judge's answers and the probe's mean the same thing.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from grader.checks.outputs import ProbeOutputs
from grader.checks.plan import ProbePlan, model_input
from grader.execution.base import JudgeRequest, Runner
from grader.execution.safe_files import UnsafeFile, read_regular
from grader.i18n import msg
from grader.probe.probe import translation_table
from grader.records import CheckResult, Reason

MAX_PROGRAM_BYTES = 1 << 30
PROGRAM_FILE = "program.npz"
_ADAPTED = {"dtype": "judge_adapted_dtype", "device": "judge_adapted_device", "layout": "judge_adapted_layout"}


@dataclass(frozen=True)
class Judged:
    """What the judge established: the outputs to score with, and per exported name how it was judged."""

    outputs: ProbeOutputs
    outside: dict[str, dict[str, Any]] = field(default_factory=dict)    # name -> the export's facts (adaptations)
    inside: dict[str, str] = field(default_factory=dict)                 # name -> why the kernel's answers count
    refused: dict[str, str] = field(default_factory=dict)   # name -> why the judge could not run its program


def judge_models(plan: ProbePlan, outputs: ProbeOutputs, runner: Runner, folder: Path, probe_dir: Path,
                 timeout_s: float, env: dict[str, str], warm_dir: Path | None = None) -> Judged:
    """Run every exported program on its items' inputs; names whose export failed keep the probe's answers.
    ``warm_dir``: where the runner may keep a judge started ahead for the next program (JudgeRequest)."""
    if not plan.exports or outputs.problem is not None:
        return Judged(outputs)
    outside, inside, refused = {}, {}, {}
    for export in plan.exports:
        name = export["name"]
        status = outputs.statuses.get(export["item"]) or {}
        # the status is the kernel's word; a program file that is there is judged whatever the status says
        # (a patched json.dump or a process rewriting status.json cannot turn the judge off by saying "failed")
        if status.get("status") != "ok" and not _present(outputs, export["file"]):
            if status.get("status") != "missing":   # an undefined name: its items say so, nothing to judge
                inside[name] = status.get("error") or "the model was not exported"
            continue
        items = [item for item in plan.items.values() if item.get("name") == name
                 and item.get("kind") in ("model", "introspect") and not item.get("method")]
        answered = _judge_one(export, items, plan, outputs, runner, folder / name, probe_dir, timeout_s, env,
                              warm_dir)
        if isinstance(answered, str):   # the kernel left these items to the judge, which could not answer
            refused[name] = answered
            outputs = outputs.failing({item["item"]: answered for item in items})
            continue
        statuses, answers_dir = answered
        outputs = outputs.with_answers(statuses, answers_dir)
        outside[name] = status.get("value") if isinstance(status.get("value"), dict) else {}
    return Judged(outputs.not_exported(inside), outside, inside, refused)


def _present(outputs: ProbeOutputs, name: str) -> bool:
    try:
        return outputs.path_of(name).is_file() and not outputs.path_of(name).is_symlink()
    except FileNotFoundError:
        return False


def _judge_one(export, items, plan, outputs, runner, folder: Path, probe_dir: Path, timeout_s, env, warm_dir):
    """(statuses, answers folder) from the judge, or the reason no item of this program can be answered."""
    if folder.exists():
        shutil.rmtree(folder)   # the host's own folder from an earlier attempt: nothing a notebook wrote
    folder.mkdir(parents=True)
    try:
        data = read_regular(outputs.path_of(export["file"]), MAX_PROGRAM_BYTES)
    except (FileNotFoundError, UnsafeFile) as err:
        return f"the exported program could not be read ({err})"
    (folder / PROGRAM_FILE).write_bytes(data)
    del data
    spec_items = [_spec_item(item, plan, outputs, folder, probe_dir) for item in items]
    spec = {"program": PROGRAM_FILE, "items": [i for i in spec_items if i is not None]}
    run = runner.judge(JudgeRequest(folder=folder, spec=spec, timeout_s=timeout_s, env=dict(env), warm_dir=warm_dir))
    if run.problem is not None:
        return run.problem
    return read_answers(run.answers)


def _spec_item(item: dict[str, Any], plan: ProbePlan, outputs: ProbeOutputs, folder: Path,
               probe_dir: Path) -> dict[str, Any] | None:
    source = model_input(item)
    if source is None:
        return None
    inputs = np.load(probe_dir / source, allow_pickle=False)
    if item.get("rows"):
        inputs = inputs[:int(item["rows"])]
    if "translate" in item:   # the student's own numbering, when her encoder gives one (as the probe does)
        answer = outputs.get(item["translate"], item.get("name", ""), want="array")
        table = translation_table(answer.array, int(item["size"])) if answer.reason is None else None
        inputs = inputs if table is None else table[inputs]
    name = f"{item['item']}.inputs.npy"
    np.save(folder / name, np.ascontiguousarray(inputs), allow_pickle=False)
    entry = {"item": item["item"], "kind": item["kind"], "inputs": name,
             "batch_size": int(item.get("batch_size", 256))}
    if item.get("keep"):
        shutil.copyfile(probe_dir / item["keep"], folder / f"{item['item']}.keep.npy")
        entry["keep"] = f"{item['item']}.keep.npy"
    return entry


def read_answers(answers: Path) -> tuple[dict[str, dict[str, Any]], Path] | str:
    """The judge's status (statuses per item) and where its arrays are, or why it gave none."""
    try:
        status = json.loads(read_regular(answers / "status.json", 1 << 20).decode("utf-8"))
    except (FileNotFoundError, UnsafeFile, UnicodeDecodeError, ValueError) as err:
        return f"the judge left no answers ({type(err).__name__})"
    program = status.get("program") if isinstance(status, dict) else None
    if not isinstance(program, dict) or not program.get("ok"):
        return str((program or {}).get("error") or "the judge could not load the program")[:300]
    statuses = {}
    for item, entry in (status.get("items") or {}).items():
        if isinstance(entry, dict) and entry.get("status") in ("ok", "error"):
            statuses[str(item)] = {"status": entry["status"], "error": str(entry.get("error") or "")[:300] or None}
            if "value" in entry:
                statuses[str(item)]["value"] = entry["value"]
    return statuses, answers


def annotated(checks: list[CheckResult], plan: ProbePlan, judged: Judged) -> list[CheckResult]:
    """Each check that scored a model's answers says where they were computed: ``judge`` = "outside" (the
    grader's judge ran the exported program) or "student_process" (the export failed: the kernel's probe)."""
    where = {**{name: "outside" for name in {**judged.outside, **judged.refused}},
             **{name: "student_process" for name in judged.inside}}
    if not where:
        return checks
    result = []
    for check in checks:
        names = {plan.items[i].get("name") for i in plan.items_of.get(check.check_id, ()) if i in plan.items
                 and plan.items[i].get("kind") in ("model", "introspect")}
        found = sorted({where[n] for n in names if n in where})
        result.append(replace(check, details={**check.details, "judge": found[0]}) if len(found) == 1 else check)
    return result


def judge_notes(judged: Judged, outputs: ProbeOutputs) -> list[Reason]:
    """For the student's page (and the report's "needs a human"): a model judged in the student's own process,
    and every adaptation between the contract's inputs and the model."""
    notes = [msg("judge_student_process", name=name, error=error) for name, error in judged.inside.items()]
    notes += [msg("judge_refused", name=name, error=error) for name, error in judged.refused.items()]
    adapted: dict[tuple[str, str, str], None] = {}
    for facts in judged.outside.values():
        for entry in facts.get("adapted") or []:
            if isinstance(entry, dict):
                adapted[(str(entry.get("kind")), str(entry.get("contract")), str(entry.get("model")))] = None
    for status in outputs.statuses.values():
        for entry in status.get("adapted") or []:
            adapted[(entry["kind"], entry["contract"], entry["model"])] = None
    for kind, contract, model in adapted:
        notes.append(msg(_ADAPTED[kind] if kind in _ADAPTED else "judge_adapted", contract=contract[:40],
                         model=model[:40]))
    return notes


def keep_answers(judge_folder: Path, dest: Path) -> None:
    """What the judge answered, kept beside the executed copy for a reviewer (``dest/<name>/<item>.npy``): the
    model's outputs, never its inputs (secret) nor its program (large). The host or its own judge wrote them."""
    if not judge_folder.is_dir():
        return
    for folder in sorted(judge_folder.iterdir()):
        answers = folder / "answers"
        if answers.is_dir() and not answers.is_symlink():
            dest.mkdir(exist_ok=True)
            answers.replace(dest / folder.name)
