"""Intake API against moto: valid intake stored + event; malformed input → 4xx, nothing stored or published."""

from __future__ import annotations

import json
from typing import Any

import pytest

from avdual.runtime import LocalRuntime

SCHOOL = {"sub": "school-user", "cognito:groups": "school-RFS"}


def post(rt: LocalRuntime, body: Any = None, raw: str | None = None) -> Any:
    return rt.api("POST", "/intakes", body=body, raw_body=raw, claims=SCHOOL)


def assert_nothing_left(rt: LocalRuntime) -> None:
    assert rt.scan("intakes") == []
    assert rt.pending() == 0


def test_valid_intake_is_stored_and_published_without_personal_data(rt: LocalRuntime, form: dict) -> None:
    r = post(rt, form)
    assert r.status == 201, r.body
    intake_id = r.json()["intake_id"]
    items = rt.scan("intakes")
    assert [i["intake_id"] for i in items] == [intake_id]
    assert items[0]["student"]["family_name"] == "Şahin-Müller"  # byte-exact round trip
    assert rt.pending() >= 1
    rt.drain()
    [projection] = [i for i in rt.scan("aggregates") if i["pk"].startswith("student#")]
    assert projection["status"] == "waitlisted"  # no companion seeded
    assert rt.stats.by_detail_type["IntakeSubmitted"] == 2  # matching + reporting
    raw = json.dumps(rt.scan("aggregates") + rt.scan("assignments"), default=str, ensure_ascii=False)
    assert "Zeynep" not in raw and "Şahin" not in raw and "2010-05-17" not in raw


def _without(form: dict, *path: str) -> dict:
    target = form
    for p in path[:-1]:
        target = target[p]
    del target[path[-1]]
    return form


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda f: _without(f, "student", "family_name"), "student.family_name"),
        (lambda f: f["student"].update(date_of_birth="2010-02-30"), "student.date_of_birth"),
        (lambda f: f["student"].update(date_of_birth="2030-01-01"), "student.date_of_birth"),
        (lambda f: f["student"].update(date_of_birth="1990-01-01"), "student.date_of_birth"),
        (lambda f: f.update(school_id="XYZ"), "school_id"),
        (lambda f: f["consent"].update(guardian=None), "consent.guardian"),
        (lambda f: f.update(career_fields=["kfz", "it", "bau", "handel"]), "career_fields"),
    ],
)
def test_malformed_intake_gets_422_with_field_and_leaves_nothing(rt: LocalRuntime, form: dict, mutate,
                                                                  field: str) -> None:
    mutate(form)
    r = post(rt, form)
    assert r.status == 422, r.body
    body = r.json()
    assert field in {e["field"] for e in body["errors"]}
    assert all(e["message"] for e in body["errors"])
    assert_nothing_left(rt)


@pytest.mark.parametrize("raw", ["", "null", "[]", "{not json", '"text"', "42"])
def test_non_object_bodies_are_rejected(rt: LocalRuntime, raw: str) -> None:
    r = post(rt, raw=raw)
    assert 400 <= r.status < 500, (raw, r.status, r.body)
    assert "Traceback" not in r.body and "services." not in r.body
    assert_nothing_left(rt)


def test_error_body_does_not_echo_personal_data(rt: LocalRuntime, form: dict) -> None:
    form["student"]["date_of_birth"] = "not-a-date-Zeynep"
    r = post(rt, form)
    assert r.status == 422
    assert "Zeynep" not in r.body and "Şahin" not in r.body


def test_unknown_route_and_method(rt: LocalRuntime) -> None:
    assert rt.api("GET", "/nothing").status == 404
    assert rt.api("DELETE", "/intakes").status == 405
