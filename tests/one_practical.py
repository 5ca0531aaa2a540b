"""One practical graded from a Moodle-style archive of notebooks, through the real pipeline (local runner):
the course file, the archive and the single-threaded run that the practical tests and the styles share."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from conftest import write_zip
from grader.course import load_course
from grader.pipeline import BatchResult, grade_course


def grade_archive(root: Path, practical: str, entries: dict[str, bytes], data_dir: Path, *, parameters: str,
                  timeout_s: int, one_thread: bool = False, similarity: bool = True) -> tuple[BatchResult, float]:
    """Grade ``entries`` (Moodle archive entry name -> notebook bytes) as ``practical``; (batch, wall seconds).

    ``one_thread``: one BLAS thread per process. Two cores shared by parallel kernels and an in-process
    reference build otherwise spend their time spinning against each other (25x slower LSTM steps measured).
    """
    write_zip(root / f"{practical}.zip", entries)
    (root / "course.toml").write_text(f"""
[course]
name = "{practical} test"
deadline = "2027-03-31T23:59:00"
timezone = "Europe/Madrid"
runner = "local"
data_dir = "{data_dir}"
lang = "en"
[similarity]
enabled = {str(similarity).lower()}
[practicals.{practical}]
submissions = ["{practical}.zip"]
timeout_s = {timeout_s}
parameters = {{ {parameters} }}
""", encoding="utf-8")
    started = time.monotonic()
    if not one_thread:
        return grade_course(load_course(root / "course.toml"), root / "out"), time.monotonic() - started
    import torch

    threads = torch.get_num_threads()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OMP_NUM_THREADS", "1")
        torch.set_num_threads(1)
        try:
            batch = grade_course(load_course(root / "course.toml"), root / "out")
        finally:
            torch.set_num_threads(threads)
    return batch, time.monotonic() - started
