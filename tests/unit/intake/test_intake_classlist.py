"""Class-list parsing (pure): header recognition, cell conversion, file-level errors."""

from __future__ import annotations

import pytest

from common.errors import DomainValidationError
from services.intake.logic import classlist

HEAD = "Vorname;Nachname;Geb.-Datum;Geschlecht;Klasse;Einwilligung;Einwilligung am;Version Einwilligung"


def parse(text: str, encoding: str = "utf-8") -> classlist.ClassList:
    return classlist.parse(text.encode(encoding))


def test_german_headers_and_cells_are_understood() -> None:
    t = parse(
        HEAD + ";Sprache Elternkontakt;Berufsfelder;Deutschförderung;Praktikum;Bildungsgang;Abschluss\n"
        "Ayşe;Yılmaz;05.04.2010;w;AVd1;Ja;15.09.2026;EV-1;Türkisch;Gesundheit, Handel;x;Block;"
        "AV dual FSR;HSA\n"
    )
    [(line, values)] = t.rows
    assert line == 2
    assert values == {
        "student.given_name": "Ayşe",
        "student.family_name": "Yılmaz",
        "student.date_of_birth": "2010-04-05",
        "student.gender": "weiblich",
        "class_name": "AVd1",
        "consent.student": True,
        "consent.given_on": "2026-09-15",
        "consent.text_version": "EV-1",
        "student.parent_contact_language": "tr",
        "career_fields": ["gesundheit", "handel"],
        "german_support": True,
        "internship_model": "block",
        "track": "av_dual_fsr",
        "certificate_on_entry": "hauptschulabschluss",
    }


def test_unknown_values_pass_through_for_the_form_validation() -> None:
    t = parse(HEAD + "\nA;B;32.13.2010;q;K;vielleicht;gestern;V\n")
    values = t.rows[0][1]
    assert values["student.date_of_birth"] == "32.13.2010" and values["student.gender"] == "q"
    assert values["consent.student"] == "vielleicht"


def test_comma_separated_windows_1252_and_empty_rows() -> None:
    text = HEAD.replace(";", ",") + "\r\nJürgen,Weiß,01.01.2010,m,K,ja,01.09.2026,V\r\n,,,,,,,\r\n"
    t = parse(text, "cp1252")
    assert [v["student.family_name"] for _, v in t.rows] == ["Weiß"]


def test_defaults_stand_in_for_missing_columns() -> None:
    head = "Vorname;Nachname;Geburtsdatum;Geschlecht;Einwilligung;Datum Einwilligung"
    with pytest.raises(DomainValidationError, match="Klasse, Version Einwilligungstext"):
        classlist.parse(f"{head}\nA;B;01.01.2010;m;ja;01.09.2026\n".encode())
    t = classlist.parse(
        f"{head}\nA;B;01.01.2010;m;ja;01.09.2026\n".encode(),
        defaults={"class_name": "K", "consent.text_version": "V"},
    )
    form = classlist.to_form(
        t.rows[0][1],
        school_id="RFS",
        school_year="2026/27",
        defaults={"class_name": "K", "consent.text_version": "V"},
    )
    assert form["class_name"] == "K" and form["consent"]["text_version"] == "V"
    assert form["student"]["given_name"] == "A" and form["school_id"] == "RFS"


def test_column_names_for_errors_and_letters() -> None:
    assert classlist.ClassList.column_of("student.date_of_birth") == "Geburtsdatum"
    assert classlist.ClassList.column_of("career_fields.1") == "Berufsfelder"
    assert classlist.ClassList.column_of("school_id") is None
    assert [classlist.column_letter(i) for i in (0, 25, 26, 27)] == ["A", "Z", "AA", "AB"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"   \n", "leer"),
        (b"\xd0\xcf\x11\xe0xxxx", ".xls"),
        (b"PK\x03\x04nonsense", "Excel-Datei"),
        (b"Vorname;Vorname;Nachname\n", "mehrfach"),
        (b'Vorname;"Nachname\nA;B', "CSV-Datei"),
        (b"\x81\x8d\x8f\x90\x9d\xff\xfe", "Zeichenkodierung"),
    ],
)
def test_file_level_errors(content: bytes, message: str) -> None:
    with pytest.raises(DomainValidationError) as e:
        classlist.parse(content, defaults={"class_name": "K", "consent.text_version": "V"})
    assert message in e.value.errors[0].message and e.value.errors[0].field == "file"
