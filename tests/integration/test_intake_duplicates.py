"""The same student twice (school year, school, normalised name, birth date): the form is answered with a
German 409 naming the intake already there, and stores only on an explicit ``allow_duplicate``; a class list
reports such rows as "bereits vorhanden" and stores nothing for them (no event, no e-mail), so the same file
uploaded twice stores nothing the second time. The keyed hash (KMS HMAC) stays in the intakes table."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from typing import Any

import pytest

from avdual.runtime import LocalRuntime
from services.intake.logic.duplicates import normalised_name, student_material
from tests.integration.test_intake_api import OFFICE, SCHOOL, intakes, outbox, post
from tests.integration.test_intake_batch import csv_bytes, rows, upload


def sent_mail() -> list[Any]:
    from moto.ses.models import ses_backends

    from avdual.runtime.base import ACCOUNT, REGION

    return list(ses_backends[ACCOUNT][REGION].sent_messages)


def test_the_same_student_again_is_a_409_naming_the_intake_already_there(
    rt: LocalRuntime, form: dict[str, Any]
) -> None:
    first = post(rt, form)
    assert first.status == 201
    again = post(rt, form)
    assert again.status == 409
    body = again.json()
    assert body["duplicate_of"] == first.json()["intake_id"]
    assert "bereits angemeldet" in body["message"] and body["duplicate_of"] in body["message"]
    assert "Zeynep" not in again.body and "Şahin" not in again.body  # no personal data in the answer
    assert len(intakes(rt)) == 1 and outbox(rt) == Counter({"IntakeSubmitted": 1})


def test_an_explicit_override_stores_the_second_intake(rt: LocalRuntime, form: dict[str, Any]) -> None:
    assert post(rt, form).status == 201
    r = rt.api("POST", "/intakes", body=form, query={"allow_duplicate": "true"}, claims=SCHOOL)
    assert r.status == 201, r.body
    assert len(intakes(rt)) == 2 and outbox(rt) == Counter({"IntakeSubmitted": 2})


@pytest.mark.parametrize(
    ("given", "family"),
    [("zeynep", "ŞAHIN-MÜLLER"), (" Zeynep ", "Sahin Mueller"), ("ZEYNEP", "Şahin Müller")],
)
def test_names_as_people_type_them_are_the_same_student(
    rt: LocalRuntime, form: dict[str, Any], given: str, family: str
) -> None:
    assert post(rt, form).status == 201
    form["student"].update(given_name=given, family_name=family)
    r = post(rt, form)
    assert r.status == 409, r.body


@pytest.mark.parametrize(
    "change",
    [
        {"student": {"date_of_birth": "2010-05-18"}},
        {"student": {"given_name": "Zeynep Ayşe"}},
        {"school_id": "MPS"},
    ],
)
def test_another_student_is_no_duplicate(
    rt: LocalRuntime, form: dict[str, Any], change: dict[str, Any]
) -> None:
    assert rt.api("POST", "/intakes", body=form, claims=OFFICE).status == 201
    other = json.loads(json.dumps(form))
    for key, value in change.items():
        if isinstance(value, dict):
            other[key].update(value)
        else:
            other[key] = value
    assert rt.api("POST", "/intakes", body=other, claims=OFFICE).status == 201


def test_normalised_names() -> None:
    assert normalised_name(" Şahin-Müller ") == normalised_name("sahin mueller") == "sahinmueller"
    assert normalised_name("Strauß") == normalised_name("STRAUSS") and normalised_name("Zoë") == "zoe"
    assert normalised_name("D'Angelo") == normalised_name("d’angelo") == "dangelo"
    assert normalised_name("Олена") == "олена"
    a = student_material("2026/27", "RFS", "Zoë", "Müller", date(2010, 5, 17))
    assert a == student_material("2026/27", "RFS", "zoe", "Mueller", date(2010, 5, 17))


def test_the_key_is_a_kms_hmac_kept_in_the_table_only(rt: LocalRuntime, form: dict[str, Any]) -> None:
    import hashlib

    iid = post(rt, form).json()["intake_id"]
    rt.drain()
    [item] = intakes(rt)
    key = item["student_key"]
    material = student_material("2026/27", "RFS", "Zeynep", "Şahin-Müller", date(2010, 5, 17))
    assert len(key) == 43 and key != hashlib.sha256(material).hexdigest()  # keyed: not the plain hash
    everything_else = json.dumps(
        [rt.scan("intake-outbox"), rt.scan("assignments"), rt.scan("aggregates"), rt.scan("audit-log")],
        default=str,
    )
    assert key not in everything_else and "student_key" not in everything_else
    view = rt.api("GET", f"/intakes/{iid}", claims=SCHOOL)
    assert "student_key" not in view.body and key not in view.body


def test_a_withdrawn_intake_is_no_duplicate_and_its_key_is_erased(
    rt: LocalRuntime, form: dict[str, Any]
) -> None:
    iid = post(rt, form).json()["intake_id"]
    rt.api("POST", f"/intakes/{iid}/withdraw", body={"reason": "entered_in_error"}, claims=SCHOOL)
    assert "student_key" not in intakes(rt)[0]
    assert post(rt, form).status == 201


def test_a_corrected_name_is_checked_under_the_new_name(rt: LocalRuntime, form: dict[str, Any]) -> None:
    iid = post(rt, form).json()["intake_id"]
    r = rt.api("PATCH", f"/intakes/{iid}", body={"student": {"family_name": "Sahin"}}, claims=SCHOOL)
    assert r.status == 200
    assert post(rt, form).status == 201  # the old name is free again
    form["student"]["family_name"] = "Şahin"
    assert post(rt, form).status == 409  # the corrected name is taken


def test_the_same_class_list_twice_stores_nothing_the_second_time(rt: LocalRuntime) -> None:
    content = csv_bytes(rows(12))
    first = upload(rt, content, consent_text_version="EV-2026-08").json()
    assert (first["stored"], first["duplicates"]) == (12, 0)
    rt.drain()
    mails_before = len(sent_mail())
    events_before = outbox(rt)
    second = upload(rt, content, consent_text_version="EV-2026-08", key="another-upload-key-1").json()
    assert (second["stored"], second["invalid"], second["duplicates"]) == (0, 0, 12)
    stored_ids = {r["intake_id"] for r in first["rows"]}
    for row in second["rows"]:
        assert row["status"] == "duplicate" and row["intake_id"] in stored_ids
        assert row["errors"][0]["message"].startswith("Bereits vorhanden")
    rt.drain()
    assert len(intakes(rt)) == 12 and outbox(rt) == events_before
    assert len(sent_mail()) == mails_before


def test_a_corrected_class_list_stores_only_the_new_rows(rt: LocalRuntime) -> None:
    data = rows(10)
    upload(rt, csv_bytes(data[:8]), consent_text_version="EV-2026-08")
    result = upload(rt, csv_bytes(data), consent_text_version="EV-2026-08").json()
    assert (result["stored"], result["duplicates"]) == (2, 8)
    assert len(intakes(rt)) == 10


def test_the_same_student_twice_in_one_file(rt: LocalRuntime) -> None:
    data = rows(3)
    result = upload(rt, csv_bytes([*data, data[1]]), consent_text_version="EV-2026-08").json()
    assert (result["stored"], result["duplicates"]) == (3, 1)
    last = result["rows"][-1]
    assert last["status"] == "duplicate" and "Zeile 3" in last["errors"][0]["message"]
