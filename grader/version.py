"""The grader's version: part of every job key (a new grader grades again) and of the runtime image's tag."""

__version__ = "0.2.0"
