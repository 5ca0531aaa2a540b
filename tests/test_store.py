"""The results store keeps grades exactly (Decimal as text) and survives reopening."""
import sqlite3
from decimal import Decimal

from grader.records import CheckResult, Evaluation, PracticalScore, Reason
from grader.store import Store


def _evaluation(key="k1", points="1.5"):
    check = CheckResult("softmax", "function", Decimal(points), Decimal("1.5"), Reason("ok", {"cases": "6/6"}),
                        details={"cases_passed": "6/6"})
    return Evaluation(key, "mnist_cnn", "1234567", "abc", "graded", (check,), None, 12.5, Decimal("10"),
                      (Reason("note", {"x": 1}),))


def test_evaluation_round_trips_exactly_through_a_reopened_file(tmp_path):
    path = tmp_path / "grader.sqlite"
    with Store(path) as store:
        store.put_evaluation(_evaluation(points="1.05"))
    with Store(path) as store:
        got = store.get_evaluation("k1")
    assert got == _evaluation(points="1.05")
    assert isinstance(got.checks[0].points, Decimal) and str(got.checks[0].points) == "1.05"


def test_grades_are_stored_as_text_not_real(tmp_path):
    path = tmp_path / "grader.sqlite"
    score = PracticalScore("mnist_cnn", "1", "Ana", "graded", Decimal("8.35"), Decimal("10"), "no", None)
    with Store(path) as store:
        store.put_scores([score])
        assert store.scores() == [score]
    raw = sqlite3.connect(path).execute("SELECT score, typeof(score) FROM scores").fetchone()
    assert raw == ("8.35", "text")


def test_forget_drops_only_the_chosen_practical(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        store.put_evaluation(_evaluation("a"))
        other = _evaluation("b")
        store.put_evaluation(Evaluation(**{**other.__dict__, "practical": "rnn_text"}))
        assert store.forget(practical="mnist_cnn") == 1
        assert store.get_evaluation("a") is None and store.get_evaluation("b") is not None


def test_a_result_is_stored_once_per_key(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        store.put_evaluation(_evaluation("a"))
        store.put_evaluation(_evaluation("a"))
        assert store.count_evaluations() == 1
