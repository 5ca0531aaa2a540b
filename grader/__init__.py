"""grader: grade executed Jupyter notebooks of a deep-learning course, from Moodle to Moodle."""

__version__ = "0.1.0"
