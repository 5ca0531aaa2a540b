"""Finding processes in Linux /proc: by a variable in their environment (what a killed batch left), and by
descent (everything a fork server's runs started, however it moved its session or process group).

It only reads /proc; the callers decide what to stop.
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


def live_descendants(root: int) -> list[int]:
    """Live (non-zombie) processes descended from ``root``, parents before their children. /proc/<pid>/stat is
    readable for every process of the machine, including those that made themselves non-dumpable."""
    children: dict[int, list[int]] = {}
    live: set[int] = set()
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for name in entries:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) < 2:
            continue
        children.setdefault(int(fields[1]), []).append(int(name))
        if fields[0] not in (b"Z", b"X"):
            live.add(int(name))
    found, todo = [], list(children.get(root, ()))
    while todo:
        pid = todo.pop(0)
        if pid in live:
            found.append(pid)
        todo.extend(children.get(pid, ()))
    return found
