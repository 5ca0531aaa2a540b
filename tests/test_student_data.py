"""Students get their data in the template's layout (`grader data`), and `grader check --run` finds it there."""
from __future__ import annotations

import pytest

from pathlib import Path

import numpy as np

from check_titles import by_id
from grader.assignment import load_assignment
from grader.cli import main
from grader.student_data import data_for_run, layout_folder, template_data_dir
from reference.idx import read_idx

from test_selfcheck import _executed_solution


def test_each_template_reads_its_data_under_data(repo):
    found = {pid: str(template_data_dir(load_assignment(repo / "assignments" / pid)))
             for pid in ("mnist_cnn", "imagenet_cnn", "rnn_text")}
    assert found == {"mnist_cnn": "data/mnist", "imagenet_cnn": "data/imagenet", "rnn_text": "data/text"}


@pytest.mark.slow
def test_grader_data_writes_the_training_split_where_the_template_reads_it(tmp_path, capsys, shared_data):
    assert main(["data", "mnist_cnn", str(tmp_path / "data"), "--from", str(shared_data)]) == 0
    folder = tmp_path / "data" / "mnist"
    assert sorted(p.name for p in (tmp_path / "data").rglob("*")) == [
        "mnist", "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]    # never t10k, never evaluation labels
    images, labels = read_idx(folder / "train-images-idx3-ubyte.gz"), read_idx(folder / "train-labels-idx1-ubyte.gz")
    held_out = read_idx(shared_data / "mnist" / "t10k-images-idx3-ubyte.gz")[len(images):]
    assert images.shape == (8000, 28, 28) and len(labels) == 8000 and len(held_out) == 2000
    assert not any(np.array_equal(held_out[0], image) for image in images[-50:])
    assert 'data_dir = "data/mnist"' in capsys.readouterr().out


def test_grader_data_refuses_to_write_into_the_course_data_folder(tmp_path, capsys, shared_data):
    assert main(["data", "mnist_cnn", str(shared_data), "--from", str(shared_data)]) == 2
    assert "outside the course data folder" in capsys.readouterr().out


def test_a_check_run_without_data_names_the_missing_file_and_grader_data_first(tmp_path, capsys, repo):
    notebook = _executed_solution(repo, tmp_path / "solution.ipynb")
    code = main(["check", str(notebook), "--run", "--lang", "en"])
    out = capsys.readouterr().out
    assert code == 1
    summary = [line for line in out.splitlines() if line.startswith("Fix first")]
    assert len(summary) == 1 and "training data" in summary[0]
    assert str(tmp_path / "data" / "mnist" / "train-images-idx3-ubyte.gz") in out.replace("\n", "")
    # the command to run next, with the folder beside the notebook, from the course's one data file
    assert f"grader data mnist_cnn {tmp_path / 'data'} --from data.zip" in " ".join(out.split())
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") >= 4}
    rows = by_id(rows)                                           # the table names checks by their titles
    assert "passes" in rows["executed"]                          # judged on the notebook as handed in
    assert "did not start" in rows["softmax"] and "did not start" in rows["loss_decreasing"]


@pytest.mark.slow
def test_data_given_as_the_templates_top_folder_or_the_practicals_folder_is_found(tmp_path, repo, shared_data):
    assignment = load_assignment(repo / "assignments" / "mnist_cnn")
    main(["data", "mnist_cnn", str(tmp_path / "data"), "--from", str(shared_data)])
    for given in (tmp_path / "data", tmp_path / "data" / "mnist"):
        found = data_for_run(assignment, tmp_path / "nb.ipynb", given, tmp_path / "work", assignment.parameters)
        assert found.student == layout_folder(assignment, tmp_path / "data")
    found = data_for_run(assignment, tmp_path / "nb.ipynb", shared_data, tmp_path / "work", assignment.parameters)
    assert found.course == shared_data and (found.student / "train-images-idx3-ubyte.gz").is_file()
    assert data_for_run(assignment, tmp_path / "nb.ipynb", None, tmp_path / "work", assignment.parameters).student \
        == tmp_path / "data" / "mnist"


MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")


def _data_zip(path: Path, entries: dict[str, bytes]) -> Path:
    import zipfile

    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize("prefix", ["data/mnist/", "mnist/", "", "ML1 datos 2027/data/mnist/"])
def test_grader_data_unpacks_the_courses_data_file_at_any_depth_and_only_the_practicals_files(tmp_path, capsys,
                                                                                              prefix):
    archive = _data_zip(tmp_path / "data.zip", {
        **{prefix + name: name.encode() for name in MNIST_FILES},
        f"{prefix}t10k-labels-idx1-ubyte.gz": b"labels a student must not get from here",
        "__MACOSX/._x": b"", "data/text/train.txt": b"other practical"})
    assert main(["data", "mnist_cnn", str(tmp_path / "nb" / "data"), "--from", str(archive), "--lang", "en"]) == 0
    folder = tmp_path / "nb" / "data" / "mnist"
    assert sorted(p.name for p in (tmp_path / "nb").rglob("*")) == ["data", "mnist", *MNIST_FILES]
    assert (folder / MNIST_FILES[0]).read_bytes() == MNIST_FILES[0].encode()
    out = " ".join(capsys.readouterr().out.split())
    assert 'data_dir = "data/mnist"' in out and "grader check NOTEBOOK --run" in out


def test_grader_data_names_what_to_do_when_the_file_holds_no_data_of_the_practical(tmp_path, capsys):
    archive = _data_zip(tmp_path / "data.zip", {"data/text/train.txt": b"x"})
    assert main(["data", "mnist_cnn", str(tmp_path / "data"), "--from", str(archive), "--lang", "en"]) == 2
    line = " ".join(capsys.readouterr().out.split())
    assert "data.zip holds no data of mnist_cnn" in line and "course page" in line
    assert not (tmp_path / "data").exists()
    assert main(["data", "mnist_cnn", str(tmp_path / "data"), "--from", str(tmp_path / "nowhere.zip")]) == 2
    assert "archivo de datos del curso (data.zip" in " ".join(capsys.readouterr().out.split())   # Spanish by default


def test_a_data_file_entry_that_climbs_out_of_its_folder_unpacks_nothing(tmp_path, capsys):
    archive = _data_zip(tmp_path / "data.zip", {
        "imagenet/imagenet_class_index.json": b"{}", "imagenet/efficientnet-lite0-57934424.pth": b"w",
        "imagenet/efficientnet-lite0.npz": b"w", "imagenet/examples/a.JPEG": b"a",
        "imagenet/examples/../../../escaped.txt": b"evil"})
    assert main(["data", "imagenet_cnn", str(tmp_path / "nb" / "data"), "--from", str(archive), "--lang", "en"]) == 2
    assert "escaped.txt" in capsys.readouterr().out
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "nb" / "data" / "imagenet").exists()


def test_grader_data_takes_the_folder_the_data_file_was_unzipped_into(tmp_path, capsys):
    for name in MNIST_FILES:
        (tmp_path / "Downloads" / "data" / "mnist").mkdir(parents=True, exist_ok=True)
        (tmp_path / "Downloads" / "data" / "mnist" / name).write_bytes(name.encode())
    assert main(["data", "mnist_cnn", str(tmp_path / "nb" / "data"), "--from", str(tmp_path / "Downloads" / "data"),
                 "--lang", "en"]) == 0
    assert sorted(p.name for p in (tmp_path / "nb" / "data" / "mnist").iterdir()) == list(MNIST_FILES)
    # a folder holding neither: refused (here, an instructor's install, as no course data folder either)
    assert main(["data", "mnist_cnn", str(tmp_path / "nb2"), "--from", str(tmp_path / "Downloads"), "--lang", "en"]) == 2
    assert not (tmp_path / "nb2").exists()
