"""The README's key table of course.toml, printed from the declared schema (grader.course_schema and
the runners' option models), so documentation and validation cannot drift apart.

``python -m grader.config_doc`` prints the table; tests/test_config_doc.py compares it with the README.
Reads models only: it validates nothing and reads no file.
"""
from __future__ import annotations

from pydantic import BaseModel

from grader.course_schema import CourseTable, MoodleTable, PracticalTable, SimilarityTable
from grader.execution.docker_options import DockerOptions
from grader.execution.local_options import LocalOptions

# (dotted prefix, model) in the README's order
TABLES: tuple[tuple[str, type[BaseModel]], ...] = (
    ("course", CourseTable), ("moodle", MoodleTable), ("practicals.<id>", PracticalTable),
    ("similarity", SimilarityTable), ("local", LocalOptions), ("docker", DockerOptions),
)
HEADER = "| key | type | default | meaning |\n|---|---|---|---|"


def key_rows() -> list[tuple[str, bool, str, str, str]]:
    """(dotted key, required, type, default, meaning) for every key of course.toml."""
    rows = []
    for prefix, model in TABLES:
        for name, field in model.model_fields.items():
            extra = field.json_schema_extra or {}
            rows.append((f"{prefix}.{name}", field.is_required(), str(extra.get("doc_type", "")),
                         str(extra.get("doc_default", "")), field.description or ""))
    return rows


def key_table() -> str:
    """The Markdown table of the README's "The course file" section."""
    lines = [HEADER]
    for key, required, type_, default, meaning in key_rows():
        cells = (f"`{key}`{' *' if required else ''}", type_, default, meaning)
        lines.append("|" + "|".join(f" {cell} " if cell else " " for cell in cells) + "|")
    return "\n".join(lines)


if __name__ == "__main__":
    print(key_table())
