"""Similarity flags between submissions, for a human to review: never a grade, never shown to students.

``run_similarity`` (after ``grade_course``) and ``similarity_for_course`` (``grader similarity``) write
<out>/similarity.csv and side-by-side pages; ``flagged_pairs(out_dir)`` lists them for the instructor's report.
"""
from grader.similarity.run import SimilarityReport, run_similarity, similarity_for_course
from grader.similarity.table import FlaggedPair, flagged_pairs

__all__ = ["FlaggedPair", "SimilarityReport", "flagged_pairs", "run_similarity", "similarity_for_course"]
