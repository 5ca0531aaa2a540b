"""Each practical's downloaded grading worksheet, read and checked before anything is graded or written: that it
can be read and has Moodle's required columns, that it belongs to the practical's archive, and that a
decimal-separator override would not be misread; then its rows as the course's roster.

A problem here would silently give everyone "not handed in" or hand Moodle a file it misreads, so each is an
InputError naming the course key and the path, in one line. Reads, never writes.
"""
from __future__ import annotations

from pathlib import Path

from grader.errors import InputError
from grader.lms.moodle.archive_names import BLIND_WORDS, name_key
from grader.lms.moodle.worksheet import TITLES, Worksheet, WorksheetRow, own_separator, read_worksheet
from grader.records import PracticalRoster, RosterRow

_BLIND = {word.casefold() for word in BLIND_WORDS}


def read_checked(course, pid: str, path: Path) -> Worksheet:
    """The worksheet of ``practicals.<pid>.worksheet``; InputError naming the key when it is unusable."""
    key = f"practicals.{pid}.worksheet"
    if not path.is_file():
        raise InputError(f"{_where(course, key, path)}: no such file", key=key)
    try:
        return read_worksheet(path, course.timezone)
    except InputError as err:
        # read_worksheet names the file; the key tells which line of course.toml to fix
        raise InputError(f"{course.path}: {key}: {err}" if course.path else str(err), key=key) from None


def roster(ws: Worksheet, user_key: str) -> tuple[PracticalRoster, list[str]]:
    """The worksheet's rows as the course's roster, and the line to warn with when its user key has no column."""
    keyed = ws.has_column(user_key)
    warnings = []
    if not keyed:
        en, es = TITLES[user_key][:2]
        warnings.append(f"{ws.path}: no '{en}' ('{es}') column; its rows are joined by name")
    rows = {n: RosterRow(participant=n, full_name=row.full_name, email=row.email, key=_key_of(row, user_key),
                         submitted_at=row.submitted_at) for n, row in ws.entries.items()}
    return PracticalRoster(str(ws.path), rows, user_key, keyed), warnings


def _key_of(row: WorksheetRow, user_key: str) -> str | None:
    value = row.email if user_key == "email" else row.identity.get(user_key)
    return value.strip() if value and value.strip() else None


def check_separator(course, pid: str, ws: Worksheet | None, configured: str) -> None:
    """Moodle's unformat_float turns only the uploader's own separator into ".", so "." is read right in every
    language and only a "," override can be misread: "9,50" uploaded by a teacher whose interface writes
    "10.00" is stored as 9, silently. The uploader's language is the worksheet's (its headers must match it):
    its own numbers say which separator that is; a worksheet that shows none, or a new one, by its language."""
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


def check_belongs(course, pid: str, ws: Worksheet, listed: dict[str, dict[str, str]],
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


def _where(course, key: str, path: Path) -> str:
    return f"{course.path}: {key}: {path}" if course.path else f"{path}"

