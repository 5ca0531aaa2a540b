"""Intake of Moodle archives and folders: layouts, several files, and safe extraction."""
import hashlib
import stat
import zipfile

import nbformat

from grader.submissions import collect

PRACTICAL = "mnist_cnn"


def _notebook(text="print(1)", outputs=0):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(text)
    cell.outputs = [nbformat.v4.new_output("stream", text="x" * 100) for _ in range(outputs)]
    nb.cells.append(cell)
    return nbformat.writes(nb).encode("utf-8")


def _zip(path, entries):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def _codes(submission):
    return [n.code for n in submission.notes]


def test_in_folders_archive_gives_one_submission_per_participant(tmp_path):
    nb = _notebook()
    archive = _zip(tmp_path / "DL-MNIST-42.zip", {
        "Ana Pérez_101_assignsubmission_file_/mnist_cnn.ipynb": nb,
        "Pérez, Luis_102_assignsubmission_file_/sub/mnist_cnn.ipynb": _notebook("2"),
    })
    intake = collect(PRACTICAL, [archive], tmp_path / "out")
    assert intake.problems == []
    ana, luis = intake.submissions
    assert (ana.participant, ana.full_name, ana.practical) == ("101", "Ana Pérez", PRACTICAL)
    assert ana.notebook.read_bytes() == nb
    assert ana.sha256 == hashlib.sha256(nb).hexdigest()
    assert ana.notebook.is_relative_to(tmp_path / "out")
    assert luis.full_name == "Pérez, Luis" and luis.notebook.as_posix().endswith("102/sub/mnist_cnn.ipynb")
    assert ana.source == str(archive) and ana.notes == ()


def test_flat_archive_layout_is_understood(tmp_path):
    archive = _zip(tmp_path / "flat.zip", {"Ana Pérez_101_assignsubmission_file_mnist_cnn.ipynb": _notebook()})
    (sub,) = collect(PRACTICAL, [archive], tmp_path / "out").submissions
    assert (sub.participant, sub.notebook.name) == ("101", "mnist_cnn.ipynb")


def test_blind_and_team_archives(tmp_path):
    blind = _zip(tmp_path / "blind.zip", {"Participant_7_assignsubmission_file_/a.ipynb": _notebook()})
    team = _zip(tmp_path / "team.zip", {
        "Team A-Ana Pérez_1_assignsubmission_file_/a.ipynb": _notebook(),
        "Team A-Jean-Luc Picard_2_assignsubmission_file_/a.ipynb": _notebook(),
    })
    (anonymous,) = collect(PRACTICAL, [blind], tmp_path / "b").submissions
    assert (anonymous.full_name, anonymous.participant) == ("Participant", "7")
    ana, jean = collect(PRACTICAL, [team], tmp_path / "t").submissions
    assert (ana.group, ana.full_name) == ("Team A", "Ana Pérez")
    assert (jean.group, jean.full_name) == ("Team A", "Jean-Luc Picard")


def test_several_files_choose_the_notebook_named_for_the_practical(tmp_path):
    archive = _zip(tmp_path / "a.zip", {
        "Ana_1_assignsubmission_file_/scratch.ipynb": _notebook(outputs=50),
        "Ana_1_assignsubmission_file_/Copia de MNIST-CNN.ipynb": _notebook(),
        "Ana_1_assignsubmission_file_/report.pdf": b"%PDF",
        "Ana_1_assignsubmission_file_/.ipynb_checkpoints/mnist_cnn-checkpoint.ipynb": _notebook(),
        "__MACOSX/Ana_1_assignsubmission_file_/._scratch.ipynb": b"junk",
    })
    (sub,) = collect(PRACTICAL, [archive], tmp_path / "out").submissions
    assert sub.notebook.name == "Copia de MNIST-CNN.ipynb"
    assert _codes(sub) == ["intake_ignored_files", "intake_chose_by_name"]
    assert sub.notes[0].params["files"] == ["report.pdf"]
    assert sorted(f.name for f in sub.files) == ["Copia de MNIST-CNN.ipynb", "report.pdf", "scratch.ipynb"]


def test_without_a_name_match_the_largest_notebook_is_graded(tmp_path):
    archive = _zip(tmp_path / "a.zip", {
        "Ana_1_assignsubmission_file_/a.ipynb": _notebook(),
        "Ana_1_assignsubmission_file_/b.ipynb": _notebook(outputs=20),
    })
    (sub,) = collect(PRACTICAL, [archive], tmp_path / "out").submissions
    assert sub.notebook.name == "b.ipynb"
    assert _codes(sub) == ["intake_chose_largest"] and sub.notes[0].params["others"] == ["a.ipynb"]


def test_no_notebook_is_recorded_not_guessed(tmp_path):
    archive = _zip(tmp_path / "a.zip", {"Ana_1_assignsubmission_file_/mnist.py": b"print(1)",
                                        "Ana_1_assignsubmission_onlinetext_/onlinetext.html": b"<p>hi</p>"})
    (sub,) = collect(PRACTICAL, [archive], tmp_path / "out").submissions
    assert sub.notebook is None and sub.sha256 is None
    assert "intake_no_notebook" in _codes(sub) and "intake_ignored_files" in _codes(sub)


def test_a_notebook_zipped_by_the_student_is_found(tmp_path):
    inner = tmp_path / "inner.zip"
    _zip(inner, {"practica/mnist_cnn.ipynb": _notebook(), "../evil.ipynb": b"x"})
    archive = _zip(tmp_path / "a.zip", {"Ana_1_assignsubmission_file_/entrega.zip": inner.read_bytes()})
    intake = collect(PRACTICAL, [archive], tmp_path / "out")
    (sub,) = intake.submissions
    assert sub.notebook.as_posix().endswith("1/entrega/practica/mnist_cnn.ipynb")
    assert "intake_nested_zip_extracted" in _codes(sub)
    assert any("../evil.ipynb" in p for p in intake.problems)
    assert not (tmp_path / "out" / "1" / "evil.ipynb").exists()


def test_unsafe_entries_and_links_are_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("Ana_1_assignsubmission_file_/../../escape.ipynb", _notebook())
        zf.writestr("../outside.ipynb", _notebook())
        zf.writestr("/abs/path.ipynb", _notebook())
        link = zipfile.ZipInfo("Ana_1_assignsubmission_file_/link.ipynb")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
        zf.writestr("Ana_1_assignsubmission_file_/mnist_cnn.ipynb", _notebook())
    out = tmp_path / "deep" / "out"
    intake = collect(PRACTICAL, [archive], out)
    assert len([p for p in intake.problems if "refused" in p]) == 4
    assert not list(tmp_path.rglob("escape.ipynb")) and not list(tmp_path.rglob("outside.ipynb"))
    assert not list(tmp_path.rglob("link.ipynb"))
    (sub,) = intake.submissions
    assert [f.name for f in sub.files] == ["mnist_cnn.ipynb"]


def test_zip_bomb_is_capped_on_bytes_streamed(tmp_path):
    bomb = b"0" * 3_000_000      # compresses to a few kilobytes
    archive = _zip(tmp_path / "bomb.zip", {
        "Ana_1_assignsubmission_file_/mnist_cnn.ipynb": bomb,
        "Luis_2_assignsubmission_file_/mnist_cnn.ipynb": _notebook(),
    })
    assert archive.stat().st_size < 50_000
    intake = collect(PRACTICAL, [archive], tmp_path / "out", max_file_bytes=1_000_000)
    ana, luis = intake.submissions
    assert ana.notebook is None and "intake_file_too_large" in _codes(ana)
    assert luis.notebook is not None
    assert any("larger than 1000000 bytes" in p for p in intake.problems)
    assert not list((tmp_path / "out").rglob("*.part"))


def test_total_size_cap_stops_extraction(tmp_path):
    archive = _zip(tmp_path / "big.zip", {
        f"S{i}_{i}_assignsubmission_file_/mnist_cnn.ipynb": b"1" * 400_000 for i in range(1, 5)})
    intake = collect(PRACTICAL, [archive], tmp_path / "out", max_total_bytes=1_000_000)
    extracted = sum(f.stat().st_size for f in (tmp_path / "out").rglob("*") if f.is_file())
    assert extracted <= 1_000_000
    assert [s.notebook is not None for s in intake.submissions][:2] == [True, True]
    assert any("total size limit" in p for p in intake.problems)


def test_missing_and_non_zip_sources_are_problems_and_others_still_read(tmp_path):
    not_zip = tmp_path / "submissions.zip"
    not_zip.write_text("this is not a zip")
    good = _zip(tmp_path / "good.zip", {"Ana_1_assignsubmission_file_/mnist_cnn.ipynb": _notebook()})
    intake = collect(PRACTICAL, [tmp_path / "nope.zip", not_zip, good], tmp_path / "out")
    assert [s.participant for s in intake.submissions] == ["1"]
    assert intake.problems[0].startswith(str(tmp_path / "nope.zip")) and "does not exist" in intake.problems[0]
    assert "not a zip archive" in intake.problems[1] and intake.problems[1].startswith(str(not_zip))


def test_a_corrupt_entry_is_a_problem_not_a_crash(tmp_path):
    archive = _zip(tmp_path / "a.zip", {"Ana_1_assignsubmission_file_/mnist_cnn.ipynb": b"A" * 5000,
                                        "Luis_2_assignsubmission_file_/mnist_cnn.ipynb": _notebook()})
    data = bytearray(archive.read_bytes())
    start = data.index(b"mnist_cnn.ipynb") + len(b"mnist_cnn.ipynb")
    data[start + 2:start + 12] = b"\xff" * 10      # damage the first entry's compressed bytes
    archive.write_bytes(bytes(data))
    intake = collect(PRACTICAL, [archive], tmp_path / "out")
    ana, luis = intake.submissions
    assert ana.notebook is None and "intake_file_unreadable" in _codes(ana)
    assert luis.notebook is not None
    assert any("cannot be read" in p for p in intake.problems)
    assert not list((tmp_path / "out").rglob("*.part"))


def test_names_without_the_utf8_flag_are_decoded_as_utf8_then_cp437(tmp_path):
    archive = _zip(tmp_path / "a.zip", {"Ana PXXrez_1_assignsubmission_file_/a.ipynb": _notebook(),
                                        "Jos_E_2_assignsubmission_file_/a.ipynb": _notebook()})
    # same byte length, so offsets stay right; an ASCII name was written without the flag
    data = archive.read_bytes().replace(b"PXXrez", "Pérez".encode("utf-8"))
    data = data.replace(b"Jos_E", b"Jos\x82E")    # cp437 0x82 is "é", not valid UTF-8
    archive.write_bytes(data)
    names = [s.full_name for s in collect(PRACTICAL, [archive], tmp_path / "out").submissions]
    assert names == ["Ana Pérez", "JoséE"]


def test_extracted_moodle_folder_and_merging_of_sources(tmp_path):
    folder = tmp_path / "extracted" / "Ana Pérez_1_assignsubmission_file_"
    folder.mkdir(parents=True)
    (folder / "mnist_cnn.ipynb").write_bytes(_notebook())
    archive = _zip(tmp_path / "more.zip", {"Ana Pérez_1_assignsubmission_file_/notes.txt": b"hi"})
    intake = collect(PRACTICAL, [tmp_path / "extracted", archive], tmp_path / "out")
    (sub,) = intake.submissions
    assert sub.participant == "1" and sub.notebook.name == "mnist_cnn.ipynb"
    assert {f.name for f in sub.files} == {"mnist_cnn.ipynb", "notes.txt"}
    assert sub.source == f"{tmp_path / 'extracted'}; {archive}"
    assert (folder / "mnist_cnn.ipynb").exists()       # the original is copied, not moved


def test_folder_of_freely_named_notebooks_uses_the_file_stem(tmp_path):
    folder = tmp_path / "hand-ins"
    (folder / "luis").mkdir(parents=True)
    (folder / "ana.ipynb").write_bytes(_notebook())
    (folder / "luis" / "p1.ipynb").write_bytes(_notebook())
    (folder / "readme.txt").write_text("x")
    (folder / "link.ipynb").symlink_to(folder / "ana.ipynb")
    intake = collect(PRACTICAL, [folder], tmp_path / "out")
    assert [s.participant for s in intake.submissions] == ["ana", "luis"]
    assert all(_codes(s)[0] == "intake_participant_from_name" for s in intake.submissions)
    assert any("not a Moodle archive layout" in p for p in intake.problems)
    assert any("readme.txt" in p for p in intake.problems)
    assert any("link.ipynb" in p and "refused" in p for p in intake.problems)


def test_a_students_files_named_like_temporary_files_are_kept_as_handed_in(tmp_path):
    nb = _notebook()
    # written before the notebook: intake once wrote the notebook's bytes to "<name>.part" beside it
    decoys = {name: f"the student's own {name}".encode()
              for name in (f"{PRACTICAL}.ipynb.part", f".{PRACTICAL}.ipynb.part", f"{PRACTICAL}.ipynb.tmp",
                           f"{PRACTICAL}.ipynb.partial", ".partial-abc123", f"{PRACTICAL} (2).ipynb.part")}
    entries = {f"Ana_1_assignsubmission_file_/{name}": data for name, data in decoys.items()}
    entries["Ana_1_assignsubmission_file_/mnist_cnn.ipynb"] = nb
    entries["Luis_2_assignsubmission_file_/.partial-x/mnist_cnn.ipynb.part"] = b"luis"
    entries["Luis_2_assignsubmission_file_/.partial-x/mnist_cnn.ipynb"] = nb
    intake = collect(PRACTICAL, [_zip(tmp_path / "a.zip", entries)], tmp_path / "out")
    ana, luis = intake.submissions
    assert ana.notebook.read_bytes() == nb and ana.notebook.name == "mnist_cnn.ipynb"
    assert {p.name: p.read_bytes() for p in (tmp_path / "out" / "1").iterdir()} == {**decoys, "mnist_cnn.ipynb": nb}
    assert (tmp_path / "out" / "2" / ".partial-x" / "mnist_cnn.ipynb.part").read_bytes() == b"luis"
    assert luis.notebook.read_bytes() == nb
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["1", "2"]   # no temporary file stays
