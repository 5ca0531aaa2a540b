"""Figures of the instructor's report, drawn with matplotlib's Agg backend and returned as PNG bytes.

Floats appear here for drawing only: callers convert Decimal grades at this border, and nothing drawn
here ever flows back into a grade. Never opens a window and never writes a file. Axis labels come from the
caller, in the report's language (``Axes``), and every number drawn is written as that language writes it.
Any number of practicals reads right: panels wrap (at most three a row), the pass rates take one row per
practical so that each check's whole title fits beside its bar.
"""
from __future__ import annotations

import io
import math
import textwrap

from dataclasses import dataclass

from grader.prose_numbers import localized, percent

Series = list[tuple[str, list[float]]]


@dataclass(frozen=True)
class Axes:
    """The words on the figures' axes."""

    grade: str = "grade"
    students: str = "students"
    passed: str = "% passed"
    seconds: str = "seconds per submission"
    submissions: str = "submissions"
    lang: str = "en"         # how the numbers on the axes are written

_BLUE, _GREEN, _GREY = "#4c72b0", "#55a868", "#8c8c8c"


def _pyplot():
    # start-up: matplotlib only when a figure is drawn
    import matplotlib

    matplotlib.use("Agg", force=True)   # a headless server, and never a student's display
    # start-up: matplotlib only when a figure is drawn
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    _pyplot().close(fig)
    return buffer.getvalue()


_PAGE_WIDTH = 10.5       # inches at 100 dpi: the report's column (1100 px) less its margins
_TITLE_WIDTH = 34         # characters of a panel's title before it wraps
_LABEL_WIDTH = 48         # characters of a check's title beside its bar before it wraps (never cut)


def _panels(count: int, height: float = 2.8, columns: int = 3):
    """A grid of ``count`` panels, at most ``columns`` a row, as wide as the page whatever the count."""
    plt = _pyplot()
    columns = min(max(count, 1), columns)
    rows = math.ceil(max(count, 1) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(_PAGE_WIDTH, height * rows), squeeze=False)
    flat = [ax for row in axes for ax in row]
    for ax in flat[count:]:
        ax.set_visible(False)
    return fig, flat


def _title(text: str) -> str:
    return "\n".join(textwrap.wrap(text, _TITLE_WIDTH)) or text


def _numbers(ax, lang: str, axes=("x", "y")) -> None:
    """Tick labels as the language writes numbers ("1,5" in Spanish)."""
    # start-up: matplotlib only when a figure is drawn
    from matplotlib.ticker import FuncFormatter

    for name in axes:
        getattr(ax, f"{name}axis").set_major_formatter(FuncFormatter(lambda value, _: localized(f"{value:g}", lang)))


def _layout(fig) -> None:
    fig.tight_layout(h_pad=1.6, w_pad=1.6)   # titles and tick labels of neighbours never overlap


def grade_histograms(series: list[tuple[str, list[float], float]], axes_words: Axes = Axes()) -> bytes:
    """One histogram per (title, grades, maximum): bins of one point from 0 to the maximum."""
    fig, axes = _panels(len(series), columns=2 if len(series) == 4 else 3)
    for ax, (title, values, top) in zip(axes, series):
        bins = max(1, math.ceil(top))
        ax.hist(values, bins=bins, range=(0, max(top, 1e-9)), color=_BLUE, edgecolor="white")
        ax.set(title=_title(f"{title} (n={len(values)})"), xlabel=axes_words.grade, ylabel=axes_words.students,
               xlim=(0, top))
        ax.yaxis.get_major_locator().set_params(integer=True)
        _numbers(ax, axes_words.lang)
    _layout(fig)
    return _png(fig)


def pass_rates(series: list[tuple[str, list[tuple[str, float]]]], axes_words: Axes = Axes()) -> bytes:
    """Per practical, one row of the figure: a horizontal bar per check, named by its whole title, and the
    share of graded submissions that passed it written beside the bar (inside it when the bar is long)."""
    plt = _pyplot()
    labels = [[textwrap.fill(name, _LABEL_WIDTH) for name, _ in checks][::-1] for _, checks in series]
    heights = [0.32 * max(sum(label.count("\n") + 1 for label in names), 1) + 0.9 for names in labels] or [1.0]
    fig, axes = plt.subplots(len(heights), 1, figsize=(_PAGE_WIDTH, sum(heights)), squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    for ax, (title, checks), names in zip((row[0] for row in axes), series, labels):
        rates = [rate * 100 for _, rate in checks][::-1]
        ax.barh(range(len(rates)), rates, color=[_GREEN if r >= 50 else _GREY for r in rates], height=0.6)
        ax.set_yticks(range(len(rates)), names)
        ax.set(title=title, xlabel=axes_words.passed, xlim=(0, 100))
        for y, rate in enumerate(rates):
            inside = rate > 85
            ax.text(rate - 1.5 if inside else rate + 1.5, y, percent(rate / 100, axes_words.lang), va="center",
                    ha="right" if inside else "left", fontsize=8, color="white" if inside else "black")
        _numbers(ax, axes_words.lang, axes=("x",))
    _layout(fig)
    return _png(fig)


def durations(series: Series, axes_words: Axes = Axes()) -> bytes:
    """Per practical, a histogram of the seconds each submission took to grade."""
    fig, axes = _panels(len(series))
    for ax, (title, seconds) in zip(axes, series):
        ax.hist(seconds or [0.0], bins=min(20, max(1, len(seconds))), color=_BLUE, edgecolor="white")
        ax.set(title=_title(title), xlabel=axes_words.seconds, ylabel=axes_words.submissions)
        ax.yaxis.get_major_locator().set_params(integer=True)
        _numbers(ax, axes_words.lang)
    _layout(fig)
    return _png(fig)
