"""Messages a secretary understands: all errors of a submission in one answer (the age and consent rules
together with the field errors), each naming its field and the rule or limit, German, and for class lists in
the file's own date format."""

from __future__ import annotations

from typing import Any

from avdual.runtime import LocalRuntime
from tests.integration.test_intake_api import SCHOOL, intakes, post
from tests.integration.test_intake_batch import csv_bytes, rows, upload


def by_field(body: dict[str, Any]) -> dict[str, str]:
    return {e["field"]: e["message"] for e in body["errors"]}


def test_field_errors_and_rule_errors_come_in_one_round(rt: LocalRuntime, form: dict[str, Any]) -> None:
    del form["class_name"]
    form["student"]["date_of_birth"] = "2016-03-01"  # 10 at the start of the school year
    form["consent"]["guardian"] = False
    form["internship_days_per_week"] = 7
    r = post(rt, form)
    assert r.status == 422
    errors = by_field(r.json())
    assert set(errors) == {
        "class_name",
        "student.date_of_birth",
        "consent.guardian",
        "internship_days_per_week",
    }
    assert (
        "14–21 Jahre" in errors["student.date_of_birth"] and "01.08.2026" in errors["student.date_of_birth"]
    )
    assert errors["student.date_of_birth"].startswith("Geburtsdatum: ")
    assert errors["consent.guardian"].startswith("Einwilligung der Erziehungsberechtigten: ")
    assert intakes(rt) == []


def test_a_rule_on_an_invalid_field_is_not_guessed(rt: LocalRuntime, form: dict[str, Any]) -> None:
    form["student"]["date_of_birth"] = "17.05.2010"  # not the API's format: its own message, no age rule
    form["consent"]["guardian"] = False
    errors = by_field(post(rt, form).json())
    assert set(errors) == {"student.date_of_birth"}
    assert "JJJJ-MM-TT" in errors["student.date_of_birth"]


def test_rule_messages_name_the_field_and_the_rule(rt: LocalRuntime, form: dict[str, Any]) -> None:
    form["consent"]["student"] = False
    form["consent"]["given_on"] = "2030-01-01"
    form["internship_model"] = "block"
    form["internship_days_per_week"] = 2
    errors = by_field(post(rt, form).json())
    assert errors == {
        "consent.student": "Einwilligung der Schülerin / des Schülers: erforderlich (ohne sie wird nichts "
        "gespeichert).",
        "consent.given_on": "Datum der Einwilligung: liegt in der Zukunft.",
        "internship_days_per_week": "Praktikumstage pro Woche: bei Blockpraktikum bitte leer lassen.",
    }


def test_a_correction_gets_all_its_errors_at_once(rt: LocalRuntime, form: dict[str, Any]) -> None:
    iid = post(rt, form).json()["intake_id"]
    r = rt.api(
        "PATCH",
        f"/intakes/{iid}",
        body={"class_name": "", "student": {"date_of_birth": "2015-01-01"}, "consent": {"guardian": False}},
        claims=SCHOOL,
    )
    assert r.status == 422
    assert set(by_field(r.json())) == {"class_name", "student.date_of_birth", "consent.guardian"}


def test_class_list_errors_speak_the_files_date_format(rt: LocalRuntime) -> None:
    data = rows(4)
    data[0][2] = "31.02.2010"  # German date, impossible day
    data[1][2] = "2010-02-31"  # written the ISO way
    data[2][2] = "03.03.2016"  # a valid date, too young
    data[2][1] = ""  # and no family name: both in one round
    body = upload(rt, csv_bytes(data), consent_text_version="EV-2026-08").json()
    errors = {r["row"]: r["errors"] for r in body["rows"] if r["status"] == "invalid"}
    [german] = errors[2]
    assert "TT.MM.JJJJ" in german["message"] and "JJJJ-MM-TT" not in german["message"]
    assert german["column"] == "Geburtsdatum"
    [iso] = errors[3]
    assert "JJJJ-MM-TT" in iso["message"]
    assert {e["field"] for e in errors[4]} == {"student.family_name", "student.date_of_birth"}
    assert body["stored"] == 1
