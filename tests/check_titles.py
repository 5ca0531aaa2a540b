"""The self-check's table names each check by its title: tests that read the table look a row up by the
check's id through this (the titles of the bundled practical, as assignment.toml declares them)."""
from __future__ import annotations

from pathlib import Path

from grader.assignment import Titles, load_assignment

ASSIGNMENTS = Path(__file__).resolve().parents[1] / "assignments"


def by_id(rows: dict, practical: str = "mnist_cnn", lang: str = "en") -> dict:
    """``rows`` keyed by title (the table's first column) -> the same rows keyed by check id."""
    titles = Titles.of(load_assignment(ASSIGNMENTS / practical)).public()
    ids = {titles.of_check(check_id, lang): check_id for check_id in (titles.checks or {})}
    return {ids.get(title, title): row for title, row in rows.items()}
