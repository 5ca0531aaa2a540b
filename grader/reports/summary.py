"""The instructor's report, ``<out>/report.html``: one self-contained file (figures as base64 PNG).

Grade histograms, pass rate per check, time per submission, and the list of submissions a person should
look at. For the instructor only (hidden checks appear by name), in the course language (or ``lang``), with
its numbers (grader/prose_numbers.py); practicals and checks are named by their titles. The students the course's
LMS will not take from its files as written are its adapter's lines (grader/lms/base.py: ``attention``).
Reads records and writes one file; ``rebuild_report`` reads them back from the results store and never grades anything.
"""
from __future__ import annotations

import base64
import statistics
from dataclasses import replace
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

from markupsafe import Markup

from grader import prose_numbers
from grader.assignment import load_assignment
from grader.course import Course
from grader.errors import ConfigError, InputError
from grader.i18n import code_html, msg, render
from grader.lms.registry import lms_class
from grader.out_layout import OutLayout
from grader.outcomes import course_grades
from grader.records import CourseGrade, Flag, PracticalScore, Reason, Student
from grader.reports import plots
from grader.reports.templates import render_page
from grader.reports.words import STATUSES, status_word
from grader.similarity.table import flagged_pairs
from grader.loaded_assignment import Titles
from grader.store import Store
_RUN_PROBLEMS = ("timeout", "error", "invalid")
# a check's call for a person that only repeats that the run failed or never happened (nothing reproduced to
# compare with): the run's own line says it, or (a static look) nothing was meant to run
_FOR_WANT_OF_A_RUN = frozenset({"reported_not_reproduced"})


def _ran(score: PracticalScore) -> bool:
    """Whether the grader's run of the notebook finished (a static look runs nothing)."""
    return score.status not in _RUN_PROBLEMS and not (score.reason and score.reason.code == "job_static")


# notes of an evaluation that a person must read: note code -> the flag's code
_HUMAN_NOTES = {"edition_not_offered": "report_flag_edition", "run_host_leftovers": "report_flag_host_leftovers"}


def _t(code: str, lang: str, **params) -> Markup:
    """A catalogue text for the page: escaped, code names as <code>."""
    return Markup(code_html(render(msg(code, **params), lang)))


def write_report(out: OutLayout | Path, course: Course, scores: list[PracticalScore], grades: list[CourseGrade],
                 titles: dict[str, Titles] | None = None, warnings: list[str] = (), attention: list[Flag] = (),
                 lang: str | None = None) -> Path:
    """``attention``: what the LMS's files could not carry (its adapter's lines), listed with the rest."""
    out = out if isinstance(out, OutLayout) else OutLayout(Path(out))
    out.report.write_text(report_html(course, scores, grades, list(warnings), similar=flagged_pairs(out.root),
                                      attention=list(attention), lang=lang, titles=titles),
                          encoding="utf-8")
    return out.report


def rebuild_report(course: Course, out_dir: Path | None = None, lang: str | None = None) -> Path:
    """report.html again from ``<out>/grader.sqlite``; course grades recomputed for the students as ``grader
    grade`` joined them (the store's roster, by the configured user key), nothing executed. The students
    the LMS will not take from the exports as written are named again, from its inputs as they are now (one
    that cannot be read is a warning, never a stop: the report of what is stored is still worth having)."""
    course = replace(course, lang=lang or course.lang)   # every line of the report in one language
    out = OutLayout(Path(out_dir or course.out_dir))
    if not out.store.is_file():
        raise InputError(f"{out.store}: no results store there; run `grader grade` first (or give --out)")
    with Store(out.store) as store:
        scores = [s for s in store.scores() if s.practical in course.practicals]
        roster = store.students()
    # a store written before the roster was kept: joined again by email, else name
    grades = course_grades(course, roster, scores) if roster else grades_from_scores(course, scores)
    titles, warnings = course_titles(course)
    lms = lms_class(course.lms).open(course, titles, strict=False)
    return write_report(out, course, scores, grades, titles, warnings + lms.warnings,
                        lms.attention(scores, grades), lang=lang)


def course_titles(course: Course) -> tuple[dict[str, Titles], list[str]]:
    """Each practical's titles from its assignment.toml; one that cannot be loaded is named by its id, and said."""
    titles, warnings = {}, []
    for pid, cfg in course.practicals.items():
        try:
            titles[pid] = Titles.of(load_assignment(cfg.assignment_dir, check_files=False))
        except ConfigError as err:
            titles[pid] = Titles(pid)
            warnings.append(f"practicals.{pid}: {err}; its checks are named by their ids")
    return titles, warnings


def grades_from_scores(course: Course, scores: list[PracticalScore]) -> list[CourseGrade]:
    """Students rebuilt from stored scores (joined by email, else by name) and graded with course policy (the
    batch's own arithmetic, so the two never disagree)."""
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


# notes of an evaluation that a person must look at (the judge could not run the model outside the notebook)
FLAGGED_NOTES = {"judge_student_process": "report_flag_student_process", "judge_refused": "report_flag_judge_refused",
                 "params_in_force": "report_flag_params_in_force"}


def needs_human(scores: list[PracticalScore], grades: list[CourseGrade], lang: str = "en",
                titles: dict | None = None) -> list[Flag]:
    """Why a person should look, in words, each cause of a submission once: a check's own reason (in the
    instructor's wording, the student in the third person), never a raw value from its details."""
    flags = []
    for s in scores:
        mine: list[str] = []

        def flag(code: str, **params) -> None:
            text = render(Reason(code, params), lang, for_instructor=True)
            if text not in mine:
                mine.append(text)

        named = (titles or {}).get(s.practical)
        if s.status in _RUN_PROBLEMS:
            flag(f"report_flag_{s.status}", reason=s.reason or "-")
        if s.status == "untouched":   # nothing of the student's ran: no check of it says more
            flag("report_flag_untouched", reason=s.reason or "-")
        for check in s.checks if s.status != "untouched" else ():
            note = check.details.get("needs_human")   # True, or a note in words; never shown as a value
            if not note or (check.reason.code in _FOR_WANT_OF_A_RUN and not _ran(s)):
                continue
            title = named.of_check(check.check_id, lang) if named else check.check_id
            if check.kind == "reported":   # a figure printed and a figure reproduced that disagree
                flag("report_flag_mismatch", check=title, reason=check.reason)
            else:
                flag("report_flag_check", check=title, reason=note if isinstance(note, str) else check.reason)
        for note in s.notes:
            if note.code in _HUMAN_NOTES:
                flag(_HUMAN_NOTES[note.code], reason=note)
            elif note.code in FLAGGED_NOTES:   # a model judged where the notebook could interfere, or not at all
                flag(FLAGGED_NOTES[note.code], **note.params)
        if s.late == "yes":
            flag("report_flag_late", reason=s.reason)
        if s.status == "overridden":
            flag("report_flag_overridden", reason=s.override_reason or "")
        flags += [Flag(s.practical, s.participant, s.full_name, text) for text in mine]
    for g in grades:
        if g.student.ambiguous:
            flags.append(Flag(", ".join(g.student.participants), ", ".join(g.student.participants.values()),
                              g.student.full_name, render(msg("report_flag_ambiguous"), lang)))
    return flags


def report_html(course: Course, scores: list[PracticalScore], grades: list[CourseGrade], warnings: list[str],
                generated: datetime | None = None, similar: list | None = None,
                attention: list[Flag] | None = None, lang: str | None = None,
                titles: dict[str, Titles] | None = None) -> str:
    """``titles``: per practical, the instructor's (hidden checks named too); ids where none are given."""
    lang = lang or course.lang
    generated = generated or datetime.now(timezone.utc)
    practicals = list(course.practicals)
    titles = {pid: (titles or {}).get(pid) or Titles(pid) for pid in practicals}
    name = _practical_names(titles, lang)
    t = lambda code, **params: _t(code, lang, **params)  # noqa: E731
    flags = needs_human(scores, grades, lang, titles) + list(attention or [])
    order = {pid: number for number, pid in enumerate(practicals)}   # by practical, then participant
    flags.sort(key=lambda f: (order.get(f.practical, len(order)), f.participant.zfill(12)))
    return render_page(
        "report.html.j2", lang=lang, t=t, title=render(msg("report_title", course=course.name), lang),
        course=course.name, generated=generated.strftime("%Y-%m-%d %H:%M UTC"), students=len(grades),
        overview=_overview(practicals, scores, lang, name),
        flags=[Flag(name(f.practical), f.participant, f.name, f.why) for f in flags],
        similar=[{"pair": p, "practical": name(p.practical), "score": prose_numbers.number(f"{p.score:.2f}", lang)}
                 for p in similar or []],
        checks=_check_rows(practicals, scores, lang, titles, name),
        slowest=_slowest(scores, lang, name), warnings=warnings,
        **_figures(course, scores, grades, titles, name, lang))


def _figures(course: Course, scores: list[PracticalScore], grades: list[CourseGrade], titles: dict, name,
             lang: str) -> dict:
    """The report's three figures (grades, pass rates, times), each practical by its title, each check by its."""
    practicals = list(course.practicals)
    said = lambda code: render(msg(code), lang)  # noqa: E731 -- plain text: matplotlib draws it, no HTML
    words = plots.Axes(said("report_axis_grade"), said("report_axis_students"), said("report_axis_passed"),
                       said("report_axis_seconds"), said("report_axis_submissions"), lang=lang)
    histograms = [(name(p), _floats(s.score for s in scores if s.practical == p and s.score is not None),
                   float(_max_score(scores, p))) for p in practicals] + [
        (said("report_course_grade"), _floats(g.grade for g in grades), float(course.max_grade))]
    rates = [(name(p), [(_check_name(titles, p, check_id, lang), rate) for check_id, rate in _rates(scores, p)])
             for p in practicals]
    times = [(name(p), [s.duration_s for s in scores if s.practical == p and s.duration_s is not None])
             for p in practicals]
    return {"grades": _figure(said("report_grades"), plots.grade_histograms, histograms, words),
            "pass_rate": _figure(said("report_pass_rate"), plots.pass_rates, rates, words,
                                 lambda checks: ", ".join(f"{c} {prose_numbers.percent(r, lang)}" for c, r in checks)),
            "time": _figure(said("report_time"), plots.durations, times, words)}


def _practical_names(titles: dict, lang: str):
    """practical id -> its title in ``lang``; "course" (a course.csv row) and joined ids in words too."""
    def name(key: str) -> str:
        if key == "course":
            return render(msg("report_course_row"), lang)
        return ", ".join(titles[k].of_practical(lang) if k in titles else k for k in key.split(", "))
    return name


def _check_name(titles: dict, practical: str, check_id: str, lang: str) -> str:
    """The check's title in plain text (a chart draws it): code names without their backticks."""
    named = titles[practical].of_check(check_id, lang) if practical in titles else check_id
    return named.replace("`", "")


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


def _figure(title: str, draw, series: list, words: plots.Axes, describe=None) -> dict:
    """A plot's section: its title, the PNG ``draw`` makes of ``series`` (base64, for a data: URL) and what
    the figure says in words (its alt text: each panel's title, and ``describe`` of its data when given)."""
    panels = [f"{panel[0]}: {describe(panel[1])}" if describe else panel[0] for panel in series]
    return {"title": title, "png": base64.b64encode(draw(series, words)).decode("ascii"),
            "alt": f"{title}: " + "; ".join(panels)}


def _overview(practicals: list[str], scores: list[PracticalScore], lang: str, name) -> dict:
    """Per practical: how many submissions ended in each status (those that occur), how many were late, mean
    and median."""
    rows = []
    for p in practicals:
        mine = [s for s in scores if s.practical == p]
        counts = [sum(s.status == st for s in mine) for st in STATUSES]
        values = [s.score for s in mine if s.score is not None]
        mean = prose_numbers.grade(sum(values, Decimal("0")) / len(values), lang) if values else "-"
        median = prose_numbers.grade(statistics.median(values), lang) if values else "-"
        rows.append({"practical": name(p), "counts": counts, "late": sum(s.late == "yes" for s in mine),
                     "mean": mean, "median": median})
    # a status no submission ended in is left out: the table fits a screen whatever the number of practicals
    shown = [i for i, st in enumerate(STATUSES) if st == "graded" or any(row["counts"][i] for row in rows)]
    for row in rows:
        row["cells"] = [*(row["counts"][i] for i in shown), row["late"], row["mean"], row["median"]]
    return {"statuses": [status_word(STATUSES[i], lang) for i in shown], "rows": rows}


def _check_rows(practicals: list[str], scores: list[PracticalScore], lang: str, titles: dict, name) -> list[dict]:
    """Per check: pass rate and mean points, named by its title (the id only where it has none)."""
    rows = []
    for p in practicals:
        graded = _graded(scores, p)
        for check_id, rate in _rates(scores, p):
            results = [c for s in graded for c in s.checks if c.check_id == check_id]
            mean = sum((c.points for c in results), Decimal("0")) / len(results)
            first = results[0]
            rows.append({"practical": name(p), "check": titles[p].of_check(check_id, lang) if p in titles else check_id,
                         "kind": first.kind, "hidden": first.hidden, "passed": prose_numbers.percent(rate, lang),
                         "mean": prose_numbers.points_of(mean, first.max_points, lang)})
    return rows


def _slowest(scores: list[PracticalScore], lang: str, name, count: int = 5) -> dict | None:
    timed = sorted((s for s in scores if s.duration_s is not None), key=lambda s: s.duration_s, reverse=True)
    if not timed:
        return None
    total = sum(s.duration_s for s in timed)
    rows = [{"practical": name(s.practical), "participant": s.participant, "full_name": s.full_name,
             "seconds": prose_numbers.seconds(s.duration_s, lang), "status": status_word(s.status, lang)}
            for s in timed[:count]]
    return {"rows": rows, "count": len(timed), "minutes": prose_numbers.seconds(total / 60, lang),
            "median": prose_numbers.seconds(statistics.median(s.duration_s for s in timed), lang)}
