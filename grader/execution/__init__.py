"""Runner registry: backends that execute a notebook are looked up by name ("local", later "docker").

Shaped like papermill's engine registry. Built-in backends are registered lazily as "module:Class"
strings, so importing this package never imports a backend (or its dependencies) that is not used.
"""
from __future__ import annotations

import importlib
from typing import Any

from grader.errors import ConfigError
from grader.execution.base import INJECTED_TAG, Runner, RunRequest

__all__ = ["INJECTED_TAG", "RunRequest", "Runner", "get_runner", "register", "runner_names"]

_RUNNERS: dict[str, type[Runner] | str] = {
    "local": "grader.execution.local:LocalRunner",
}


def register(name: str, runner_cls: type[Runner] | str) -> None:
    """Register a Runner subclass (or a lazy "module:Class" path) under ``name``; replaces any previous one."""
    _RUNNERS[name] = runner_cls


def runner_names() -> list[str]:
    return sorted(_RUNNERS)


def get_runner(name: str, **options: Any) -> Runner:
    """A new runner instance; ``options`` go to the runner's constructor (limits, image, ...)."""
    entry = _RUNNERS.get(name)
    if entry is None:
        raise ConfigError(f"unknown runner {name!r}; known runners: {', '.join(runner_names())}")
    runner_cls = _resolve(entry) if isinstance(entry, str) else entry
    try:
        return runner_cls(**options)
    except TypeError as err:
        raise ConfigError(f"runner {name!r} does not accept these options: {err}") from err


def _resolve(path: str) -> type[Runner]:
    module_name, _, attr = path.partition(":")
    return getattr(importlib.import_module(module_name), attr)
register("docker", "grader.execution.docker:DockerRunner")  # the docker runner (grader/execution/docker.py)
