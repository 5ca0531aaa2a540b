"""The output folder's layout, in one place: where the store, the runs, the feedback pages, the report and each
LMS's files are under ``out/``. Every module that writes or reads a file there asks this record.

It only names paths: it creates nothing and reads nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader.execution.base import EXECUTED_NAME


@dataclass(frozen=True)
class OutLayout:
    root: Path

    @property
    def store(self) -> Path:
        return self.root / "grader.sqlite"

    @property
    def results_csv(self) -> Path:
        return self.root / "results.csv"

    @property
    def report(self) -> Path:
        return self.root / "report.html"

    @property
    def feedback_dir(self) -> Path:
        return self.root / "feedback"

    @property
    def work_dir(self) -> Path:
        return self.root / "work"

    @property
    def static(self) -> "OutLayout":
        """Where a static look (``--static``) writes its files: never over the real ones."""
        return OutLayout(self.root / "static")

    def intake(self, practical: str) -> Path:
        return self.root / "intake" / practical

    def run_dir(self, practical: str, participant: str) -> Path:
        """One submission's run: its executed copy, run record and out/ (grader/execution/base.py: RunRequest)."""
        return self.work_dir / practical / participant

    def executed(self, practical: str, participant: str) -> Path:
        return self.run_dir(practical, participant) / EXECUTED_NAME

    def student_data(self, practical: str) -> Path:
        """The data a practical's notebooks may read, written once per batch (never evaluation labels)."""
        return self.work_dir / practical / "_data"

    def feedback_page(self, practical: str, participant: str) -> Path:
        return self.feedback_dir / practical / f"{participant}.html"

    def notebook_page(self, practical: str, participant: str) -> Path:
        return self.feedback_dir / practical / f"{participant}-notebook.html"

    def lms_dir(self, name: str) -> Path:
        """The folder of one LMS's files to upload (``out/moodle/``)."""
        return self.root / name
