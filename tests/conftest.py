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
