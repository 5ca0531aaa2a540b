"""The "Upload multiple feedback files in a zip" archive of one practical: each student's feedback page
(and the executed notebook page beside it) where Moodle's importer files it for that student.

Moodle 5.1 (mod/assign/feedback/file/importziplib.php) splits each folder name on "_" into
``fullname_N_assignfeedback_file``; N is the worksheet's participant number. This module only packs
pages already written; it renders nothing and decides nothing. The archive is byte-identical for
identical pages (fixed times and order), so a re-run that changes no page changes no byte.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from grader.lms.moodle.archive_names import clean_like_moodle

PLUGIN_SUFFIX = "assignfeedback_file"
PAGE_NAME = "feedback.html"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)   # zip's epoch: the archive depends on the pages only


@dataclass(frozen=True)
class FeedbackFiles:
    participant: str            # the worksheet's N
    full_name: str
    page: Path                  # the student's feedback page
    extra: tuple[Path, ...] = ()   # pages it links to by their own file names (the notebook page)


def folder_name(full_name: str, participant: str) -> str:
    """``Ana Pérez_5101_assignfeedback_file``: the name cleaned as Moodle cleans it ("_" would split it)."""
    name = " ".join(clean_like_moodle(full_name).split()) or "Participant"
    return f"{name}_{participant}_{PLUGIN_SUFFIX}"


def write_feedback_zip(dest: Path, students: list[FeedbackFiles]) -> tuple[Path, list[str]]:
    """Write the archive; returns it and the students left out (instructor-facing lines)."""
    left_out = []
    entries: list[tuple[str, Path]] = []
    for student in students:
        if not student.participant.isdigit():
            left_out.append(f"{dest.name}: {student.full_name} ({student.participant}) has no Moodle participant "
                            "number (not from a Moodle archive); their page is not in the zip")
            continue
        if not student.page.is_file():
            continue
        folder = folder_name(student.full_name, student.participant)
        entries.append((f"{folder}/{PAGE_NAME}", student.page))
        entries += [(f"{folder}/{extra.name}", extra) for extra in student.extra if extra.is_file()]
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    with zipfile.ZipFile(part, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, source in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.flag_bits |= 0x800   # names are UTF-8 (accents), as Moodle writes and reads them
            archive.writestr(info, source.read_bytes())
    part.replace(dest)   # a reader never sees half an archive
    return dest, left_out
