"""The course's inputs, loaded and checked before anything is graded or written: every practical (its folder and
assignment.toml, the editions offered), every submission source, the course data folder, and the LMS's own
inputs (its adapter reads and checks them: grader/lms/).

A problem here would silently give everyone "not handed in" or fail every run alike, so each is an InputError
(exit 2) or ConfigError naming the course key and the path, in one line. Reads, never writes; what it loads is
handed down (``CourseInputs``), so that nothing is read twice.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from grader.assignment import Assignment, Titles, load_assignment
from grader.course import Course
from grader.errors import InputError
from grader.lms.base import Lms
from grader.lms.registry import lms_class


@dataclass(frozen=True)
class CourseInputs:
    assignments: dict[str, Assignment]   # practical id -> its loaded assignment
    titles: dict[str, Titles]            # practical id -> what people read instead of ids (hidden checks' too)
    lms: Lms                             # the course's LMS adapter, its rosters read and checked


def check_course_inputs(course: Course, *, static: bool = False) -> CourseInputs:
    """Every practical loaded and every input checked; InputError (or ConfigError) on the first unusable one.
    ``static``: the notebooks will not run, so the data folder is not needed."""
    for pid, cfg in course.practicals.items():
        _check_assignment(course, pid, cfg.assignment_dir)
    assignments = {pid: load_assignment(cfg.assignment_dir) for pid, cfg in course.practicals.items()}
    for pid, cfg in course.practicals.items():
        _check_editions(course, pid, assignments[pid], cfg.editions)
        for source in cfg.submissions:
            _check_source(course, f"practicals.{pid}.submissions", source)
    if not static:
        _check_data_dir(course)
    titles = {pid: Titles.of(a) for pid, a in assignments.items()}
    return CourseInputs(assignments, titles, lms_class(course.lms).open(course, titles))


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


def _check_editions(course: Course, pid: str, assignment: Assignment, offered: tuple[str, ...] | None) -> None:
    """An edition offered must exist: a course offering Keras for a practical without a Keras template
    would tell students to use one nobody wrote."""
    if not offered or "keras" not in offered or assignment.keras_edition:
        return
    key = f"practicals.{pid}.editions"
    raise InputError(f"{_where(course, key, assignment.directory / 'assignment.toml')}: the course offers the Keras "
                     f"edition, but {pid} has none (no [keras] edition in its assignment.toml); offer [\"pytorch\"]",
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
