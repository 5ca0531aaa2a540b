"""The learning-management systems a course's files come from and go back to, as adapters (base.py: the protocol;
registry.py: looked up by name, as the runners are; moodle/: Moodle's formats and its adapter).

Nothing outside this package knows an LMS's formats: the rest of the grader speaks of submissions, rosters,
scores and grades, and asks the course's adapter for the rest.
"""
