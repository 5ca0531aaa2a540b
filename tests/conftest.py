"""Fixtures shared by the test files: the repository, the real data, Moodle-style archives."""
from __future__ import annotations

import zipfile
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data sets; CI has them at ../shared/data. Their absence is a failure, never a silent skip."""
    if not (SHARED_DATA / "mnist").is_dir():
        pytest.fail(f"the real data sets are missing: expected {SHARED_DATA} (see ../shared/data/README.md)")
    return SHARED_DATA


def moodle_entry(full_name: str, participant: str, filename: str) -> str:
    """An entry name as Moodle's "download all submissions" writes it, "in folders" layout."""
    return f"{full_name}_{participant}_assignsubmission_file_/{filename}"


def write_zip(path: Path, entries: dict[str, bytes | str]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def notebook_bytes(nb: nbformat.NotebookNode) -> bytes:
    return nbformat.writes(nb).encode("utf-8")


def variant(solution: nbformat.NotebookNode, old: str, new: str) -> nbformat.NotebookNode:
    """A copy of the solution with one piece of code changed (asserting it was found exactly once)."""
    nb = nbformat.from_dict(solution)
    hits = [c for c in nb.cells if c.cell_type == "code" and old in c.source]
    assert len(hits) == 1, f"the solution changed: {old!r} found {len(hits)} times"
    hits[0].source = hits[0].source.replace(old, new)
    return nb


def as_handed_in_executed(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """What "Restart & Run All" leaves: every code cell numbered in order, and showing output (the grader
    compares outputs' presence with its own run, never their text: a stand-in line does)."""
    count = 0
    for cell in nb.cells:
        if cell.cell_type == "code":
            count += 1
            cell.execution_count = count
            if not cell.outputs:
                cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="(output as run)\n")]
    return nb
