"""Runs inside the student's kernel, at its start (an IPython start-up file the runner's child writes):
makes Keras accept the course's copies of its datasets. Imports nothing of the grader.

``keras.datasets.mnist.load_data()`` finds ``mnist.npz`` in the Keras home, then compares its sha256 with
the real MNIST's (keras/src/utils/file_utils.py, ``get_file``: ``if not validate_file(download_target,
file_hash, algorithm=hash_algorithm)`` ... "so we will re-download the data"), which the course's copy (the
student training data only) can never match, and the grading machine has no network. This wraps
``validate_file`` so that exactly the files the grader copied there, unchanged (their own sha256), pass;
every other file is judged by Keras as before. Nothing is imported or patched until the notebook itself
imports Keras.
"""
from __future__ import annotations

import hashlib
import importlib.abc
import importlib.util
import os
import sys

# Keras 3's module holding get_file and validate_file (get_file looks validate_file up there at call time).
_TARGET = "keras.src.utils.file_utils"


def install(accepted: dict[str, str]) -> None:
    """``accepted``: real path of a copy -> its sha256."""
    accepted = {os.path.realpath(path): digest for path, digest in accepted.items()}
    if _TARGET in sys.modules:
        _patch(sys.modules[_TARGET], accepted)
    else:
        sys.meta_path.insert(0, _PatchOnImport(accepted))


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: when Keras's file_utils is imported, it lets the usual finders find it and
    patches the module right after it has run."""

    def __init__(self, accepted: dict[str, str]) -> None:
        self.accepted = accepted

    def find_spec(self, name, path, target=None):
        if name != _TARGET:
            return None
        sys.meta_path.remove(self)          # once: the finders below find the real module
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run, accepted = spec.loader.exec_module, self.accepted

        def exec_module(module):
            run(module)
            _patch(module, accepted)

        spec.loader.exec_module = exec_module
        return spec


def _patch(module, accepted: dict[str, str]) -> None:
    original = getattr(module, "validate_file", None)
    if original is None or getattr(original, "_grader_accepts", None) is not None:
        return

    def validate_file(fpath, file_hash, algorithm="auto", chunk_size=65535):
        expected = accepted.get(os.path.realpath(os.fspath(fpath)))
        if expected is not None and _sha256(fpath) == expected:
            return True
        return original(fpath, file_hash, algorithm, chunk_size)

    validate_file._grader_accepts = accepted
    validate_file.__wrapped__ = original
    validate_file.__doc__ = original.__doc__
    module.validate_file = validate_file


def _sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
