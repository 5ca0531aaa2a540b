"""Figures of the instructor's report, drawn with matplotlib's Agg backend and returned as PNG bytes.

Floats appear here for drawing only: callers convert Decimal grades at this border, and nothing drawn
here ever flows back into a grade. Never opens a window and never writes a file. Axis labels come from the
caller, in the report's language (``Axes``).
"""
from __future__ import annotations

import io
import math

from dataclasses import dataclass

Series = list[tuple[str, list[float]]]


@dataclass(frozen=True)
class Axes:
    """The words on the figures' axes."""

    grade: str = "grade"
    students: str = "students"
    passed: str = "% passed"
    seconds: str = "seconds per submission"
    submissions: str = "submissions"

_BLUE, _GREEN, _GREY = "#4c72b0", "#55a868", "#8c8c8c"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)   # a headless server, and never a student's display
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    _pyplot().close(fig)
    return buffer.getvalue()


def _panels(count: int, width: float = 3.6, height: float = 2.6):
    plt = _pyplot()
    columns = min(max(count, 1), 4)
    rows = math.ceil(max(count, 1) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(width * columns, height * rows), squeeze=False)
    flat = [ax for row in axes for ax in row]
    for ax in flat[count:]:
        ax.set_visible(False)
    return fig, flat


def grade_histograms(series: list[tuple[str, list[float], float]], axes_words: Axes = Axes()) -> bytes:
    """One histogram per (title, grades, maximum): bins of one point from 0 to the maximum."""
    fig, axes = _panels(len(series))
    for ax, (title, values, top) in zip(axes, series):
        bins = max(1, math.ceil(top))
        ax.hist(values, bins=bins, range=(0, max(top, 1e-9)), color=_BLUE, edgecolor="white")
        ax.set(title=f"{title} (n={len(values)})", xlabel=axes_words.grade, ylabel=axes_words.students, xlim=(0, top))
        ax.yaxis.get_major_locator().set_params(integer=True)
    return _png(fig)


def pass_rates(series: list[tuple[str, list[tuple[str, float]]]], axes_words: Axes = Axes()) -> bytes:
    """Per practical, a horizontal bar per check: the share of graded submissions that passed it."""
    tallest = max((len(checks) for _, checks in series), default=1)
    fig, axes = _panels(len(series), width=4.2, height=0.45 * tallest + 1.2)
    for ax, (title, checks) in zip(axes, series):
        names = [name for name, _ in checks][::-1]
        rates = [rate * 100 for _, rate in checks][::-1]
        ax.barh(names, rates, color=[_GREEN if r >= 50 else _GREY for r in rates])
        ax.set(title=title, xlabel=axes_words.passed, xlim=(0, 100))
        for y, rate in enumerate(rates):
            ax.text(min(rate + 2, 88), y, f"{rate:.0f}%", va="center", fontsize=8)
    return _png(fig)


def durations(series: Series, axes_words: Axes = Axes()) -> bytes:
    """Per practical, a histogram of the seconds each submission took to grade."""
    fig, axes = _panels(len(series))
    for ax, (title, seconds) in zip(axes, series):
        ax.hist(seconds or [0.0], bins=min(20, max(1, len(seconds))), color=_BLUE, edgecolor="white")
        ax.set(title=title, xlabel=axes_words.seconds, ylabel=axes_words.submissions)
        ax.yaxis.get_major_locator().set_params(integer=True)
    return _png(fig)
