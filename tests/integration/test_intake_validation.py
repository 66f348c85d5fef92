"""Hostile and odd input: every case is a 4xx with the stable error body (German, no stack traces, module
names or echoed personal data), and names in any script round-trip byte-exact."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from avdual.runtime import LocalRuntime
from tests.integration.test_intake_api import SCHOOL, _without, intakes, post


@pytest.fixture(scope="module")
def shared() -> Iterator[LocalRuntime]:
    with LocalRuntime(stage="validation", log_level="ERROR") as runtime:
        yield runtime


@pytest.fixture
def rt(shared: LocalRuntime) -> LocalRuntime:
    """One runtime for the module (overrides conftest's): these tests never need an empty table."""
    return shared


LEAKS = ("Traceback", 'File "', "services.", "pydantic", "aws_lambda_powertools", "botocore", "Exception")


def assert_clean_4xx(r: Any, *echo: str) -> dict[str, Any]:
    assert 400 <= r.status < 500, (r.status, r.body[:300])
    body = json.loads(r.body)
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body.get("errors", []), list)
    for leak in (*LEAKS, *echo):
        assert leak not in r.body, (leak, r.body[:300])
    return body


@pytest.mark.parametrize(
    "name",
    [
        "Zoë",
        "Ğülşen Çelik-Öztürk",
        "Straße",
        "Jérôme",
        "Łukasz Wójcik",
        "Олександра",
        "محمد العلي",
        "Nguyễn Thị Minh Khai",
        "O'Neill",
        "Anna-Lena d’Avis",
        "Ζωή",
        "Ṣọ̀nà",
        "Zeynep\u0307",  # combining mark
        "Mohammad\u200cReza",  # ZWNJ (Persian)
    ],
)
def test_names_round_trip_byte_exact(rt: LocalRuntime, form: dict, name: str) -> None:
    form["student"]["given_name"] = name
    r = post(rt, form)
    assert r.status == 201, r.body
    [stored] = [i["student"]["given_name"] for i in intakes(rt) if i["intake_id"] == r.json()["intake_id"]]
    assert stored.encode() == name.encode()
    view = rt.api("GET", f"/intakes/{r.json()['intake_id']}", claims=SCHOOL)
    assert json.loads(view.body)["student"]["given_name"].encode() == name.encode()


@pytest.mark.parametrize(
    "bad",
    [
        "Ze\x00ynep",
        "Ze\x07ynep",
        "Zey\u202enep",
        "\ud800",
        "Zey\x7fnep",
        "Zey\nnep",
        "Zey\u2028nep",
        "1234",
        "<script>",
        "   ",
        "Zey;nep",
    ],
)
def test_control_and_invisible_characters_are_422(rt: LocalRuntime, form: dict, bad: str) -> None:
    form["student"]["given_name"] = bad
    raw = json.dumps(form, ensure_ascii=True)  # \\ud800 only survives as an escape
    before = len(intakes(rt))
    body = assert_clean_4xx(post(rt, raw=raw))
    assert "student.given_name" in {e["field"] for e in body["errors"]}
    assert len(intakes(rt)) == before


def test_raw_nul_byte_in_json_is_rejected(rt: LocalRuntime, form: dict) -> None:
    raw = json.dumps(form, ensure_ascii=False).replace("Zeynep", "Zey\x00nep")
    assert_clean_4xx(post(rt, raw=raw), "Zey")


@pytest.mark.parametrize("size", [100 * 1024 + 1, 2 * 1024 * 1024])
def test_huge_bodies_are_413(rt: LocalRuntime, form: dict, size: int) -> None:
    form["remark"] = "x" * size
    r = post(rt, form)
    assert r.status == 413
    assert_clean_4xx(r)


def test_deeply_nested_json_is_rejected_before_parsing(rt: LocalRuntime) -> None:
    for depth in (50, 20_000):
        r = post(rt, raw="[" * depth + "]" * depth)
        assert r.status == 400, r.body
        assert_clean_4xx(r)
    nested: Any = "x"
    for _ in range(40):
        nested = {"a": nested}
    assert_clean_4xx(post(rt, body={"student": nested}))


@pytest.mark.parametrize(
    "ctype",
    ["text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
@pytest.mark.filterwarnings("ignore:Received multipart/form-data without base64")
def test_wrong_content_type(rt: LocalRuntime, form: dict, ctype: str) -> None:
    before = len(intakes(rt))
    r = post(rt, raw=json.dumps(form), headers={"Content-Type": ctype})
    assert_clean_4xx(r, "Zeynep")
    assert len(intakes(rt)) == before


def test_base64_garbage_is_400(rt: LocalRuntime) -> None:
    r = rt.api("POST", "/intakes", body_bytes=b"\xff\xfe\x00garbage", claims=SCHOOL)
    assert_clean_4xx(r)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda f: f["student"].update(date_of_birth="2099-12-31"), "student.date_of_birth"),
        (lambda f: f["student"].update(date_of_birth="2013-08-02"), "student.date_of_birth"),  # 12
        (lambda f: f["student"].update(date_of_birth="2004-07-31"), "student.date_of_birth"),  # 22
        (lambda f: f["student"].update(date_of_birth="0001-01-01"), "student.date_of_birth"),
        (lambda f: f["consent"].update(given_on="2099-01-01"), "consent.given_on"),
        (lambda f: f["consent"].update(guardian_given_on="2099-01-01"), "consent.guardian_given_on"),
        (lambda f: f.update(school_year="2099/00"), "school_year"),
    ],
)
def test_future_dates_and_implausible_ages(rt: LocalRuntime, form: dict, mutate: Any, field: str) -> None:
    mutate(form)
    body = assert_clean_4xx(post(rt, form))
    assert field in {e["field"] for e in body["errors"]}
    german = ("Datum", "Alter", "Schuljahr", "Einwilligung", "Geburtsdatum")
    assert all(any(w in e["message"] for w in german) for e in body["errors"]), body


def test_boundary_ages_are_accepted(rt: LocalRuntime, form: dict) -> None:
    form["student"]["date_of_birth"] = "2012-08-01"  # exactly 14 on 2026-08-01
    assert post(rt, form).status == 201
    form["student"]["date_of_birth"] = "2004-08-02"  # 21 on 2026-08-01; adult: no guardian needed
    form["consent"]["guardian"] = None
    assert post(rt, form).status == 201


@pytest.mark.parametrize("value", [None, [], "x", 1, True, {"a": 1}])
def test_wrong_types_everywhere(rt: LocalRuntime, form: dict, value: Any) -> None:
    for path in (
        ("student",),
        ("consent",),
        ("career_fields",),
        ("student", "languages"),
        ("german_support",),
    ):
        f = json.loads(json.dumps(form))
        target = f
        for p in path[:-1]:
            target = target[p]
        target[path[-1]] = value
        r = post(rt, f)
        if r.status == 201:  # a valid value after all (true, an empty list)
            assert value is True or value == []
            continue
        assert_clean_4xx(r, "Zeynep", "Şahin")


def test_error_messages_are_german(rt: LocalRuntime, form: dict) -> None:
    form["student"]["gender"] = "female"
    del form["class_name"]
    body = assert_clean_4xx(post(rt, form))
    messages = {e["field"]: e["message"] for e in body["errors"]}
    assert messages["class_name"] == "Klasse: Pflichtfeld fehlt."
    assert (
        messages["student.gender"] == "Geschlecht: erlaubt sind weiblich, männlich, divers oder keine Angabe."
    )
    assert body["message"].startswith("Die Eingabe ist ungültig")


def stored(rt: LocalRuntime) -> tuple[int, int]:
    """(intakes, outbox events) in the tables."""
    return len(rt.scan("intakes")), len(rt.scan("intake-outbox"))


def assert_nothing_left(rt: LocalRuntime, before: tuple[int, int]) -> None:
    assert stored(rt) == before


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda f: _without(f, "student", "family_name"), "student.family_name"),
        (lambda f: f["student"].update(date_of_birth="2010-02-30"), "student.date_of_birth"),
        (lambda f: f["student"].update(date_of_birth="2030-01-01"), "student.date_of_birth"),
        (lambda f: f["student"].update(date_of_birth="1990-01-01"), "student.date_of_birth"),
        (lambda f: f["student"].update(date_of_birth="2014-01-01"), "student.date_of_birth"),  # 12 at start
        (lambda f: f.update(school_id="XYZ"), "school_id"),
        (lambda f: f.update(school_year="2026/28"), "school_year"),
        (lambda f: f.update(school_year="1999/00"), "school_year"),
        (lambda f: f["consent"].update(guardian=None), "consent.guardian"),
        (lambda f: f["consent"].update(student=False), "consent.student"),
        (lambda f: f["consent"].update(given_on="2099-01-01"), "consent.given_on"),
        (lambda f: f.update(career_fields=["kfz", "it", "bau", "handel"]), "career_fields"),
        (lambda f: f.update(career_fields=["kfz", "kfz"]), "career_fields"),
        (
            lambda f: f.update(internship_model="block", internship_days_per_week=2),
            "internship_days_per_week",
        ),
        (lambda f: f["student"].update(email="keine-mail"), "student.email"),
        (lambda f: f["student"].update(given_name="Zey@nep"), "student.given_name"),
        (lambda f: f["student"].update(given_name="Ze\u0000ynep"), "student.given_name"),
        (lambda f: f.update(remark="x" * 501), "remark"),
        (lambda f: f.update(remark="Hinweis \u202eevil"), "remark"),
    ],
)
def test_malformed_intake_gets_422_with_field_and_leaves_nothing(
    rt: LocalRuntime, form: dict, mutate, field: str
) -> None:
    mutate(form)
    before = stored(rt)
    r = post(rt, form)
    assert r.status == 422, r.body
    body = r.json()
    assert field in {e["field"] for e in body["errors"]}
    assert all(e["message"] for e in body["errors"])
    assert_nothing_left(rt, before)


@pytest.mark.parametrize("raw", ["", "null", "[]", "{not json", '"text"', "42", "{}", '{"school_id": null}'])
def test_non_object_bodies_are_rejected(rt: LocalRuntime, raw: str) -> None:
    before = stored(rt)
    r = post(rt, raw=raw)
    assert 400 <= r.status < 500, (raw, r.status, r.body)
    assert "Traceback" not in r.body and "services." not in r.body
    assert_nothing_left(rt, before)


def test_the_issue_examples_say_the_right_thing(rt: LocalRuntime, form: dict) -> None:
    """A 33-character class name is too long in characters, not entries; a formula is no class name."""
    form["class_name"] = "A" * 33
    body = assert_clean_4xx(post(rt, form))
    assert {e["field"]: e["message"] for e in body["errors"]} == {
        "class_name": "Klasse: höchstens 32 Zeichen."
    }
    form["class_name"] = '=HYPERLINK("http://e.vil","A")'
    body = assert_clean_4xx(post(rt, form), "HYPERLINK", "e.vil")
    assert body["errors"] == [
        {
            "field": "class_name",
            "message": "Klasse: erlaubt sind Buchstaben, Ziffern, Leerzeichen und - . / _ ( ); am Anfang ein "
            "Buchstabe oder eine Ziffer.",
        }
    ]
