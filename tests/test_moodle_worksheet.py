"""Moodle's offline grading worksheet, English and Spanish, read and written back."""
import csv
import html
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from grader.errors import ConfigError, InputError
from grader.lms.moodle.dates import parse_moodle_date
from grader.lms.moodle.worksheet import new_worksheet, read_worksheet, write_worksheet

MADRID = "Europe/Madrid"
BOM = "\ufeff"
ENGLISH = (
    BOM + 'Identifier,"Full name","Email address",Status,Grade,"Maximum Grade","Grade can be changed",'
    '"Last modified (submission)","Last modified (grade)","Feedback comments"\n'
    '"Participant 1234567","Ana Pérez",ana@uni.es,"Submitted for grading - Graded",8.50,10.00,Yes,'
    '"Friday, 7 March 2025, 3:04 PM","Monday, 10 March 2025, 9:15 AM","Good CNN"\n'
    '"Participant 1234568","Seán O\'Connor",sean@uni.es,"No submission",,10.00,Yes,-,-,\n'
    '"Participant 1234569","Pérez, Luis",luis@uni.es,"Submitted for grading",,10.00,Yes,'
    '"Sunday, 30 March 2025, 11:59 PM",-,"\'=cmd"\n'
)
SPANISH = (
    BOM + "Identificador,\"Nombre completo\",\"Dirección de correo\",Estado,Calificación,\"Calificación máxima\","
    "\"La calificación puede ser cambiada\",\"Última modificación (entrega)\","
    "\"Última modificación (calificación)\",\"Comentarios de retroalimentación\"\r\n"
    "Participante123,\"Ana Pérez\",ana@uni.es,\"Enviado para calificar - Calificado\",\"8,50\",\"10,00\",Sí,"
    "\"lunes, 3 de marzo de 2025, 10:15\",-,\"Buen trabajo\"\r\n"
)


def _write(tmp_path, text, name="Grades-DL-MNIST-42.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def test_english_worksheet_with_bom_is_understood(tmp_path):
    ws = read_worksheet(_write(tmp_path, ENGLISH), MADRID)
    assert ws.lang == "en" and ws.bom
    assert ws.header[0] == "Identifier"   # no BOM glued to the first title
    ana = ws.entries["1234567"]
    assert (ana.full_name, ana.email, ana.max_grade) == ("Ana Pérez", "ana@uni.es", Decimal("10.00"))
    assert ana.submitted_at == datetime(2025, 3, 7, 15, 4, tzinfo=ZoneInfo(MADRID))
    assert ana.submitted_at_raw == "Friday, 7 March 2025, 3:04 PM"
    sean = ws.entries["1234568"]
    assert sean.submitted_at is None and sean.submitted_at_raw is None
    assert ws.entries["1234569"].full_name == "Pérez, Luis"


def test_spanish_worksheet_with_comma_decimals_is_understood(tmp_path):
    ws = read_worksheet(_write(tmp_path, SPANISH), MADRID)
    assert ws.lang == "es"
    row = ws.entries["123"]
    assert row.max_grade == Decimal("10.00")
    assert ws.cell("123", "grade") == "8,50"
    assert row.submitted_at == datetime(2025, 3, 3, 10, 15, tzinfo=ZoneInfo(MADRID))
    assert ws.newline == "\r\n"


def test_round_trip_changes_only_grade_and_feedback(tmp_path):
    source = _write(tmp_path, ENGLISH)
    ws = read_worksheet(source, MADRID)
    dest = tmp_path / "out.csv"
    not_written = write_worksheet(ws, dest, {"1234567": (Decimal("9.25"), "Great, 9.25"),
                                             "1234568": (None, "missing"), "999": (Decimal(1), "")})
    assert not_written == ["999"]
    data = dest.read_bytes()
    assert data.startswith(BOM.encode("utf-8"))
    back = read_worksheet(dest, MADRID)
    grade, feedback = ws.columns["grade"], ws.columns["feedback"]
    for before, after in zip(ws.rows, back.rows):
        assert [c for i, c in enumerate(before) if i not in (grade, feedback)] == \
               [c for i, c in enumerate(after) if i not in (grade, feedback)]
    assert back.cell("1234567", "grade") == "9.25"
    assert back.cell("1234567", "feedback") == "Great, 9.25"
    assert back.cell("1234568", "grade") == ""
    # a row not in the grades keeps its cells, guard included
    assert back.rows[2] == ws.rows[2]
    # untouched lines are byte-identical to the download
    assert data.decode("utf-8").splitlines()[0] == ENGLISH.splitlines()[0]
    assert data.decode("utf-8").splitlines()[3] == ENGLISH.splitlines()[3]


def test_spanish_round_trip_keeps_crlf_and_writes_dot_grades(tmp_path):
    ws = read_worksheet(_write(tmp_path, SPANISH), MADRID)
    dest = tmp_path / "out.csv"
    write_worksheet(ws, dest, {"123": (Decimal("7.5"), "Bien")})
    text = dest.read_bytes().decode("utf-8")
    assert text == SPANISH.replace('"8,50"', "7.50").replace('"Buen trabajo"', "Bien")
    write_worksheet(ws, dest, {"123": (Decimal("7.5"), "Bien")}, decimal_separator=",")
    assert read_worksheet(dest, MADRID).cell("123", "grade") == "7,50"


def test_grade_above_maximum_is_refused(tmp_path):
    ws = read_worksheet(_write(tmp_path, ENGLISH), MADRID)
    with pytest.raises(InputError, match="above the maximum"):
        write_worksheet(ws, tmp_path / "out.csv", {"1234567": (Decimal("10.01"), "")})
    write_worksheet(ws, tmp_path / "out.csv", {"1234567": (Decimal("10"), "")})


def test_feedback_that_looks_like_a_formula_is_guarded_without_an_apostrophe_moodle_would_show(tmp_path):
    ws = read_worksheet(_write(tmp_path, ENGLISH), MADRID)
    dest = tmp_path / "out.csv"
    write_worksheet(ws, dest, {"1234567": (Decimal(5), "-1 point: =SUM(A1)")})
    with dest.open(encoding="utf-8-sig", newline="") as fh:
        cell = list(csv.reader(fh))[1][-1]
    # Moodle stores feedback as HTML: the entity shows as "-", and the cell no longer starts with one
    assert cell == "&#45;1 point: =SUM(A1)"
    assert html.unescape(cell) == "-1 point: =SUM(A1)"


@pytest.mark.parametrize("missing,spanish", [("Grade", "Calificación"),
                                             ("Last modified (grade)", "Última modificación (calificación)"),
                                             ("Identifier", "Identificador")])
def test_missing_header_names_the_header_and_the_file(tmp_path, missing, spanish):
    header = ENGLISH.splitlines()[0].replace(f'"{missing}"', "Other").replace(f",{missing},", ",Other,")
    header = header.replace(f"{BOM}{missing},", f"{BOM}Other,")
    path = _write(tmp_path, header + "\n", name="broken.csv")
    with pytest.raises(InputError) as info:
        read_worksheet(path, MADRID)
    assert f"'{missing}'" in str(info.value) and "broken.csv" in str(info.value)
    assert spanish in str(info.value)


def test_a_row_with_a_wrong_number_of_cells_is_refused(tmp_path):
    path = _write(tmp_path, ENGLISH + '"Participant 9",x\n')
    with pytest.raises(InputError, match="line 5 has 2 cells"):
        read_worksheet(path, MADRID)


def test_new_worksheet_has_the_upload_columns_and_reads_back(tmp_path):
    dest = tmp_path / "new.csv"
    new_worksheet(dest, [
        {"participant": "77", "full_name": "Ana Pérez", "email": "ana@uni.es", "grade": Decimal("8.5"),
         "max_grade": Decimal(10), "feedback": "ok"},
        {"participant": "78", "full_name": "Luis", "email": "l@uni.es", "grade": None,
         "max_grade": Decimal(10), "feedback": ""},
    ], lang="es")
    ws = read_worksheet(dest, MADRID)
    assert ws.bom and ws.lang == "es"
    assert ws.header == ["Identificador", "Nombre completo", "Dirección de correo", "Calificación",
                         "Calificación máxima", "Última modificación (calificación)",
                         "Comentarios de retroalimentación"]
    assert ws.rows[0][0] == "Participante77"
    assert ws.cell("77", "grade") == "8.50" and ws.cell("78", "grade") == ""
    with pytest.raises(InputError, match="above"):
        new_worksheet(dest, [{"participant": "1", "grade": Decimal(11), "max_grade": Decimal(10)}])


def test_moodle_dates_in_english_and_spanish():
    madrid = ZoneInfo(MADRID)
    assert parse_moodle_date("Friday, 7 March 2025, 3:04 PM", MADRID) == datetime(2025, 3, 7, 15, 4, tzinfo=madrid)
    assert parse_moodle_date("Monday, 31 March 2025, 12:05 AM", MADRID) == datetime(2025, 3, 31, 0, 5,
                                                                                     tzinfo=madrid)
    assert parse_moodle_date("lunes, 3 de marzo de 2025, 10:15", MADRID) == datetime(2025, 3, 3, 10, 15,
                                                                                      tzinfo=madrid)
    assert parse_moodle_date("lunes, 31 de marzo de 2025, 23:59", MADRID).utcoffset().total_seconds() == 7200


@pytest.mark.parametrize("text", ["-", "", "  ", "'-", "yesterday", "31 Foo 2025, 10:00", "30 February 2025, 1:00 PM"])
def test_dates_that_cannot_be_read_are_none(text):
    assert parse_moodle_date(text, MADRID) is None


def test_an_unknown_timezone_is_a_config_error():
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        parse_moodle_date("-", "Mars/Olympus")
