"""Finding processes by a variable in their environment (Linux /proc), for killing what a run left.

A kernel starts in a session of its own, so process groups alone cannot find it: the runners mark
every process they start with an environment variable, and this finds them again.
"""
from __future__ import annotations

import os
from pathlib import Path


def processes_with_env(name: str, value: str) -> list[int]:
    """Live (non-zombie) processes, other than this one, whose environment holds ``name=value``."""
    needle = f"{name}={value}".encode()
    found: list[int] = []
    proc_root = Path("/proc")
    if not proc_root.is_dir():
        return found
    for entry in proc_root.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0") and not is_zombie(entry):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def is_zombie(entry: Path) -> bool:
    """A process that has exited and waits to be reaped: nothing left to stop."""
    stat = (entry / "stat").read_text()
    return stat[stat.rfind(")") + 2:].startswith(("Z", "X"))
