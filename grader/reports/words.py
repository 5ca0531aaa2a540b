"""The words a person reads for a record's coded values: a submission's status and its lateness, in the
reader's language. The codes themselves (results.csv, the store) never change; only what is shown does.
"""
from __future__ import annotations

from grader.i18n import msg, render

# every PracticalScore.status, in the order the report's overview shows them
STATUSES = ("graded", "not_executed", "untouched", "error", "timeout", "invalid", "missing", "overridden")
LATENESS = ("yes", "no", "unknown")


def status_word(status: str, lang: str) -> str:
    """ "graded" -> "corregida"; a status this version does not know is shown as stored."""
    return render(msg(f"status_{status}"), lang) if status in STATUSES else status


def late_word(late: str, lang: str) -> str:
    """ "yes" -> "sí" """
    return render(msg(f"late_{late}"), lang) if late in LATENESS else late
