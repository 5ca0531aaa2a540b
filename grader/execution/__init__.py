"""Execution: runners (grader/execution/registry.py) run a prepared copy of a notebook and return a RunResult.

The package re-exports the registry and the runner contract, so callers import from here.
"""
from __future__ import annotations

from grader.execution.base import Runner, RunRequest
from grader.execution.registry import get_runner, register, runner_class, runner_names

__all__ = ["RunRequest", "Runner", "get_runner", "register", "runner_class", "runner_names"]
