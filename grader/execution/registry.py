"""The runner registry: backends that execute a notebook, looked up by name ("local", "docker", ...).

Shaped like papermill's engines registry: ``register(name, runner_class)``, ``get_runner(name)``. Built-in
runners are registered lazily as "module:Class" strings, so looking one up never imports another (or
its dependencies). Nothing outside a runner's own module and this registry ever names a runner.
"""
from __future__ import annotations

import importlib
from typing import Any

from grader.errors import ConfigError
from grader.execution.base import Runner

DEFAULT_RUNNER = "local"   # when course.toml names none
_RUNNERS: dict[str, type[Runner] | str] = {}


def register(name: str, runner_class: type[Runner] | str) -> None:
    """Register a Runner subclass (or a lazy "module:Class" path) under ``name``; replaces any previous one."""
    _RUNNERS[name] = runner_class


def runner_names() -> list[str]:
    return sorted(_RUNNERS)


def runner_class(name: str) -> type[Runner]:
    """The class registered as ``name``; ConfigError listing the registered names when there is none."""
    entry = _RUNNERS.get(name)
    if entry is None:
        raise ConfigError(f"unknown runner {name!r}; known runners: {', '.join(runner_names())}")
    if isinstance(entry, str):
        module_name, _, attr = entry.partition(":")
        entry = getattr(importlib.import_module(module_name), attr)
    return entry


def runner_classes() -> list[type[Runner]]:
    """Every registered runner class (this imports them all: for the course loader's option tables)."""
    return [runner_class(name) for name in runner_names()]


def get_runner(name: str, **options: Any) -> Runner:
    """A new runner instance; ``options`` go to the runner's constructor (limits, image, ...)."""
    cls = runner_class(name)
    try:
        return cls(**options)
    except TypeError as err:
        raise ConfigError(f"runner {name!r} does not accept these options: {err}") from err


# The built-in runners: a new runner is one module plus one line here (or a register() call of its own).
register("local", "grader.execution.local:LocalRunner")
register("docker", "grader.execution.docker:DockerRunner")
