"""Command line: parse arguments, call one library function, print the result. Nothing else.

Expected failures print one line and exit 2; tracebacks only with --debug.
"""
from __future__ import annotations

import argparse
import signal
import sys
import tomllib
import traceback
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from grader.errors import GraderError
from grader.i18n import msg, render
from grader.prose_numbers import grade, grade_of, number, points, seconds
from grader.reports.words import late_word, status_word

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
    grade.add_argument("--runner", help="runner to use (local, docker, ...); default from the course file")
    grade.add_argument("--gpus", help='"all", a count, or indices "0,1": one GPU per job (local runner: detected)')
    grade.add_argument("--quiet", action="store_true", help="no progress, print only the summary")
    grade.add_argument("--workers", type=_positive_int, metavar="N",
                       help="jobs at once on this machine (default: one per GPU, else one per core)")
    grade.add_argument("--dask", metavar="ADDRESS",
                       help="run the jobs on a Dask cluster: a scheduler address (tcp://host:8786) or local:N")
    grade.add_argument("--student", metavar="N", help="grade only participant N (with --only; --force re-grades)")
    grade.add_argument("--static", action="store_true",
                       help="run nothing: score only what the notebooks show as handed in")
    grade.add_argument("--lang", choices=("es", "en"),
                       help="language of the feedback, report and this summary (default: the course's)")

    check = sub.add_parser("check", help="students: check a notebook against the public checks before handing in")
    check.add_argument("notebook", type=Path, help="the .ipynb file")
    check.add_argument("--practical", help="practical id (default: from the notebook's metadata)")
    check.add_argument("--run", action="store_true", help="re-execute the notebook locally and check its objects")
    check.add_argument("--data", type=Path, help="data folder for --run (default: the course's, else ./data)")
    check.add_argument("--course", type=Path, help="course.toml: its deadline, parameters and practicals")
    check.add_argument("--lang", choices=("es", "en"), default="es")

    data = sub.add_parser("data", help="write a practical's student data folder (training data only) in the "
                                       "template's layout: from the course's data file (data.zip) or, "
                                       "instructors, the course data folder")
    data.add_argument("practical", help="practical id (e.g. mnist_cnn)")
    data.add_argument("dest", type=Path, metavar="DIR",
                      help="the folder the template's data_dir starts with (data: mnist_cnn writes DIR/mnist)")
    data.add_argument("--from", dest="source", type=Path, metavar="SOURCE",
                      help="the course's data file (a zip, e.g. data.zip), a folder it was unzipped into, or "
                           "(instructors) the course data folder (default: the course file's data_dir)")
    data.add_argument("--course", type=Path, help="course.toml: its data_dir, parameters and practicals")
    data.add_argument("--lang", choices=("es", "en"), default="es")

    report = sub.add_parser("report", help="rebuild OUT/report.html from the results store, grading nothing")
    report.add_argument("course_file", type=Path, metavar="COURSE.toml")
    report.add_argument("--out", type=Path, help="output folder (default: the course's out_dir)")
    report.add_argument("--lang", choices=("es", "en"), help="language of the report (default: the course's)")

    similar = sub.add_parser("similarity", help="flag similar submissions for a human to review (never a grade)")
    similar.add_argument("course_file", type=Path, metavar="COURSE.toml")
    similar.add_argument("--practical", help="compare only this practical's submissions")
    similar.add_argument("--against", nargs="+", type=Path, default=[], metavar="DIR",
                         help="also compare with earlier years' archives or folders (DIR/<practical>/ or, "
                              "with --practical, DIR itself)")
    similar.add_argument("--threshold", type=float, help="flag pairs scoring at least this (default: course file)")
    similar.add_argument("--out", type=Path, help="output folder (default: the course's out_dir)")
    similar.add_argument("--lang", choices=("es", "en"), help="language of the pages and this summary (default: "
                                                              "the course's)")

    reference = sub.add_parser("reference", help="the reference implementation's metrics (relative thresholds)")
    reference_sub = reference.add_subparsers(dest="reference_command", required=True)
    ref_build = reference_sub.add_parser("build", help="train the reference under the grading budget, cache its "
                                                       "metrics in OUT/reference/")
    ref_build.add_argument("practical", help="practical id (a folder of assignments/)")
    ref_build.add_argument("--data", type=Path, required=True, help="the course data folder")
    ref_build.add_argument("--out", type=Path, default=Path("out"), help="output folder (default ./out)")
    ref_build.add_argument("--assignments", type=Path, help="folder of <practical>/assignment.toml")
    ref_build.add_argument("--force", action="store_true", help="build again even when cached")
    ref_outputs = reference_sub.add_parser("outputs", help="run each edition's solution and record which template "
                                                           "cells print or plot (assignments/<id>/template_outputs.json: "
                                                           "where an executed notebook must show output)")
    ref_outputs.add_argument("practical", help="practical id (a folder of assignments/)")
    ref_outputs.add_argument("--data", type=Path, required=True, help="the course data folder")
    ref_outputs.add_argument("--assignments", type=Path, help="folder of <practical>/assignment.toml")

    practical = sub.add_parser("practical", help="authors: whether a practical folder grades as meant")
    practical_sub = practical.add_subparsers(dest="practical_command", required=True)
    practical_check = practical_sub.add_parser(
        "check", help="every solution earns full marks, every template nothing, each mutant exactly its declared "
                      "loss; public specs, the student data hook and the messages build (one line per finding)")
    practical_check.add_argument("directory", type=Path, metavar="DIR", help="the practical's folder "
                                                                            "(assignment.toml and its files)")
    practical_check.add_argument("--data", type=Path, metavar="COURSE_DATA",
                                 help="the course data folder: runs the student data hook, the solutions and the "
                                      "templates (without it, only what needs no data is checked)")
    practical_check.add_argument("--seeds", type=_positive_int, default=5, metavar="N",
                                 help="seeds each mutant is graded on (default 5)")
    practical_check.add_argument("--set", dest="parameters", action="append", default=[], metavar="KEY=VALUE",
                                 help="a grading parameter for this check (TOML value, e.g. steps=30): as a course's "
                                      "practicals.<id>.parameters would set it")

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


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, not {text!r}")
    return value


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
        console.print(f"[red]error:[/red] {escape(str(err))}", highlight=False, soft_wrap=True)   # one line
        if args.debug:
            traceback.print_exc()
        return EXIT_USAGE
    except Exception as err:  # a bug: still one line for the user, the traceback on request
        console.print(f"[red]internal error:[/red] {type(err).__name__}: {err} (run with --debug for details)",
                      highlight=False)
        if args.debug:
            traceback.print_exc()
        return EXIT_FAILED
    except KeyboardInterrupt:   # in the course's language once a command has read it (_course_language)
        said = render(msg("cli_interrupted"), getattr(args, "lang", None) or "en")
        console.print(f"[yellow]{escape(said)}[/yellow]", highlight=False)
        return EXIT_INTERRUPTED


def _course_language(args: argparse.Namespace, course) -> str:
    """The language this command speaks: --lang, else the course's; kept on ``args`` for main's last lines."""
    args.lang = args.lang or course.lang
    return args.lang


def cmd_grade(args: argparse.Namespace, console: Console) -> int:
    # start-up: each command imports its own library, so `grader --help` and the others stay quick
    from grader.course import load_course, single_practical_course
    from grader.execution import runner_class, runner_names
    from grader.pipeline import grade_course
    from grader.progress import make_progress

    if args.practical:
        out = args.out or Path("grader-out")
        course = single_practical_course(args.practical, args.paths, args.data or Path("data"), out)
    else:
        if len(args.paths) != 1:
            raise GraderError("give one COURSE.toml, or --practical ID followed by submissions")
        course = load_course(args.paths[0])
    course = replace(course, lang=_course_language(args, course))
    runner = args.runner or course.runner
    if not runner_class(runner).isolated:   # an unknown --runner stops here, listing the registered ones
        isolated = [name for name in runner_names() if runner_class(name).isolated]
        said = render(msg("cli_not_isolated_hint" if isolated else "cli_not_isolated", runner=runner,
                          isolated=isolated[0] if isolated else ""), course.lang)
        console.print(escape(said), highlight=False)

    # a batch system stops jobs with SIGTERM: stop as cleanly as on Ctrl-C (running jobs killed, results kept)
    signal.signal(signal.SIGTERM, _interrupt)
    gpus = parse_gpus(args.gpus)   # each runner takes them its own way (pipeline: assign_gpus)
    result = grade_course(course, args.out, force=args.force, runner_name=args.runner, timeout_s=args.timeout,
                          only=args.only, student=args.student, workers=args.workers, gpus=gpus, dask=args.dask,
                          static=args.static, progress=make_progress(console, quiet=args.quiet, lang=course.lang))
    _print_results(console, result, course.lang)
    return EXIT_OK


def _print_results(console: Console, result, lang: str) -> None:
    """The batch's summary in ``lang`` (the course's): results, course grades, what was written; statuses in
    words, numbers as the language writes them (grader/prose_numbers.py)."""
    t = lambda code, **params: render(msg(code, **params), lang)  # noqa: E731
    table = Table(title=t("cli_results"))
    for col, width in ((t("report_col_practical"), 9), (t("report_col_participant"), 7), (t("report_col_name"), 12),
                       (t("report_col_status"), 12), (t("cli_col_score"), 10), (t("report_col_late"), 4)):
        table.add_column(col, no_wrap=True, min_width=width, overflow="ellipsis")
    table.add_column(t("cli_col_reason"), overflow="ellipsis", no_wrap=True, max_width=60)
    for s in result.scores:
        table.add_row(s.practical, s.participant, s.full_name, status_word(s.status, lang),
                      "-/" + points(s.max_score, lang) if s.score is None else grade_of(s.score, s.max_score, lang),
                      late_word(s.late, lang), render(s.reason, lang))
    console.print(table)
    grades = Table(title=t("cli_course_grades"))
    for col in (t("cli_col_student"), t("cli_col_key"), t("cli_col_grade"), t("cli_col_counted")):
        grades.add_column(col)
    for g in result.grades:
        grades.add_row(g.student.full_name, g.student.key or "-", grade(g.grade, lang), ", ".join(g.counted))
    console.print(grades)
    for w in result.warnings:
        console.print(f"[yellow]{escape(t('cli_warning'))}[/yellow] {escape(w)}", highlight=False)
    console.print(t("cli_counts", executed=result.executed, reused=result.reused), highlight=False)
    for f in result.files:
        console.print(t("cli_wrote", path=str(f)), highlight=False, markup=False)
    _print_attention(console, result.attention, result.lms, lang)


def _print_attention(console: Console, attention, lms: str, lang: str = "en") -> None:
    """Last, so that the instructor reads it: grades the LMS will not take from the exported files."""
    if not attention:
        return
    said = render(msg("cli_attention", count=len(attention), lms=lms), lang)
    console.print(f"[bold yellow]{escape(said)}[/bold yellow]")
    for flag in attention:
        console.print(f"  {flag.practical} {flag.participant} {flag.name}: {flag.why}", markup=False,
                      highlight=False, soft_wrap=True)


def cmd_practical(args: argparse.Namespace, console: Console) -> int:
    # start-up: each command imports its own library, so `grader --help` and the others stay quick
    from grader.practical_check import check_practical

    if not (args.directory / "assignment.toml").is_file():
        raise GraderError(f"{args.directory}: no assignment.toml there (give a practical's folder)")
    if args.data is not None and not args.data.is_dir():
        raise GraderError(f"--data {args.data}: no such folder")
    report = check_practical(args.directory, args.data, seeds=args.seeds, parameters=_parameters(args.parameters),
                             log=lambda line: console.print(line, markup=False, highlight=False))
    for line in report.passed:
        console.print(f"ok: {line}", markup=False, highlight=False)
    for line in report.skipped:
        console.print(f"not checked: {line}", markup=False, highlight=False)
    for line in report.findings:
        console.print(f"finding: {line}", markup=False, highlight=False, soft_wrap=True)
    console.print(f"{args.directory}: {len(report.findings)} finding{'s' if len(report.findings) != 1 else ''}",
                  markup=False, highlight=False)
    return EXIT_OK if report.ok else EXIT_FAILED


def _parameters(pairs: list[str]) -> dict:
    """``["steps=30", "device='cpu'"]`` -> {"steps": 30, "device": "cpu"}: each value read as TOML reads it (a
    bare word is a string)."""
    found = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip().isidentifier():
            raise GraderError(f"--set {pair}: write KEY=VALUE, e.g. steps=30")
        try:
            found[key.strip()] = tomllib.loads(f"v = {value.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            found[key.strip()] = value.strip()
    return found


def cmd_image(args: argparse.Namespace, console: Console) -> int:
    # start-up: each command imports its own library, so `grader --help` and the others stay quick
    from grader.docker_image import build_image, check_image

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
    console.print(f"deep learning: {report.deep_learning_line()}", highlight=False)
    return EXIT_OK


def cmd_check(args: argparse.Namespace, console: Console) -> int:
    # start-up: each command imports its own library, so `grader --help` and the others stay quick
    from grader.selfcheck import check_notebook
    from grader.selfcheck_report import headers, summary_lines, table_rows, title

    try:
        report = check_notebook(args.notebook, practical=args.practical, run=args.run, data_dir=args.data,
                                course_file=args.course)
    except GraderError as err:   # the student's one line, in the student's language
        console.print(f"[red]error:[/red] {render(err.reason, args.lang) or err}", highlight=False, soft_wrap=True)
        return EXIT_USAGE
    table = Table(title=title(report, args.lang))
    rows = table_rows(report, args.lang)
    for position, col in enumerate(headers(args.lang)):   # a check's title is never folded: its row is found by it
        table.add_column(col, overflow="fold", min_width=max((len(row[0]) for row in rows), default=0)
                         if position == 0 else None)
    for row in rows:
        table.add_row(*map(escape, row))
    console.print(table)
    for line in summary_lines(report, args.lang):
        console.print(line, highlight=False, markup=False)
    return report.exit_code


def cmd_data(args: argparse.Namespace, console: Console) -> int:
    # start-up: each command imports its own library, so `grader --help` and the others stay quick
    from grader.assignment import load_assignment
    from grader.course import load_course
    from grader.selfcheck import known_practicals
    from grader.student_data import ARCHIVE_EXAMPLE, template_data_dir, write_student_data

    course = load_course(args.course) if args.course else None
    known = known_practicals(course)
    if args.practical not in known:
        raise GraderError(f"no practical {args.practical}; known practicals: {', '.join(sorted(known))}")
    source = args.source or (course.data_dir if course else None)
    if source is None:
        raise GraderError(f"give --from SOURCE: the course's data file ({ARCHIVE_EXAMPLE}), the folder it was "
                          "unzipped into, or (instructors) the course data folder; or --course COURSE.toml")
    assignment = load_assignment(known[args.practical])
    parameters = {**assignment.parameters, **(course.practicals[args.practical].parameters if course else {})}
    try:
        folder = write_student_data(assignment, args.dest, source, parameters)
    except GraderError as err:   # a student's one line in the student's language; an instructor's as it is
        line = render(err.reason, args.lang) if err.reason.code != err.code else str(err)
        console.print(f"[red]error:[/red] {escape(line)}", highlight=False, soft_wrap=True)
        return EXIT_USAGE
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            console.print(render(msg("student_data_wrote", path=str(path), size=path.stat().st_size), args.lang),
                          highlight=False)
    console.print(render(msg("student_data_next", data_dir=str(template_data_dir(assignment)), top=str(args.dest)),
                         args.lang), highlight=False)
    return EXIT_OK


def cmd_report(args: argparse.Namespace, console: Console) -> int:
    # start-up: each command imports its own library, so `grader --help` and the others stay quick
    from grader.course import load_course
    from grader.reports.summary import rebuild_report

    course = load_course(args.course_file)
    path = rebuild_report(course, args.out, lang=_course_language(args, course))
    console.print(render(msg("cli_wrote", path=str(path)), args.lang), highlight=False, markup=False)
    return EXIT_OK


def cmd_similarity(args: argparse.Namespace, console: Console) -> int:
    # start-up: each command imports its own library, so `grader --help` and the others stay quick
    from grader.course import load_course
    from grader.similarity import similarity_for_course


    if args.threshold is not None and not 0 < args.threshold <= 1:
        raise GraderError(f"--threshold: must be above 0 and at most 1, not {args.threshold}")
    course = load_course(args.course_file)
    course = replace(course, lang=_course_language(args, course))
    report = similarity_for_course(course, args.out, practical=args.practical, against=args.against,
                                   threshold=args.threshold)
    t = lambda code, **params: render(msg(code, **params), args.lang)  # noqa: E731
    table = Table(title=t("similarity_cli_title"))
    for col in (t("report_col_practical"), "a", "b", t("report_col_score"), t("report_col_shared"),
                t("similarity_col_page")):
        table.add_column(col, overflow="fold")
    for p in report.flagged:
        table.add_row(p.practical, f"{p.participant_a} {p.name_a}", f"{p.participant_b} {p.name_b}",
                      number(f"{p.score:.3f}", args.lang), str(p.shared_lines), p.page)
    console.print(table)
    for w in report.warnings:
        console.print(f"[yellow]{escape(t('cli_warning'))}[/yellow] {escape(w)}", highlight=False)
    compared = [msg("similarity_cli_practical", practical=pid, count=n) for pid, n in report.compared.items()]
    console.print(t("similarity_cli_compared", compared=compared, seconds=seconds(report.seconds, args.lang),
                    flagged=len(report.flagged)), highlight=False, markup=False)
    for f in report.files[:2]:
        console.print(t("cli_wrote", path=str(f)), highlight=False, markup=False)
    return EXIT_OK


def cmd_reference(args: argparse.Namespace, console: Console) -> int:
    # start-up: each command imports its own library, so `grader --help` and the others stay quick
    from grader.references import build_practical

    if args.reference_command == "outputs":
        # start-up: each command imports its own library, so `grader --help` and the others stay quick
        from grader.template_outputs_build import build_template_outputs

        path = build_template_outputs(args.practical, args.data, assignments_dir=args.assignments,
                                      log=lambda line: console.print(line, markup=False, highlight=False))
        console.print(f"wrote {path}", markup=False, highlight=False)
        return EXIT_OK
    metrics = build_practical(args.practical, args.data, args.out, assignments_dir=args.assignments,
                              rebuild=args.force, log=lambda line: console.print(line, highlight=False))
    console.print(f"{args.practical}: " + ", ".join(f"{k} = {v}" for k, v in metrics.items()), highlight=False)
    return EXIT_OK


_COMMANDS = {"grade": cmd_grade, "data": cmd_data, "image": cmd_image, "reference": cmd_reference, "check": cmd_check,
             "report": cmd_report, "similarity": cmd_similarity, "practical": cmd_practical}


if __name__ == "__main__":
    sys.exit(main())
