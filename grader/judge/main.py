"""The judge process's entry point: ``python -I -c "...main(sys.argv[-1])" SPEC`` in a sandbox.

It reads the request the host wrote (spec.json: the program file, the items, where to answer), loads the
program, answers every item it can and writes the answers as .npy files and one status.json. It imports the
grader's judge package and torch, never anything of the student's, and runs no Python but the grader's.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from grader.judge.answers import AnswerError, Answered, introspect, run_model
from grader.judge.program_json import ProgramRefused
from grader.judge.programs import load_programs

STATUS_FILE = "status.json"


def main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    folder = Path(spec_path).parent
    answers = Path(spec["answers"])
    answers.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    # start-up: torch only in the judge's own process, once a program is judged
    import torch

    torch.set_num_threads(max(1, int(spec.get("threads", 1))))
    status = judge(spec, folder, answers)
    status["seconds"] = round(time.monotonic() - started, 3)
    tmp = answers / (STATUS_FILE + ".tmp")
    tmp.write_text(json.dumps(status), encoding="utf-8")
    os.replace(tmp, answers / STATUS_FILE)


def judge(spec: dict[str, Any], folder: Path, answers: Path) -> dict[str, Any]:
    # start-up: numpy and torch load once the request has been read (a malformed one costs nothing)
    import numpy as np
    import torch

    device = spec.get("device", "cpu")
    if device == "auto":   # the run was given a GPU: use it when this process sees one
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        programs = load_programs(folder / spec["program"], device)
    except ProgramRefused as err:
        return {"program": {"ok": False, "error": str(err)}, "items": {}}
    except Exception as err:   # torch refusing a graph our checks let through: this program only
        return {"program": {"ok": False, "error": f"{type(err).__name__}: {str(err)[:200]}"}, "items": {}}
    statuses = {}
    answered = Answered()   # one forward per input row: an item whose rows were all answered is read back
    # the largest first, so that a sample of its rows (the loss's held-out images of the accuracy's) is read back
    for item in sorted(spec["items"], key=lambda i: -_rows(folder, i) if i["kind"] == "model" else 0):
        try:
            inputs = np.load(folder / item["inputs"], allow_pickle=False)
            if item.get("rows"):
                inputs = inputs[:int(item["rows"])]
            if item["kind"] == "introspect":
                statuses[item["item"]] = {"status": "ok", "value": introspect(programs, inputs, device)}
                continue
            keep = np.load(folder / item["keep"], allow_pickle=False) if item.get("keep") else None
            output = answered.find(inputs) if keep is None else None
            if output is None:
                output = run_model(programs, inputs, int(item.get("batch_size", 256)), keep, device)
                if keep is None:
                    answered.add(inputs, output)
            np.save(answers / f"{item['item']}.npy", output, allow_pickle=False)
            statuses[item["item"]] = {"status": "ok", "shape": list(output.shape), "dtype": str(output.dtype)}
        except AnswerError as err:
            statuses[item["item"]] = {"status": "error", "error": str(err)}
        except Exception as err:   # the program failed on this input (a shape it specialised away, ...)
            statuses[item["item"]] = {"status": "error", "error": f"{type(err).__name__}: {str(err)[:300]}"}
    return {"program": {"ok": True, "programs": len(programs)},
            "items": {item["item"]: statuses[item["item"]] for item in spec["items"]}}


def _rows(folder: Path, item: dict[str, Any]) -> int:
    """How many input rows the item has, from the file's header (0 when it cannot be read: its turn says why)."""
    # start-up: as in judge(), numpy once a request has been read
    import numpy as np

    try:
        rows = len(np.load(folder / item["inputs"], mmap_mode="r", allow_pickle=False))
    except Exception:
        return 0
    return min(rows, int(item["rows"])) if item.get("rows") else rows


if __name__ == "__main__":
    main(sys.argv[-1])
