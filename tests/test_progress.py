"""What a batch shows while it runs: a bar on a terminal, one line per job in logs, nothing when quiet."""
from __future__ import annotations

import io
from decimal import Decimal

from rich.console import Console

from grader.i18n import msg, render
from grader.progress import BatchProgress, PlainProgress, RichProgress, make_progress
from grader.records import CheckResult, Evaluation, PracticalScore, Submission


def _submission(participant: str, name: str) -> Submission:
    return Submission("mnist_cnn", participant, name, "moodle.zip", (), None, None)


def _evaluation(participant: str, status: str, points: str, reason=None) -> Evaluation:
    check = CheckResult("accuracy", "metric", Decimal(points), Decimal("10"), msg("checks_not_run"))
    return Evaluation(f"key{participant}", "mnist_cnn", participant, None, status, (check,), reason, 12.34,
                      Decimal("10"))


def _final(participant: str, status: str, score: str, late="no", reason=None) -> PracticalScore:
    return PracticalScore("mnist_cnn", participant, "x", status, Decimal(score), Decimal("10"), late, reason)


def _feed(progress: BatchProgress) -> None:
    with progress:
        progress.start(2, reused=5)
        progress.job_started(_submission("101", "Ana Pérez"))
        progress.job_finished(_submission("101", "Ana Pérez"), _evaluation("101", "graded", "8.5"),
                              score=_final("101", "graded", "8.5"))
        progress.job_started(_submission("102", "Sean OConnor"))
        progress.job_finished(_submission("102", "Sean OConnor"),
                              _evaluation("102", "timeout", "0", msg("run_timeout", limit_s="600", number=4)),
                              score=_final("102", "timeout", "0"))


def test_logs_get_one_plain_line_per_job_with_status_points_and_reason():
    stream = io.StringIO()
    _feed(PlainProgress(stream))
    lines = stream.getvalue().splitlines()
    assert lines[0] == "2 to grade, 5 already in the store"
    assert lines[1] == "[1/2] mnist_cnn 101 Ana Pérez: graded 8.50/10 (12.3 s)"
    assert lines[2].startswith("[2/2] mnist_cnn 102 Sean OConnor: timed out 0.00/10 (12.3 s): ")
    assert "600" in lines[2] and "\x1b" not in stream.getvalue()
    assert lines[3].startswith("done 2/2, failures 1,")


def test_terminal_gets_a_bar_with_done_total_failures_and_the_failed_job():
    console = Console(file=io.StringIO(), force_terminal=True, width=140, color_system=None)
    _feed(RichProgress(console))
    shown = console.file.getvalue()
    assert "2/2" in shown
    assert "failures 1" in shown
    assert "5 already in the store" in shown
    assert "mnist_cnn 102 Sean OConnor: timed out" in shown   # failures stay above the bar


def test_the_line_gives_the_final_score_after_lateness_as_the_feedback_does():
    stream = io.StringIO()
    progress = PlainProgress(stream)
    progress.start(2, reused=0)
    late = _final("104", "graded", "0", late="yes", reason=msg("score_late_rejected", days=3))
    progress.job_finished(_submission("104", "Carmen Díaz"), _evaluation("104", "graded", "10"), score=late)
    progress.job_finished(_submission("105", "Bea"), _evaluation("105", "graded", "10"))
    lines = stream.getvalue().splitlines()
    assert lines[1].startswith("[1/2] mnist_cnn 104 Carmen Díaz: graded 0.00/10, late: Handed in 3 days after")
    assert "10/10" not in lines[1]
    assert lines[2] == "[2/2] mnist_cnn 105 Bea: ran: graded, 10/10 before lateness and overrides (12.3 s)"


def test_a_lost_job_counts_as_a_failure_and_says_a_rerun_grades_it():
    stream = io.StringIO()
    progress = PlainProgress(stream)
    progress.start(1, reused=0)
    progress.job_finished(_submission("103", "Bea"), None, error="KilledWorker: worker died")
    assert progress.failures == 1
    assert "not graded: KilledWorker: worker died (a re-run grades it)" in stream.getvalue()


def test_quiet_terminal_and_pipe_each_get_their_own_display():
    pipe = Console(file=io.StringIO(), width=160)
    terminal = Console(file=io.StringIO(), force_terminal=True)
    assert type(make_progress(pipe, quiet=True)) is BatchProgress
    assert isinstance(make_progress(pipe), PlainProgress)
    assert isinstance(make_progress(terminal), RichProgress)
    quiet = make_progress(pipe, quiet=True)
    _feed(quiet)
    assert pipe.file.getvalue() == ""
    assert (quiet.done, quiet.failures) == (2, 1)


def test_a_spanish_course_gets_its_progress_lines_in_spanish():
    stream = io.StringIO()
    _feed(PlainProgress(stream, lang="es"))
    lines = stream.getvalue().splitlines()
    assert lines[0] == "2 por corregir, 5 ya en el almacén de resultados"
    assert lines[2].startswith("[2/2] mnist_cnn 102 Sean OConnor: tiempo agotado 0,00/10 (12,3 s): ")
    assert lines[2].split("(12,3 s): ")[1] == render(msg("run_timeout", limit_s="600", number=4), "es")[:160]
    assert lines[3].startswith("hecho 2/2, fallos 1,")
    console = Console(file=io.StringIO(), force_terminal=True, width=140, color_system=None)
    _feed(RichProgress(console, lang="es"))
    assert "fallos 1" in console.file.getvalue() and "corrigiendo" in console.file.getvalue()


def test_a_name_in_brackets_is_printed_as_written_above_the_bar():
    console = Console(file=io.StringIO(), force_terminal=True, width=140, color_system=None)
    progress = RichProgress(console)
    with progress:
        progress.start(1, reused=0)
        progress.job_finished(_submission("7", "[bold]Eva[/bold]"), None, error="lost")
    assert "[bold]Eva[/bold]" in console.file.getvalue()
