"""Joining a person across practicals: by user key, by participant number, by name."""
from pathlib import Path

from dataclasses import replace

from grader.course import single_practical_course
from grader.lms.moodle.adapter import MoodleLms
from grader.lms.moodle.inputs import roster
from grader.lms.moodle.worksheet import read_worksheet
from grader.records import Submission
from grader.students import join_students

BOM = "\ufeff"
HEADER = ('Identifier,"Full name","Email address","ID number",Status,Grade,"Maximum Grade",'
          '"Last modified (submission)","Last modified (grade)","Feedback comments"\n')


def _worksheet(tmp_path, name, rows):
    """rows: (N, full name, email, idnumber)"""
    lines = [f'"Participant {n}","{full}",{email},{idn},Submitted,,10.00,-,-,\n' for n, full, email, idn in rows]
    path = tmp_path / f"{name}.csv"
    path.write_text(BOM + HEADER + "".join(lines), encoding="utf-8")
    return read_worksheet(path, "Europe/Madrid")


def join(submissions, worksheets, user_key):
    """Joined as a batch joins them: the worksheets read as Moodle's rosters, their warnings first."""
    moodle = MoodleLms(single_practical_course("mnist", [Path(".")], Path("."), Path("out")), {}, user_key=user_key)
    read = {pid: roster(ws, user_key) if ws is not None else (None, []) for pid, ws in worksheets.items()}
    joined = join_students(submissions, {pid: r for pid, (r, _) in read.items()}, moodle)
    return replace(joined, warnings=[w for _, said in read.values() for w in said] + joined.warnings)


def _sub(practical, n, full_name):
    return Submission(practical=practical, participant=n, full_name=full_name, source="x.zip",
                      files=(), notebook=Path(f"/tmp/{n}.ipynb"), sha256="0" * 64)


def test_worksheets_join_a_person_by_email_across_different_participant_numbers(tmp_path):
    mnist = _worksheet(tmp_path, "mnist", [("11", "Ana Pérez", "ana@uni.es", "A1"),
                                           ("12", "Seán O'Connor", "sean@uni.es", "S1")])
    rnn = _worksheet(tmp_path, "rnn", [("91", "Ana Pérez", "ANA@uni.es", "A1"),
                                       ("92", "Seán O'Connor", "sean@uni.es", "S1")])
    subs = {"mnist": [_sub("mnist", "11", "Ana Pérez"), _sub("mnist", "12", "Seán OConnor")],
            "rnn": [_sub("rnn", "91", "Ana Pérez")]}
    roster = join(subs, {"mnist": mnist, "rnn": rnn}, "email")
    assert roster.warnings == []
    ana, sean = roster.students
    assert (ana.key, ana.email, ana.participants) == ("ana@uni.es", "ana@uni.es", {"mnist": "11", "rnn": "91"})
    # O'Connor arrives as OConnor in the archive: the N join still finds the right email
    assert (sean.key, sean.full_name) == ("sean@uni.es", "Seán O'Connor")
    # a worksheet row without a submission is still a student (practical missing)
    assert sean.participants == {"mnist": "12", "rnn": "92"}


def test_user_key_idnumber_reads_the_id_number_column(tmp_path):
    ws = _worksheet(tmp_path, "mnist", [("11", "Ana Pérez", "ana@uni.es", "A1")])
    (ana,) = join({"mnist": []}, {"mnist": ws}, "idnumber").students
    assert (ana.key, ana.email) == ("A1", "ana@uni.es")


def test_a_submission_not_in_the_worksheet_is_joined_by_cleaned_name_with_a_warning(tmp_path):
    mnist = _worksheet(tmp_path, "mnist", [("11", "Seán O'Connor", "sean@uni.es", "S1")])
    rnn = _worksheet(tmp_path, "rnn", [])
    roster = join({"mnist": [], "rnn": [_sub("rnn", "55", "Seán OConnor")]}, {"mnist": mnist, "rnn": rnn},
                   "email")
    (sean,) = roster.students
    assert sean.participants == {"mnist": "11", "rnn": "55"} and sean.key == "sean@uni.es"
    assert len(roster.warnings) == 1 and "55" in roster.warnings[0] and "joined by name" in roster.warnings[0]


def test_practical_without_worksheet_joins_by_name_to_worksheet_people(tmp_path):
    mnist = _worksheet(tmp_path, "mnist", [("11", "Ana Pérez", "ana@uni.es", "A1")])
    roster = join({"mnist": [], "text": [_sub("text", "7", "ana  pérez")]}, {"mnist": mnist, "text": None},
                   "email")
    (ana,) = roster.students
    assert ana.participants == {"mnist": "11", "text": "7"}
    assert any("no worksheet" in w for w in roster.warnings)


def test_without_worksheets_names_join_and_shared_names_are_ambiguous():
    subs = {
        "mnist": [_sub("mnist", "1", "Ana Pérez"), _sub("mnist", "2", "Luis Gil"), _sub("mnist", "3", "Luis Gil")],
        "rnn": [_sub("rnn", "8", "ANA PÉREZ"), _sub("rnn", "9", "Luis Gil"), _sub("rnn", "10", "Ana Perez")],
    }
    roster = join(subs, {}, "email")
    by_participants = {tuple(sorted(s.participants.items())): s for s in roster.students}
    ana = by_participants[(("mnist", "1"), ("rnn", "8"))]
    assert ana.key is None and not ana.ambiguous
    # accents are kept: "Ana Perez" is someone else
    assert not by_participants[(("rnn", "10"),)].ambiguous
    luises = [s for s in roster.students if s.full_name == "Luis Gil"]
    assert len(luises) == 3 and all(s.ambiguous for s in luises)
    assert all(len(s.participants) == 1 for s in luises)
    assert any("Luis Gil" in w for w in roster.warnings)


def test_blind_submissions_are_never_joined_by_name(tmp_path):
    subs = {"mnist": [_sub("mnist", "1", "Participant")], "rnn": [_sub("rnn", "2", "Participant")]}
    roster = join(subs, {}, "email")
    assert len(roster.students) == 2
    assert all(len(s.participants) == 1 for s in roster.students)
    assert len(roster.warnings) == 2


def test_blind_submission_in_the_worksheet_joins_by_number(tmp_path):
    ws = _worksheet(tmp_path, "mnist", [("11", "Ana Pérez", "ana@uni.es", "A1")])
    (ana,) = join({"mnist": [_sub("mnist", "11", "Participant")]}, {"mnist": ws}, "email").students
    assert ana.key == "ana@uni.es" and ana.full_name == "Ana Pérez"
