"""The demo course's generated files look like what Moodle and students really hand over."""
from __future__ import annotations

import csv
import io
import tomllib
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest

from grader.course import load_course
from grader.lms.moodle.archive_names import clean_like_moodle, name_key, parse_entry_name
from grader.lms.moodle.dates import parse_moodle_date
from reference.idx import read_idx
from reference.mnist_cnn import IMAGES, LABELS, load_split, train_reference

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo"
ARCHIVE = DEMO / "moodle" / "ML1-MNIST-101.zip"
WORKSHEET = DEMO / "moodle" / "Grades-ML1-MNIST-101.csv"
HEADER = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade", "Grade can be changed",
          "Last modified (submission)", "Last modified (grade)", "Feedback comments"]


@pytest.fixture(scope="module")
def entries() -> dict[str, nbformat.NotebookNode]:
    assert ARCHIVE.is_file(), f"{ARCHIVE} is missing: run .venv/bin/python examples/demo/build_demo.py"
    with zipfile.ZipFile(ARCHIVE) as zf:
        return {name: nbformat.reads(zf.read(name).decode("utf-8"), as_version=4) for name in zf.namelist()}


@pytest.fixture(scope="module")
def worksheet() -> list[dict[str, str]]:
    text = WORKSHEET.read_bytes().decode("utf-8")
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def _by_name(entries) -> dict[str, nbformat.NotebookNode]:
    return {parse_entry_name(name).full_name: nb for name, nb in entries.items()}


def _cell(nb, cell_id: str) -> str:
    return next(c.source for c in nb.cells if c.get("id") == cell_id)


def test_archive_entries_parse_as_moodle_folders_layout(entries):
    parsed = [parse_entry_name(name) for name in entries]
    assert all(p is not None and p.plugin == "file" and not p.blind and p.group is None for p in parsed)
    assert len({p.participant for p in parsed}) == len(parsed) == 7
    assert all("/" not in p.relpath and p.relpath.endswith(".ipynb") for p in parsed)
    names = {p.full_name for p in parsed}
    assert "Sean OConnor" in names and "José Ñúñez" in names
    assert all("_assignsubmission_file_/" in name for name in entries)


def test_worksheet_is_moodles_download_with_bom(worksheet):
    raw = WORKSHEET.read_bytes()
    assert raw.startswith("\ufeff".encode("utf-8"))
    assert raw.decode("utf-8").lstrip("\ufeff").splitlines()[0] == ",".join(HEADER)
    assert list(worksheet[0]) == HEADER
    assert all(row["Identifier"].startswith("Participant ") and row["Grade"] == "" for row in worksheet)
    assert all(row["Maximum Grade"] == "10.00" for row in worksheet)


def test_archive_and_worksheet_join_on_participant_and_name(entries, worksheet):
    rows = {row["Identifier"].removeprefix("Participant "): row for row in worksheet}
    for name in entries:
        parsed = parse_entry_name(name)
        row = rows[parsed.participant]
        assert name_key(row["Full name"]) == name_key(parsed.full_name)
        assert clean_like_moodle(row["Full name"]) == parsed.full_name
    missing = set(rows) - {parse_entry_name(n).participant for n in entries}
    assert len(missing) == 1
    assert rows[missing.pop()]["Status"].startswith("No submission")
    assert "Sean O'Connor" in {row["Full name"] for row in worksheet}


def test_exactly_one_submission_is_after_the_deadline(worksheet):
    course = load_course(DEMO / "course.toml")
    dates = {row["Full name"]: parse_moodle_date(row["Last modified (submission)"], course.timezone)
             for row in worksheet}
    late = [name for name, when in dates.items() if when is not None and when > course.deadline]
    assert late == ["Carmen Díaz"]
    assert sum(when is None for when in dates.values()) == 1   # the student who handed nothing in


def test_notebooks_are_executed_except_the_one_handed_in_blank(entries):
    executed = {}
    for name, nb in entries.items():
        counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
        executed[parse_entry_name(name).full_name] = counts
    blank = [who for who, counts in executed.items() if all(n is None for n in counts)]
    assert blank == ["Pablo Ruiz"]
    for who, counts in executed.items():
        if who != "Pablo Ruiz":
            assert None not in counts and counts == sorted(counts), who


def test_variants_carry_their_mistake(entries):
    by_name = _by_name(entries)
    assert ".max(" not in _cell(by_name["Luis García"], "softmax") and "logsumexp" not in _cell(
        by_name["Luis García"], "softmax")
    assert ".max(dim=1" in _cell(by_name["Ana Pérez"], "softmax")
    assert ".step()" not in _cell(by_name["Marta López"], "train")
    assert "optimizer.step()" in _cell(by_name["Ana Pérez"], "train")


def test_every_student_wrote_their_own_code_but_jose_copied_sean(entries):
    """Different architectures and styles, so the first similarity report flags only the planted pair."""
    by_name = _by_name(entries)
    models = {who: _cell(nb, "model") for who, nb in by_name.items()}
    assert len(set(models.values())) == len(models) == 7
    assert "run_epoch" in _cell(by_name["José Ñúñez"], "train") and "train_one_epoch" in _cell(
        by_name["Sean OConnor"], "train")


def test_executed_notebooks_show_a_plot_and_their_accuracy(entries):
    by_name = _by_name(entries)
    for who in ("Ana Pérez", "Luis García", "Marta López", "Carmen Díaz", "José Ñúñez", "Sean OConnor"):
        outputs = [o for c in by_name[who].cells if c.cell_type == "code" for o in c.outputs]
        assert any("image/png" in o.get("data", {}) for o in outputs), who
        assert any(o.get("text", "").startswith("Test accuracy: ") for o in outputs), who
        assert not any(o.output_type == "error" for o in outputs), who
        assert by_name[who].metadata["grader"] == {"practical": "mnist_cnn"}


def test_demo_data_is_mnist_shaped_digits():
    images = read_idx(DEMO / "data" / "mnist" / IMAGES)
    labels = read_idx(DEMO / "data" / "mnist" / LABELS)
    assert images.shape == (1797, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (1797,) and set(np.unique(labels)) == set(range(10))
    assert images.max() == 255
    assert not images[:, :4].any() and not images[:, -4:].any()   # a blank margin, like MNIST
    assert not images[:, :, :4].any() and not images[:, :, -4:].any()
    split = load_split(DEMO / "data", {})
    assert len(split.train_images) >= 1400


def test_course_file_points_at_the_demo_files():
    with (DEMO / "course.toml").open("rb") as fh:
        raw = tomllib.load(fh)
    assert raw["course"]["runner"] == "local"
    course = load_course(DEMO / "course.toml")
    practical = course.practicals["mnist_cnn"]
    assert practical.submissions == (ARCHIVE.resolve(),) and practical.worksheet == WORKSHEET.resolve()
    assert practical.parameters["train_size"] == 1400
    assert course.data_dir == (DEMO / "data").resolve() and practical.timeout_s == 600


def test_the_first_similarity_report_flags_only_the_planted_pair(tmp_path):
    from grader.similarity import similarity_for_course

    report = similarity_for_course(load_course(DEMO / "course.toml"), tmp_path)
    assert [(p.name_a, p.name_b) for p in report.flagged] == [("José Ñúñez", "Sean OConnor")]
    assert report.flagged[0].score >= 0.9


def test_demo_files_stay_small():
    total = sum(p.stat().st_size for p in DEMO.rglob("*") if p.is_file() and "out" not in p.parts)
    assert total < 1_500_000


@pytest.mark.slow
def test_reference_masters_the_demo_under_the_course_budget():
    # The demo's solution must earn full marks: the assignment gives full accuracy points at 0.9.
    params = load_course(DEMO / "course.toml").practicals["mnist_cnn"].parameters
    _, metrics = train_reference(load_split(DEMO / "data", {}), {**params, "seed": 0})
    assert metrics["accuracy"] >= 0.92
