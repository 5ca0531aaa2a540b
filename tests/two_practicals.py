"""A small course of two practicals for export tests: ``tiny`` (notebook + function checks) and ``tiny_rel``,
whose metric threshold is relative to a reference (so its job keys depend on the reference metrics, as
the real ImageNet and RNN practicals' do). Each practical has a Moodle 5.1 English worksheet out of 100, or
(``spanish``) one downloaded from a Spanish interface, out of 10.

Also the reference hooks of ``tiny_rel`` (this module is importable: tests/ is on sys.path).
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import nbformat
import numpy as np

from tiny_course import ASSIGNMENT, trivial_notebook

REL_ASSIGNMENT = """\
[assignment]
id = "tiny_rel"
title = "Tiny, relative"
version = "1"
max_points = "10"
cell_timeout_s = 300

[reference]
build = "two_practicals:build_reference"

[parameters]
n = 1

[[checks]]
id = "executed"
kind = "notebook"
points = "2"

[[checks]]
id = "accuracy"
kind = "metric"
metric = "accuracy"
name = "model"
data = "two_practicals:evaluation_data"
zero_at = "0"
full_at = "reference - 0.25"
points = "8"
"""

_MODEL = """\
import numpy as np

class Model:
    \"\"\"Right on the first {right} of every 8 inputs (the label is the input's first feature).\"\"\"
    def __call__(self, x):
        x = np.asarray(x)
        out = np.zeros((len(x), 4), dtype=np.float32)
        labels = x[:, 0].astype(int)
        wrong = x[:, 1] >= {right}
        out[np.arange(len(x)), np.where(wrong, (labels + 1) % 4, labels)] = 1.0
        return out

model = Model()
"""


def evaluation_data(data_dir: Path, params: dict) -> tuple[np.ndarray, np.ndarray]:
    """64 inputs [label, position in a block of 8, 0, 0]: a model can be made exactly k/8 right."""
    labels = np.arange(64, dtype=np.int64) % 4
    inputs = np.stack([labels, np.arange(64) % 8, np.zeros(64), np.zeros(64)], axis=1).astype(np.float32)
    return inputs, labels


def build_reference(data_dir: Path, params: dict) -> dict[str, float]:
    return {"accuracy": 1.0}


def rel_notebook(right: int) -> bytes:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell("n = 0")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(_MODEL.format(right=right))]
    for number, cell in enumerate(nb.cells, start=1):
        cell.execution_count = number
    return nbformat.writes(nb).encode("utf-8")


# (full name, email, participant N of tiny, N of tiny_rel, right answers of 8 in tiny_rel)
STUDENTS = [("Ana Pérez", "ana@uni.es", "501", "901", 6),
            ("Luis García", "luis@uni.es", "502", "902", 3),
            ("Marta Ruiz", "marta@uni.es", "503", "903", 0)]
HEADER = ("Identifier,Full name,Email address,Status,Grade,Maximum grade,Grade can be changed,"
          "Last modified (submission),Last modified (grade),Feedback comments")


def worksheet(rows: list[tuple[str, str, str]], maximum: str = "100.00") -> bytes:
    """A Moodle 5.1 English worksheet (BOM, "Maximum grade"), every row submitted on time."""
    lines = [HEADER] + [f'Participant {n},{name},{email},Submitted for grading,,{maximum},Yes,'
                        f'"Monday, 1 March 2027, 10:00 AM",-,' for n, name, email in rows]
    return ("\ufeff" + "\n".join(lines) + "\n").encode("utf-8")


SPANISH_HEADER = ("Identificador,Nombre completo,Dirección de correo,Estado,Calificación,Calificación máxima,"
                  "La calificación puede ser cambiada,Última modificación (entrega),"
                  "Última modificación (calificación),Comentarios de retroalimentación")


def spanish_worksheet(rows: list[tuple[str, str, str]], maximum: str = "10,00") -> bytes:
    """The same worksheet downloaded from a Spanish interface: "Participante" + N, decimal comma, Spanish dates."""
    lines = [SPANISH_HEADER] + [f'Participante{n},{name},{email},Enviado para calificar,,"{maximum}",Sí,'
                                f'"lunes, 1 de marzo de 2027, 10:00",-,' for n, name, email in rows]
    return ("\ufeff" + "\n".join(lines) + "\n").encode("utf-8")


def two_practicals_course(root: Path, *, extra: str = "", spanish: tuple[str, ...] = ()) -> Path:
    """The course above, graded by the local runner; returns course.toml. ``spanish``: the practicals whose
    worksheet was downloaded from a Spanish interface (out of 10, "10,00"), the others' from an English one."""
    for pid, text in (("tiny", ASSIGNMENT), ("tiny_rel", REL_ASSIGNMENT)):
        (root / "assignments" / pid).mkdir(parents=True, exist_ok=True)
        (root / "assignments" / pid / "assignment.toml").write_text(text.replace('id = "tiny"', f'id = "{pid}"'),
                                                                    encoding="utf-8")
    (root / "data").mkdir(exist_ok=True)
    with zipfile.ZipFile(root / "tiny.zip", "w") as zf:
        for name, _, n, _, _ in STUDENTS:
            zf.writestr(f"{name}_{n}_assignsubmission_file_/tiny.ipynb", trivial_notebook(n))
    with zipfile.ZipFile(root / "tiny_rel.zip", "w") as zf:
        for name, _, _, n, right in STUDENTS:
            zf.writestr(f"{name}_{n}_assignsubmission_file_/tiny_rel.ipynb", rel_notebook(right))
    for pid, column in (("tiny", 2), ("tiny_rel", 3)):
        rows = [(student[column], student[0], student[1]) for student in STUDENTS]
        (root / f"{pid}.csv").write_bytes(spanish_worksheet(rows) if pid in spanish else worksheet(rows))
    course = root / "course.toml"
    course.write_text(f"""
[course]
name = "Two practicals"
keep_best = 2
round_step = "0.1"
deadline = "2027-03-31T23:59:00"
timezone = "Europe/Madrid"
data_dir = "data"
assignments_dir = "assignments"
lang = "es"
{extra}
[practicals.tiny]
submissions = ["tiny.zip"]
worksheet = "tiny.csv"
timeout_s = 300
[practicals.tiny_rel]
submissions = ["tiny_rel.zip"]
worksheet = "tiny_rel.csv"
timeout_s = 300
[similarity]
enabled = false
""", encoding="utf-8")
    return course
