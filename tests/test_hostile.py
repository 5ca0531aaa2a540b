"""Broken and hostile submissions: each ends with a clear record, the batch never stops, the host is untouched.

The cases are built in tests/hostile_cases.py. One batch (local runner, a toy practical) mixes them with
two correct submissions; the intake cases that need no kernel are tested on their own, fast. The cases
where isolation matters run under Docker in tests/test_hostile_docker.py.
"""
from __future__ import annotations

import os
import stat
import sys
import time
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

import hostile_cases as hc
from conftest import moodle_entry, write_zip
from grader.course import load_course
from grader.notebooks import inspect
from grader.pipeline import grade_course
from grader.submissions import collect

TIMEOUT_S = 25
REFERENCE_MODULE = "hostile_toy_reference"
REFERENCE = '''
import numpy as np

def square(x):
    return np.asarray(x, dtype=np.float64) ** 2

def cases(rng):
    return [(rng.normal(size=3),) for _ in range(3)]
'''
ASSIGNMENT = f'''
[assignment]
id = "{hc.PRACTICAL}"
title = "Toy practical for hostile submissions"
version = "1"
max_points = "3"
cell_timeout_s = 60          # above the whole-run limit: the run's limit is the one that strikes

[parameters]
seed = 0

[[checks]]
id = "executed"
kind = "notebook"
points = "1"

[[checks]]
id = "square"
kind = "function"
name = "square"
reference = "{REFERENCE_MODULE}:square"
cases = "{REFERENCE_MODULE}:cases"
points = "2"
'''

# participant -> (full name as Moodle writes it, file name, builder, status, reason code, score)
CASES = {
    "201": ("Ana Correct", "toy.ipynb", lambda: hc.notebook(hc.CORRECT), "graded", None, "3"),
    "202": ("Zoë Z García, 🚀", "toy.ipynb", hc.colab_habits, "graded", None, "3"),
    "203": ("Empty File", "toy.ipynb", hc.empty_file, "invalid", "inspect_empty_file", "0"),
    "204": ("Not Json", "toy.ipynb", hc.not_json, "invalid", "inspect_not_json", "0"),
    "205": ("Json Only", "toy.ipynb", hc.json_not_notebook, "invalid", "inspect_not_notebook", "0"),
    "206": ("Pdf Person", "informe.pdf", hc.pdf_instead, "invalid", "job_no_notebook", "0"),
    "207": ("Py Person", "toy.py", hc.python_script_instead, "invalid", "job_no_notebook", "0"),
    "208": ("Latin One", "toy.ipynb", hc.non_utf8, "invalid", "inspect_not_utf8", "0"),
    "209": ("Old Format", "toy.ipynb", hc.nbformat3, "graded", None, "3"),
    "211": ("Other Practical", "toy.ipynb", hc.other_practical, "graded", None, "1"),
    "212": ("Never Ran", "toy.ipynb", hc.never_executed, "not_executed", "job_not_executed", "2"),   # executed earns nothing unless executed
    "213": ("Out Of Order", "toy.ipynb", hc.out_of_order, "graded", None, "2.67"),
    "214": ("Cell Raises", "toy.ipynb", hc.cell_raises, "error", "run_cell_error", "3"),
    "215": ("Endless Loop", "toy.ipynb", hc.endless_loop, "timeout", "run_timeout", "1"),
    "216": ("Prints Forever", "toy.ipynb", hc.printing_forever, "timeout", "run_timeout", "1"),
    "217": ("Os Exit", "toy.ipynb", hc.os_exit, "error", "run_kernel_died", "1"),
    "218": ("Sys Exit", "toy.ipynb", hc.sys_exit, "graded", None, "3"),
    "219": ("Kernel Killer", "toy.ipynb", hc.kill_own_kernel, "error", "run_kernel_died", "1"),
    "220": ("Plants Then Kills", "toy.ipynb", hc.plant_then_kill_kernel, "error", "run_kernel_died", "1"),
    "221": ("Sabotages Probe", "toy.ipynb", hc.plant_and_sabotage_probe, "graded", None, "1"),
    "222": ("Patches Numpy", "toy.ipynb", hc.monkeypatch_numpy_torch, "graded", None, "1"),
    "223": ("Overwrites Outputs", "toy.ipynb", hc.overwrite_probe_outputs, "graded", None, "1"),
    "225": ("Second Parameters", "toy.ipynb", hc.second_parameters_cell, "graded", None, "3"),
    "226": ("Reassigns Later", "toy.ipynb", hc.reassign_parameter_later, "graded", None, "3"),
    "227": ("Forges Status", "toy.ipynb", lambda: hc.forge_status_value({"logits": [1, 2]}), "graded", None, "1"),
}
# The reason the "square" check gives where the case is about the probe's answers.
SQUARE_REASONS = {
    "211": "checks_missing_name", "215": "run_timeout", "216": "run_timeout", "217": "run_kernel_died",
    "219": "run_kernel_died", "220": "run_kernel_died", "221": "checks_probe_untrusted",
    # 223's thread rewrites the answers while the grader reads them: a mismatch, or an answer caught
    # half-written (unreadable): either way the forged answer earns nothing
    "222": "function_case_mismatch", "223": ("function_case_mismatch", "function_case_invalid"),
    "227": "function_case_not_numbers",
}


# --- the toy practical and a course around it ----------------------------------------------------

def toy_course(root: Path, sources: dict[str, bytes], *, workers: int = 2) -> Path:
    """A course in ``root``: the toy assignment, a Moodle archive of ``sources`` (entry -> bytes), a
    worksheet naming every participant, and a second "archive" that is not a zip."""
    (root / REFERENCE_MODULE).mkdir(parents=True, exist_ok=True)
    (root / REFERENCE_MODULE / "__init__.py").write_text(REFERENCE)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    assignment = root / "assignments" / hc.PRACTICAL
    assignment.mkdir(parents=True)
    (assignment / "assignment.toml").write_text(ASSIGNMENT)
    (root / "data").mkdir()
    (root / "data" / "secret_labels.csv").write_text("index,label\n0,7\n")
    write_zip(root / "toy.zip", sources)
    (root / "not-a-zip.zip").write_bytes(b"this is a text file called .zip")
    rows = [f'Participant {n},"{name}",p{n}@uni.es,Submitted for grading,,3.00,Yes,'
            f'"Monday, 1 March 2027, 9:00 AM",-,' for n, name in [*((n, c[0]) for n, c in CASES.items()),
                                                                  ("210", "Two Notebooks")]]
    header = ("Identifier,Full name,Email address,Status,Grade,Maximum Grade,Grade can be changed,"
              "Last modified (submission),Last modified (grade),Feedback comments")
    (root / "Grades-toy.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    (root / "course.toml").write_text(f'''
[course]
name = "Hostile submissions"
deadline = "2027-03-31T23:59:00"
timezone = "Europe/Madrid"
runner = "local"
data_dir = "data"
lang = "en"
assignments_dir = "assignments"
workers = {workers}
[practicals.{hc.PRACTICAL}]
submissions = ["toy.zip", "not-a-zip.zip"]
worksheet = "Grades-toy.csv"
timeout_s = {TIMEOUT_S}
[similarity]
enabled = false
''', encoding="utf-8")
    return root / "course.toml"


def batch_sources() -> dict[str, bytes]:
    entries = {moodle_entry(name, n, file): build() for n, (name, file, build, *_) in CASES.items()}
    # two notebooks in one hand-in: the one named for the practical is graded
    entries[moodle_entry("Two Notebooks", "210", "draft.ipynb")] = hc.not_json()
    entries[moodle_entry("Two Notebooks", "210", "toy_final.ipynb")] = hc.notebook(hc.CORRECT)
    entries[moodle_entry("Eve Escape", "224", "../../escape.ipynb")] = hc.notebook(hc.CORRECT)
    entries["../outside.ipynb"] = hc.notebook(hc.CORRECT)
    return entries


# --- what the host looks like, before and after --------------------------------------------------

def host_snapshot(repo: Path) -> dict[str, set[str]]:
    home = Path.home()

    def names(folder: Path, keep=lambda name: True) -> set[str]:
        try:
            return {p.name for p in folder.iterdir() if keep(p.name)}
        except OSError:
            return set()

    # /tmp is shared with whatever else runs on the machine: only names a run of ours would leave count
    ours = ("kernel", "jupyter", "ipython", "papermill", "escape", "outside", "spam")
    return {"repo": names(repo), "home": names(home),
            "runtime": names(home / ".local" / "share" / "jupyter" / "runtime"),
            "tmp": names(Path("/tmp"), lambda n: any(word in n.lower() for word in ours)),
            "cwd": names(Path.cwd())}


def processes_mentioning(text: str) -> list[int]:
    """Live processes whose environment mentions ``text`` (every job's processes carry its out folder)."""
    needle, found = text.encode(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            stat = (entry / "stat").read_text()
            if stat[stat.rfind(")") + 2:].startswith(("Z", "X")):
                continue
            if needle in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def batch(tmp_path_factory, repo):
    root = tmp_path_factory.mktemp("hostile")
    course = load_course(toy_course(root, batch_sources()))
    before = host_snapshot(repo)
    started = time.monotonic()
    result = grade_course(course, root / "out")
    elapsed = time.monotonic() - started
    return {"result": result, "elapsed": elapsed, "root": root, "before": before,
            "after": host_snapshot(repo)}


def _scores(batch):
    return {s.participant: s for s in batch["result"].scores}


# --- the batch -----------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("participant", sorted(CASES))
def test_every_case_ends_with_its_status_reason_and_score(batch, participant):
    _, _, _, status, reason, score = CASES[participant]
    got = _scores(batch)[participant]
    assert (got.status, got.reason.code if got.reason else None) == (status, reason), got.reason
    assert got.score == Decimal(score), [(c.check_id, c.points, c.reason) for c in got.checks]
    if participant in SQUARE_REASONS:
        square = {c.check_id: c for c in got.checks}["square"]
        expected = SQUARE_REASONS[participant]
        expected = expected if isinstance(expected, tuple) else (expected,)
        assert square.points == Decimal("0") and square.reason.code in expected, square


@pytest.mark.slow
def test_the_batch_completes_and_correct_work_gets_full_marks(batch):
    scores = _scores(batch)
    assert set(scores) == set(CASES) | {"210"}
    for participant in ("201", "202", "209", "210", "218"):
        assert scores[participant].score == Decimal("3") and scores[participant].status == "graded"
    chosen = scores["210"]
    assert chosen.reason is None and all(c.passed for c in chosen.checks)


@pytest.mark.slow
def test_no_case_takes_longer_than_its_own_limit_and_the_batch_stays_within_their_sum(batch):
    scores = batch["result"].scores
    assert all(s.duration_s is None or s.duration_s <= TIMEOUT_S + 10 for s in scores), \
        [(s.participant, s.duration_s) for s in scores]
    assert batch["elapsed"] <= TIMEOUT_S * len(scores)


@pytest.mark.slow
def test_unsafe_entries_and_a_file_that_is_not_a_zip_are_one_line_each(batch):
    warnings = batch["result"].warnings
    assert [w for w in warnings if "not-a-zip.zip" in w and "not a zip" in w], warnings
    assert [w for w in warnings if "escape.ipynb" in w and "unsafe path" in w], warnings
    assert [w for w in warnings if "../outside.ipynb" in w and "unsafe path" in w], warnings
    assert all("\n" not in w for w in warnings)
    root = batch["root"]
    assert not any(p.name in ("escape.ipynb", "outside.ipynb") for p in root.parent.rglob("*.ipynb")
                   if "out" not in p.relative_to(root.parent).parts[:2])


@pytest.mark.slow
def test_the_host_keeps_no_file_process_or_trace_of_the_batch(batch):
    after = host_snapshot(Path(__file__).resolve().parents[1])
    for place, names in batch["before"].items():
        assert after[place] - names == set(), f"new in {place}: {sorted(after[place] - names)}"
    assert processes_mentioning(str(batch["root"] / "out")) == []


@pytest.mark.slow
def test_the_work_folder_is_closed_to_other_accounts_of_the_host(batch):
    assert stat.S_IMODE((batch["root"] / "out" / "work").stat().st_mode) == 0o700


@pytest.mark.slow
def test_feedback_for_every_case_is_written_and_names_survive(batch):
    sheet = (batch["root"] / "out" / "moodle" / f"{hc.PRACTICAL}.csv").read_text(encoding="utf-8-sig")
    assert "Zoë Z García, 🚀" in sheet
    results = (batch["root"] / "out" / "results.csv").read_text(encoding="utf-8")
    assert results.count("\n") == len(CASES) + 2      # header, every case, the two-notebook hand-in


# --- intake and inspection cases that need no kernel ---------------------------------------------

def test_a_zip_bomb_is_stopped_on_the_bytes_actually_streamed(tmp_path):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(moodle_entry("Bo Mb", "301", "toy.ipynb"), b"0" * (20 << 20))   # 20 MB of zeros, ~20 KB
    assert bomb.stat().st_size < 100_000
    intake = collect(hc.PRACTICAL, [bomb], tmp_path / "x", max_file_bytes=1 << 20, max_total_bytes=4 << 20)
    assert [p for p in intake.problems if "larger than" in p]
    (sub,) = intake.submissions
    assert sub.notebook is None and [n.code for n in sub.notes][0] == "intake_file_too_large"
    assert sum(f.stat().st_size for f in (tmp_path / "x").rglob("*") if f.is_file()) == 0


def test_a_50_mb_output_is_still_a_readable_notebook(tmp_path):
    path = tmp_path / "huge.ipynb"
    path.write_bytes(hc.huge_output(50))
    report = inspect(path)
    assert report.readable and report.executed
    assert "inspect_too_large" not in [p.code for p in report.problems]


def test_nbformat_3_is_upgraded_and_noted(tmp_path):
    path = tmp_path / "old.ipynb"
    path.write_bytes(hc.nbformat3())
    report = inspect(path)
    assert report.readable and report.nbformat == 3 and report.executed
    assert report.problems[0].code == "inspect_upgraded_v3"


def test_names_with_quotes_commas_and_emoji_arrive_as_moodle_cleans_them(tmp_path):
    archive = write_zip(tmp_path / "a.zip", {
        moodle_entry("Zoë Z García, 🚀", "401", "toy.ipynb"): hc.notebook(hc.CORRECT),
        moodle_entry("Sean OConnor", "402", "toy.ipynb"): hc.notebook(hc.CORRECT)})
    intake = collect(hc.PRACTICAL, [archive], tmp_path / "x")
    assert {s.participant: s.full_name for s in intake.submissions} == {"401": "Zoë Z García, 🚀",
                                                                       "402": "Sean OConnor"}
    assert all(s.notebook is not None for s in intake.submissions)


# --- the public MNIST labels earn nothing --------------------------------------------------------

@pytest.mark.slow
def test_carrying_the_public_mnist_labels_in_file_order_scores_chance(tmp_path, repo, shared_data):
    from grader.assignment import load_assignment
    from grader.execution import get_runner
    from grader.jobs import JobSpec, run_job
    from grader.records import Submission
    from reference.mnist_cnn import load_split

    parameters = {"epochs": 0, "train_size": 64, "batch_size": 64, "device": "cpu", "seed": 0}
    labels = [int(v) for v in load_split(shared_data, parameters).eval_labels]   # the held-out split, in order
    path = tmp_path / "mnist_cnn.ipynb"
    path.write_bytes(hc.carry_mnist_labels(labels))
    sub = Submission(practical="mnist_cnn", participant="501", full_name="Label Carrier", source=str(tmp_path),
                     files=(path,), notebook=path, sha256="0" * 64)
    spec = JobSpec(submission=sub, assignment=load_assignment(repo / "assignments" / "mnist_cnn"),
                   parameters=parameters, course_data_dir=shared_data, student_data_dir=tmp_path / "student_data",
                   work_dir=tmp_path / "work", timeout_s=120)
    (tmp_path / "student_data").mkdir()
    evaluation = run_job(spec, get_runner("local"))
    accuracy = {c.check_id: c for c in evaluation.checks}["accuracy"]
    assert accuracy.reason.code == "metric_accuracy", accuracy.reason
    assert accuracy.points == Decimal("0")
    assert Decimal(accuracy.details["accuracy"]) < Decimal("0.2"), accuracy.details
