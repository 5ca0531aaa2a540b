"""A warm judge container's first and only process (grader.execution.docker_judge): it imports torch and the
judge's modules, then waits for the host to hand over a program (``go`` in its folder, written after judge.json and
the files it names) and judges it as a cold judge container does. Nothing of a submission is there before ``go``."""
from __future__ import annotations

import time
from pathlib import Path

from grader.execution.child import GO

SPEC_FILE = "judge.json"


def main(folder: str, poll_s: float = 0.01) -> None:
    # start-up: the judge's preloads, once, in the container that waits (grader.execution.zygote names them)
    from grader.execution.zygote import preload

    preload({"base": "judge"})
    waiting = Path(folder)
    while not (waiting / GO).exists():
        time.sleep(poll_s)
    # start-up: the judge itself only once there is something to judge
    from grader.judge.main import main as judge_main

    judge_main(str(waiting / SPEC_FILE))
