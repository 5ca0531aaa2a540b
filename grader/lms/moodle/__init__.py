"""Moodle, as the grader meets it: the "download all submissions" archive's names, the grading worksheet, the
gradebook's CSV import and the feedback-files zip (one module each), and the adapter (adapter.py) that the
rest of the grader asks through grader/lms/base.py.

What Moodle reads from these files is a contract: every byte it parses stays as its importers expect
(tests/moodle_rules.py, tests/test_moodle_*.py).
"""
