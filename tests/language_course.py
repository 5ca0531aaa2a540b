"""A three-practical course in Moodle's layout whose submissions end in every status a batch can give:
graded, error, timeout, not handed in executed, the untouched template, invalid, missing, overridden, late;
and two look-alike hand-ins for the similarity pages. Tiny notebooks (a softmax and one printed value),
so the local runner grades the lot in seconds; ``static=True`` grading needs no kernel at all.

Also ``prose_problems``: what a reader of one language must never meet in a page, a CLI line or a
Moodle comment of a course in the other (status words, check ids, the other language's decimals).
"""
from __future__ import annotations

import csv
import html
import io
import re
import zipfile
from pathlib import Path

import nbformat

PRACTICALS = {   # id -> (title es, title en, max_points)
    "p_digits": ("Dígitos escritos a mano", "Handwritten digits", "10"),
    "p_images": ("Clasificar imágenes", "Classifying images", "10"),
    "p_text": ("Generar texto", "Generating text", "10"),
}
CHECK_IDS = ("nb_run", "softmax_fn", "value_printed")

ASSIGNMENT = """\
[assignment]
id = "{pid}"
title = {{es = "{es}", en = "{en}"}}
version = "1"
max_points = "{max_points}"
cell_timeout_s = 60

[parameters]
n = 1

[[checks]]
id = "nb_run"
kind = "notebook"
title = {{es = "Cuaderno entregado ejecutado", en = "Notebook handed in executed"}}
points = "2"

[[checks]]
id = "softmax_fn"
kind = "function"
name = "softmax"
reference = "reference.functions:softmax"
cases = "reference.mnist_cnn:softmax_cases"
rtol = "1e-4"
atol = "1e-6"
title = {{es = "La función `softmax`", en = "The `softmax` function"}}
points = "6.5"
[[checks.parts]]
id = "stable"
points = "0.5"
es = "estable con logits de ±1000"
en = "stable with logits of ±1000"

[[checks]]
id = "value_printed"
kind = "reported"
pattern = "Valor: ([0-9.]+)"
against = ["run"]
tolerance = "0.001"
title = {{es = "Valor publicado frente a reproducido", en = "Printed vs reproduced value"}}
points = "1.5"
"""

PARAMETERS = "n = 0"
IMPORTS = "import numpy as np"
TEMPLATE_SOFTMAX = "def softmax(x):\n    raise NotImplementedError"
PRINT_VALUE = "valor = float(softmax(np.array([[0.0, 1.0]]))[0, 1])\nprint(f'Valor: {valor:.4f}')"
VALUE_PRINTED = "Valor: 0.7311\n"
SOFTMAX = """\
def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
"""
# code of their own, long enough for the similarity report (min_lines), written twice with other names
SHARED_WORK = """\
def normalise(rows):
    total = 0.0
    for row in rows:
        total = total + sum(row)
    scaled = []
    for row in rows:
        scaled.append([value / total for value in row])
    return scaled

def argmax_rows(rows):
    best = []
    for row in rows:
        best.append(max(range(len(row)), key=lambda i: row[i]))
    return best

LABELS = ["cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve", "diez", "once", "doce", "trece", "catorce", "quince", "dieciséis", "diecisiete"]
print(argmax_rows(normalise([[1, 2], [3, 1]])))
"""


def _notebook(cells: list[tuple[str, list]], executed: bool = True) -> bytes:
    """A notebook of (source, outputs) code cells, numbered 1.. as Jupyter would when ``executed``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for number, (source, outputs) in enumerate(cells, start=1):
        cell = nbformat.v4.new_code_cell(source)
        if number == 1:
            cell.metadata["tags"] = ["parameters"]
        if executed:
            cell.execution_count = number
            cell.outputs = outputs
        nb.cells.append(cell)
    return nbformat.writes(nb).encode("utf-8")


def _stream(text: str) -> list:
    return [nbformat.v4.new_output("stream", name="stdout", text=text)]


def _error(ename: str, evalue: str) -> list:
    return [nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])]


def template() -> bytes:
    return _notebook([(PARAMETERS, []), (IMPORTS, []), (TEMPLATE_SOFTMAX, []), (PRINT_VALUE, [])], executed=False)


def solved(extra: str = "", printed: str = VALUE_PRINTED) -> bytes:
    cells = [(PARAMETERS, []), (IMPORTS, []), (SOFTMAX, []), (PRINT_VALUE, _stream(printed))]
    if extra:
        cells.append((extra, _stream("[1, 0]\n")))
    return _notebook(cells)


def raising() -> bytes:
    body = "def softmax(x):\n    raise ValueError('la forma no cuadra')"
    return _notebook([(PARAMETERS, []), (IMPORTS, []), (body, []),
                      (PRINT_VALUE, _error("ValueError", "la forma no cuadra"))])


def sleeping() -> bytes:
    return _notebook([(PARAMETERS, []), (IMPORTS, []), (SOFTMAX, []), ("import time\ntime.sleep(600)", []),
                      (PRINT_VALUE, _stream(VALUE_PRINTED))])


def not_executed() -> bytes:
    return _notebook([(PARAMETERS, []), (IMPORTS, []), (SOFTMAX, []), (PRINT_VALUE, [])], executed=False)


def untouched_template() -> bytes:
    """The template run as handed out: its softmax raises NotImplementedError (no message)."""
    return _notebook([(PARAMETERS, []), (IMPORTS, []), (TEMPLATE_SOFTMAX, []),
                      (PRINT_VALUE, _error("NotImplementedError", ""))])


def _renamed(code: str) -> str:
    return code.replace("normalise", "scale_all").replace("argmax_rows", "best_of").replace("total", "s")


# (name, email, {practical: (participant, kind)}); a practical a student lacks is not in their worksheet row
STUDENTS = [
    ("Ana Pérez", "ana@uni.es", {"p_digits": ("101", "solved"), "p_images": ("201", "solved"),
                                 "p_text": ("301", "solved")}),
    ("Bruno Díaz", "bruno@uni.es", {"p_digits": ("102", "raising"), "p_images": ("202", "edited"),
                                    "p_text": ("302", "late")}),
    ("Carla Gómez", "carla@uni.es", {"p_digits": ("103", "sleeping"), "p_images": ("203", "similar"),
                                     "p_text": ("303", "missing")}),
    ("Dani Ruiz", "dani@uni.es", {"p_digits": ("104", "not_executed"), "p_images": ("204", "similar_renamed")}),
    ("Eva Sanz", "eva@uni.es", {"p_digits": ("105", "untouched")}),
    ("Fede León", "fede@uni.es", {"p_digits": ("106", "invalid")}),
    ("Gil Martín", "gil@uni.es", {"p_digits": ("107", "missing")}),
]
NOTEBOOKS = {"solved": lambda: solved(), "raising": raising, "sleeping": sleeping, "not_executed": not_executed,
             "untouched": untouched_template, "edited": lambda: solved(printed="Valor: 0.9900\n"),
             "late": lambda: solved(), "similar": lambda: solved(SHARED_WORK),
             "similar_renamed": lambda: solved(_renamed(SHARED_WORK))}
OVERRIDE = ("p_images", "201", "9.25", "revisada en tutoría")
HEADER_ES = ("Identificador,Nombre completo,Dirección de correo,Estado,Calificación,Calificación máxima,"
             "La calificación puede ser cambiada,Última modificación (entrega),Última modificación (calificación),"
             "Comentarios de retroalimentación")
ON_TIME, LATE = '"lunes, 29 de marzo de 2027, 10:15"', '"jueves, 1 de abril de 2027, 10:15"'


def _worksheet(pid: str, maximum: str) -> str:
    rows = [HEADER_ES]
    for name, email, works in STUDENTS:
        if pid in works:
            n, kind = works[pid]
            when = LATE if kind == "late" else "-" if kind == "missing" else ON_TIME
            status = "Sin entrega" if kind == "missing" else "Enviado para calificar"
            rows.append(f'Participante {n},{name},{email},{status},,"{maximum}",Sí,{when},-,')
    return "\ufeff" + "\n".join(rows) + "\n"


def _record_template_outputs(folder: Path) -> None:
    """template_outputs.json as `grader reference outputs` writes it (without running the solution: its one
    printing cell is known, the print of the value, the 4th of the template's code cells)."""
    import json

    from grader.template_outputs import FILE_NAME, digest, notebook_code

    edition = {"template": "template.ipynb", "template_digest": digest(notebook_code(folder / "template.ipynb")),
               "solution": "solution.ipynb", "solution_digest": digest(notebook_code(folder / "solution.ipynb")),
               "printing": [3]}
    (folder / FILE_NAME).write_text(json.dumps({"editions": [edition]}), encoding="utf-8")


def language_course(root: Path, lang: str = "es", *, timeout_s: int = 30) -> Path:
    """The course under ``root``; returns course.toml. p_images's worksheet is out of 100, the others of 10."""
    for pid, (es, en, max_points) in PRACTICALS.items():
        folder = root / "assignments" / pid
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "assignment.toml").write_text(ASSIGNMENT.format(pid=pid, es=es, en=en, max_points=max_points),
                                                encoding="utf-8")
        (folder / "template.ipynb").write_bytes(template())
        (folder / "solution.ipynb").write_bytes(solved())
        _record_template_outputs(folder)
        with zipfile.ZipFile(root / f"{pid}.zip", "w") as zf:
            for name, _, works in STUDENTS:
                n, kind = works.get(pid, (None, None))
                if kind is None or kind == "missing":
                    continue
                entry = f"{name}_{n}_assignsubmission_file_/"
                if kind == "invalid":
                    zf.writestr(entry + "notas.txt", "no me dio tiempo")
                else:
                    zf.writestr(entry + f"{pid}.ipynb", NOTEBOOKS[kind]())
        (root / f"{pid}.csv").write_text(_worksheet(pid, "100,00" if pid == "p_images" else "10,00"),
                                         encoding="utf-8")
    (root / "data").mkdir(exist_ok=True)
    (root / "overrides.csv").write_text("practical,participant,score,reason\n" + ",".join(OVERRIDE) + "\n",
                                        encoding="utf-8")
    practicals = "".join(f'[practicals.{pid}]\nsubmissions = ["{pid}.zip"]\nworksheet = "{pid}.csv"\n'
                         f"timeout_s = {timeout_s}\n" for pid in PRACTICALS)
    course = root / "course.toml"
    course.write_text(f"""
[course]
name = "Aprendizaje profundo"
keep_best = 2
round_step = "0.1"
deadline = "2027-03-31T23:59:00"
timezone = "Europe/Madrid"
data_dir = "data"
assignments_dir = "assignments"
lang = "{lang}"
{practicals}
[similarity]
threshold = 0.5
min_lines = 5
""", encoding="utf-8")
    return course


# --- what a reader of one language must never meet ------------------------------------------------------
# what people typed (names, the course's name, an override's reason, a student's own exception text) is
# theirs, in whatever language they wrote it
USER_TEXT = ("Aprendizaje profundo", OVERRIDE[3], "la forma no cuadra", "notas.txt",
             *(name for name, _, _ in STUDENTS))
_ENGLISH = re.compile(r"\b(graded|not[_ ]executed|untouched|timeout|timed out|invalid|missing|overridden|late|yes|"
                      r"the|and|of|with|was|points?|score|checks?|cells?|passed|fails|partly|wrote|warning|note|"
                      r"interrupted|building|pairs?|scoring|least|notebook|handed|grades?|submissions?|practical|"
                      r"counts|unknown|set by hand|mean|median|students?)\b", re.IGNORECASE)
_SPANISH = re.compile(r"\b(nota|notas|entregas?|entregadas?|prácticas?|comprobaci(?:ón|ones)|corregidas?|cuadernos?|"
                      r"celdas?|puntos|sí|tarde|motivo|estado|curso|plantilla|ejecutad[oa]s?|resumen|fallos|escrito|"
                      r"aviso|hoja|parecidas|parejas?|líneas?|tiempo|agotado|computa|estudiantes?|media|mediana|"
                      r"participante|nombre|falla|correcto|en parte|revisión)\b", re.IGNORECASE)
_POINT_DECIMAL = re.compile(r"(?<![\w.])\d+\.\d+(?![\w])")
_COMMA_DECIMAL = re.compile(r"(?<![\w,])\d+,\d+(?![\w])")
_ALLOWED_DOTS = ("Moodle 5.1",)     # a version is written with its dot in every language


def page_text(html_text: str) -> str:
    """What a reader of a page reads: its body's words and its figures' alt texts, without code (a <pre>
    holds the student's code and outputs, a <code> a name of code) and without the head."""
    body = html_text.split("<body>", 1)[-1]
    alts = " ".join(html.unescape(alt) for alt in re.findall(r"alt='([^']*)'", body))
    for tag in ("pre", "code", "style", "script"):
        body = re.sub(rf"<{tag}\b.*?</{tag}>", " ", body, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]+>", " ", body)) + " " + alts


def prose_problems(text: str, lang: str, *, practical_ids: bool = False) -> list[str]:
    """Status words or prose of the other language, check ids (and with ``practical_ids`` the practicals'),
    and decimals written the other language's way, found in ``text`` (people's own words left out)."""
    for typed in USER_TEXT:
        text = text.replace(typed, " ")
    text = re.sub(r"`[^`\n]*`", " ", text)          # names of code, as plain text writes them
    ids = CHECK_IDS + (tuple(PRACTICALS) if practical_ids else ())
    patterns = [("id", re.compile(r"\b(" + "|".join(ids) + r")\b"))]
    if lang == "es":
        for allowed in _ALLOWED_DOTS:
            text = text.replace(allowed, " ")
        patterns += [("English", _ENGLISH), ("decimal", _POINT_DECIMAL)]
    else:
        patterns += [("Spanish", _SPANISH), ("decimal", _COMMA_DECIMAL)]
    return [f"{what} {m.group(0)!r} in …{' '.join(text[max(0, m.start() - 60):m.end() + 60].split())}…"
            for what, pattern in patterns for m in pattern.finditer(text)]


_FEEDBACK_COLUMNS = ("Feedback comments", "Comentarios de retroalimentación", "Feedback", "reason")


def written_texts(out: Path) -> list[tuple[str, str, bool]]:
    """(file, what a person reads in it, whether students read it) for every page and Moodle file a batch
    wrote under ``out``: the pages whole, of the Moodle files only the comment and feedback cells (the
    grades there are Moodle's to parse, in Moodle's formats)."""
    found = []
    for page in sorted(out.rglob("*.html")):
        if "_against" in page.parts:
            continue
        students = "feedback" in page.relative_to(out).parts
        found.append((str(page.relative_to(out)), page_text(page.read_text(encoding="utf-8")), students))
    for sheet in sorted(out.rglob("moodle/*.csv")):
        rows = list(csv.DictReader(io.StringIO(sheet.read_text(encoding="utf-8-sig"))))
        cells = [row[column] for row in rows for column in _FEEDBACK_COLUMNS if row.get(column)]
        found.append((str(sheet.relative_to(out)), " | ".join(cells), True))
    return found
