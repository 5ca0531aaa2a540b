"""grader: grade executed Jupyter notebooks of a deep-learning course, from Moodle to Moodle."""

__version__ = "0.2.0"


def __getattr__(name: str):
    # `grader.selfcheck()` for students' notebooks, imported on first use so `import grader` stays cheap;
    # the module grader.selfcheck is itself callable (it replaces this attribute once imported).
    if name == "selfcheck":
        import grader.selfcheck as module

        return module
    raise AttributeError(f"module 'grader' has no attribute {name!r}")
