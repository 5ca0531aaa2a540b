"""Which edition a notebook follows is read from its imports: Keras 3 (or tf.keras), else PyTorch."""
from grader.editions import imports_keras


def _cells(*sources):
    return [{"cell_type": "code", "source": s} for s in sources]


def test_a_notebook_importing_keras_follows_the_keras_edition():
    assert imports_keras(_cells("%matplotlib inline\nimport keras"))
    assert imports_keras(_cells("from keras import layers, ops"))
    assert imports_keras(_cells("from tensorflow import keras"))
    assert imports_keras(_cells("import tensorflow.keras as tfk"))


def test_a_notebook_without_keras_imports_follows_the_pytorch_edition():
    assert not imports_keras(_cells("import torch\nfrom torch import nn", "x = 'import keras'"))
    assert not imports_keras(_cells("def (broken", "# import keras"))
    assert not imports_keras([{"cell_type": "markdown", "source": "import keras"}])


def _course(tmp_path, editions: str, practical: str = "mnist_cnn"):
    from conftest import REPO
    from grader.course import load_course

    (tmp_path / "in").mkdir(exist_ok=True)
    (tmp_path / "course.toml").write_text(f"""
[course]
name = "editions"
deadline = "2027-03-31T23:59:00"
timezone = "Europe/Madrid"
data_dir = "."
assignments_dir = "{REPO / 'assignments'}"
[practicals.{practical}]
submissions = ["in"]
editions = {editions}
""", encoding="utf-8")
    return load_course(tmp_path / "course.toml")


def _scored(course, notes):
    from decimal import Decimal

    from grader.i18n import msg
    from grader.outcomes import practical_score
    from grader.records import CheckResult, Evaluation, Student

    check = CheckResult("accuracy", "metric", Decimal("4"), Decimal("4"), msg("checks_not_run"))
    evaluation = Evaluation("k", "mnist_cnn", "7", None, "graded", (check,), None, 1.0, Decimal("10"),
                            notes=tuple(notes))
    student = Student("ana@uni.es", "Ana", "ana@uni.es", {"mnist_cnn": "7"})
    return practical_score(evaluation, student, "7", "Ana", None, course, None)


def test_a_notebook_of_an_edition_the_course_does_not_offer_is_graded_the_same_and_named(tmp_path):
    from grader.i18n import msg, render
    from grader.reports.summary import needs_human

    course = _course(tmp_path, '["pytorch"]')
    keras = _scored(course, [msg("edition_keras", template="template_keras.ipynb", layouts="`model` NHWC")])
    assert keras.score == 4 and keras.notes[-1].code == "edition_not_offered"
    assert "edición PyTorch" in render(keras.notes[-1], "es") and "Keras" in render(keras.notes[-1], "en")
    flags = needs_human([keras], [], "en")
    assert [f.participant for f in flags] == ["7"] and "another edition" in flags[0].why
    torch = _scored(course, [msg("edition_pytorch")])
    assert [n.code for n in torch.notes] == ["edition_pytorch"] and needs_human([torch], [], "en") == []
    both = _scored(_course(tmp_path, '["pytorch", "keras"]'), [msg("edition_keras_as_given", template="t")])
    assert "edition_not_offered" not in [n.code for n in both.notes]


def test_editions_the_practical_lacks_or_nobody_knows_are_refused_naming_the_key(tmp_path):
    import pytest

    from grader.errors import GraderError
    from grader.preflight import check_course_inputs

    with pytest.raises(GraderError) as unknown:
        _course(tmp_path, '["tensorflow"]')
    assert "editions" in str(unknown.value) and "'tensorflow' is not one of" in str(unknown.value)
    course = _course(tmp_path, '["keras"]', practical="tiny_nokeras")
    (tmp_path / "assignments" / "tiny_nokeras").mkdir(parents=True)
    (tmp_path / "assignments" / "tiny_nokeras" / "assignment.toml").write_text(
        "[assignment]\nid = 'tiny_nokeras'\ntitle = 'T'\nversion = '1'\nmax_points = '1'\n"
        "[[checks]]\nid = 'order'\nkind = 'notebook'\nrequire = ['in_order']\npoints = '1'\n")
    from dataclasses import replace

    config = replace(course.practicals["tiny_nokeras"], assignment_dir=tmp_path / "assignments" / "tiny_nokeras")
    with pytest.raises(GraderError) as lacking:
        check_course_inputs(replace(course, practicals={"tiny_nokeras": config}))
    assert "practicals.tiny_nokeras.editions" in str(lacking.value) and "Keras edition" in str(lacking.value)
