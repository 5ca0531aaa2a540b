"""The LMS registry: adapters looked up by name ("moodle", ...), as the runners are (grader/execution/registry.py).

Built-in adapters are registered lazily as "module:Class" strings, so looking one up imports nothing else.
Nothing outside an adapter's own package and this registry ever names an LMS.
"""
from __future__ import annotations

import importlib

from grader.errors import ConfigError
from grader.lms.base import Lms

DEFAULT_LMS = "moodle"   # when course.toml names none
_ADAPTERS: dict[str, type[Lms] | str] = {}


def register(name: str, adapter: type[Lms] | str) -> None:
    """Register an Lms subclass (or a lazy "module:Class" path) under ``name``; replaces any previous one."""
    _ADAPTERS[name] = adapter


def lms_names() -> list[str]:
    return sorted(_ADAPTERS)


def lms_class(name: str) -> type[Lms]:
    """The class registered as ``name``; ConfigError listing the registered names when there is none."""
    entry = _ADAPTERS.get(name)
    if entry is None:
        raise ConfigError(f"unknown LMS {name!r}; known: {', '.join(lms_names())}")
    if isinstance(entry, str):
        module_name, _, attr = entry.partition(":")
        entry = getattr(importlib.import_module(module_name), attr)
    return entry


def lms_classes() -> list[type[Lms]]:
    """Every registered adapter class (this imports them all: for the course loader's option tables)."""
    return [lms_class(name) for name in lms_names()]


# The built-in adapters: a new LMS is one package (or module) plus one line here.
register("moodle", "grader.lms.moodle.adapter:MoodleLms")
