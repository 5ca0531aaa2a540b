"""Named parts of a function check's points: loading, planning and scoring, in-process through the probe."""
import sys
import textwrap
from decimal import Decimal

import numpy as np
import pytest

from grader.assignment import load_assignment
from grader.errors import ConfigError
from grader.i18n import render
from grader.mutants import points_lost

REFERENCE = '''
import numpy as np
from reference.cases import Case

def double(x):
    return np.asarray(x, dtype=np.float64) * 2

def tagged_cases(rng):
    ordinary = [Case(rng.standard_normal(3), es=f"vector corriente {i}", en=f"ordinary vector {i}") for i in range(3)]
    return ordinary + [Case(np.full(3, 1e6), part="large", es="valores de un millón", en="values of a million")]

def all_large(rng):
    return [Case(np.full(3, 1e6), part="large", es="grande", en="large")]

def plain_cases(rng):
    return [(rng.standard_normal(3),) for _ in range(4)]

def wrong_tag(rng):
    return [Case(np.ones(3), part="huge", es="x", en="x")]
'''


def _assignment(tmp_path, cases="tagged_cases", parts='[{id = "large", points = "0.5", es = "grandes", en = "large"}]',
                points="2"):
    module = f"parts_ref_{abs(hash((str(tmp_path), cases, parts, points)))}"
    (tmp_path / f"{module}.py").write_text(REFERENCE)
    (tmp_path / "assignment.toml").write_text(textwrap.dedent(f'''
        [assignment]
        id = "parts"
        title = "Parts"
        version = "1"
        max_points = "{points}"
        [[checks]]
        id = "double"
        kind = "function"
        name = "double"
        reference = "{module}:double"
        cases = "{module}:{cases}"
        points = "{points}"
        ''') + (f"parts = {parts}\n" if parts else ""))
    sys.path.insert(0, str(tmp_path))
    return load_assignment(tmp_path)


def _double_small_only(x):
    return np.where(np.abs(x) < 1e3, x * 2, np.nan)


@pytest.fixture(autouse=True)
def _restore_path():
    before = list(sys.path)
    yield
    sys.path[:] = before


def test_a_function_wrong_only_on_a_part_loses_exactly_that_part_and_names_it(tmp_path):
    assignment = _assignment(tmp_path)
    res = points_lost(assignment, "double", {"f": _double_small_only}, seed=1)["f"]
    assert res.points == Decimal("1.50") and res.details == {"cases_passed": "3/4",
                                                             "parts_passed": {"rest": "3/3", "large": "0/1"}}
    assert render(res.reason, "en") == ("`double` matches the reference on 3/4 cases; points lost for “large” "
                                        "(0/1 case, −0.5). First failure, values of a million: got nan.")
    assert "pierde los puntos de «grandes»" in render(res.reason, "es")


def test_a_function_wrong_on_the_untagged_cases_loses_the_rest_named_as_the_other_cases(tmp_path):
    assignment = _assignment(tmp_path)
    res = points_lost(assignment, "double", {"f": lambda x: x * 2 + (np.abs(x) < 1e3)}, seed=1)["f"]
    assert res.points == Decimal("0.50")
    assert "points lost for “the other cases” (0/3 cases, −1.5). First failure, ordinary vector 0:" in \
        render(res.reason, "en")


def test_without_parts_points_are_the_share_of_cases_and_plain_tuples_are_numbered(tmp_path):
    assignment = _assignment(tmp_path, cases="plain_cases", parts="")
    res = points_lost(assignment, "double", {"f": lambda x: x * 2 if x[0] > 0 else x}, seed=5)["f"]
    passed = int(res.details["cases_passed"].split("/")[0])
    assert res.points == (Decimal("2") * passed / 4).quantize(Decimal("0.01")) and "parts_passed" not in res.details
    if passed < 4:
        assert "First failure, case " in render(res.reason, "en") and "(inputs up to" in render(res.reason, "en")


def test_parts_worth_more_than_the_check_are_refused_when_loading(tmp_path):
    with pytest.raises(ConfigError, match="parts add up to 3, more than the check's 2 points"):
        _assignment(tmp_path, parts='[{id = "large", points = "3", es = "a", en = "b"}]')


def test_a_part_must_be_named_in_both_languages(tmp_path):
    with pytest.raises(ConfigError, match="es must name the part"):
        _assignment(tmp_path, parts='[{id = "large", points = "1", en = "b"}]')


@pytest.mark.parametrize("cases, problem", [("wrong_tag", "undeclared part 'huge'"),
                                            ("plain_cases", "part 'large' has no cases"),
                                            ("all_large", "1.5 points are left to cases of no part")])
def test_tags_and_parts_that_do_not_fit_are_refused_when_planning(tmp_path, cases, problem):
    assignment = _assignment(tmp_path, cases=cases)
    with pytest.raises(ConfigError, match=problem):
        points_lost(assignment, "double", {"f": lambda x: x}, seed=0)


def test_case_objects_unpack_as_the_plain_tuple():
    from reference.cases import Case

    logits, targets = Case(np.zeros(2), np.ones(2), part="stable", es="a", en="b")
    assert logits.shape == (2,) and targets.shape == (2,)
    with pytest.raises(ValueError, match="both languages"):
        Case(1, en="only English")



def test_a_check_without_parts_scores_a_tagging_generator_as_plain_cases(tmp_path):
    # a generator that tags cases (as reference.mnist_cnn:softmax_cases does) behind an assignment written
    # before parts existed: it loads, and every case shares the check's points
    assignment = _assignment(tmp_path, parts="")
    results = points_lost(assignment, "double", {"right": lambda x: np.asarray(x) * 2,
                                                 "small_only": _double_small_only}, seed=0)
    assert results["right"].points == Decimal("2")
    assert results["small_only"].points == Decimal("1.5")     # 3 of 4 cases, no part of its own
