"""The cell tags every stage reads: which cells the student wrote, which the grader or papermill added.

Plain names only, so execution, reports, checks and similarity share them without importing each
other; nothing here reads or writes a notebook.
"""
from __future__ import annotations

# Tag on every cell the grader adds (injected parameters, probe cells), so later stages can tell them
# from the student's own cells.
INJECTED_TAG = "grader-injected"
# The student's cell holding the defaults the grading parameters replace (papermill's convention).
PARAMETERS_TAG = "parameters"
# papermill's own tags: the cell of injected parameters, and the marker cells of a failed run.
PAPERMILL_PARAMETERS_TAG = "injected-parameters"
PAPERMILL_ERROR_TAG = "papermill-error-cell-tag"
