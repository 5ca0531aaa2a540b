"""Intake: an LMS's "download all submissions" archives and folders -> one Submission per participant.

Extraction is the only writing done, and never outside ``extract_to``: no "..", no absolute
paths, no links, sizes counted on the bytes actually streamed. It never writes under a name a
student's file may have: bytes arrive in a temporary file of the extraction root named with a
leading dot, which no participant's folder has. A bad source or entry is a problem line; the other
sources and entries are still read. Entry names are the course's LMS's to understand (grader/lms/base.py:
``entry_name``); a source outside its layout names participants by their folders or notebooks.
"""
from __future__ import annotations

import hashlib
import os
import re
import stat
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Callable, Iterable, Iterator

from grader.i18n import msg
from grader.lms.base import EntryName, Lms
from grader.lms.registry import DEFAULT_LMS, lms_class
from grader.records import Reason, Submission

SKIPPED_FOLDERS = {"__MACOSX", ".ipynb_checkpoints"}
SKIPPED_FILES = {".DS_Store", "Thumbs.db", "desktop.ini"}
_CHUNK = 1 << 16
_PARTIAL = ".partial-"   # prefix of the extractor's temporary files, in the extraction root only
_UTF8_FLAG = 0x800


@dataclass(frozen=True)
class Intake:
    submissions: list[Submission]   # one per participant N (files of one student merged)
    problems: list[str]             # instructor-facing one-liners: "<file>: <problem>"


@dataclass(frozen=True)
class _Entry:
    """One file offered by a source, before anything is written."""

    name: str                           # posix path inside the source
    open: Callable[[], IO[bytes]]
    link: bool = False


@dataclass
class _Pending:
    participant: str
    full_name: str
    group: str | None
    sources: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    notes: list[Reason] = field(default_factory=list)


class _Extractor:
    """Writes entries under one root, counting real bytes against the caps."""

    def __init__(self, root: Path, max_total: int, max_file: int) -> None:
        self.root, self.max_total, self.max_file = root.resolve(), max_total, max_file
        self.total = 0
        self.exhausted = False

    def write(self, stream: IO[bytes], relpath: PurePosixPath) -> tuple[Path | None, str | None]:
        """(path written, None) or (None, why not); an identical file already there is reused."""
        dest = self.root.joinpath(*relpath.parts)
        if not dest.resolve().is_relative_to(self.root):
            return None, "outside"
        dest.parent.mkdir(parents=True, exist_ok=True)
        # a new file of a name no student's file can have (see _folder_for): never one beside ``dest``
        fd, name = tempfile.mkstemp(dir=self.root, prefix=_PARTIAL)
        part = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                written = self._stream(stream, out)
        except BaseException:
            part.unlink(missing_ok=True)   # a corrupt entry leaves nothing half-written
            raise
        if written is None:
            part.unlink()
            return None, "total" if self.exhausted else "file"
        self.total += written
        return _place(part, dest), None

    def _stream(self, stream: IO[bytes], out: IO[bytes]) -> int | None:
        """Bytes copied, or None as soon as a cap is passed (counted on what arrives, not on headers)."""
        written = 0
        while chunk := stream.read(_CHUNK):
            written += len(chunk)
            if written > self.max_file:
                return None
            if self.total + written > self.max_total:
                self.exhausted = True
                return None
            out.write(chunk)
        return written


def _place(part: Path, dest: Path) -> Path:
    """Move a finished file into place; a different file of the same name gets " (2)"."""
    candidate, counter = dest, 1
    while candidate.exists():
        if _sha256(candidate) == _sha256(part):
            part.unlink()
            return candidate
        counter += 1
        candidate = dest.with_name(f"{dest.stem} ({counter}){dest.suffix}")
    part.rename(candidate)
    return candidate


def collect(practical: str, sources: list[Path], extract_to: Path, *, max_total_bytes: int = 2_000_000_000,
            max_file_bytes: int = 200_000_000, groups: Iterable[str] | None = None,
            lms: type[Lms] | Lms | None = None) -> Intake:
    """Read every source into ``extract_to/<participant>/``; see the module docstring for the rules.

    ``groups``: team names when known; inferred otherwise. ``lms``: whose entry names the archives hold (the
    course's adapter; the default LMS when not given).
    """
    lms = lms or lms_class(DEFAULT_LMS)
    extract_to = Path(extract_to)
    groups = frozenset(groups) if groups is not None else None
    extract_to.mkdir(parents=True, exist_ok=True)
    extractor = _Extractor(extract_to, max_total_bytes, max_file_bytes)
    pending: dict[str, _Pending] = {}
    problems: list[str] = []
    for source in map(Path, sources):
        _read_source(source, extractor, pending, problems, groups, lms)
    submissions = [_finish(practical, p, extractor, problems) for p in pending.values()]
    submissions.sort(key=lambda s: (not s.participant.isdigit(), s.participant.zfill(20)))
    return Intake(submissions=submissions, problems=problems)


def _read_source(source: Path, extractor: _Extractor, pending: dict[str, _Pending], problems: list[str],
                 groups: Iterable[str] | None, lms: type[Lms] | Lms) -> None:
    if not source.exists():
        problems.append(f"{source}: does not exist")
    elif source.is_dir():
        entries = list(_folder_entries(source, problems))
        # A folder of downloaded archives: read each archive as a source of its own.
        for entry in [e for e in entries if "/" not in e.name and e.name.lower().endswith(".zip")]:
            entries.remove(entry)
            _read_source(source / entry.name, extractor, pending, problems, groups, lms)
        _ingest(str(source), entries, extractor, pending, problems, groups, lms)
    elif source.suffix.lower() == ".ipynb":
        # a loose notebook (``grader grade --practical ID a.ipynb``): one submission, named by its stem
        entry = _Entry(name=source.name, open=lambda: source.open("rb"), link=source.is_symlink())
        _ingest(str(source.parent), [entry], extractor, pending, problems, groups, lms)
    elif not zipfile.is_zipfile(source):
        problems.append(f"{source}: not a zip archive, a notebook or a folder")
    else:
        try:
            with zipfile.ZipFile(source) as archive:
                _ingest(str(source), list(_zip_entries(archive)), extractor, pending, problems, groups, lms)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            problems.append(f"{source}: corrupt zip archive ({exc})")


def _zip_entries(archive: zipfile.ZipFile) -> Iterator[_Entry]:
    for info in archive.infolist():
        if info.is_dir():
            continue
        mode = info.external_attr >> 16
        yield _Entry(name=_decoded_name(info), open=lambda info=info: archive.open(info),
                     link=stat.S_ISLNK(mode))


def _decoded_name(info: zipfile.ZipInfo) -> str:
    """LMSs write UTF-8 names (Moodle does); zipfile decodes unflagged names as cp437, so try UTF-8 first."""
    if info.flag_bits & _UTF8_FLAG:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def _folder_entries(folder: Path, problems: list[str]) -> Iterator[_Entry]:
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        base = Path(dirpath)
        for name in sorted(dirnames):
            if (base / name).is_symlink():
                problems.append(f"{base / name}: a link, not followed")
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_FOLDERS and not (base / d).is_symlink())
        for name in sorted(filenames):
            path = base / name
            yield _Entry(name=path.relative_to(folder).as_posix(), open=lambda p=path: p.open("rb"),
                         link=path.is_symlink())


def _unsafe(name: str) -> bool:
    name = name.replace("\\", "/")
    parts = PurePosixPath(name).parts
    return (name.startswith("/") or re.match(r"^[A-Za-z]:", name) is not None or ".." in parts
            or "\x00" in name)


def _skipped(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return any(p in SKIPPED_FOLDERS for p in parts) or parts[-1] in SKIPPED_FILES


def _ingest(label: str, entries: list[_Entry], extractor: _Extractor, pending: dict[str, _Pending],
            problems: list[str], groups: Iterable[str] | None, lms: type[Lms] | Lms) -> None:
    entries = [e for e in entries if not _skipped(e.name)]
    parsed = {e.name: lms.entry_name(e.name, ()) for e in entries}
    laid_out = any(parsed.values())   # in the LMS's layout
    if laid_out and groups is None:
        prefixes = [(_prefix_of(e), e.participant) for e in parsed.values() if e]
        groups = lms.infer_groups(prefixes)
    elif not laid_out and entries:
        problems.append(f"{label}: not a {lms.title} archive layout; participants taken from file or folder names")
    for entry in entries:
        if extractor.exhausted:
            problems.append(f"{label}: total size limit of {extractor.max_total} bytes reached; "
                            f"{entry.name} and the rest not extracted")
            return
        if entry.link or _unsafe(entry.name):
            problems.append(f"{label}: {entry.name}: refused ({'a link' if entry.link else 'unsafe path'})")
            continue
        who = lms.entry_name(entry.name, groups) if laid_out else _free_name(entry.name)
        if who is None or not who.relpath:
            why = f"not a {lms.title} submission entry" if laid_out else "not a notebook nor in a student's folder"
            problems.append(f"{label}: {entry.name}: {why}; ignored")
            continue
        _extract(label, entry, who, extractor, pending, problems, from_name=None if laid_out else lms.title)


def _prefix_of(name: EntryName) -> str:
    return f"{name.group}-{name.full_name}" if name.group else name.full_name


def _free_name(name: str) -> EntryName | None:
    """Outside the LMS's layout: a top folder is a student, else a notebook's stem is."""
    path = PurePosixPath(name.replace("\\", "/"))
    if len(path.parts) > 1:
        who, relpath = path.parts[0], PurePosixPath(*path.parts[1:]).as_posix()
    elif path.suffix.lower() == ".ipynb":
        who, relpath = path.stem, path.name
    else:
        return None
    return EntryName(full_name=who, participant=who, group=None, relpath=relpath, blind=False)


def _extract(label: str, entry: _Entry, who: EntryName, extractor: _Extractor,
             pending: dict[str, _Pending], problems: list[str], *, from_name: str | None) -> None:
    """``from_name``: the LMS whose layout the source is not in (its participants are named by their files)."""
    item = pending.get(who.participant)
    if item is None:
        item = pending[who.participant] = _Pending(who.participant, who.full_name, who.group)
        if from_name:
            item.notes.append(msg("intake_participant_from_name", name=who.participant, lms=from_name))
    if label not in item.sources:
        item.sources.append(label)
    relpath = PurePosixPath(_folder_for(who.participant), who.relpath)
    try:
        with entry.open() as stream:
            path, refused = extractor.write(stream, relpath)
    except (zipfile.BadZipFile, zlib.error, RuntimeError, EOFError, OSError, NotImplementedError) as exc:
        problems.append(f"{label}: {entry.name}: cannot be read ({exc})")
        item.notes.append(msg("intake_file_unreadable", file=who.relpath))
        return
    if path is not None:
        item.files.append(path)
    elif refused == "file":
        problems.append(f"{label}: {entry.name}: larger than {extractor.max_file} bytes; not extracted")
        item.notes.append(msg("intake_file_too_large", file=who.relpath, limit=extractor.max_file))
    elif refused == "total":
        problems.append(f"{label}: total size limit of {extractor.max_total} bytes reached at {entry.name}")
        item.notes.append(msg("intake_file_too_large", file=who.relpath, limit=extractor.max_total))
    else:
        problems.append(f"{label}: {entry.name}: refused (would land outside the extraction folder)")


def _folder_for(participant: str) -> str:
    """The participant's folder under the extraction root: never starting with a dot, which the
    extractor's temporary files keep for themselves."""
    safe = re.sub(r"[^\w.\- ]", "_", participant).strip(" .")
    return safe or "_"


def _finish(practical: str, item: _Pending, extractor: _Extractor, problems: list[str]) -> Submission:
    base = extractor.root / _folder_for(item.participant)
    notebooks = [f for f in item.files if f.suffix.lower() == ".ipynb"]
    if not notebooks:
        _open_nested_zips(item, base, extractor, problems)
    notebook, notes = choose_notebook(practical, item.files, base)
    return Submission(
        practical=practical, participant=item.participant, full_name=item.full_name,
        source="; ".join(item.sources), files=tuple(sorted(item.files)), notebook=notebook,
        sha256=_sha256(notebook) if notebook else None, group=item.group,
        notes=tuple(item.notes + notes),
    )


def _open_nested_zips(item: _Pending, base: Path, extractor: _Extractor, problems: list[str]) -> None:
    """A student who zipped the notebook: extract their zip (one level) next to it."""
    for archive_path in [f for f in item.files if f.suffix.lower() == ".zip"]:
        label = str(archive_path)
        inner_root = archive_path.relative_to(extractor.root).with_suffix("")
        try:
            with zipfile.ZipFile(archive_path) as archive:
                for entry in _zip_entries(archive):
                    if _skipped(entry.name):
                        continue
                    if entry.link or _unsafe(entry.name) or extractor.exhausted:
                        problems.append(f"{label}: {entry.name}: refused (link, unsafe path or size limit)")
                        continue
                    with entry.open() as stream:
                        path, _ = extractor.write(stream, PurePosixPath(inner_root.as_posix(), entry.name))
                    if path is not None:
                        item.files.append(path)
        except (zipfile.BadZipFile, zlib.error, RuntimeError, EOFError, OSError, NotImplementedError) as exc:
            problems.append(f"{label}: a zip handed in that cannot be read ({exc})")
            continue
        item.notes.append(msg("intake_nested_zip_extracted", file=archive_path.relative_to(base).as_posix()))


def choose_notebook(practical: str, files: list[Path], base: Path) -> tuple[Path | None, list[Reason]]:
    """The notebook to grade among one student's files, and the notes saying why.

    One notebook: it. Several: the only one whose name holds the practical id, else the
    largest (an executed notebook carries its outputs), ties broken by the shorter path.
    """
    def rel(path: Path) -> str:
        return path.relative_to(base).as_posix() if path.is_relative_to(base) else path.name

    notebooks = sorted(f for f in files if f.suffix.lower() == ".ipynb")
    others = sorted(rel(f) for f in files if f.suffix.lower() not in (".ipynb", ".zip"))
    notes = [msg("intake_ignored_files", files=others)] if others else []
    if not notebooks:
        return None, notes + [msg("intake_no_notebook", files=[rel(f) for f in files] or "-")]
    if len(notebooks) == 1:
        return notebooks[0], notes
    wanted = _squash(practical)
    matching = [nb for nb in notebooks if wanted and wanted in _squash(nb.stem)]
    if len(matching) == 1:
        chosen = matching[0]
        rest = [rel(nb) for nb in notebooks if nb != chosen]
        return chosen, notes + [msg("intake_chose_by_name", chosen=rel(chosen), others=rest, practical=practical)]
    chosen = max(matching or notebooks, key=lambda p: (p.stat().st_size, -len(rel(p)), rel(p)))
    rest = [rel(nb) for nb in notebooks if nb != chosen]
    return chosen, notes + [msg("intake_chose_largest", chosen=rel(chosen), others=rest)]


def _squash(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def listed_participants(sources: Iterable[Path], lms: type[Lms] | Lms) -> dict[str, str]:
    """participant -> full name, read from the LMS's entry names of ``sources`` without extracting anything
    (for checking a roster against its archive before a batch starts); {} for sources outside the LMS's
    layout or unreadable ones (intake reports those)."""
    found: dict[str, str] = {}
    for source in map(Path, sources):
        try:
            if source.is_dir():
                names = [e.name for e in _folder_entries(source, [])]
                for archive in [n for n in names if "/" not in n and n.lower().endswith(".zip")]:
                    found.update(listed_participants([source / archive], lms))
            elif zipfile.is_zipfile(source):
                with zipfile.ZipFile(source) as archive:
                    names = [_decoded_name(info) for info in archive.infolist() if not info.is_dir()]
            else:
                continue
        except (zipfile.BadZipFile, OSError, ValueError):
            continue
        for name in names:
            who = lms.entry_name(name, ())
            if who is not None and who.participant not in found:
                found[who.participant] = who.full_name
    return found
