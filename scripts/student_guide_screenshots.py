#!/usr/bin/env python3
"""The screenshots of the students' guide (docs/students-es.md, docs/students-en.md), made again from the
grader as it is now: run it after any change to the self-check's output or the feedback pages.

Usage: .venv/bin/python scripts/student_guide_screenshots.py [--out docs/students] [--lang es en] [--data DIR]

For one student of the demo course (examples/demo: Luis, whose softmax lacks the max shift) it does what a
student does, in a scratch folder: `grader data` from the course's data.zip (made from the real data,
../shared/data, as an instructor would), `grader check --run`, the in-notebook `grader.selfcheck()` table,
then grades the notebook as the instructor would (the practical's own grading parameters) and takes the
feedback page the student gets in Moodle. Each capture becomes a PNG through headless Chromium
(scripts/render_report.py). Writes only the PNGs in --out; exit 1 with one line when a step fails.
"""
from __future__ import annotations

import argparse
import html
import io
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from render_report import render  # noqa: E402

DEMO = ROOT / "examples" / "demo"
STUDENT = "Luis García_3100422_assignsubmission_file_/mnist_cnn.ipynb"
PARTICIPANT = "3100422"
TERMINAL_WIDTH = 130            # characters: the table's reasons stay readable at 1280 px
PAGE_WIDTH = 1280
_TERMINAL_PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>
body {{ margin: 0; background: #1e1e1e; }}
pre {{ margin: 0; padding: 18px 22px; font: 14px/1.35 "DejaVu Sans Mono", monospace; color: #e8e8e8; }}
.prompt {{ color: #8ae234; }}
</style></head><body>{body}</body></html>"""
_NOTEBOOK_PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>
body {{ margin: 0; padding: 20px; background: #fff; font-family: "DejaVu Sans", sans-serif; font-size: 14px; }}
.cell {{ border-left: 3px solid #42a5f5; padding: 6px 12px; background: #f7f7f7; margin-bottom: 10px;
         font: 13px "DejaVu Sans Mono", monospace; }}
</style></head><body><div class="cell">In [ ]: import grader; grader.selfcheck({args})</div>{table}</body></html>"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "students")
    parser.add_argument("--lang", nargs="+", default=["es", "en"], choices=("es", "en"))
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data",
                        help="the course data folder (default: the real data sets, ../shared/data)")
    args = parser.parse_args(argv)
    if not (args.data / "mnist").is_dir():
        print(f"student_guide_screenshots: no MNIST data in {args.data} (give --data)", file=sys.stderr)
        return 1
    try:
        with tempfile.TemporaryDirectory(prefix="grader-guide-") as tmp:
            written = shoot(Path(tmp), args.out.resolve(), args.lang, args.data.resolve())
    except (RuntimeError, subprocess.SubprocessError, OSError) as err:
        print(f"student_guide_screenshots: {err}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0


def shoot(work: Path, out: Path, langs: list[str], data_dir: Path) -> list[Path]:
    course = _course(work, data_dir)
    student = work / "student"
    student.mkdir()
    with zipfile.ZipFile(DEMO / "moodle" / "ML1-MNIST-101.zip") as zf:
        (student / "mnist_cnn.ipynb").write_bytes(zf.read(STUDENT))
    _published_data(work / "course page", data_dir, student / "data.zip")
    written = []
    for lang in langs:
        shutil.rmtree(student / "data", ignore_errors=True)
        lang_flag = [] if lang == "es" else ["--lang", lang]     # Spanish is the commands' default
        data = _terminal(student, ["data", "mnist_cnn", "data", "--from", "data.zip", *lang_flag])
        written.append(_png(work, data, out / f"data-{lang}.png", _TERMINAL_PAGE))
        check = _terminal(student, ["check", "mnist_cnn.ipynb", "--run", *lang_flag])
        written.append(_png(work, check, out / f"check-{lang}.png", _TERMINAL_PAGE))
        written.append(_png(work, _in_notebook(student, lang), out / f"selfcheck-{lang}.png", _NOTEBOOK_PAGE,
                            height=560))
        written.append(_feedback_page(work, course, lang, out / f"feedback-{lang}.png"))
    return written


def _course(work: Path, data_dir: Path) -> Path:
    """The demo course with its one student (its deadline and worksheet row) on the course data folder, graded
    with the practical's own parameters, as the self-check runs it."""
    (work / "moodle").mkdir()
    with zipfile.ZipFile(DEMO / "moodle" / "ML1-MNIST-101.zip") as src, \
            zipfile.ZipFile(work / "moodle" / "mnist.zip", "w") as dest:
        dest.writestr(STUDENT, src.read(STUDENT))
    sheet = (DEMO / "moodle" / "Grades-ML1-MNIST-101.csv").read_bytes().splitlines(keepends=True)
    (work / "moodle" / "Grades.csv").write_bytes(b"".join(
        [sheet[0], *[row for row in sheet[1:] if row.startswith(f"Participant {PARTICIPANT},".encode())]]))
    text = (DEMO / "course.toml").read_text(encoding="utf-8")
    text = text.replace('submissions = ["moodle/ML1-MNIST-101.zip"]', 'submissions = ["moodle/mnist.zip"]')
    text = text.replace('worksheet = "moodle/Grades-ML1-MNIST-101.csv"', 'worksheet = "moodle/Grades.csv"')
    text = text.replace('data_dir = "data"', f'data_dir = "{data_dir.as_posix()}"')
    text = "\n".join(line for line in text.splitlines() if not line.startswith("parameters = "))
    (work / "course.toml").write_text(text + "\n[similarity]\nenabled = false\n", encoding="utf-8")
    return work / "course.toml"


def _published_data(page: Path, data_dir: Path, dest: Path) -> None:
    """What the instructor publishes: `grader data` from the course data folder, zipped as the README says."""
    _grader(["data", "mnist_cnn", str(page / "data"), "--from", str(data_dir)], cwd=page.parent)
    shutil.make_archive(str(page / "data"), "zip", page, "data")
    shutil.copyfile(page / "data.zip", dest)


def _grader(argv: list[str], cwd: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "grader", *argv], capture_output=True, text=True, cwd=cwd,
                          timeout=900, env={**os.environ, "COLUMNS": str(TERMINAL_WIDTH)})
    if done.returncode not in (0, 1):
        raise RuntimeError(f"grader {' '.join(argv)} exited {done.returncode}: {(done.stdout + done.stderr)[-400:]}")
    return done.stdout


def _terminal(cwd: Path, argv: list[str]) -> str:
    """The command as typed and what it prints, in colour, as a <pre> block (rich's own HTML export)."""
    from rich.console import Console

    from grader.cli import _COMMANDS, build_parser

    console = Console(record=True, width=TERMINAL_WIDTH, force_terminal=True, color_system="truecolor",
                      file=io.StringIO())
    here = Path.cwd()
    os.chdir(cwd)     # the student runs the command in the notebook's folder
    try:
        _COMMANDS[argv[0]](build_parser().parse_args(argv), console)
    finally:
        os.chdir(here)
    body = console.export_html(inline_styles=True, code_format="<pre>{code}</pre>")
    shown = " ".join(f'"{a}"' if " " in a else a for a in argv)
    return f'<pre><span class="prompt">$ grader {html.escape(shown)}</span></pre>' + body


def _in_notebook(student: Path, lang: str) -> str:
    """The table grader.selfcheck() shows as the notebook's last cell, from a real kernel run of the notebook."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(student / "mnist_cnn.ipynb", as_version=4)
    nb.cells[-1] = nbformat.v4.new_code_cell(f'import grader; grader.selfcheck(lang="{lang}")')
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(student)}}).execute()
    outputs = [o for o in nb.cells[-1].outputs if "text/html" in o.get("data", {})]
    if not outputs:
        raise RuntimeError(f"grader.selfcheck() showed no table: {nb.cells[-1].outputs}")
    return {"table": outputs[0]["data"]["text/html"], "args": f'lang="{lang}"'}


def _feedback_page(work: Path, course: Path, lang: str, png: Path) -> Path:
    out = work / "out"
    _grader(["grade", str(course), "--out", str(out), "--quiet", "--lang", lang], cwd=work)
    page = out / "feedback" / "mnist_cnn" / f"{PARTICIPANT}.html"
    if not page.is_file():
        raise RuntimeError(f"no feedback page at {page}")
    return render(page, png, width=PAGE_WIDTH, height=1050)


def _png(work: Path, content: str | dict, png: Path, page: str, height: int | None = None) -> Path:
    """A page around ``content`` as a PNG; a terminal's height follows its lines (19 px each)."""
    body = page.format(**content) if isinstance(content, dict) else page.format(body=content)
    html_file = work / f"{png.stem}.html"
    html_file.write_text(body, encoding="utf-8")
    height = height or min(2400, 19 * (body.count("\n") + 1) + 70)
    return render(html_file, png, width=PAGE_WIDTH, height=height)


if __name__ == "__main__":
    sys.exit(main())
