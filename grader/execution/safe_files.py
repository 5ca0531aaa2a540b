"""Files in folders a notebook could write to, handled without trusting them.

A notebook's processes can plant links, fifos and setuid files wherever they may write. The host reads
such files only as regular files opened with ``O_NOFOLLOW``, creates its own files there only new
(``O_EXCL``, never through a link), and removes or defuses whatever is left after a run.
"""
from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

_SETID = stat.S_ISUID | stat.S_ISGID


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


def remove(path: Path) -> None:
    """Remove a file, a link (not what it points to) or a whole tree; nothing there is fine."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if stat.S_ISDIR(mode):
        shutil.rmtree(path)   # fd-based on Linux: a link inside is removed, never followed
    else:
        path.unlink()


def strip_setid(root: Path) -> int:
    """Clear setuid/setgid bits on everything under ``root`` (links are not followed); returns how many.

    A setuid file written from a container keeps its bit on the host's own mount of the folder, where
    ``nosuid`` of the container's mount does not reach."""
    try:
        if not stat.S_ISDIR(root.lstat().st_mode):
            return 0
    except FileNotFoundError:
        return 0
    cleared = 0
    for _, dirs, files, dir_fd in os.fwalk(root, follow_symlinks=False):
        cleared += _clear_setid(".", dir_fd)   # each folder once, when fwalk enters it
        for name in files:                      # links to folders come as files too: not followed
            cleared += _clear_setid(name, dir_fd)
    return cleared


def _clear_setid(name: str, dir_fd: int) -> int:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return 0   # a link (ELOOP) or something that cannot be opened: no bit of its own that matters
    try:
        mode = os.fstat(fd).st_mode
        if not mode & _SETID or not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            return 0
        os.fchmod(fd, stat.S_IMODE(mode) & ~_SETID)
        return 1
    finally:
        os.close(fd)
