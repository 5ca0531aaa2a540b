"""imagenet_cnn graded on students written as students write (tests/styles/imagenet_*.py), through the real
pipeline on the real ImageNet images: every grade lands within 0.5 of the one the point table gives, and a
student with a defect loses points on exactly the checks her intention names."""
from __future__ import annotations

from decimal import Decimal

import pytest

from styles.grading import (assert_keeps_every_contract_point, assert_loses_exactly_her_intention,
                            assert_within_half_a_point, grade_styles, measured_table)
from styles.imagenet_correct import CORRECT
from styles.imagenet_defects import DEFECTS

pytestmark = pytest.mark.slow

STYLES = CORRECT + DEFECTS
MAX_POINTS = Decimal("10")


@pytest.fixture(scope="module")
def graded(tmp_path_factory, shared_data):
    if not (shared_data / "imagenet" / "labels.csv").is_file():
        pytest.fail(f"the real ImageNet images are missing from {shared_data / 'imagenet'}")
    # The budget of tests/test_practical_imagenet.py: ten held-out images, two examples.
    scores = grade_styles("imagenet_cnn", STYLES, tmp_path_factory.mktemp("imagenet_styles"), shared_data,
                          "eval_images = 10, example_images = 2", timeout_s=600)
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
    assert_keeps_every_contract_point(graded[style.name], style, repo / "assignments" / "imagenet_cnn")
