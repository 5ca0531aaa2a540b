"""The course's inputs, checked before anything is graded or written: the course data folder, every
submission source, every worksheet, and a decimal separator override ("," is misread by Moodle on a
worksheet written with ".").

A problem here would silently give everyone "not handed in" or hand Moodle a file it misreads, so each
is an InputError (exit 2) naming the course key and the path, in one line. Reads, never writes.
"""
from __future__ import annotations

import os
from pathlib import Path

from grader.course import Course
from grader.assignment import keras_edition_file
from grader.errors import ConfigError, InputError
from grader.lms.archive_names import name_key
from grader.lms.worksheet import Worksheet, own_separator, read_worksheet
from grader.submissions import listed_participants

_BLIND = {"participant", "participante"}


def check_course_inputs(course: Course, *, static: bool = False) -> dict[str, Worksheet | None]:
    """Every practical's worksheet, read and checked; InputError on the first unusable input. ``static``: the
    notebooks will not run, so the data folder is not needed."""
    for pid, cfg in course.practicals.items():
        _check_assignment(course, pid, cfg.assignment_dir)
        _check_editions(course, pid, cfg.assignment_dir, cfg.editions)
        for source in cfg.submissions:
            _check_source(course, f"practicals.{pid}.submissions", source)
    if not static:
        _check_data_dir(course)
    worksheets = {pid: _read(course, pid, cfg.worksheet) for pid, cfg in course.practicals.items()}
    listed = {pid: listed_participants(cfg.submissions) for pid, cfg in course.practicals.items()}
    for pid, ws in worksheets.items():
        _check_separator(course, pid, ws)
        if ws is not None:
            _check_belongs(course, pid, ws, listed, worksheets)
    return worksheets


def _where(course: Course, key: str, path: Path) -> str:
    return f"{course.path}: {key}: {path}" if course.path else f"{path}"


def _check_data_dir(course: Course) -> None:
    """The notebooks and the reference read the course data: a folder that is not there would fail every
    run the same way, after the intake had been written."""
    folder = course.data_dir
    key = "course.data_dir" if course.path else "--data"
    where = f"{course.path}: {key} = {folder}" if course.path else f"{key} {folder}"
    if not folder.exists():
        raise InputError(f"{where}: no such folder (the course data the notebooks read: set {key} to the folder "
                         "that holds it)", key=key)
    if not folder.is_dir():
        raise InputError(f"{where}: not a folder ({key} names the folder of the course data)", key=key)
    if not os.access(folder, os.R_OK | os.X_OK):
        raise InputError(f"{where}: not readable (permissions)", key=key)


def _check_assignment(course: Course, pid: str, folder: Path) -> None:
    if (folder / "assignment.toml").is_file():
        return
    known = sorted(p.parent.name for p in folder.parent.glob("*/assignment.toml"))
    where = f"{course.path}: practicals.{pid}" if course.path else f"--practical {pid}"
    raise InputError(f"{where}: no practical {pid!r} in {folder.parent} (known: {', '.join(known) or 'none'})",
                     key=f"practicals.{pid}")


def _check_editions(course: Course, pid: str, folder: Path, offered: tuple[str, ...] | None) -> None:
    """An edition offered must exist: a course offering Keras for a practical without a Keras template
    would tell students to use one nobody wrote."""
    if not offered or "keras" not in offered:
        return
    try:
        declared = keras_edition_file(folder)
    except ConfigError:
        return    # the assignment's own loader names what is wrong with it
    if not declared:
        key = f"practicals.{pid}.editions"
        raise InputError(f"{_where(course, key, folder / 'assignment.toml')}: the course offers the Keras edition, "
                         f"but {pid} has none (no [keras] edition in its assignment.toml); offer [\"pytorch\"]",
                         key=key)


def _check_source(course: Course, key: str, source: Path) -> None:
    if not source.exists():
        raise InputError(f"{_where(course, key, source)}: no such file or folder", key=key)
    if not os.access(source, os.R_OK | (os.X_OK if source.is_dir() else 0)):
        raise InputError(f"{_where(course, key, source)}: not readable (permissions)", key=key)
    if source.is_file():
        try:
            with source.open("rb") as fh:
                fh.read(1)
        except OSError as err:
            raise InputError(f"{_where(course, key, source)}: cannot be read ({err.strerror})", key=key) from None
    # a file that is not a zip is the intake's warning line (the rest of the course is still graded)


def _read(course: Course, pid: str, path: Path | None) -> Worksheet | None:
    if path is None:
        return None
    key = f"practicals.{pid}.worksheet"
    if not path.is_file():
        raise InputError(f"{_where(course, key, path)}: no such file", key=key)
    try:
        return read_worksheet(path, course.timezone)
    except InputError as err:
        # read_worksheet names the file; the key tells which line of course.toml to fix
        raise InputError(f"{course.path}: {key}: {err}" if course.path else str(err), key=key) from None


def _check_separator(course: Course, pid: str, ws: Worksheet | None) -> None:
    """Moodle's unformat_float turns only the uploader's own separator into ".", so "." is read right in every
    language and only a "," override can be misread: "9,50" uploaded by a teacher whose interface writes
    "10.00" is stored as 9, silently. The uploader's language is the worksheet's (its headers must match it):
    its own numbers say which separator that is; a worksheet that shows none, or a new one, by its language."""
    configured = course.moodle.decimal_separator
    if configured == ".":
        return
    key = "moodle.decimal_separator"
    if ws is None:
        if course.lang == "en":
            raise InputError(f"{course.path}: {key} = {configured!r}: practicals.{pid} has no worksheet, so a new "
                             "English one is written, and an English Moodle reads '9,50' as 9; remove the key "
                             "(grades are then written with '.', which Moodle reads in every language)", key=key)
        return
    own = own_separator(ws)
    used, example = own if own else ("." if ws.lang == "en" else ",", None)
    if used != configured:
        shown = f"whose numbers are written like {example!r}" if example else "an English worksheet"
        raise InputError(f"{course.path}: {key} = {configured!r} would be misread on {ws.path} "
                         f"(practicals.{pid}.worksheet), {shown}: Moodle stores '9,50' as 9 there; remove the key "
                         "(grades are then written with '.', which Moodle reads in every language)", key=key)


def _check_belongs(course: Course, pid: str, ws: Worksheet, listed: dict[str, dict[str, str]],
                   worksheets: dict[str, Worksheet | None]) -> None:
    """Participant numbers differ between practicals: another practical's worksheet matches few of them."""
    mine = listed[pid]
    matched = _matches(ws, mine)
    if not mine or 2 * matched >= len(mine):
        return
    hints = [f"it looks like the worksheet of {other}" for other, theirs in listed.items()
             if other != pid and theirs and 2 * _matches(ws, theirs) >= len(theirs)]
    hints += [f"practicals.{other}.worksheet ({other_ws.path.name}) fits {pid}'s submissions"
              for other, other_ws in worksheets.items()
              if other != pid and other_ws is not None and 2 * _matches(other_ws, mine) >= len(mine)]
    key = f"practicals.{pid}.worksheet"
    raise InputError(f"{_where(course, key, ws.path)}: only {matched} of the {len(mine)} participants in {pid}'s "
                     "submissions are in this worksheet" + ("; " + "; ".join(hints) if hints else "")
                     + ": is it the worksheet of another practical?", key=key)


def _matches(ws: Worksheet, participants: dict[str, str]) -> int:
    """Participants of an archive found in a worksheet: same N and, where both show one, the same name."""
    count = 0
    for n, full_name in participants.items():
        row = ws.entries.get(n)
        if row is None:
            continue
        theirs, ours = name_key(row.full_name or ""), name_key(full_name)
        if not theirs or not ours or ours in _BLIND or theirs in _BLIND or theirs in ours:
            count += 1    # "theirs in ours": a team prefix ("Team A-Ana Pérez") keeps the person's name
    return count
