"""An LMS is one adapter class plus its registration: the toy LMS below reads its own archive names and roster,
brings its own course.toml table, writes its own file and names the students it will not take, and a course
graded for it needed no other module of the grader edited (as the toy runner of test_runner_registry.py)."""
from __future__ import annotations

import csv
import zipfile
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import BaseModel, ConfigDict

import grader.lms.registry as registry
from grader.course import load_course
from grader.errors import ConfigError, InputError
from grader.lms.base import EntryName, Lms, LmsExport
from grader.lms.registry import lms_names, register
from grader.pipeline import grade_course
from grader.records import Flag, PracticalRoster, RosterRow
from tiny_course import ASSIGNMENT, trivial_notebook


class ToyOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    column: str = "grade"


class ToyLms(Lms):
    """Entries named "<id>--<name>/<file>", a roster CSV "id,name,email,handed_in", one grades.csv out."""

    name = "toy"
    title = "Toy LMS"
    options_table = "toy"
    options_model = ToyOptions

    def __init__(self, course, titles, *, column: str = "grade") -> None:
        super().__init__(course, titles)
        self.column = column

    @classmethod
    def entry_name(cls, name, groups):
        top, _, rest = name.partition("/")
        participant, dashes, full_name = top.partition("--")
        if not dashes or not rest:
            return None
        return EntryName(full_name=full_name, participant=participant, group=None, relpath=rest, blind=False)

    def read_inputs(self, *, strict=True):
        for pid, cfg in self.course.practicals.items():
            if cfg.worksheet is None:
                continue
            if not cfg.worksheet.is_file():
                raise InputError(f"{cfg.worksheet}: no roster there")
            with cfg.worksheet.open(encoding="utf-8", newline="") as fh:
                rows = {r["id"]: RosterRow(r["id"], r["name"], r["email"], r["email"],
                                           datetime.fromisoformat(r["handed_in"]).replace(tzinfo=ZoneInfo("UTC")))
                        for r in csv.DictReader(fh)}
            self.rosters[pid] = PracticalRoster(str(cfg.worksheet), rows, "email")

    def export(self, out, scores, grades):
        dest = out.lms_dir("toy") / "grades.csv"
        dest.parent.mkdir(parents=True, exist_ok=True)
        with dest.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["practical", "id", self.column])
            writer.writerows([s.practical, s.participant, "" if s.score is None else str(s.score)] for s in scores)
        return LmsExport([dest], [], self.attention(scores, grades))

    def attention(self, scores, grades):
        return [Flag(s.practical, s.participant, s.full_name, "not in the toy roster: enter by hand")
                for s in scores if s.participant not in (self.rosters.get(s.practical) or PracticalRoster("", {})).rows]


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setattr(registry, "_ADAPTERS", dict(registry._ADAPTERS))   # the registry as it was, afterwards
    register("toy", ToyLms)
    return ToyLms


def _toy_course(root, extra: str = '[toy]\ncolumn = "nota"\n'):
    """Three hand-ins in the toy's layout; the roster knows two of them, one handed in after the deadline."""
    (root / "assignments" / "tiny").mkdir(parents=True)
    (root / "assignments" / "tiny" / "assignment.toml").write_text(ASSIGNMENT, encoding="utf-8")
    with zipfile.ZipFile(root / "export.zip", "w") as zf:
        for participant, name in (("s1", "Ana Pérez"), ("s2", "Luis Gil"), ("s3", "Eva Sanz")):
            zf.writestr(f"{participant}--{name}/tiny.ipynb", trivial_notebook(participant))
    (root / "roster.csv").write_text("id,name,email,handed_in\ns1,Ana Pérez,ana@uni.es,2027-03-01T10:00:00\n"
                                     "s2,Luis Gil,luis@uni.es,2027-04-02T10:00:00\n", encoding="utf-8")
    course = root / "course.toml"
    course.write_text(f"""[course]
name = "Toy course"
deadline = "2027-03-31T23:59:00"
timezone = "UTC"
lms = "toy"
assignments_dir = "assignments"
lang = "en"
{extra}
[practicals.tiny]
submissions = ["export.zip"]
worksheet = "roster.csv"
[similarity]
enabled = false
""", encoding="utf-8")
    return course


def test_a_registered_lms_grades_and_exports_a_course_without_any_other_edit(tmp_path, toy):
    course = load_course(_toy_course(tmp_path))
    assert course.lms == "toy" and course.lms_tables["toy"] == {"column": "nota"}
    result = grade_course(course, tmp_path / "out", static=True, workers=1)
    scores = {s.participant: s for s in result.scores}
    assert set(scores) == {"s1", "s2", "s3"}                             # the toy's entry names, understood
    assert (scores["s1"].full_name, scores["s1"].email, scores["s1"].late) == ("Ana Pérez", "ana@uni.es", "no")
    assert scores["s2"].late == "yes" and scores["s3"].late == "unknown"   # lateness from the toy's roster
    assert {g.student.key for g in result.grades} == {"ana@uni.es", "luis@uni.es", None}
    written = tmp_path / "out" / "static" / "toy" / "grades.csv"
    with written.open(encoding="utf-8") as fh:
        assert next(csv.reader(fh)) == ["practical", "id", "nota"]      # its own [toy] table reached it
    assert written in result.files and not (tmp_path / "out" / "static" / "moodle").exists()
    assert [(f.participant, f.why) for f in result.attention] == [("s3", "not in the toy roster: enter by hand")]
    assert result.lms == "Toy LMS"                                        # the command's last lines name it
    report = (tmp_path / "out" / "static" / "report.html").read_text(encoding="utf-8")
    assert "not in the toy roster: enter by hand" in report               # the report asked the adapter


def test_the_course_file_names_the_lms_and_its_table_is_its_own(tmp_path, toy):
    assert "toy" in lms_names()
    with pytest.raises(ConfigError, match=r"toy\.colour: unknown key"):
        load_course(_toy_course(tmp_path / "a", extra='[toy]\ncolour = "red"\n'))
    with pytest.raises(ConfigError, match="course.lms: unknown LMS 'canvas'"):
        load_course(_renamed_lms(_toy_course(tmp_path / "b", extra="")))


def _renamed_lms(course_file):
    course_file.write_text(course_file.read_text(encoding="utf-8").replace('lms = "toy"', 'lms = "canvas"'),
                           encoding="utf-8")
    return course_file


def modules_naming_moodle_outside_lms() -> dict[str, list[int]]:
    """Module -> lines where its code (names and strings, not comments or docstrings) says "moodle", outside
    grader/lms/."""
    import ast
    import io
    import tokenize
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    found: dict[str, list[int]] = {}
    for path in sorted((root / "grader").rglob("*.py")):
        name = path.relative_to(root).as_posix()
        if name.startswith("grader/lms/"):
            continue
        source = path.read_text(encoding="utf-8")
        docstrings = set()
        for node in ast.walk(ast.parse(source)):
            body = getattr(node, "body", None)
            if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and \
                    isinstance(getattr(body[0], "value", None), ast.Constant) and isinstance(body[0].value.value, str):
                docstrings |= set(range(body[0].lineno, body[0].end_lineno + 1))
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type in (tokenize.NAME, tokenize.STRING) and "moodle" in token.string.lower() \
                    and token.start[0] not in docstrings:
                found.setdefault(name, []).append(token.start[0])
    return found


def test_at_most_three_modules_outside_the_lms_package_name_moodle_and_the_readme_says_how_many():
    import re
    from pathlib import Path

    found = modules_naming_moodle_outside_lms()
    assert len(found) <= 3, found
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    said = re.search(r"\*\*(\d+) modules? outside `grader/lms/` names? Moodle in (?:its|their) code\*\*", readme)
    assert said and int(said[1]) == len(found), (said and said[0], found)
