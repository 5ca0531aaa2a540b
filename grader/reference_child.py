"""A practical's reference hook run in a child interpreter of its own: building the reference metrics (training a
reference network) and preparing the student data (which may convert pretrained weights), so that the grader's own
process never imports torch during a batch: its memory stays small and no hook leaves state in it.

The child is the grader's own code on the course's own data (no student code runs there): it gets the caller's
sys.path, the hook's arguments as paths and JSON, and answers JSON. It never decides a grade.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from grader.errors import GraderError
from grader.loaded_assignment import resolve

_ROOT = str(Path(__file__).resolve().parents[1])
_BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from grader.reference_child import child_main; child_main(sys.argv[2])"
_ERRORS = {"OSError": OSError, "ValueError": ValueError, "FileNotFoundError": FileNotFoundError}


def call_hook(ref: str, *args: Any) -> Any:
    """``resolve(ref)(*args)`` in a child interpreter; ``args`` are paths and JSON values (paths arrive as Path).
    The hook's OSError and ValueError are raised here as such, anything else as a GraderError naming the hook
    (what it printed is not shown: its answer or its error is what counts)."""
    with tempfile.TemporaryDirectory(prefix="grader-hook-") as folder:
        request = Path(folder) / "request.json"
        answer = Path(folder) / "answer.json"
        request.write_text(json.dumps({"ref": ref, "args": [_encoded(a) for a in args], "answer": str(answer)}),
                           encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        done = subprocess.run([sys.executable, "-c", _BOOT, _ROOT, str(request)], env=env, stdin=subprocess.DEVNULL,
                              capture_output=True)
        try:
            result = json.loads(answer.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            last = done.stderr.decode("utf-8", errors="replace").strip().splitlines()[-1:] or [""]
            raise GraderError(f"{ref} stopped without an answer (exit status {done.returncode}): {last[0][:300]}") \
                from None
    if "error" in result:
        kind = _ERRORS.get(result["error"])
        if kind is not None:
            raise kind(result["message"])
        raise GraderError(f"{ref} failed: {result['error']}: {result['message']}")
    return result["value"]


def _encoded(value: Any) -> dict[str, Any]:
    return {"path": str(value)} if isinstance(value, Path) else {"json": value}


def child_main(request_path: str) -> None:
    """In the child: run the hook, write its value (or its error) as JSON."""
    request = json.loads(Path(request_path).read_text(encoding="utf-8"))
    args = [Path(a["path"]) if "path" in a else a["json"] for a in request["args"]]
    try:
        value = resolve(request["ref"])(*args)
        answer = {"value": value}
        text = json.dumps(answer, default=_plain)
    except Exception as err:   # the hook's own failure: said to the caller, who decides
        text = json.dumps({"error": type(err).__name__, "message": str(err)[:2000]})
    Path(request["answer"]).write_text(text, encoding="utf-8")


def _plain(value: Any) -> Any:
    """numpy numbers as Python numbers (a hook's metrics are often numpy floats)."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON")
