"""The student's data folder, in the layout the practical's template reads.

A template's parameters cell says where its notebook reads its data (``data_dir = "data/mnist"``, relative
to the notebook), and ``student_files`` in assignment.toml what it reads there. ``grader data`` writes that
folder: from the course's published data file (a zip, grader/data_archive.py) or a folder holding it
unzipped, on any install; from a course data folder with the practical's own ``student_data`` hook (training
data only, never evaluation labels: the same hook a grading batch uses) on an instructor's install, the only
one holding reference/. ``grader check --run`` finds it where the template looks, and says which file is
missing, and how to get it, before running anything.
"""
from __future__ import annotations

import ast
import json
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from grader.data_archive import is_archive, unpack_practical
from grader.errors import GraderError
from grader.i18n import msg
from grader.notebook_tags import PARAMETERS_TAG
from grader.records import Reason
from grader.loaded_assignment import Assignment, resolve

TEMPLATE = "template.ipynb"
DEFAULT_TOP = "data"          # the folder a template's data_dir starts with when it cannot be read
ARCHIVE_EXAMPLE = "data.zip"  # the name the README suggests for the course's one published data file


@dataclass(frozen=True)
class RunData:
    """What a self-check run reads: ``course`` plans the checks (labels there are used if present),
    ``student`` is handed to the notebook as ``data_dir``."""

    course: Path
    student: Path


def template_data_dir(assignment: Assignment) -> PurePosixPath:
    """The literal ``data_dir`` of the template's parameters cell (e.g. data/mnist); data/<id> otherwise."""
    fallback = PurePosixPath(DEFAULT_TOP) / assignment.id
    try:
        nb = json.loads((Path(assignment.directory) / TEMPLATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return fallback
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code" or PARAMETERS_TAG not in cell.get("metadata", {}).get("tags", []):
            continue
        source = cell.get("source", "")
        try:
            tree = ast.parse("".join(source) if isinstance(source, list) else source)
        except SyntaxError:
            return fallback
        for node in tree.body:
            if (isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["data_dir"]
                    and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
                return PurePosixPath(node.value.value)
    return fallback


def layout_folder(assignment: Assignment, top: Path) -> Path:
    """Where the practical's files go under ``top``, the folder the template's data_dir starts with:
    data_dir = "data/mnist" and top = my/data give my/data/mnist."""
    parts = template_data_dir(assignment).parts
    return Path(top).joinpath(*parts[1:]) if len(parts) > 1 else Path(top)


def missing_files(assignment: Assignment, folder: Path) -> list[str]:
    return [name for name in assignment.student_files if not (Path(folder) / name).exists()]


def data_command(assignment: Assignment, notebook: Path | None = None) -> str:
    """The command that puts the course's data file where the template reads it, from the folder the student
    runs commands in: ``grader data mnist_cnn data --from data.zip`` (the notebook's folder, when known)."""
    parts = template_data_dir(assignment).parts
    top = Path(parts[0] if parts else DEFAULT_TOP)
    if notebook is not None:
        top = Path(notebook).parent / top
    return f"grader data {assignment.id} {_shown(top)} --from {ARCHIVE_EXAMPLE}"


def _shown(path: Path) -> str:
    """A path as the student would type it: relative to where they are when it lies below, else as given."""
    try:
        text = str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        text = str(path)
    return f'"{text}"' if " " in text else text


def write_student_data(assignment: Assignment, top: Path, source: Path, parameters: dict[str, Any]) -> Path:
    """``grader data``: the student folder of ``assignment`` under ``top`` (the folder the template's data_dir
    starts with), from ``source``: the course's data file (a zip, what students download), a folder holding
    the student files (that file unzipped), or (an instructor's install) the course data folder, turned into
    the student folder by the practical's own hook. GraderError with a student Reason otherwise."""
    source, folder = Path(source), layout_folder(assignment, Path(top))
    if is_archive(source):
        return unpack_practical(source, assignment.id, assignment.student_files, folder)
    if not source.is_dir():
        raise GraderError(f"--from {source}: no such file or folder",
                          reason=msg("student_data_no_source", source=str(source), example=ARCHIVE_EXAMPLE))
    found = _student_folder_in(assignment, source)
    if assignment.student_data is not None:
        try:   # a course data folder first: its training files may look like a student folder's
            return _from_course_data(assignment, folder, source, parameters)
        except GraderError:
            if found is None:
                raise
    if found is None:
        first = layout_folder(assignment, source)
        missing = missing_files(assignment, first) or ["."]
        raise GraderError(f"{source}: no {assignment.id} data there", reason=msg(
            "student_data_not_in_folder", source=str(source), practical=assignment.id, file=str(first / missing[0]),
            example=ARCHIVE_EXAMPLE))
    if found.resolve() != folder.resolve():
        _copy_student_files(assignment, found, folder)
    return folder


def _student_folder_in(assignment: Assignment, source: Path) -> Path | None:
    """``source`` in the template's layout (data/ holding mnist/), or the practical's folder itself."""
    for candidate in (layout_folder(assignment, source), source):
        if candidate.is_dir() and assignment.student_files and not missing_files(assignment, candidate):
            return candidate
    return None


def _copy_student_files(assignment: Assignment, found: Path, folder: Path) -> None:
    scratch = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    for name in assignment.student_files:
        src = found / name
        if src.is_dir():
            shutil.copytree(src, scratch / name, symlinks=True)
        else:
            shutil.copy2(src, scratch / name)
    shutil.rmtree(folder, ignore_errors=True)
    scratch.replace(folder)


def _from_course_data(assignment: Assignment, folder: Path, course_data: Path, parameters: dict[str, Any]) -> Path:
    """The practical's own hook (training data only: the same hook a grading batch uses)."""
    course_data, folder = Path(course_data).resolve(), folder.resolve()
    if folder == course_data or course_data in folder.parents or folder in course_data.parents:
        raise GraderError(f"{folder}: the student folder must lie outside the course data folder {course_data} "
                          "(which holds the evaluation labels)")
    hook = resolve(assignment.student_data)
    scratch = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        hook(course_data, scratch, dict(parameters))
    except (OSError, ValueError, KeyError) as err:
        shutil.rmtree(scratch, ignore_errors=True)
        raise GraderError(f"cannot make the data of {assignment.id} from {course_data}: {err}") from None
    shutil.rmtree(folder, ignore_errors=True)
    scratch.replace(folder)
    return folder


def data_for_run(assignment: Assignment, notebook: Path, source: Path | None, work: Path,
                 parameters: dict[str, Any]) -> RunData | Reason:
    """The folders of a self-check run, else the reason (the missing file) that stops it before it starts.

    ``source`` is what the student gave (``--data``, or the course's data_dir): the course's data file (a
    zip) is unpacked into ``work``; a course data folder is turned into the student folder by the hook, as
    a grading batch would; a student folder in the template's layout (the folder data_dir starts with, or
    the practical's folder itself) is used as it is. Without ``source``: where the template reads, beside
    the notebook."""
    if source is not None and is_archive(source):
        try:
            folder = unpack_practical(source, assignment.id, assignment.student_files, work / "data")
        except GraderError as err:
            return err.reason
        return RunData(course=folder, student=folder)
    if source is not None and assignment.student_data is not None:
        dest = work / "data"
        try:
            resolve(assignment.student_data)(source, dest, dict(parameters))
            return RunData(course=source, student=dest)
        except (GraderError, OSError, ValueError, KeyError):
            shutil.rmtree(dest, ignore_errors=True)   # not a course data folder: a student's, perhaps
    if source is not None:
        candidates = [layout_folder(assignment, source), source]
    else:
        candidates = [Path(notebook).parent / template_data_dir(assignment)]
    for folder in candidates:
        if folder.is_dir() and not missing_files(assignment, folder):
            return RunData(course=folder, student=folder)
    if not assignment.student_files:   # an assignment that declares no files needs none to start
        return RunData(course=candidates[0], student=candidates[0])
    first = candidates[0]
    missing = missing_files(assignment, first) or ["."]
    return msg("student_data_missing", file=str(first / missing[0]), folder=str(first),
               command=data_command(assignment, notebook), example=ARCHIVE_EXAMPLE)


__all__ = ["RunData", "data_command", "data_for_run", "layout_folder", "missing_files", "template_data_dir",
           "write_student_data"]
