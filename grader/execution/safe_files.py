"""Files in folders a notebook could write to, handled without trusting them.

A notebook's processes can plant links, fifos and setuid files wherever they may write. The host reads
such files only as regular files opened with ``O_NOFOLLOW``, creates its own files there only new
(``O_EXCL``, never through a link), copies out only named regular files within a cap, and removes what
is left without recursion and within a bound. It never walks such a folder recursively.
"""
from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path
from typing import Iterable

# Entries one removal may take before it gives up: a bound on the time the host spends on one run's
# leftovers (a local run's scratch), far above what a practical writes.
MAX_REMOVED = 1_000_000


class UnsafeFile(Exception):
    """A file that must not be used; ``str()`` is a short technical phrase naming it."""


def read_regular(path: Path, cap: int) -> bytes:
    """The bytes of ``path`` when it is a regular file of at most ``cap`` bytes; a link, a fifo or a
    device is refused without being followed or opened for real (a fifo would block the grader)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise
    except OSError as err:  # ELOOP: the last part is a link
        raise UnsafeFile(f"{path.name} is not a regular file ({err.strerror})") from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeFile(f"{path.name} is not a regular file")
        data = fh.read(cap + 1)
    if len(data) > cap:
        raise UnsafeFile(f"{path.name} is larger than {cap} bytes")
    return data


def kind_of(path: Path) -> str | None:
    """None when ``path`` is absent or a regular file; otherwise what it is (a link is never followed)."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISREG(mode):
        return None
    return "a symbolic link" if stat.S_ISLNK(mode) else "not a regular file"


def create_new(path: Path, mode: int = 0o600):
    """A binary file object for a file that did not exist: never writes through a planted link."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    return os.fdopen(fd, "wb")


def fresh_dir(path: Path, mode: int = 0o755) -> None:
    """``path`` as a new, empty directory: whatever stood there (a link, a file, an old tree) is removed,
    never followed."""
    remove(path)
    path.mkdir(mode=mode)
    os.chmod(path, mode)   # mkdir's mode passes through the umask


def private_dir(path: Path) -> None:
    """``path`` (and missing parents) as a directory only the grader's user may enter (0700)."""
    path.mkdir(parents=True, exist_ok=True)
    if path.is_symlink() or not path.is_dir():
        raise UnsafeFile(f"{path} is not a directory")
    os.chmod(path, 0o700)


def remove(path: Path, max_entries: int = MAX_REMOVED) -> None:
    """Remove a file, a link (not what it points to) or a whole tree; nothing there is fine.

    Iterative, with one folder open at a time (a folder is left through its ``..``, checked to be the one
    it was entered from): no depth of nesting exhausts the stack or the file descriptors, and no link is
    followed. A folder of the grader's user that the notebook closed (mode 0) is opened again. Past
    ``max_entries`` removed entries, or at a mount point, UnsafeFile: what is left stays (the run's
    post-condition reports it)."""
    try:
        parent = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    try:
        _remove_at(parent, path.name, max_entries)
    finally:
        os.close(parent)


def _remove_at(parent: int, name: str, budget: int) -> None:
    try:
        info = os.stat(name, dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(info.st_mode):
        os.unlink(name, dir_fd=parent)
        return
    device = info.st_dev
    chain = [(name, (info.st_dev, info.st_ino))]   # the folders entered, from the top down
    fd = _enter(parent, name)
    try:
        while chain:
            child, budget = _clear_files(fd, budget)
            if child is not None:
                child_info = os.stat(child, dir_fd=fd, follow_symlinks=False)
                if child_info.st_dev != device:
                    raise UnsafeFile(f"{child} is a mount point")
                inner = _enter(fd, child)
                os.close(fd)
                fd = inner
                chain.append((child, (child_info.st_dev, child_info.st_ino)))
                continue
            done, _ = chain.pop()
            up = parent if not chain else _leave(fd, chain[-1][1])
            os.close(fd)
            fd = up
            os.rmdir(done, dir_fd=up)
    finally:
        if fd != parent:
            os.close(fd)


def _clear_files(fd: int, budget: int) -> tuple[str | None, int]:
    """Unlink every entry of the folder ``fd`` that is not a folder, until its first folder, whose name
    comes back (None: the folder is empty now); and the budget left."""
    while True:
        unlinked = 0
        with os.scandir(fd) as entries:
            for entry in entries:
                budget -= 1
                if budget < 0:
                    raise UnsafeFile("too many entries to remove (the limit of one removal)")
                if entry.is_dir(follow_symlinks=False):
                    return entry.name, budget
                _unlink(fd, entry.name)
                unlinked += 1
        if not unlinked:   # a pass that removed nothing saw an empty folder
            return None, budget


def _unlink(fd: int, name: str) -> None:
    try:
        os.unlink(name, dir_fd=fd)
    except PermissionError:   # the notebook took the write bit of its own folder away
        os.fchmod(fd, 0o700)
        os.unlink(name, dir_fd=fd)


def _enter(parent: int, name: str) -> int:
    """The folder ``name`` in ``parent``, opened without following a link, writable and searchable."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(name, flags, dir_fd=parent)
    except PermissionError:
        # a folder of mode 0: chmod through the very inode opened without following (O_PATH), never a path
        handle = os.open(name, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
        try:
            os.chmod(f"/proc/self/fd/{handle}", 0o700)
        finally:
            os.close(handle)
        fd = os.open(name, flags, dir_fd=parent)
    if stat.S_IMODE(os.fstat(fd).st_mode) & 0o700 != 0o700:
        os.fchmod(fd, 0o700)
    return fd


def _leave(fd: int, expected: tuple[int, int]) -> int:
    """The folder above ``fd``, when it is still the one entered (nothing moved the tree meanwhile)."""
    up = os.open("..", os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
    info = os.fstat(up)
    if (info.st_dev, info.st_ino) != expected:
        os.close(up)
        raise UnsafeFile("a folder was moved while it was being removed")
    return up


def copy_out(source: Path, dest: Path, caps: Iterable[tuple[str, int]]) -> list[str]:
    """Copy each named file of ``source`` (a folder a notebook wrote) that is a regular file within its
    cap into ``dest`` as a new file of the grader's (mode 0600: no setuid bit comes along); a missing
    name is left missing. Returns what was refused and why; nothing is followed through a link, the
    folder itself included."""
    try:
        folder = os.open(source, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return []
    except OSError as err:
        return [f"{source.name} is not a folder ({err.strerror})"]
    problems = []
    try:
        for name, cap in caps:
            try:
                _copy_one(folder, plain_name(name), cap, dest / name)
            except UnsafeFile as err:
                problems.append(str(err))
    finally:
        os.close(folder)
    return problems


def _copy_one(folder: int, name: str, cap: int, dest: Path) -> None:
    try:
        # looked at before it is opened: a device is never opened (that alone may act), a link never followed
        if not stat.S_ISREG(os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode):
            raise UnsafeFile(f"{name} is not a regular file")
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=folder)
    except FileNotFoundError:
        return
    except OSError as err:   # ELOOP: it became a link meanwhile
        raise UnsafeFile(f"{name} is not a regular file ({err.strerror})") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_size > cap:
        os.close(fd)
        raise UnsafeFile(f"{name} is not a regular file" if not stat.S_ISREG(info.st_mode)
                         else f"{name} is larger than {cap} bytes")
    with os.fdopen(fd, "rb") as source:
        with create_new(dest) as target:
            shutil.copyfileobj(_Capped(source, cap + 1), target)
            copied = target.tell()
    if copied > cap:   # it grew after the check
        dest.unlink()
        raise UnsafeFile(f"{name} is larger than {cap} bytes")


class _Capped:
    """A reader that ends after ``cap`` bytes, whatever the file holds by then."""

    def __init__(self, fh, cap: int) -> None:
        self.fh, self.left = fh, cap

    def read(self, size: int = -1) -> bytes:
        size = self.left if size < 0 else min(size, self.left)
        data = self.fh.read(size) if size else b""
        self.left -= len(data)
        return data


def plain_name(name: str) -> str:
    """``name`` when it names a file in a folder, never a path (no separator, no "..")."""
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        raise ValueError(f"not a plain file name: {name!r}")
    return name
