"""The README's key table of course.toml is the schema's own: printed from it, compared here."""
from pathlib import Path

from grader.config_doc import key_rows, key_table

README = Path(__file__).parents[1] / "README.md"
BEGIN, END = "<!-- key table:", "<!-- end of key table -->"


def test_the_readme_key_table_is_the_one_printed_from_the_schema():
    text = README.read_text(encoding="utf-8")
    start = text.index("\n", text.index(BEGIN)) + 1
    in_readme = text[start:text.index(END)].strip()
    assert in_readme == key_table(), "README drifted from the schema: paste `python -m grader.config_doc`"


def test_every_key_has_a_type_and_a_meaning_and_similarity_and_docker_are_documented():
    rows = key_rows()
    assert all(type_ and meaning for _, _, type_, _, meaning in rows)
    keys = {key for key, *_ in rows}
    assert {"similarity.threshold", "similarity.against", "docker.uid", "docker.gpus", "docker.scratch_mb"} <= keys
    required = {key for key, req, *_ in rows if req}
    assert required == {"course.name", "course.deadline", "course.timezone", "practicals.<id>.submissions"}
