"""Where the in-kernel probe lives, for the host side that copies it; nothing here runs in a kernel.

``probe.py`` (with ``probe_keras.py``, ``probe_introspect.py``, ``probe_export.py`` and ``probe_calls.py``
appended: ``probe_source``) is the only code the grader puts inside a
student's kernel; it must stay free of grader imports, so this package file only names it and never imports
it. The host imports one function of it, ``translation_table``, so that probe and host decide alike which
numbering a model was fed (grader.checks.numbering).
"""
from __future__ import annotations

import hashlib
import types
from pathlib import Path

PROBE_PARTS = tuple(Path(__file__).with_name(name) for name in
                    ("probe.py", "probe_keras.py", "probe_introspect.py", "probe_export.py", "probe_calls.py"))


def probe_source() -> bytes:
    """The file the kernel runs: the parts joined, so that one hash seals all of it."""
    return b"\n\n".join(part.read_bytes() for part in PROBE_PARTS)


def probe_sha256() -> str:
    return hashlib.sha256(probe_source()).hexdigest()


def load_probe(name: str) -> types.ModuleType:
    """The probe as the kernel runs it, as a module of this process (self-check, mutants); loaded after torch
    (and Keras), so that it passes tensors."""
    module = types.ModuleType(name)
    module.__file__ = str(PROBE_PARTS[0])
    exec(compile(probe_source(), str(PROBE_PARTS[0]), "exec"), module.__dict__)
    return module
