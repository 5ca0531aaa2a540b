"""Copying what a run leaves out of its container through the Docker daemon, never through host paths.

The child writes the executed copy and its run record, and the probe its answers, into the container's
own volumes, which the notebook's processes can also write to (they run as the same user); the daemon
removes them with the container. So the host never opens those files itself: the daemon resolves each
fixed name inside the stopped container (a link planted there points into the container, never to
another student's folder on the host), and the tar it sends is read, never extracted: one regular file
with the expected name, size-capped, or a problem saying what was found. Nothing else comes out.
"""
from __future__ import annotations

import shutil
import tarfile
import tempfile
from pathlib import Path, PurePosixPath
from typing import Iterable

from grader.execution.safe_files import create_new, plain_name

# The child's files, and how large each may be.
RESULT_CAPS = (("executed.ipynb", 256 << 20), ("run.json", 64 << 10))
_TAR_SLACK = 1 << 20                 # headers and padding of a one-file tar
# Go's os.FileMode type bits, as the daemon reports them in the archive's stat header.
_GO_TYPE_BITS = (1 << 31) | (1 << 27) | (1 << 26) | (1 << 25) | (1 << 24) | (1 << 21) | (1 << 19)


class ResultProblem(Exception):
    """A result file that is there but must not be used; ``str()`` names it and says why."""


def copy_files(container, inner_dir: str, dest_dir: Path, caps: Iterable[tuple[str, int]]) -> list[str]:
    """Copy each (name, cap) of ``caps`` from ``inner_dir`` in the container to ``dest_dir`` (which must
    not hold them yet). Missing files are left missing (the child may have died first); returns the
    problems of the files that were there but refused (a link, a folder, a fifo, too large, an odd
    archive)."""
    problems = []
    for name, cap in caps:
        try:
            _copy_one(container, str(PurePosixPath(inner_dir, plain_name(name))), name, cap, dest_dir / name)
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
        close = getattr(stream, "close", None)
        if close is not None:
            close()   # a refused file's stream is not read to its end


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
