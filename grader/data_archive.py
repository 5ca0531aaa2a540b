"""The course's published data file (a zip such as data.zip): find one practical's student files in it and
unpack them, and only them, into the folder the template reads.

The zip may hold the files at any depth (``data/mnist/...``, ``mnist/...`` or at its root). Unpacking never
writes outside the destination: no ``..``, no absolute names, no links, sizes capped on the bytes read.
"""
from __future__ import annotations

import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from grader.errors import GraderError
from grader.i18n import msg

MAX_FILE_BYTES = 2 << 30      # one weights file is tens of MB; a course data file is not gigabytes
MAX_TOTAL_BYTES = 4 << 30
_CHUNK = 1 << 20
_SKIPPED = {"__MACOSX"}


def is_archive(path: Path) -> bool:
    return Path(path).is_file() and zipfile.is_zipfile(path)


def unpack_practical(archive: Path, practical: str, wanted: tuple[str, ...], dest: Path) -> Path:
    """Unpack the entries ``wanted`` (files or folders, as ``student_files`` lists them) from the one folder of
    ``archive`` that holds them all into ``dest`` (replaced); GraderError, with a student Reason, when the
    archive cannot be read or does not hold them."""
    archive, dest = Path(archive), Path(dest)
    try:
        with zipfile.ZipFile(archive) as zf:
            files = {info.filename: info for info in zf.infolist() if not info.is_dir() and not _skipped(info.filename)}
            prefix = _prefix_holding(set(files), wanted)
            if prefix is None:
                raise GraderError(f"{archive}: no folder holds {', '.join(wanted)}", reason=msg(
                    "student_data_not_in_archive", archive=archive.name, practical=practical, files=", ".join(wanted)))
            chosen = [info for name, info in sorted(files.items()) if _under(name, prefix, wanted)]
            scratch = dest.with_name(f".{dest.name}.partial")
            shutil.rmtree(scratch, ignore_errors=True)
            try:
                _extract(zf, chosen, prefix, scratch, archive)
            except BaseException:
                shutil.rmtree(scratch, ignore_errors=True)
                raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError, NotImplementedError) as err:
        raise GraderError(f"{archive}: cannot be read as a zip ({err})",
                          reason=msg("student_data_archive_unreadable", archive=archive.name, detail=str(err))) from None
    shutil.rmtree(dest, ignore_errors=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    scratch.replace(dest)
    return dest


def _skipped(name: str) -> bool:
    return any(part in _SKIPPED for part in name.split("/"))


def _prefix_holding(names: set[str], wanted: tuple[str, ...]) -> str | None:
    """The shortest folder ("" or "a/b/") under which every wanted entry lies, as a file or a folder."""
    folders = {""} | {"/".join(name.split("/")[:depth]) + "/" for name in names
                      for depth in range(1, name.count("/") + 1)}
    for prefix in sorted(folders, key=lambda p: (p.count("/"), p)):
        if all(prefix + w in names or any(n.startswith(prefix + w + "/") for n in names) for w in wanted):
            return prefix
    return None


def _under(name: str, prefix: str, wanted: tuple[str, ...]) -> bool:
    return any(name == prefix + w or name.startswith(prefix + w + "/") for w in wanted)


def _extract(zf: zipfile.ZipFile, chosen: list[zipfile.ZipInfo], prefix: str, scratch: Path, archive: Path) -> None:
    total = 0
    for info in chosen:
        relative = PurePosixPath(info.filename[len(prefix):])
        if (stat.S_ISLNK(info.external_attr >> 16) or relative.is_absolute() or ".." in relative.parts
                or "\\" in info.filename):
            raise GraderError(f"{archive}: {info.filename}: a link or a path outside its folder, not unpacked",
                              reason=msg("student_data_archive_unsafe", archive=archive.name, entry=info.filename))
        target = scratch.joinpath(*relative.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with zf.open(info) as source, target.open("wb") as out:
            while chunk := source.read(_CHUNK):
                written += len(chunk)
                total += len(chunk)
                if written > MAX_FILE_BYTES or total > MAX_TOTAL_BYTES:
                    raise GraderError(f"{archive}: {info.filename}: larger than a course data file can be",
                                      reason=msg("student_data_archive_unsafe", archive=archive.name,
                                                 entry=info.filename))
                out.write(chunk)
