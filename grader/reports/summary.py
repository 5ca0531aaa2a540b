"""The instructor's report, ``<out>/report.html``: one self-contained file (figures as base64 PNG).

Grade histograms, pass rate per check, time per submission, and the list of submissions a person should
look at. For the instructor only (hidden checks appear by name), in English. Reads records and writes
one file; ``rebuild_report`` reads them back from the results store and never grades anything.
"""
from __future__ import annotations

import base64
import html
import statistics
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

from grader.course import Course
from grader.errors import InputError
from grader.i18n import render
from grader.records import CourseGrade, Flag, PracticalScore, Student
from grader.reports import plots
from grader.reports.page import html_page

REPORT_NAME = "report.html"
_RUN_PROBLEMS = {"timeout": "timeout", "error": "crashed or raised", "invalid": "no usable notebook"}


def write_report(out_dir: Path, course: Course, scores: list[PracticalScore], grades: list[CourseGrade],
                 warnings: list[str] = (), attention: list[Flag] = ()) -> Path:
    """``attention``: what the Moodle exports could not carry (grader/exports.py), listed with the rest."""
    from grader.similarity import flagged_pairs

    dest = Path(out_dir) / REPORT_NAME
    dest.write_text(report_html(course, scores, grades, list(warnings), similar=flagged_pairs(Path(out_dir)),
                                attention=list(attention)),
                    encoding="utf-8")
    return dest


def rebuild_report(course: Course, out_dir: Path | None = None) -> Path:
    """report.html again from ``<out>/grader.sqlite``; course grades recomputed for the students as ``grader
    grade`` joined them (the store's roster, by the configured user key), nothing executed."""
    from grader.store import Store

    out = Path(out_dir or course.out_dir)
    db = out / "grader.sqlite"
    if not db.is_file():
        raise InputError(f"{db}: no results store there; run `grader grade` first (or give --out)")
    with Store(db) as store:
        scores = [s for s in store.scores() if s.practical in course.practicals]
        roster = store.students()
    if not roster:   # a store written before the roster was kept: joined again by email, else name
        return write_report(out, course, scores, grades_from_scores(course, scores))
    from grader.outcomes import course_grades

    return write_report(out, course, scores, course_grades(course, roster, scores))


def grades_from_scores(course: Course, scores: list[PracticalScore]) -> list[CourseGrade]:
    """Students rebuilt from stored scores (joined by email, else by name) and graded with course policy."""
    from grader.outcomes import course_grades   # the batch's own arithmetic, so the two never disagree

    people: dict[str, dict] = {}
    for s in scores:
        key = s.email.casefold() if s.email else "name:" + s.full_name.casefold()
        person = people.setdefault(key, {"name": s.full_name, "email": s.email, "participants": {},
                                         "ambiguous": False})
        if s.practical in person["participants"]:   # two submissions of one practical under one name
            person["ambiguous"] = True
        person["participants"][s.practical] = s.participant
    students = [Student(key=p["email"], full_name=p["name"], email=p["email"], participants=p["participants"],
                        ambiguous=p["ambiguous"]) for p in people.values()]
    return course_grades(course, students, scores)


def needs_human(scores: list[PracticalScore], grades: list[CourseGrade]) -> list[Flag]:
    flags = []
    for s in scores:
        def flag(why: str) -> None:
            flags.append(Flag(s.practical, s.participant, s.full_name, why))

        if s.status in _RUN_PROBLEMS:
            flag(f"{_RUN_PROBLEMS[s.status]}: {render(s.reason, 'en')}" if s.reason else _RUN_PROBLEMS[s.status])
        for check in s.checks:
            if check.details.get("needs_human"):
                flag(f"check {check.check_id}: {check.details['needs_human']}")
            elif check.kind == "reported" and not check.passed:
                flag(f"reported vs reproduced mismatch in {check.check_id}: {render(check.reason, 'en')}")
        if s.late == "yes":
            flag(f"late: {render(s.reason, 'en')}")
        if s.status == "overridden":
            flag(f"overridden: {s.override_reason or ''}")
    for g in grades:
        if g.student.ambiguous:
            flags.append(Flag(", ".join(g.student.participants), ", ".join(g.student.participants.values()),
                              g.student.full_name, "joined by a name several people share: check the join"))
    return flags


def report_html(course: Course, scores: list[PracticalScore], grades: list[CourseGrade], warnings: list[str],
                generated: datetime | None = None, similar: list | None = None,
                attention: list[Flag] | None = None) -> str:
    generated = generated or datetime.now(timezone.utc)
    practicals = list(course.practicals)
    sections = [
        f"<h1>{html.escape(course.name)}</h1><p class='muted'>grader report, "
        f"{generated.strftime('%Y-%m-%d %H:%M UTC')}; {len(grades)} students</p>",
        _overview(practicals, scores),
        _needs_human_table(needs_human(scores, grades) + list(attention or [])),
        _similar_table(similar or []),
        _section("Grades", plots.grade_histograms(
            [(p, _floats(s.score for s in scores if s.practical == p and s.score is not None),
              float(_max_score(scores, p))) for p in practicals]
            + [("course grade", _floats(g.grade for g in grades), float(course.max_grade))])),
        _section("Pass rate per check", plots.pass_rates([(p, _rates(scores, p)) for p in practicals]),
                 _check_table(practicals, scores)),
        _section("Time per submission", plots.durations(
            [(p, [s.duration_s for s in scores if s.practical == p and s.duration_s is not None])
             for p in practicals]), _slowest(scores)),
    ]
    if warnings:
        sections.append("<h2>Warnings</h2><ul>" + "".join(f"<li>{html.escape(w)}</li>" for w in warnings) + "</ul>")
    return html_page(f"{course.name}: grading report", "".join(sections), "en")


def _floats(values) -> list[float]:
    return [float(v) for v in values]   # for drawing only


def _max_score(scores: list[PracticalScore], practical: str) -> Decimal:
    return max((s.max_score for s in scores if s.practical == practical), default=Decimal("10"))


def _graded(scores: list[PracticalScore], practical: str) -> list[PracticalScore]:
    return [s for s in scores if s.practical == practical and s.checks]


def _rates(scores: list[PracticalScore], practical: str) -> list[tuple[str, float]]:
    graded = _graded(scores, practical)
    order = list(dict.fromkeys(c.check_id for s in graded for c in s.checks))
    rates = []
    for check_id in order:
        results = [c for s in graded for c in s.checks if c.check_id == check_id]
        rates.append((check_id, sum(c.passed for c in results) / len(results)))
    return rates


def _section(title: str, png: bytes, extra: str = "") -> str:
    data = base64.b64encode(png).decode("ascii")
    return f"<h2>{html.escape(title)}</h2><img alt='{html.escape(title)}' src='data:image/png;base64,{data}'>{extra}"


def _overview(practicals: list[str], scores: list[PracticalScore]) -> str:
    statuses = ["graded", "not_executed", "error", "timeout", "invalid", "missing", "overridden"]
    head = "".join(f"<th>{h}</th>" for h in ["practical", *statuses, "late", "mean", "median"])
    rows = ""
    for p in practicals:
        mine = [s for s in scores if s.practical == p]
        counts = [sum(s.status == st for s in mine) for st in statuses]
        values = [s.score for s in mine if s.score is not None]
        mean = _show(sum(values, Decimal("0")) / len(values)) if values else "-"
        median = _show(statistics.median(values)) if values else "-"
        cells = [*counts, sum(s.late == "yes" for s in mine), mean, median]
        rows += f"<tr><td>{html.escape(p)}</td>" + "".join(f"<td class='num'>{c}</td>" for c in cells) + "</tr>"
    return f"<h2>Overview</h2><table><tr>{head}</tr>{rows}</table>"


def _check_table(practicals: list[str], scores: list[PracticalScore]) -> str:
    rows = ""
    for p in practicals:
        graded = _graded(scores, p)
        for check_id, rate in _rates(scores, p):
            results = [c for s in graded for c in s.checks if c.check_id == check_id]
            mean = sum((c.points for c in results), Decimal("0")) / len(results)
            first = results[0]
            rows += (f"<tr><td>{html.escape(p)}</td><td>{html.escape(check_id)}</td><td>{html.escape(first.kind)}"
                     f"{' (hidden)' if first.hidden else ''}</td><td class='num'>{rate * 100:.0f}%</td>"
                     f"<td class='num'>{_show(mean)}/{first.max_points}</td></tr>")
    head = "<tr><th>practical</th><th>check</th><th>kind</th><th>passed</th><th>mean points</th></tr>"
    return f"<table>{head}{rows}</table>" if rows else ""


def _slowest(scores: list[PracticalScore], count: int = 5) -> str:
    timed = sorted((s for s in scores if s.duration_s is not None), key=lambda s: s.duration_s, reverse=True)
    if not timed:
        return ""
    rows = "".join(f"<tr><td>{html.escape(s.practical)}</td><td>{html.escape(s.participant)}</td>"
                   f"<td>{html.escape(s.full_name)}</td><td class='num'>{s.duration_s:.1f} s</td>"
                   f"<td>{html.escape(s.status)}</td></tr>" for s in timed[:count])
    total = sum(s.duration_s for s in timed)
    return (f"<p>{len(timed)} submissions, {total / 60:.1f} min in all, median "
            f"{statistics.median(s.duration_s for s in timed):.1f} s. Slowest:</p>"
            f"<table><tr><th>practical</th><th>participant</th><th>name</th><th>time</th><th>status</th></tr>"
            f"{rows}</table>")


def _similar_table(pairs: list) -> str:
    """Similarity flags (grader/similarity): for a human to review, never a grade."""
    if not pairs:
        return ""
    rows = "".join(
        f"<tr><td>{html.escape(p.practical)}</td><td>{html.escape(p.participant_a)} {html.escape(p.name_a)}</td>"
        f"<td>{html.escape(p.participant_b)} {html.escape(p.name_b)}</td><td>{p.score:.2f}</td>"
        f"<td>{p.shared_lines}</td><td>" + (f"<a href='{html.escape(p.page)}'>side by side</a>" if p.page else "")
        + "</td></tr>" for p in pairs)
    return (f"<h2>Similar submissions ({len(pairs)})</h2><p class='muted'>flags for review, not evidence and "
            "never a grade</p><table><tr><th>practical</th><th>a</th><th>b</th><th>score</th>"
            f"<th>shared lines</th><th></th></tr>{rows}</table>")


def _needs_human_table(flags: list[Flag]) -> str:
    if not flags:
        return "<h2>Needs a human</h2><p>Nothing: no timeouts, crashes, mismatches, late hand-ins, ambiguous " \
               "joins or overrides.</p>"
    rows = "".join(f"<tr><td>{html.escape(f.practical)}</td><td>{html.escape(f.participant)}</td>"
                   f"<td>{html.escape(f.name)}</td><td>{html.escape(f.why)}</td></tr>" for f in flags)
    return (f"<h2>Needs a human ({len(flags)})</h2><table><tr><th>practical</th><th>participant</th>"
            f"<th>name</th><th>why</th></tr>{rows}</table>")


def _show(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))
