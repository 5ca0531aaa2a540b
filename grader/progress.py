"""What a batch shows while it runs: a rich progress bar on a terminal, one plain line per job in logs,
or nothing (--quiet), in the course language. The pipeline calls these hooks from its own thread only.

It reports; it never decides anything about a job, and never writes to the store.
"""
from __future__ import annotations

import sys
import time
from typing import TextIO

from grader.i18n import msg, render
from grader.prose_numbers import grade_of, points, points_of, seconds
from grader.records import Evaluation, PracticalScore, Reason, Submission
from grader.reports.words import status_word
from grader.scoring import sum_points

FAILED = ("error", "timeout", "invalid")   # statuses counted as failures on the bar
_SAY_WHY = (*FAILED, "untouched")             # ... and those whose line gives the reason


class BatchProgress:
    """Silent (--quiet); the base of the visible ones."""

    def __init__(self) -> None:
        self.total = self.reused = self.done = self.failures = 0

    def start(self, total: int, reused: int) -> None:
        self.total, self.reused = total, reused

    def job_started(self, submission: Submission) -> None:
        pass

    def note(self, line: Reason) -> None:
        """A line of what the batch does besides grading (building reference metrics): silent here."""

    def job_finished(self, submission: Submission, evaluation: Evaluation | None, error: str | None = None,
                     score: PracticalScore | None = None) -> None:
        """``score``: the evaluation with course policy applied (lateness, overrides), when known."""
        self.done += 1
        if evaluation is None or evaluation.status in FAILED:
            self.failures += 1

    def close(self) -> None:
        pass

    def __enter__(self) -> "BatchProgress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def describe(submission: Submission) -> str:
    return f"{submission.practical} {submission.participant} {submission.full_name}"


def outcome(evaluation: Evaluation | None, error: str | None = None, score: PracticalScore | None = None,
            lang: str = "en") -> str:
    """ "graded 8.50/10 (12.3 s)", "graded 0.00/10, late: ... (12.3 s)" or "timed out 0.00/10 (...): reason" -
    one line in ``lang``, its status in words and its numbers as the language writes them. The score is the
    final one, as the feedback and the worksheet give it; without ``score`` (no course policy known) the
    run's points are said to come before lateness and overrides."""
    said = lambda code, **params: render(msg(code, **params), lang)  # noqa: E731
    if evaluation is None:
        return said("progress_not_graded", error=error or said("progress_job_lost"))
    if score is not None:
        shown = "-/" + points(score.max_score, lang) if score.score is None else grade_of(score.score,
                                                                                        score.max_score, lang)
        text = f"{status_word(score.status, lang)} {shown}"
        if score.late == "yes" or score.status == "overridden":
            why = said("progress_late" if score.late == "yes" else "progress_overridden")
            text += f", {why}: {render(score.reason, lang)}"
    else:
        text = said("progress_before_policy", status=status_word(evaluation.status, lang),
                    points=points_of(sum_points(evaluation.checks, evaluation.max_points), evaluation.max_points,
                                     lang))
    text += f" ({seconds(evaluation.duration_s, lang)} s)"
    if evaluation.status in _SAY_WHY and evaluation.reason is not None:
        text += ": " + render(evaluation.reason, lang)[:160]
    return text


class PlainProgress(BatchProgress):
    """One line per finished job, for logs and pipes (no terminal control characters)."""

    def __init__(self, stream: TextIO | None = None, lang: str = "en") -> None:
        super().__init__()
        self.stream = stream or sys.stdout
        self.lang = lang
        self._started = time.monotonic()

    def start(self, total: int, reused: int) -> None:
        super().start(total, reused)
        self._started = time.monotonic()
        self._line(render(msg("progress_start", total=total, reused=reused), self.lang))

    def job_finished(self, submission: Submission, evaluation: Evaluation | None, error: str | None = None,
                     score: PracticalScore | None = None) -> None:
        super().job_finished(submission, evaluation, error, score)
        width = len(str(self.total))
        self._line(f"[{self.done:>{width}}/{self.total}] {describe(submission)}: "
                   f"{outcome(evaluation, error, score, self.lang)}")

    def close(self) -> None:
        if self.total:
            self._line(render(msg("progress_done", done=self.done, total=self.total, failures=self.failures,
                                  seconds=f"{time.monotonic() - self._started:.0f}"), self.lang))

    def note(self, line: Reason) -> None:
        self._line(render(line, self.lang))

    def _line(self, text: str) -> None:
        print(text, file=self.stream, flush=True)


class RichProgress(BatchProgress):
    """A live bar: done/total, failures, elapsed and ETA, and the job that started last."""

    def __init__(self, console, lang: str = "en") -> None:
        super().__init__()
        # start-up: rich's live bar only when a terminal shows it
        from rich.markup import escape
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        self.console, self.lang = console, lang
        grading, failures = escape(render(msg("progress_bar"), lang)), escape(render(msg("progress_failures"), lang))
        self._bar = Progress(TextColumn(f"[bold]{grading}"), BarColumn(), MofNCompleteColumn(),
                             TextColumn(failures + " [red]{task.fields[failures]}"), TimeElapsedColumn(),
                             TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[current]}"),
                             console=console, transient=False)
        self._task = None

    def start(self, total: int, reused: int) -> None:
        super().start(total, reused)
        if reused:
            self.console.print(render(msg("progress_reused", reused=reused), self.lang), highlight=False, markup=False)
        self._task = self._bar.add_task("grading", total=total, failures=0, current="")
        self._bar.start()

    def note(self, line: Reason) -> None:
        self.console.print(render(line, self.lang), highlight=False, markup=False)

    def job_started(self, submission: Submission) -> None:
        if self._task is not None:
            self._bar.update(self._task, current=describe(submission)[:40])

    def job_finished(self, submission: Submission, evaluation: Evaluation | None, error: str | None = None,
                     score: PracticalScore | None = None) -> None:
        super().job_finished(submission, evaluation, error, score)
        if evaluation is None or evaluation.status in FAILED:
            # a failure stays on screen above the bar: the instructor sees it without waiting for the end
            self._bar.console.print(f"  {describe(submission)}: {outcome(evaluation, error, score, self.lang)}",
                                    highlight=False, markup=False)
        if self._task is not None:
            self._bar.update(self._task, advance=1, failures=self.failures)

    def close(self) -> None:
        if self._task is not None:
            self._bar.update(self._task, current="")
        self._bar.stop()


def make_progress(console, *, quiet: bool = False, lang: str = "en") -> BatchProgress:
    """Nothing with --quiet, a bar on a terminal, plain lines otherwise (CI logs, `| tee`, cron)."""
    if quiet:
        return BatchProgress()
    if console.is_terminal:
        return RichProgress(console, lang)
    return PlainProgress(console.file, lang)
