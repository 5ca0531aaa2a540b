"""The registry of check kinds: one class per kind, registered by name (as papermill's engines).

A new kind is one class in one file plus one line below; assignment.toml names it in ``kind``.
Nothing here runs student code or knows the order of the grading stages.
"""
from grader.checks.base import Check, CheckRegistry

registry = CheckRegistry()
register = registry.register
get_check = registry.get

from grader.checks.function import FunctionCheck  # noqa: E402  (kinds import base, base imports nothing here)
from grader.checks.metric import MetricCheck  # noqa: E402
from grader.checks.notebook import NotebookCheck  # noqa: E402
from grader.checks.shape import ShapeCheck  # noqa: E402
from grader.checks.distribution import DistributionCheck  # noqa: E402
from grader.checks.generation import GenerationCheck  # noqa: E402
from grader.checks.roundtrip import RoundTripCheck  # noqa: E402
from grader.checks.sequence_shape import SequenceShapeCheck  # noqa: E402
from grader.checks.reported import ReportedCheck  # noqa: E402
from grader.checks.custom import CustomCheck  # noqa: E402
from grader.checks.architecture import ArchitectureCheck  # noqa: E402

register("notebook", NotebookCheck)
register("shape", ShapeCheck)
register("function", FunctionCheck)
register("metric", MetricCheck)
register("distribution", DistributionCheck)
register("generation", GenerationCheck)
register("roundtrip", RoundTripCheck)
register("sequence_shape", SequenceShapeCheck)
register("reported", ReportedCheck)
register("custom", CustomCheck)
register("architecture", ArchitectureCheck)

__all__ = ["Check", "CheckRegistry", "registry", "register", "get_check"]
