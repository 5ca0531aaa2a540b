"""The grader's errors: each carries a stable code and a Reason people can act on.

A GraderError raised inside one submission's job is caught at the job boundary and
recorded; one raised while reading the course (a bad course.toml, a corrupt archive
path) is printed by the CLI as one line, never as a traceback.
"""
from __future__ import annotations

from typing import Any

from grader.records import Reason


class GraderError(Exception):
    """Base of every expected failure; ``str()`` is the English, instructor-facing text."""

    code = "grader_error"

    def __init__(self, message: str, *, code: str | None = None, reason: Reason | None = None,
                 **params: Any) -> None:
        super().__init__(message)
        if code:
            self.code = code
        self.reason = reason or Reason(self.code, {"detail": message, **params})


class ConfigError(GraderError):
    """course.toml, assignment.toml, overrides.csv: the instructor's files are wrong."""

    code = "config_error"


class InputError(GraderError):
    """A submission archive, worksheet or notebook cannot be used as it is."""

    code = "invalid_input"


class RunnerError(GraderError):
    """The runner itself cannot work (daemon unreachable, image missing): stop the batch once."""

    code = "runner_error"
