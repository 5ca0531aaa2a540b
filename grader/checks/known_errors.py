"""Errors of the students' frameworks whose own text says less than a sentence of ours: a Keras model left
without layers (the Keras template's ``keras.Sequential([keras.Input(...)])``, nothing added) fails with
Keras's English about building and input shapes. Recognised here from the error's text and said in the
course language; anything not recognised is shown as it was raised. Reads text only, never runs anything.
"""
from __future__ import annotations

import re

from grader.i18n import msg
from grader.records import Reason

# Keras 3: a Sequential without layers cannot be built; one holding only an Input refuses every batch
_NO_LAYERS = re.compile(r"Sequential model \S+ cannot be built because it has no layers")
_INPUT_ONLY = re.compile(r"Sequential model \S+ has already been configured to use input shape \(None, ([^)]*)\)\. "
                         r"You cannot build it with input_shape \(\d+, ([^)]*)\)")


def explained(name: str, error: str) -> Reason | None:
    """The error raised by calling the student's ``name``, in words, when it is one we know; else None."""
    if _NO_LAYERS.search(error):
        return msg("checks_model_no_layers", name=name)
    same_shape = _INPUT_ONLY.search(error)
    if same_shape and same_shape.group(1) == same_shape.group(2):   # the right input, and no layer to take it
        return msg("checks_model_no_layers", name=name)
    return None
