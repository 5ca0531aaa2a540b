"""Copying what a run leaves out of its container through the Docker daemon, never through host paths.

The child writes the executed copy and its run record, and the probe its answers, into the container's
own volumes, which the notebook's processes can also write to (they run as the same user); the daemon
removes them with the container. So the host never opens those files itself: the daemon resolves each
fixed name inside the stopped container (a link planted there points into the container, never to
another student's folder on the host), and the tar it sends is read, never extracted: one regular file
with the expected name, size-capped, or a problem saying what was found. Nothing else comes out.

A daemon call costs some 50 ms (of its CPU too) and a run expects a dozen names, so a run's two folders come out as
one archive of their parent, read as a stream and never further than the expected names' caps allow. A name that is
anything but a regular file within its cap there is decided name by name instead; when the parent's archive cannot be
read that way (a folder holding more than a little else), each folder comes out as an archive of its own, under the
same rule.
"""
from __future__ import annotations

import io
import shutil
import tarfile
import tempfile
from pathlib import Path, PurePosixPath
from typing import Iterable

from grader.execution.safe_files import create_new, plain_name

# The child's files, and how large each may be.
RESULT_CAPS = (("executed.ipynb", 256 << 20), ("run.json", 64 << 10))
_TAR_SLACK = 1 << 20                 # headers and padding of a one-file tar
# A folder's archive is read whole only while what it holds besides the expected names is this little: a notebook
# that fills out/ with other files gets each expected name fetched by itself, the bytes it wrote never read.
_OTHER_BYTES, _OTHER_MEMBERS = 8 << 20, 256
# Go's os.FileMode type bits, as the daemon reports them in the archive's stat header.
_GO_TYPE_BITS = (1 << 31) | (1 << 27) | (1 << 26) | (1 << 25) | (1 << 24) | (1 << 21) | (1 << 19)


class ResultProblem(Exception):
    """A result file that is there but must not be used; ``str()`` names it and says why."""


def copy_files(container, inner_dir: str, dest_dir: Path, caps: Iterable[tuple[str, int]]) -> list[str]:
    """Copy each (name, cap) of ``caps`` from ``inner_dir`` in the container to ``dest_dir`` (which must
    not hold them yet). Missing files are left missing (the child may have died first); returns the
    problems of the files that were there but refused (a link, a folder, a fifo, too large, an odd
    archive)."""
    caps = [(plain_name(name), cap) for name, cap in caps]
    targets = {(name,): (dest_dir / name, cap) for name, cap in caps}
    try:
        undecided = _from_one_archive(container, inner_dir, targets)
    except _NameByName:
        undecided = set(targets)
    return _copy_each(container, inner_dir, dest_dir, [(name, cap) for name, cap in caps if (name,) in undecided])


def copy_folders(container, parent: str, folders: dict[str, tuple[Path, Iterable[tuple[str, int]]]]) -> dict[str, list[str]]:
    """``copy_files`` for each folder of ``folders`` (its name under ``parent``: its destination and caps), out of one
    archive of ``parent`` when it can be read that way (a run's two volumes: one daemon call, not two); else each
    folder by itself. Returns each folder's problems."""
    wanted = {plain_name(sub): (dest, [(plain_name(name), cap) for name, cap in caps])
              for sub, (dest, caps) in folders.items()}
    targets = {(sub, name): (dest / name, cap) for sub, (dest, caps) in wanted.items() for name, cap in caps}
    try:
        undecided = _from_one_archive(container, parent, targets)
    except _NameByName:
        return {sub: copy_files(container, f"{parent}/{sub}", dest, caps) for sub, (dest, caps) in wanted.items()}
    return {sub: _copy_each(container, f"{parent}/{sub}", dest, [(n, c) for n, c in caps if (sub, n) in undecided])
            for sub, (dest, caps) in wanted.items()}


class _NameByName(Exception):
    """The folder's archive is not to be read (too much else in it, unreadable): each name is fetched by itself."""


def _from_one_archive(container, inner_dir: str, targets: dict[tuple[str, ...], tuple[Path, int]]) -> set:
    """``_copy_archive``, with what it copied removed again when it gives up (everything is then decided anew)."""
    created: list[Path] = []
    try:
        return _copy_archive(container, inner_dir, targets, created)
    except _NameByName:
        for path in created:
            path.unlink(missing_ok=True)
        raise


def _copy_archive(container, inner_dir: str, targets: dict[tuple[str, ...], tuple[Path, int]],
                  created: list[Path]) -> set:
    """The expected files (each by its path below ``inner_dir``: its target and cap) that are regular files within
    their caps, copied out of one archive of ``inner_dir``; returns the paths found there as something else (a link,
    a hard link, a folder), to be decided name by name exactly as before. Raises ``_NameByName`` when every name must
    be: a name past its cap (its bytes are not read here), a name twice, too much else in the folder, an archive it
    cannot read."""
    # start-up: the docker SDK only when a container is started
    from docker.errors import NotFound

    try:
        stream, info = container.get_archive(inner_dir)
    except NotFound:
        return set()   # no folder, no files: each is missing
    undecided: set = set()
    other_bytes = other_members = 0
    budget = sum(cap for _, cap in targets.values()) + _TAR_SLACK * (len(targets) + 1) + _OTHER_BYTES
    try:
        if info.get("linkTarget") or not int(info.get("mode", 0)) & (1 << 31):   # Go's ModeDir
            raise _NameByName()
        root = PurePosixPath(inner_dir).name
        with tarfile.open(fileobj=io.BufferedReader(_Capped(stream, budget), 1 << 20), mode="r|") as tar:
            for member in tar:
                parts = PurePosixPath(member.name).parts
                key = parts[1:] if parts[:1] == (root,) else None
                if key not in targets:
                    other_bytes += member.size
                    other_members += 1
                    if other_bytes > _OTHER_BYTES or other_members > _OTHER_MEMBERS:
                        raise _NameByName()
                    continue
                target, cap = targets[key]
                if key in undecided or target in created or member.size > cap:
                    # twice in one archive, or too large (its bytes are not read): decided by itself
                    raise _NameByName()
                if not member.isreg():
                    undecided.add(key)
                    continue
                with create_new(target) as out:
                    created.append(target)
                    shutil.copyfileobj(tar.extractfile(member), out)
    except (tarfile.TarError, OSError, EOFError, ValueError) as err:
        raise _NameByName() from err
    finally:
        _close(stream)
    return undecided


class _Capped(io.RawIOBase):
    """The archive's stream (an iterator of chunks) as a file, read no further than ``budget`` bytes."""

    def __init__(self, stream, budget: int) -> None:
        self._chunks, self._left, self._chunk, self._at = iter(stream), budget, b"", 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while self._at >= len(self._chunk):
            self._chunk, self._at = next(self._chunks, b""), 0
            if not self._chunk:
                return 0
            self._left -= len(self._chunk)
            if self._left < 0:
                raise _NameByName()
        count = min(len(buffer), len(self._chunk) - self._at)
        buffer[:count] = self._chunk[self._at:self._at + count]
        self._at += count
        return count


def _copy_each(container, inner_dir: str, dest_dir: Path, caps: list[tuple[str, int]]) -> list[str]:
    """Each name by itself (names already checked plain by ``copy_files``)."""
    problems = []
    for name, cap in caps:
        try:
            _copy_one(container, str(PurePosixPath(inner_dir, name)), name, cap, dest_dir / name)
        except ResultProblem as err:
            problems.append(str(err))
    return problems


def _copy_one(container, inner_path: str, name: str, cap: int, dest: Path) -> None:
    # start-up: the docker SDK only when a container is started
    from docker.errors import NotFound

    try:
        stream, info = container.get_archive(inner_path)
    except NotFound:
        return
    try:
        _check_stat(name, info, cap)
        with tempfile.TemporaryFile(dir=dest.parent) as spool:
            _spool(stream, spool, name, cap + _TAR_SLACK)
            spool.seek(0)
            _extract_one(spool, name, cap, dest)
    finally:
        _close(stream)


def _close(stream) -> None:
    """End the daemon's answer: an archive refused or left unread is not read to its end."""
    close = getattr(stream, "close", None)
    if close is not None:
        close()


def _check_stat(name: str, info: dict, cap: int) -> None:
    mode = int(info.get("mode", 0))
    if info.get("linkTarget") or mode & _GO_TYPE_BITS:
        raise ResultProblem(f"{name} is not a regular file")
    if int(info.get("size", 0)) > cap:
        raise ResultProblem(f"{name} is larger than {cap >> 20 or 1} MB")


def _spool(stream, spool, name: str, limit: int) -> None:
    written = 0
    for chunk in stream:
        written += len(chunk)
        if written > limit:
            raise ResultProblem(f"{name} is larger than allowed")
        spool.write(chunk)


def _extract_one(spool, name: str, cap: int, dest: Path) -> None:
    """Exactly one regular member called ``name``; its bytes go to a new file at ``dest``."""
    try:
        with tarfile.open(fileobj=spool, mode="r:") as tar:
            member = tar.next()
            if member is None or member.name != name or not member.isreg():
                raise ResultProblem(f"{name} is not a regular file")
            if member.size > cap:
                raise ResultProblem(f"{name} is larger than {cap >> 20 or 1} MB")
            source = tar.extractfile(member)
            with create_new(dest) as target:
                shutil.copyfileobj(source, target)
            if tar.next() is not None:
                dest.unlink()
                raise ResultProblem(f"{name} came with other files")
    except tarfile.TarError as err:
        raise ResultProblem(f"{name} could not be read from the container ({err})") from None
