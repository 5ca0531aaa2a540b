"""rnn_text graded on students written as students write (tests/styles/rnn_*.py), through the real pipeline
on real Tiny Shakespeare under a tiny budget: every grade lands within 0.5 of the one the point table gives,
and a student with a defect loses points on exactly the checks her intention names."""
from __future__ import annotations

from decimal import Decimal

import pytest

from grader.i18n import render
from styles.grading import (assert_keeps_every_contract_point, assert_loses_exactly_her_intention,
                            assert_within_half_a_point, grade_styles, measured_table)
from styles.rnn_correct import CORRECT
from styles.rnn_defects import DEFECTS

pytestmark = pytest.mark.slow

STYLES = CORRECT + DEFECTS
MAX_POINTS = Decimal("10")
TINY_BUDGET = 'steps = 30, hidden_size = 64, seq_len = 50, batch_size = 16, device = "cpu"'


@pytest.fixture(scope="module")
def graded(tmp_path_factory, shared_data):
    if not (shared_data / "text" / "tinyshakespeare.txt").is_file():
        pytest.fail(f"Tiny Shakespeare is missing from {shared_data / 'text'} (see ../shared/data/README.md)")
    # The budget of tests/test_practical_rnn.py: 30 steps of 16 windows of 50 characters, 64 hidden units.
    scores = grade_styles("rnn_text", STYLES, tmp_path_factory.mktemp("rnn_styles"), shared_data,
                          TINY_BUDGET, timeout_s=400)
    print(measured_table(STYLES, scores, MAX_POINTS))
    return scores


@pytest.mark.parametrize("style", STYLES, ids=lambda s: s.name)
def test_each_student_lands_within_half_a_point_of_the_grade_the_table_gives(graded, style):
    assert_within_half_a_point(graded[style.name], style, MAX_POINTS)


@pytest.mark.parametrize("style", DEFECTS, ids=lambda s: s.name)
def test_a_defect_costs_exactly_the_points_on_exactly_the_checks_her_intention_names(graded, style):
    assert_loses_exactly_her_intention(graded[style.name], style)


@pytest.mark.parametrize("style", CORRECT, ids=lambda s: s.name)
def test_a_right_student_keeps_every_contract_point(graded, style, repo):
    assert_keeps_every_contract_point(graded[style.name], style, repo / "assignments" / "rnn_text")


def test_a_sample_ignoring_temperature_is_named_as_the_cause_of_generates_draws(graded):
    # lucas's generate draws through his sample: one defect, and the temperature check's reason points at it
    # instead of asking whether generate passes the temperature on
    temperature = next(c for c in graded["lucas"].checks if c.check_id == "temperature")
    assert temperature.reason.code == "temperature_sampler_cause", render(temperature.reason, "en")
    assert "La comprobación `sample` vio que `sample` tampoco sigue la temperatura" in render(temperature.reason, "es")
