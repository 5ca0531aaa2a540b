"""Builds the demo course: a small MNIST-like data set, a Moodle archive of executed notebooks, a worksheet.

Every student wrote their own code (examples/demo/student_styles.py: different architectures and styles), but
José handed in Sean's notebook renamed (the one pair the similarity report should flag); Carmen is late,
Marta's model never trains, Luis's softmax overflows, Pablo never ran his notebook, Lucía handed nothing in.

Run from the repository root with the project's Python: ``.venv/bin/python examples/demo/build_demo.py``
(about a minute on 2 cores). It is idempotent: every run rewrites the same files from
assignments/mnist_cnn/solution.ipynb and scikit-learn's bundled ``load_digits``; nothing is downloaded.
The outputs are committed, so ``make demo`` never runs this; re-run it after changing the solution.

    examples/demo/data/mnist/t10k-{images-idx3,labels-idx1}-ubyte.gz   1,797 digits, 28x28 like MNIST
    examples/demo/moodle/ML1-MNIST-101.zip                            "download all submissions" (in folders)
    examples/demo/moodle/Grades-ML1-MNIST-101.csv                     the offline grading worksheet
    examples/demo/course.toml                                         the course file pointing at them
"""
from __future__ import annotations

import csv
import io
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np
import papermill
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))   # so `reference` imports when run as a script

from reference.idx import write_idx  # noqa: E402
from reference.mnist_cnn import IMAGES, LABELS, student_data  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from student_styles import STYLES  # noqa: E402

DEMO = ROOT / "examples" / "demo"
SOLUTION = ROOT / "assignments" / "mnist_cnn" / "solution.ipynb"
ARCHIVE = DEMO / "moodle" / "ML1-MNIST-101.zip"
WORKSHEET = DEMO / "moodle" / "Grades-ML1-MNIST-101.csv"
PARAMETERS = {"epochs": 2, "train_size": 1400, "batch_size": 16}
# Moodle writes entry times as the download time; a fixed one keeps the archive's bytes stable.
DOWNLOADED = (2027, 4, 2, 9, 0, 0)

HEADER = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
          "Grade can be changed", "Last modified (submission)", "Last modified (grade)", "Feedback comments"]
SUBMITTED = "Submitted for grading - Not graded"


@dataclass(frozen=True)
class Student:
    name: str                 # as the worksheet writes it
    participant: str
    email: str
    variant: str | None       # whose code: "solution" or a style of student_styles.py; None: no submission
    submitted: str = "-"      # worksheet's "Last modified (submission)"
    filename: str = "mnist_cnn.ipynb"
    executed: bool = True     # False: handed in without running it


STUDENTS = [
    Student("Ana Pérez", "3100421", "ana.perez@alumnos.example.edu", "solution",
            "Monday, 29 March 2027, 6:42 PM"),
    Student("Luis García", "3100422", "luis.garcia@alumnos.example.edu", "luis",   # softmax without the shift
            "Tuesday, 30 March 2027, 11:05 PM"),
    Student("Marta López", "3100423", "marta.lopez@alumnos.example.edu", "marta",  # never steps: untrained
            "Wednesday, 31 March 2027, 11:58 PM"),
    Student("Pablo Ruiz", "3100424", "pablo.ruiz@alumnos.example.edu", "pablo",
            "Wednesday, 31 March 2027, 9:30 PM", executed=False),
    Student("Carmen Díaz", "3100425", "carmen.diaz@alumnos.example.edu", "carmen",
            "Thursday, 1 April 2027, 10:15 AM"),   # after the deadline: late
    Student("José Ñúñez", "3100426", "jose.nunez@alumnos.example.edu", "jose",    # Sean's, renamed: the copy
            "Sunday, 28 March 2027, 1:07 PM", filename="Práctica 1 MNIST.ipynb"),
    Student("Sean O'Connor", "3100427", "sean.oconnor@alumnos.example.edu", "sean",
            "Friday, 26 March 2027, 8:20 AM"),
    Student("Lucía Martín", "3100428", "lucia.martin@alumnos.example.edu", None),
]

COURSE_TOML = """\
# The demo course: `make demo` grades it with the local runner (see examples/demo/build_demo.py).
[course]
name = "Machine Learning I: Deep Learning (demo)"
keep_best = 2
round_step = "0.1"
max_grade = "10"
deadline = "2027-03-31T23:59:00"
timezone = "Europe/Madrid"
late_policy = "reject"
runner = "local"
data_dir = "data"

[moodle]
user_key = "email"
course_grade_item = "Prácticas"
decimal_separator = "."

[practicals.mnist_cnn]
submissions = ["moodle/ML1-MNIST-101.zip"]
worksheet = "moodle/Grades-ML1-MNIST-101.csv"
timeout_s = 600
# 1,400 digits: 2 epochs in batches of 16 give the solution ~0.95 in seconds (1 epoch of 64: ~0.85).
parameters = { epochs = 2, train_size = 1400, batch_size = 16 }
"""


def demo_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits (0..16) as MNIST-like 28x28 uint8: a 20x20 digit centred in a 4-pixel margin.

    Shuffled once (fixed seed): the bundled order goes writer by writer, so a held-out tail would be
    other people's handwriting and far harder than what students train on.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    small = torch.from_numpy(digits.images.astype(np.float32))[:, None]
    big = torch.nn.functional.interpolate(small, size=(20, 20), mode="bilinear", align_corners=False)
    framed = torch.nn.functional.pad(big, (4, 4, 4, 4))
    images = (framed[:, 0] * (255.0 / 16.0)).round().clamp(0, 255).to(torch.uint8).numpy()
    order = np.random.default_rng(0).permutation(len(images))
    return images[order], digits.target.astype(np.uint8)[order]


def write_data() -> Path:
    data_dir = DEMO / "data"
    images, labels = demo_digits()
    write_idx(data_dir / "mnist" / IMAGES, images)
    write_idx(data_dir / "mnist" / LABELS, labels)
    return data_dir


def variant(name: str) -> nbformat.NotebookNode:
    """The template's notebook (the solution's cells) with one student's own code in the cells left to them."""
    nb = nbformat.read(SOLUTION, as_version=4)
    for cell_id, source in ({} if name == "solution" else STYLES[name]).items():
        cell = next(c for c in nb.cells if c.get("id") == cell_id)
        cell.source = source
    return nb


def execute(nb: nbformat.NotebookNode, workdir: Path, seed: int) -> nbformat.NotebookNode:
    """Run a notebook the way a student would have before handing it in (papermill, demo budget)."""
    source, target = workdir / "in.ipynb", workdir / "out.ipynb"
    nbformat.write(nb, source)
    papermill.execute_notebook(
        str(source), str(target), parameters={**PARAMETERS, "data_dir": "data/mnist", "seed": seed},
        kernel_name="python3", progress_bar=False, cwd=str(workdir),
    )
    executed = nbformat.read(target, as_version=4)
    # papermill's bookkeeping (temp paths, timestamps) is not in a student's notebook and changes every run.
    executed.metadata.pop("papermill", None)
    for cell in executed.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    return executed


def moodle_prefix(full_name: str, participant: str) -> str:
    """Moodle's entry prefix: "_" to space, then clean_filename drops & < > " ` | ' : \\ /."""
    cleaned = "".join(ch for ch in full_name.replace("_", " ") if ch not in "&<>\"`|':\\/")
    return f"{cleaned}_{participant}_assignsubmission_file_"


def write_archive(data_dir: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        # A relative data_dir, as in the template: the executed notebooks carry no temp paths.
        student_data(data_dir, tmp_path / "data" / "mnist", {})
        entries = {}
        for seed, student in enumerate(STUDENTS):
            if student.variant is None:
                continue
            nb = variant(student.variant)
            if student.executed:
                nb = execute(nb, tmp_path, seed)
            name = f"{moodle_prefix(student.name, student.participant)}/{student.filename}"
            entries[name] = nbformat.writes(nb).encode("utf-8")
            print(f"  {name}")
    ARCHIVE.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(ARCHIVE, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, date_time=DOWNLOADED)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.flag_bits |= 0x800   # UTF-8 names, as Moodle's zip_packer writes them
            zf.writestr(info, data)


def write_worksheet() -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")   # PHP's fputcsv: minimal quoting, LF
    writer.writerow(HEADER)
    for student in STUDENTS:
        status = SUBMITTED if student.variant else "No submission - Not graded"
        writer.writerow([f"Participant {student.participant}", student.name, student.email, status, "",
                         "10.00", "Yes", student.submitted, "-", ""])
    WORKSHEET.parent.mkdir(parents=True, exist_ok=True)
    WORKSHEET.write_bytes(("\ufeff" + buffer.getvalue()).encode("utf-8"))


def main() -> None:
    data_dir = write_data()
    print(f"data: {data_dir / 'mnist'}")
    print(f"archive: {ARCHIVE.relative_to(ROOT)}")
    write_archive(data_dir)
    write_worksheet()
    print(f"worksheet: {WORKSHEET.relative_to(ROOT)}")
    (DEMO / "course.toml").write_text(COURSE_TOML, encoding="utf-8")
    print(f"course: {(DEMO / 'course.toml').relative_to(ROOT)}")


if __name__ == "__main__":
    main()
