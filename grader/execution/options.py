"""Reading a runner's own course.toml table (e.g. ``[docker]``) into its constructor's keyword options.

Its errors read as the course loader's do: "<file>: <table>.<key>: <problem>". It validates only; it
never opens a daemon, a device or a file.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from grader.errors import ConfigError


class OptionsTable:
    """One runner's table: the raw TOML values and typed getters whose errors name the key and the file."""

    def __init__(self, raw: Any, where: str, table: str, known: set[str]) -> None:
        self.where, self.table = where, table
        if not isinstance(raw, dict):
            raise self.error("", f"must be a table ([{table}]), not {kind(raw)}")
        unknown = sorted(set(raw) - known)
        if unknown:
            raise self.error(unknown[0], f"unknown key (known keys: {', '.join(sorted(known))})")
        self.data = raw

    def error(self, key: str, problem: str) -> ConfigError:
        dotted = f"{self.table}.{key}" if key else self.table
        return ConfigError(f"{self.where}: {dotted}: {problem}", file=self.where, key=dotted)

    def string(self, key: str) -> str:
        value = self.data[key]
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"must be a non-empty string, not {kind(value)}")
        return value

    def integer(self, key: str, minimum: int = 1) -> int:
        value = self.data[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"must be an integer, not {kind(value)}")
        if value < minimum:
            raise self.error(key, f"must be at least {minimum}, not {value}")
        return value

    def boolean(self, key: str) -> bool:
        value = self.data[key]
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, not {kind(value)}")
        return value


def kind(value: Any) -> str:
    """A value's type in TOML's words, for error messages (as the course loader words it)."""
    names = {bool: "a boolean", int: "an integer", float: "a float", str: "a string", list: "an array",
             dict: "a table", datetime: "a date-time", date: "a date"}
    return names.get(type(value), type(value).__name__)
