"""The post-condition of every run, under every runner: the host's run folder holds only what the host
made for the checks (the executed copy, the run record, the log, ``out/`` with the expected names as
plain regular files). Anything else (a run folder, a setuid/setgid file, a device, a link) is removed
and named in ``RunResult.leftovers``, which the evaluation turns into a note for a person.

It never walks a folder recursively: it lists the run folder and ``out/`` only (both bounded), and
removes with safe_files.remove (iterative, bounded, never through a link).
"""
from __future__ import annotations

import os
import stat
from dataclasses import replace
from pathlib import Path
from typing import Iterable

from grader.execution.base import RunRequest
from grader.execution.safe_files import UnsafeFile, remove
from grader.records import RunResult

KEPT_FILES = frozenset({"executed.ipynb", "run.json", "runner.log"})   # what a run leaves in work_dir
_LISTED = 1000            # entries of one folder looked at: far more than a run leaves
_SETID = stat.S_ISUID | stat.S_ISGID


def discard(work_dir: Path, names: Iterable[str]) -> None:
    """Remove these entries of the run folder, as far as the bounded removal goes: what stays is found
    and reported by ``settled``, never raised here (the run's outcome stands)."""
    for name in names:
        try:
            remove(work_dir / name)
        except (OSError, UnsafeFile):
            pass


def settled(request: RunRequest, result: RunResult) -> RunResult:
    """``result`` with whatever broke the post-condition added to its leftovers (and removed)."""
    return noted(result, leftovers(request))


def noted(result: RunResult, found: Iterable[str]) -> RunResult:
    """``result`` with these leftovers added."""
    found = tuple(found)
    return replace(result, leftovers=result.leftovers + found) if found else result


def leftovers(request: RunRequest) -> list[str]:
    """Short phrases naming what the run folder holds beyond what the host made; each is removed, and
    one that cannot be is said so."""
    work = Path(request.work_dir)
    probe = Path(request.probe_dir)
    own_probe = os.path.abspath(probe.parent) == os.path.abspath(work)   # the caller's, removed by it
    outputs = {name for name, _ in request.expected_outputs}
    found = []
    entries, more = _listing(work)
    for name, mode in entries:
        if name in KEPT_FILES and _plain(mode):
            continue
        if own_probe and name == probe.name and stat.S_ISDIR(mode):
            continue
        if name == request.out_dir.name and stat.S_ISDIR(mode):
            inner, inner_more = _listing(work / name)
            found += [_gone(work / name / n, f"{name}/{n}", m) for n, m in inner if not (n in outputs and _plain(m))]
            if inner_more:
                found.append(f"{name}/: more than {_LISTED} entries")
            continue
        found.append(_gone(work / name, name, mode))
    if more:
        found.append(f"more than {_LISTED} entries")
    return found


def _listing(folder: Path) -> tuple[list[tuple[str, int]], bool]:
    """(name, lstat mode) of up to _LISTED entries, and whether there were more; none when absent."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return [], False
    entries = []
    try:
        with os.scandir(fd) as listing:
            for entry in listing:
                if len(entries) == _LISTED:
                    return entries, True
                entries.append((entry.name, entry.stat(follow_symlinks=False).st_mode))
    finally:
        os.close(fd)
    return entries, False


def _plain(mode: int) -> bool:
    return stat.S_ISREG(mode) and not mode & _SETID


def _gone(path: Path, shown: str, mode: int) -> str:
    """The phrase for one leftover, after trying to remove it."""
    phrase = f"{shown} ({_kind(mode)})"
    try:
        remove(path)
    except (OSError, UnsafeFile) as err:
        return f"{phrase}, not removed: {err}"
    return phrase


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISLNK(mode):
        return "a link"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if mode & _SETID:
        return "setuid/setgid"
    return "a file the run should not leave" if stat.S_ISREG(mode) else "not a regular file"
