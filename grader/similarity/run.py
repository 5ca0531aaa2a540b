"""One similarity run: the students' code of each practical, every pair compared (and against earlier
years' submissions), written to <out>/similarity.csv and side-by-side pages under <out>/similarity/.

Writes only those; it never touches a score, the store, the LMS's files or a student's feedback.
"""
from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from grader.assignment import Assignment, Titles, load_assignment
from grader.course import Course
from grader.errors import ConfigError
from grader.lms.registry import lms_class
from grader.out_layout import OutLayout
from grader.records import Submission
from grader.similarity.compare import Document, Match, boilerplate_hashes, find_matches, fingerprint
from grader.similarity.extract import Template, load_template, student_code
from grader.similarity.pages import PAGES_DIR, page_path, write_index, write_pair_page
from grader.similarity.table import FlaggedPair, flagged_pairs, ranked, write_pairs
from grader.submissions import collect


@dataclass
class SimilarityReport:
    out_dir: Path
    flagged: list[FlaggedPair]                 # this run's flagged pairs, best first
    files: list[Path]
    compared: dict[str, int] = field(default_factory=dict)   # practical -> submissions compared
    skipped: dict[str, int] = field(default_factory=dict)    # practical -> too short or unreadable
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0


def similarity_for_course(course: Course, out_dir: Path | None = None, *, practical: str | None = None,
                          against: Sequence[Path] = (), threshold: float | None = None) -> SimilarityReport:
    """`grader similarity`: read the course's submissions (as `grader grade` does) and compare them."""
    out_dir = Path(out_dir or course.out_dir).resolve()
    if practical is not None and practical not in course.practicals:
        raise ConfigError(f"--practical {practical}: not a practical of {course.path or 'the course'} "
                          f"(known: {', '.join(course.practicals)})", key="practical")
    chosen = [practical] if practical else list(course.practicals)
    for pid in chosen:   # a wrong --against is the instructor's mistake: say so before reading anything
        against_sources(pid, [*course.similarity.against, *against], len(chosen) == 1)
    submissions, warnings = {}, []
    for pid in chosen:
        found = collect(pid, list(course.practicals[pid].submissions), OutLayout(out_dir).intake(pid),
                        lms=lms_class(course.lms))
        submissions[pid] = found.submissions
        warnings += found.problems
    report = run_similarity(course, out_dir, submissions, against=against, threshold=threshold)
    report.warnings[:0] = warnings
    return report


def run_similarity(course: Course, out_dir: Path, submissions: dict[str, list[Submission]], *,
                   against: Sequence[Path] = (), threshold: float | None = None,
                   assignments: dict[str, Assignment] | None = None,
                   titles: dict[str, Titles] | None = None) -> SimilarityReport:
    """Compare the submissions of each practical given; rows of practicals not given are kept as they were.
    ``assignments`` and ``titles``: as the batch loaded them (loaded here when not given)."""
    if assignments is None:
        assignments = {pid: load_assignment(cfg.assignment_dir) for pid, cfg in course.practicals.items()}
    titles = titles or {pid: Titles.of(a) for pid, a in assignments.items()}
    started = time.perf_counter()
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = course.similarity
    threshold = settings.threshold if threshold is None else threshold
    against = [*settings.against, *map(Path, against)]
    report = SimilarityReport(out_dir, [], [])
    # what the instructor reads: each practical by its title, in the course language
    names = {pid: titles[pid].of_practical(course.lang) for pid in course.practicals}
    for pid, subs in submissions.items():
        template = load_template(*assignments[pid].template_files())
        if not template.code:
            report.warnings.append(f"similarity {pid}: no template at {course.practicals[pid].assignment_dir}; "
                                   "the template's code counts as the students' own")
        docs = _documents(subs, template, settings.min_lines, report, pid)
        try:
            docs += _references(pid, against, len(submissions) == 1, out_dir, template, settings.min_lines, report,
                                lms_class(course.lms))
        except ConfigError as err:   # after `grader grade` the grades are written: warn, compare this year's
            report.warnings.append(f"similarity {pid}: {err}")
        boilerplate = boilerplate_hashes(template.code)
        matches = find_matches(docs, [fingerprint(d.code, boilerplate) for d in docs], threshold)
        report.flagged += _write_pages(out_dir, pid, matches, names.get(pid, pid), course.lang)
    kept = [p for p in flagged_pairs(out_dir) if p.practical not in submissions]
    every = kept + report.flagged
    report.files = [write_pairs(out_dir, every), write_index(out_dir, every, threshold, course.lang, names)]
    report.files += [out_dir / p.page for p in report.flagged]
    report.flagged = ranked(report.flagged)
    report.seconds = time.perf_counter() - started
    return report


def _documents(subs: Iterable[Submission], template: Template, min_lines: int, report: SimilarityReport,
               pid: str, label: str | None = None) -> list[Document]:
    docs = []
    for sub in subs:
        code = student_code(sub.notebook, template) if sub.notebook is not None else None
        if code is None or code.own_lines < min_lines:
            report.skipped[pid] = report.skipped.get(pid, 0) + 1
            continue
        key = sub.participant if label is None else f"{label}:{sub.participant}"
        docs.append(Document(key, sub.full_name, code.code, reference=label is not None))
    if label is None:
        report.compared[pid] = len(docs)
    return docs


def _references(pid: str, against: Sequence[Path], one_practical: bool, out_dir: Path, template: Template,
                min_lines: int, report: SimilarityReport, lms) -> list[Document]:
    """Earlier years' submissions of ``pid``: DIR/<pid> when it exists, else DIR itself for one practical."""
    docs, labels = [], set()
    for number, source in enumerate(against_sources(pid, against, one_practical)):
        label = _label(source, pid, labels)
        found = collect(pid, [source], out_dir / PAGES_DIR / "_against" / f"{number}-{label}" / pid, lms=lms)
        report.warnings += [f"similarity --against: {problem}" for problem in found.problems]
        docs += _documents(found.submissions, template, min_lines, report, pid, label)
    return docs


def against_sources(pid: str, against: Sequence[Path], one_practical: bool) -> list[Path]:
    """Where ``pid``'s earlier submissions are in each --against DIR; ConfigError when they cannot be told."""
    sources = []
    for source in map(Path, against):
        if not source.exists():
            raise ConfigError(f"--against {source}: does not exist", key="against")
        if (source / pid).exists():
            source = source / pid
        elif not one_practical:
            raise ConfigError(f"--against {source}: no folder {pid}/ in it; name one practical with --practical "
                              "or give DIR/<practical>/ folders", key="against")
        sources.append(source)
    return sources


def _label(source: Path, pid: str, taken: set[str]) -> str:
    """A short name for an earlier year's source: its folder (the one above DIR/<pid>), made unique."""
    base = source.parent.name if source.name == pid else source.stem
    label, n = base or "earlier", 2
    while label in taken:
        label, n = f"{base}-{n}", n + 1
    taken.add(label)
    return label


def _write_pages(out_dir: Path, pid: str, matches: list[Match], name: str, lang: str) -> list[FlaggedPair]:
    folder = out_dir / PAGES_DIR / pid
    if folder.is_dir():
        for stale in folder.glob("*.html"):   # pages of pairs an earlier run flagged and this one does not
            stale.unlink()
    pairs = []
    for found in map(_ordered, matches):
        path = write_pair_page(page_path(out_dir, pid, found.a.key, found.b.key), name, found, lang)
        pairs.append(FlaggedPair(pid, found.a.key, found.b.key, round(found.score, 3), found.shared_lines,
                                 found.a.name, found.b.name, path.relative_to(out_dir).as_posix()))
    return pairs


def _ordered(found: Match) -> Match:
    """The pair with this year's lower participant first (an earlier year's always second)."""
    def rank(doc: Document):
        return (doc.reference, not doc.key.isdigit(), doc.key.zfill(20))
    if rank(found.b) < rank(found.a):
        return Match(found.b, found.a, found.score, found.shares[::-1], found.spans[::-1], found.shared_lines)
    return found
