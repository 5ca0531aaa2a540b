"""The registry of check kinds: one class per kind, registered by name (as papermill's engines).

A new kind is one class in one file of this package (its ``kind`` name, options, flags and message
codes); defining the class registers it, and assignment.toml names it in ``kind``. The kinds' modules
are imported at the first lookup, not when this package is imported.
Nothing here runs student code or knows the order of the grading stages.
"""
from grader.checks.base import KINDS, Check, CheckRegistry

registry = KINDS
register = registry.register
get_check = registry.get

__all__ = ["Check", "CheckRegistry", "registry", "register", "get_check"]
