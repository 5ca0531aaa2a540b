"""Colab and JupyterHub habits that must not cost a grade: shell escapes, installs, Drive, GPU-only code.

Two jobs, both pure functions: rewrite a code cell's source so that shell escapes (``!pip install``,
``%%bash``) become a harmless note (grading has no network, and under the local runner they would
touch the host), and turn a failing cell's error text into a reason a student can act on.
It never changes what the student's Python code computes.
"""
from __future__ import annotations

import re
from pathlib import Path

from grader.execution.no_network import no_network
from grader.i18n import msg
from grader.records import Reason

STANDINS_DIR = Path(__file__).parent / "standins"   # a stand-in google.colab for the kernel's sys.path

_LINE_SHELL = re.compile(r"^(?P<indent>[ \t]*)(?P<target>[A-Za-z_][\w, ]*=\s*)?(?P<cmd>!.*|%(?:pip|conda|sx|system)\b.*)$")
_CELL_SHELL = re.compile(r"^\s*%%(?:bash|sh|script|system|sx)\b")
_NOTE = "print('[grader] skipped at grading (no shell, no network): ' + {command!r})"


def neutralise(source: str) -> tuple[str, list[str]]:
    """The cell's source with shell escapes replaced by a printed note, and the commands skipped."""
    if _CELL_SHELL.match(source):
        first = source.strip().splitlines()[0]
        return _NOTE.format(command=first), [first]
    skipped, lines = [], []
    for line in source.splitlines():
        match = _LINE_SHELL.match(line)
        if match is None:
            lines.append(line)
            continue
        command = match["cmd"].strip()
        skipped.append(command)
        note = _NOTE.format(command=command)
        if match["target"]:  # `files = !ls`: the name must still exist afterwards
            note = f"{match['target'].strip()} []; {note}"
        lines.append(match["indent"] + note)
    return ("\n".join(lines), skipped) if skipped else (source, [])


def skipped_commands(cell_sources: list[str]) -> list[str]:
    return [command for source in cell_sources for command in neutralise(source)[1]]


_GPU_ERRORS = ("Torch not compiled with CUDA enabled", "Found no NVIDIA driver", "No CUDA GPUs are available",
               "Attempting to deserialize object on a CUDA device", "CUDA driver initialization failed",
               "no CUDA-capable device")


def diagnose(ename: str, evalue: str, number: int | str, traceback: str = "") -> Reason | None:
    """A specific reason for failures with a known cause, else None (the generic cell error stays).
    ``traceback``: the error's traceback text, where a download's target may show (no_network)."""
    if any(marker in evalue for marker in _GPU_ERRORS):
        return msg("habit_needs_gpu", number=number, evalue=evalue[:200])
    if ename in ("FileNotFoundError", "OSError") and ("/content/" in evalue or "MyDrive" in evalue):
        return msg("habit_colab_path", number=number, evalue=evalue[:200])
    if ename in ("ModuleNotFoundError", "ImportError"):
        return msg("habit_missing_module", number=number, evalue=evalue[:200])
    return no_network(ename, evalue, traceback, number)
