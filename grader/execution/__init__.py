"""Execution: runners (grader/execution/registry.py) run a prepared copy of a notebook and return a RunResult.

The package re-exports the registry and the runner contract, so callers import from here. It loads them when
first asked: the child in a container imports ``grader.execution.child`` only, and the runner contract brings
the course's config types (pydantic), 0.1 CPU-s that every container would pay for nothing.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grader.execution.base import Runner, RunRequest
    from grader.execution.registry import get_runner, register, runner_class, runner_names

_EXPORTS = {"RunRequest": "base", "Runner": "base", "get_runner": "registry", "register": "registry",
            "runner_class": "registry", "runner_names": "registry"}
__all__ = ["RunRequest", "Runner", "get_runner", "register", "runner_class", "runner_names"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
