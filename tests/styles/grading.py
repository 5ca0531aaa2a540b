"""Grade a practical's styles in one grade_course run (local runner, real kernels), and set each grade
beside its intention. Used by tests/test_styles_<practical>.py; nothing here decides a score."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from grader.assignment import load_assignment
from grader.i18n import render

from conftest import moodle_entry, notebook_bytes
from one_practical import grade_archive
from styles import Style, handed_in


def grade_styles(practical: str, styles: tuple[Style, ...], root: Path, data_dir: Path, parameters: str,
                 timeout_s: int) -> dict:
    """{style name: PracticalScore} of one batch holding every style, as a Moodle archive would bring them."""
    entries = {}
    for number, style in enumerate(styles, start=301):
        filename = f"Copia de {practical}.ipynb" if style.colab else f"{practical}.ipynb"
        entries[moodle_entry(style.name, str(number), filename)] = notebook_bytes(handed_in(style, practical))
    batch, wall = grade_archive(root, practical, entries, data_dir, parameters=parameters, timeout_s=timeout_s,
                                one_thread=True, similarity=False)
    scores = {score.full_name: score for score in batch.scores}
    assert set(scores) == {style.name for style in styles}
    print(f"\n{practical}: {len(styles)} styles graded in {wall:.1f} s")
    return scores


def measured_table(styles: tuple[Style, ...], scores: dict, max_points: Decimal) -> str:
    """One line per style: intended, measured, and the points each check kept (what the report quotes)."""
    lines = []
    for style in styles:
        score = scores[style.name]
        kept = " · ".join(f"{c.check_id} {c.points}" for c in score.checks)
        lines.append(f"  {style.name}: intended {style.intended(max_points)}, measured {score.score} "
                     f"({score.status}, {score.duration_s:.1f} s) = {kept}")
    return "\n".join(lines)


def why(score) -> list:
    """The checks a score lost points on, with their reasons: what an assertion shows when it fails."""
    return [(c.check_id, str(c.points), render(c.reason, "en")) for c in score.checks if c.points < c.max_points]


def assert_within_half_a_point(score, style: Style, max_points: Decimal) -> None:
    assert score.status == "graded", (score.status, score.reason)
    assert abs(score.score - style.intended(max_points)) <= Decimal("0.5"), (style.summary, why(score))


def assert_loses_exactly_her_intention(score, style: Style) -> None:
    checks = {c.check_id: c for c in score.checks}
    lost = {check_id for check_id, c in checks.items() if c.points < c.max_points}
    assert lost == set(style.lost), (style.summary, why(score))
    for check_id, (points, reason) in style.lost.items():
        assert checks[check_id].max_points - checks[check_id].points == Decimal(points), (reason, why(score))


def assert_keeps_every_contract_point(score, style: Style, assignment_dir: Path) -> None:
    """Only a metric against a reference trained under the grading budget may cost a right student a little
    (how fast her own recipe learns is hers); the 0.5 bound holds for it as for everything."""
    metrics = {spec.id for spec in load_assignment(assignment_dir).checks if spec.kind == "metric"}
    lost = {c.check_id for c in score.checks if c.points < c.max_points}
    assert not lost - metrics, (style.summary, why(score))
