"""grader: grade executed Jupyter notebooks of a deep-learning course, from Moodle to Moodle."""

from grader.version import __version__

__all__ = ["__version__", "selfcheck"]


def __getattr__(name: str):
    # `grader.selfcheck()` for students' notebooks, imported on first use (start-up: `import grader` stays cheap);
    # the module grader.selfcheck is itself callable (it replaces this attribute once imported).
    if name == "selfcheck":
        # start-up: `import grader` in a student's kernel stays cheap
        import grader.selfcheck as module

        return module
    raise AttributeError(f"module 'grader' has no attribute {name!r}")
