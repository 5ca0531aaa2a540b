"""Command line: parse arguments, call one library function, print the result. Nothing else.

Expected failures print one line and exit 2; tracebacks only with --debug.
"""
from __future__ import annotations

import argparse
import sys
import traceback
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.table import Table

from grader.errors import GraderError
from grader.i18n import render

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grader", description="Grade executed notebooks, from Moodle to Moodle.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    sub = parser.add_subparsers(dest="command", required=True)

    grade = sub.add_parser("grade", help="grade a course (COURSE.toml) or, with --practical, some notebooks")
    grade.add_argument("paths", nargs="+", type=Path, help="COURSE.toml, or submissions with --practical")
    grade.add_argument("--practical", help="grade PATHs (archives, folders, notebooks) as this practical")
    grade.add_argument("--data", type=Path, help="data folder (with --practical; default ./data)")
    grade.add_argument("--out", type=Path, help="output folder (default: the course's out_dir)")
    grade.add_argument("--force", action="store_true", help="grade again what the store already holds")
    grade.add_argument("--only", metavar="PRACTICAL", help="grade only this practical (with --force: re-grade it)")
    grade.add_argument("--timeout", type=float, metavar="S", help="whole-run time limit per notebook, seconds")
    grade.add_argument("--runner", help="runner to use (local); default from the course file")
    grade.add_argument("--gpus", help='docker runner: "all", a count, or indices "0,1" (one GPU per job)')
    grade.add_argument("--quiet", action="store_true", help="print only the summary")

    image = sub.add_parser("image", help="the docker runner's runtime image")
    image_sub = image.add_subparsers(dest="image_command", required=True)
    build = image_sub.add_parser("build", help="build the runtime image (offline: from a host wheelhouse)")
    build.add_argument("--base", help="BASE_IMAGE (default: the Dockerfile's public PyTorch CUDA image)")
    build.add_argument("--tag", default="grader-runtime:latest")
    build.add_argument("--wheelhouse", type=Path, help="install from these wheels (default: pip download here)")
    build.add_argument("--online", action="store_true", help="let pip inside the build use its index")
    check = image_sub.add_parser("check", help="does the image exist, and what does it hold")
    check.add_argument("--tag", default="grader-runtime:latest")
    check.add_argument("--gpus", help='ask for GPUs when checking CUDA ("all", a count or "0,1")')
    return parser


def parse_gpus(text: str | None):
    """ "all" | "2" | "0,1" -> what the docker runner takes."""
    if text is None:
        return None
    text = text.strip()
    if text == "all":
        return "all"
    try:
        return int(text) if "," not in text else [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise GraderError(f'--gpus: expected "all", a number or a list like "0,1", not {text!r}') from None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # piped output (CI logs, `| tee`) is not a terminal: give tables room instead of rich's 80 columns
    console = Console() if sys.stdout.isatty() else Console(width=160)
    try:
        return _COMMANDS[args.command](args, console)
    except GraderError as err:
        console.print(f"[red]error:[/red] {err}", highlight=False)
        if args.debug:
            traceback.print_exc()
        return EXIT_USAGE
    except Exception as err:  # a bug: still one line for the user, the traceback on request
        console.print(f"[red]internal error:[/red] {type(err).__name__}: {err} (run with --debug for details)",
                      highlight=False)
        if args.debug:
            traceback.print_exc()
        return EXIT_FAILED
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/yellow]: every result finished so far is kept; run the same "
                      "command again to finish the rest")
        return EXIT_INTERRUPTED


def cmd_grade(args: argparse.Namespace, console: Console) -> int:
    from grader.course import load_course, single_practical_course
    from grader.pipeline import grade_course

    if args.practical:
        out = args.out or Path("grader-out")
        course = single_practical_course(args.practical, args.paths, args.data or Path("data"), out)
    else:
        if len(args.paths) != 1:
            raise GraderError("give one COURSE.toml, or --practical ID followed by submissions")
        course = load_course(args.paths[0])
    runner = args.runner or course.runner
    if runner == "local":
        console.print("[yellow]note:[/yellow] the local runner executes students' code as your user, without "
                      "isolation; use runner = \"docker\" for untrusted batches")

    def progress(practical, submission, evaluation) -> None:
        if not args.quiet:
            console.print(f"  {practical} {submission.participant:>8} {submission.full_name[:30]:30} "
                          f"{evaluation.status}", highlight=False)

    if args.gpus is not None:
        course = replace(course, docker={**course.docker, "gpus": parse_gpus(args.gpus)})
    result = grade_course(course, args.out, force=args.force, runner_name=args.runner, timeout_s=args.timeout,
                          only=args.only, progress=progress)
    _print_results(console, result, course.lang)
    return EXIT_OK


def _print_results(console: Console, result, lang: str) -> None:
    table = Table(title="Results")
    for col, width in (("practical", 9), ("participant", 7), ("name", 12), ("status", 12), ("score", 9),
                       ("late", 4)):
        table.add_column(col, no_wrap=True, min_width=width, overflow="ellipsis")
    table.add_column("reason", overflow="ellipsis", no_wrap=True, max_width=60)
    for s in result.scores:
        table.add_row(s.practical, s.participant, s.full_name, s.status,
                      "-" if s.score is None else f"{s.score}/{s.max_score}", s.late,
                      render(s.reason, "en"))
    console.print(table)
    grades = Table(title="Course grades")
    for col in ("student", "key", "grade", "counted"):
        grades.add_column(col)
    for g in result.grades:
        grades.add_row(g.student.full_name, g.student.key or "-", str(g.grade), ", ".join(g.counted))
    console.print(grades)
    for w in result.warnings:
        console.print(f"[yellow]warning:[/yellow] {w}", highlight=False)
    console.print(f"graded {result.executed}, reused from the store {result.reused}")
    for f in result.files:
        console.print(f"wrote {f}", highlight=False)


def cmd_image(args: argparse.Namespace, console: Console) -> int:
    from grader.image import build_image, check_image

    if args.image_command == "build":
        report = build_image(args.base, args.tag, args.wheelhouse, use_index=args.online,
                             log=lambda line: console.print(line, highlight=False))
        console.print(f"built {report.tag} ({report.size_mb} MB) in {report.seconds:.0f} s"
                      + (" (cached)" if report.cached else ""))
        return EXIT_OK
    report = check_image(args.tag, gpus=parse_gpus(args.gpus))
    if not report.exists or not report.usable:
        console.print(f"[red]{report.tag}: not usable[/red]: {report.problem}", highlight=False)
        return EXIT_FAILED
    console.print(f"{report.tag}: {report.size_bytes / 2**20:.0f} MB, python {report.python}, torch {report.torch}, "
                  f"CUDA {'available' if report.cuda_available else 'not available'}"
                  + (f" ({report.cuda_version})" if report.cuda_version else "")
                  + f", grader {report.grader_version}", highlight=False)
    return EXIT_OK


_COMMANDS = {"grade": cmd_grade, "image": cmd_image}


if __name__ == "__main__":
    sys.exit(main())
