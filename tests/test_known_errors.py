"""A Keras model left without layers (the Keras template's model, nothing added) is said in the course
language, never with Keras's own English ValueError."""
from __future__ import annotations

import os

import numpy as np
import pytest

from grader.checks.known_errors import explained
from grader.i18n import render
from grader.selfcheck import kernel_report


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    return keras


def _raised(model) -> str:
    try:
        model(np.zeros((2, 28, 28, 1), dtype="float32"))
    except ValueError as err:
        return f"ValueError: {err}"
    raise AssertionError("an empty Keras model was expected to raise")


def test_the_keras_templates_empty_model_is_named_as_having_no_layers_in_spanish():
    keras = _keras()
    report = kernel_report({"keras": keras, "model": keras.Sequential([keras.Input((28, 28, 1))])},
                           practical="mnist_cnn")
    shape = next(line for line in report.lines if line.check_id == "model_shape")
    said = render(shape.reason, "es")
    assert shape.points == 0 and shape.reason.code == "checks_model_no_layers", said
    assert "no tiene capas" in said and "ValueError" not in said and "Sequential model" not in said
    assert "has no layers" in render(shape.reason, "en")


def test_both_ways_keras_refuses_a_model_without_layers_are_recognised_and_nothing_else():
    keras = _keras()
    assert explained("model", _raised(keras.Sequential())).code == "checks_model_no_layers"
    assert explained("model", _raised(keras.Sequential([keras.Input((28, 28, 1))]))).code == "checks_model_no_layers"
    built = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
    with pytest.raises(ValueError) as wrong_input:           # a model of layers fed the wrong input: as raised
        built(np.zeros((2, 28, 28, 3), dtype="float32"))
    assert explained("model", f"ValueError: {wrong_input.value}") is None
    assert explained("model", "RuntimeError: mat1 and mat2 shapes cannot be multiplied") is None
