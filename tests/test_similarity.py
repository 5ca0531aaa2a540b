"""Similarity flags: copies survive renaming and reordering, independent work and the template do not count."""
from __future__ import annotations

import csv
from pathlib import Path

import nbformat
import pytest

from conftest import REPO, moodle_entry, notebook_bytes, write_zip
from grader.cli import main
from grader.course import load_course, single_practical_course
from grader.errors import ConfigError
from grader.records import Submission
from grader.similarity import flagged_pairs, run_similarity
from grader.similarity.compare import Document, boilerplate_hashes, fingerprint, match, screen
from grader.similarity.extract import load_template, student_code
from similarity_solutions import COPY_OF_A, SOLUTION_A, SOLUTION_B

TEMPLATE = REPO / "assignments" / "mnist_cnn" / "template.ipynb"
# The copy hands its cells in another order: cross_entropy before softmax, the evaluation before the plot.
REORDERED = [0, 1, 2, 3, 4, 5, 6, 8, 7, 9, 10, 11, 12, 13, 16, 15, 14, 17]


def filled(cells: dict[int, str], order: list[int] | None = None) -> nbformat.NotebookNode:
    """The course's template with these cells written by a student (and, maybe, moved)."""
    nb = nbformat.read(TEMPLATE, as_version=4)
    for index, source in cells.items():
        nb.cells[index].source = source
    if order:
        nb.cells = [nb.cells[i] for i in order]
    return nb


def submission(folder: Path, participant: str, nb: nbformat.NotebookNode, name: str = "") -> Submission:
    path = folder / f"{participant}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return Submission("mnist_cnn", participant, name or f"Student {participant}", str(folder), (path,), path, None)


def course(out: Path):
    return single_practical_course("mnist_cnn", [out], out, out)


def pair_score(first: nbformat.NotebookNode, second: nbformat.NotebookNode, tmp_path: Path):
    template = load_template(TEMPLATE)
    docs = []
    for key, nb in (("a", first), ("b", second)):
        nbformat.write(nb, tmp_path / f"{key}.ipynb")
        docs.append(Document(key, key, student_code(tmp_path / f"{key}.ipynb", template).code))
    boilerplate = boilerplate_hashes(template.code)
    return match(*docs, *(fingerprint(d.code, boilerplate) for d in docs))


def test_a_copy_with_renamed_variables_and_reordered_cells_is_flagged_above_the_threshold(tmp_path):
    subs = [submission(tmp_path / "in", "101", filled(SOLUTION_A), "Ana Pérez"),
            submission(tmp_path / "in", "102", filled(COPY_OF_A, REORDERED), "Luis Gómez"),
            submission(tmp_path / "in", "103", filled(SOLUTION_B))]
    out = tmp_path / "out"
    report = run_similarity(course(out), out, {"mnist_cnn": subs})

    assert report.compared == {"mnist_cnn": 3}
    assert [(p.participant_a, p.participant_b) for p in report.flagged] == [("101", "102")]
    flagged = report.flagged[0]
    assert flagged.score >= 0.9 and flagged.shared_lines >= 30
    with (out / "similarity.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["practical"], r["participant_a"], r["participant_b"]) for r in rows] == [("mnist_cnn", "101", "102")]
    assert float(rows[0]["score"]) >= 0.9 and int(rows[0]["shared_lines"]) == flagged.shared_lines
    page = (out / flagged.page).read_text(encoding="utf-8")
    # both sides shown, the copied training loop marked on each, names escaped, no template-only cell
    assert "Ana Pérez" in page and "Luis Gómez" in page and page.count("<mark>") >= 2
    assert "running, good, count" in page and "total_loss, correct, seen" in page
    assert "frombuffer" not in page
    assert flagged_pairs(out) == report.flagged


def test_two_independent_solutions_from_the_same_template_are_not_flagged(tmp_path):
    found = pair_score(filled(SOLUTION_A), filled(SOLUTION_B), tmp_path)
    assert found.score < 0.3, found.shares       # the threshold is 0.6: far from it, not just under
    out = tmp_path / "out"
    subs = [submission(tmp_path / "in", "7", filled(SOLUTION_A)), submission(tmp_path / "in", "8", filled(SOLUTION_B))]
    report = run_similarity(course(out), out, {"mnist_cnn": subs})
    assert report.flagged == [] and flagged_pairs(out) == []
    assert (out / "similarity.csv").read_text(encoding="utf-8").splitlines()[0].startswith(
        "practical,participant_a,participant_b,score,shared_lines")


def test_the_templates_own_code_never_counts_as_shared(tmp_path):
    # Both students touch the template's data cell (a comment, a blank line), so it is not dropped as an
    # untouched cell: only its fingerprints being the template's keep it out of the shared code.
    template = nbformat.read(TEMPLATE, as_version=4)
    data_cell = template.cells[5].source
    first = filled({**SOLUTION_A, 5: "# load the data\n" + data_cell})
    second = filled({**SOLUTION_B, 5: data_cell.replace("\n\n", "\n\n\n") + "\nprint(len(images))"})
    found = pair_score(first, second, tmp_path)
    shared = "".join(found.a.code[s:e] for s, e in zip(*found.spans[0]))
    assert "frombuffer" in found.a.code and "frombuffer" not in shared and "read_idx" not in shared
    assert found.score < 0.3
    # A notebook that is the template, and one that only touches the template, have nothing of their own.
    untouched, retouched = filled({}), filled({5: "# mine\n" + data_cell})
    assert pair_score(untouched, retouched, tmp_path).score == 0.0
    out = tmp_path / "out"
    subs = [submission(tmp_path / "in", str(n), nb) for n, nb in enumerate((untouched, retouched, first), 1)]
    report = run_similarity(course(out), out, {"mnist_cnn": subs})
    assert report.skipped == {"mnist_cnn": 2} and report.compared == {"mnist_cnn": 1} and report.flagged == []


def test_grader_cells_and_magics_are_not_the_students_code(tmp_path):
    nb = filled(SOLUTION_A)
    injected = nbformat.v4.new_code_cell("import grader_probe\ngrader_probe.run('/probe')")
    injected.metadata["tags"] = ["grader-injected"]
    nb.cells += [injected, nbformat.v4.new_code_cell("!pip install torchsummary\n%matplotlib inline\nz = 1")]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    code = student_code(path, load_template(TEMPLATE)).code
    assert "grader_probe" not in code and "pip" not in code and "matplotlib inline" not in code
    assert "z = 1" in code and "train-images" not in code    # untouched template cells are dropped
    assert "epochs = 2" not in code                           # the parameters cell is the grader's


def test_the_fast_screen_keeps_exactly_the_pairs_copydetect_scores_at_the_threshold(tmp_path):
    template = load_template(TEMPLATE)
    boilerplate = boilerplate_hashes(template.code)
    docs = []
    for key, nb in (("a", filled(SOLUTION_A)), ("b", filled(SOLUTION_B)), ("c", filled(COPY_OF_A, REORDERED))):
        nbformat.write(nb, tmp_path / f"{key}.ipynb")
        docs.append(Document(key, key, student_code(tmp_path / f"{key}.ipynb", template).code))
    prints = [fingerprint(d.code, boilerplate) for d in docs]
    for i, j in ((0, 1), (0, 2), (1, 2)):
        score = match(docs[i], docs[j], prints[i], prints[j]).score
        assert score > 0
        assert (i, j) in screen(prints, [False] * 3, score)
        assert (i, j) not in screen(prints, [False] * 3, score + 1e-9)
    assert screen(prints, [True] * 3, 0.01) == []     # earlier years are never compared among themselves


def test_against_an_earlier_years_folder_flags_a_copy_of_last_year(tmp_path):
    last_year = tmp_path / "2025" / "mnist_cnn"
    for participant, nb in (("880", filled(SOLUTION_A)), ("881", filled(SOLUTION_A))):
        folder = last_year / f"Old Student {participant}_{participant}_assignsubmission_file_"
        folder.mkdir(parents=True)
        (folder / "mnist.ipynb").write_bytes(notebook_bytes(nb))
    write_zip(tmp_path / "moodle.zip", {
        moodle_entry("Eva Ruiz", "12", "mnist.ipynb"): notebook_bytes(filled(COPY_OF_A, REORDERED)),
        moodle_entry("Juan Sanz", "13", "mnist.ipynb"): notebook_bytes(filled(SOLUTION_B)),
    })
    (tmp_path / "course.toml").write_text(
        '[course]\nname = "ML1"\ndeadline = "2027-03-31T23:59:00"\ntimezone = "Europe/Madrid"\n'
        '[practicals.mnist_cnn]\nsubmissions = ["moodle.zip"]\n[similarity]\nthreshold = 0.7\n', encoding="utf-8")

    assert main(["similarity", str(tmp_path / "course.toml"), "--against", str(tmp_path / "2025")]) == 0
    pairs = flagged_pairs(tmp_path / "out")
    assert {(p.participant_a, p.participant_b) for p in pairs} == {("12", "2025:880"), ("12", "2025:881")}
    assert all(p.name_a == "Eva Ruiz" and p.score >= 0.9 and (tmp_path / "out" / p.page).is_file() for p in pairs)
    assert main(["similarity", str(tmp_path / "course.toml"), "--against", str(tmp_path / "2024")]) == 2


def test_only_the_similarity_files_are_written_and_other_practicals_rows_are_kept(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "similarity.csv").write_text("practical,participant_a,participant_b,score,shared_lines\n"
                                        "rnn_text,4,5,0.750,20\n", encoding="utf-8")
    subs = [submission(tmp_path / "in", "1", filled(SOLUTION_A)),
            submission(tmp_path / "in", "2", filled(COPY_OF_A, REORDERED))]
    report = run_similarity(course(out), out, {"mnist_cnn": subs})
    written = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert written == {"similarity.csv", "similarity/index.html", "similarity/mnist_cnn/1--2.html"}
    assert set(report.files) == {out / w for w in written}
    assert [(p.practical, p.participant_a) for p in flagged_pairs(out)] == [("mnist_cnn", "1"), ("rnn_text", "4")]


def test_the_similarity_table_of_the_course_file_is_checked(tmp_path):
    base = ('[course]\nname = "x"\ndeadline = "2027-03-31T23:59:00"\ntimezone = "UTC"\n'
            '[practicals.mnist_cnn]\nsubmissions = ["a.zip"]\n')
    path = tmp_path / "course.toml"
    path.write_text(base, encoding="utf-8")
    default = load_course(path).similarity
    assert default.enabled and default.threshold == 0.6 and default.against == ()
    path.write_text(base + '[similarity]\nenabled = false\nthreshold = 0.8\nmin_lines = 3\nagainst = ["old"]\n',
                    encoding="utf-8")
    settings = load_course(path).similarity
    assert (settings.enabled, settings.threshold, settings.min_lines) == (False, 0.8, 3)
    assert settings.against == ((tmp_path / "old").resolve(),)
    for bad, key in (("threshold = 1.5", "similarity.threshold"), ('enabled = "yes"', "similarity.enabled"),
                     ("treshold = 0.5", "similarity.treshold")):
        path.write_text(base + f"[similarity]\n{bad}\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=key):
            load_course(path)


@pytest.mark.slow
def test_grading_a_course_writes_the_flags_unless_the_course_file_turns_them_off(tmp_path, shared_data):
    from grader.pipeline import grade_course

    write_zip(tmp_path / "subs.zip", {moodle_entry("Ana Pérez", "7", "informe.pdf"): b"%PDF not a notebook"})
    base = ('[course]\nname = "t"\ndeadline = "2027-03-31T23:59:00"\ntimezone = "Europe/Madrid"\n'
            f'data_dir = "{shared_data}"\n[practicals.mnist_cnn]\nsubmissions = ["subs.zip"]\n')
    for extra, written in (("", True), ("[similarity]\nenabled = false\n", False)):
        (tmp_path / "course.toml").write_text(base + extra, encoding="utf-8")
        out = tmp_path / f"out-{written}"
        result = grade_course(load_course(tmp_path / "course.toml"), out)
        assert (out / "similarity.csv").is_file() is written
        assert (out / "similarity.csv" in result.files) is written
        assert "similar" not in (out / "moodle" / "mnist_cnn.csv").read_text(encoding="utf-8").lower()


def test_two_students_starting_from_the_keras_template_share_only_its_code(tmp_path):
    # Without the Keras edition's template as boilerplate, its 100+ lines would be each student's "own"
    # code and every pair of Keras students would be flagged as copies of each other.
    keras = nbformat.read(REPO / "assignments" / "mnist_cnn" / "template_keras.ipynb", as_version=4)
    code = [i for i, cell in enumerate(keras.cells) if cell.cell_type == "code" and len(cell.source) > 200]
    assert code, "the Keras template changed"
    subs = []
    for participant, comment in (("21", "# mine\n"), ("22", "# my version\n")):
        nb = nbformat.from_dict(keras)
        nb.cells[code[0]].source = comment + nb.cells[code[0]].source
        subs.append(submission(tmp_path / "in", participant, nb))
    out = tmp_path / "out"
    report = run_similarity(course(out), out, {"mnist_cnn": subs})
    assert report.flagged == [] and report.skipped == {"mnist_cnn": 2}, (report.flagged, report.skipped)
