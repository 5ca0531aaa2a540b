"""The command line: one clear line for bad input, never a traceback; the rest of the course is graded."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import moodle_entry, write_zip


def grader(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def _course(tmp_path: Path, extra: str = "", practical: str = "", data: str = "data") -> Path:
    path = tmp_path / "course.toml"
    path.write_text(f"""
[course]
name = "t"
keep_best = 2
round_step = "0.1"
deadline = "2027-03-31T23:59:00"
timezone = "Europe/Madrid"
data_dir = "{data}"
{extra}
[practicals.mnist_cnn]
submissions = ["subs.zip"]
{practical}
""", encoding="utf-8")
    return path


def test_a_missing_course_file_is_one_line_with_exit_2(tmp_path):
    done = grader("grade", str(tmp_path / "nope.toml"))
    assert done.returncode == 2
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert len(lines) == 1 and "nope.toml" in lines[0] and "not found" in lines[0]
    assert "Traceback" not in done.stdout + done.stderr


def test_an_unknown_key_names_the_key_and_the_file(tmp_path):
    path = _course(tmp_path, extra="keep_bets = 2")
    done = grader("grade", str(path))
    assert done.returncode == 2
    assert "course.keep_bets" in done.stdout and str(path) in done.stdout.replace("\n", "")
    assert "Traceback" not in done.stdout + done.stderr


def test_a_worksheet_without_its_grade_column_stops_before_grading_naming_the_key_and_the_file(tmp_path,
                                                                                               shared_data):
    write_zip(tmp_path / "subs.zip", {moodle_entry("Ana Pérez", "7", "informe.pdf"): b"%PDF not a notebook"})
    (tmp_path / "ws.csv").write_bytes(b"\xef\xbb\xbfIdentifier,Full name,Email address,Status\n"
                                      b"Participant 7,Ana P\xc3\xa9rez,ana@uni.es,Submitted\n")
    path = _course(tmp_path, practical='worksheet = "ws.csv"', data=str(shared_data))
    done = grader("grade", str(path), "--out", str(tmp_path / "out"))
    assert done.returncode == 2, done.stdout + done.stderr
    error = [line for line in done.stdout.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "practicals.mnist_cnn.worksheet" in error[0] and "ws.csv" in error[0]
    assert "'Grade'" in error[0]
    assert not (tmp_path / "out").exists()      # stopped before writing anything


def test_a_misspelt_table_lists_the_known_tables_with_their_brackets(tmp_path):
    path = tmp_path / "course.toml"
    path.write_text('[course]\nname = "t"\n[practical.rnn_text]\nsubmissions = ["a.zip"]\n', encoding="utf-8")
    done = grader("grade", str(path))
    assert done.returncode == 2
    assert "(known: [course], [moodle], [practicals.<id>], [similarity], [docker], [local])" in done.stdout


def test_an_unknown_practical_lists_the_known_ones_and_writes_nothing(tmp_path):
    notebook = tmp_path / "a.ipynb"
    notebook.write_text("{}", encoding="utf-8")
    done = grader("grade", "--practical", "mnist", str(notebook), "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    line = [line for line in done.stdout.splitlines() if line.startswith("error:")][0]
    assert "mnist" in line and "known: imagenet_cnn, mnist_cnn, rnn_text" in line
    assert not (tmp_path / "out").exists()


def test_grade_and_report_take_the_language_of_their_output():
    from grader.cli import build_parser

    assert build_parser().parse_args(["grade", "course.toml", "--lang", "en"]).lang == "en"
    assert build_parser().parse_args(["report", "course.toml", "--lang", "es"]).lang == "es"
    assert build_parser().parse_args(["grade", "course.toml"]).lang is None      # the course's
