"""Where the in-kernel probe lives, for the host side that copies it; nothing here runs in a kernel.

``probe.py`` is the only code the grader puts inside a student's kernel; it must stay free of
grader imports, so this package file only names it and never imports it. The host imports one
function of it, ``translation_table``, so that probe and host decide alike which numbering a model
was fed (grader.checks.numbering).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

PROBE_SOURCE = Path(__file__).with_name("probe.py")


def probe_sha256() -> str:
    return hashlib.sha256(PROBE_SOURCE.read_bytes()).hexdigest()
