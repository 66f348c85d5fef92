"""Correct, don't erase: a correction is checked against the version the school loaded (``ETag`` /
``If-Match``; someone else's change meanwhile is a German 409 and nothing is written); a withdrawal names one
of four reasons, every one erases, and the reason (a code, no personal data) travels in ``IntakeWithdrawn`` v2
and is counted by reporting."""

from __future__ import annotations

import json
from typing import Any

import pytest

from avdual.runtime import LocalRuntime
from contracts import events as ev
from contracts.reference import WITHDRAW_REASON_LABELS
from services.reporting.dal.aggregates import counters_of
from tests.integration.test_intake_api import OFFICE, SCHOOL
from tests.integration.test_intake_changes import outbox_details, submit


def test_read_answers_its_version_as_etag(rt: LocalRuntime, form: dict[str, Any]) -> None:
    iid = submit(rt, form)
    r = rt.api("GET", f"/intakes/{iid}", claims=SCHOOL)
    assert r.status == 200 and r.headers["ETag"] == '"1"' and r.json()["version"] == 1


def test_a_correction_with_the_loaded_version_is_stored(rt: LocalRuntime, form: dict[str, Any]) -> None:
    iid = submit(rt, form)
    r = rt.api(
        "PATCH", f"/intakes/{iid}", body={"class_name": "AVd1b"}, headers={"If-Match": '"1"'}, claims=SCHOOL
    )
    assert r.status == 200, r.body
    assert r.headers["ETag"] == '"2"' and r.json()["class_name"] == "AVd1b"
    # the next correction builds on the answer's ETag; a weak ETag and "*" match as well
    for header in ('W/"2"', "*"):
        r = rt.api(
            "PATCH",
            f"/intakes/{iid}",
            body={"wished_job": f"Koch {header}"},
            headers={"If-Match": header},
            claims=SCHOOL,
        )
        assert r.status == 200, (header, r.body)
    assert r.json()["version"] == 4


def test_someone_elses_change_meanwhile_is_a_german_conflict(rt: LocalRuntime, form: dict[str, Any]) -> None:
    iid = submit(rt, form)
    first = rt.api("PATCH", f"/intakes/{iid}", body={"class_name": "AVd1b"}, claims=OFFICE)
    assert first.status == 200
    stale = rt.api(
        "PATCH",
        f"/intakes/{iid}",
        body={"class_name": "AVd1c", "student": {"given_name": "Zeyneb"}},
        headers={"If-Match": '"1"'},
        claims=SCHOOL,
    )
    assert stale.status == 409
    message = stale.json()["message"]
    assert "inzwischen geändert" in message and "neu laden" in message and "nicht gespeichert" in message
    view = rt.api("GET", f"/intakes/{iid}", claims=SCHOOL).json()
    assert (
        view["class_name"] == "AVd1b" and view["student"]["given_name"] == "Zeynep" and view["version"] == 2
    )
    assert len(outbox_details(rt, "IntakeUpdated")) == 1  # only the first correction was published


@pytest.mark.parametrize("header", ['"abc"', "1", '"1", "2"', 'W/"x"'])
def test_a_malformed_if_match_is_refused(rt: LocalRuntime, form: dict[str, Any], header: str) -> None:
    iid = submit(rt, form)
    r = rt.api(
        "PATCH", f"/intakes/{iid}", body={"class_name": "X1"}, headers={"If-Match": header}, claims=SCHOOL
    )
    assert r.status == 422 and rt.api("GET", f"/intakes/{iid}", claims=SCHOOL).json()["version"] == 1


def test_a_withdrawn_intake_cannot_be_corrected(rt: LocalRuntime, form: dict[str, Any]) -> None:
    iid = submit(rt, form)
    rt.api("POST", f"/intakes/{iid}/withdraw", body={"reason": "entered_in_error"}, claims=SCHOOL)
    r = rt.api(
        "PATCH", f"/intakes/{iid}", body={"class_name": "X1"}, headers={"If-Match": '"2"'}, claims=SCHOOL
    )
    assert r.status == 409 and "zurückgezogen" in r.json()["message"]


def test_every_reason_erases_and_is_published_and_counted(rt: LocalRuntime, form: dict[str, Any]) -> None:
    ids = {}
    for reason in WITHDRAW_REASON_LABELS:
        form["student"]["given_name"] = f"Zeynep{reason.replace('_', '')}"
        ids[reason] = submit(rt, form)
    rt.drain()
    for reason, iid in ids.items():
        r = rt.api("POST", f"/intakes/{iid}/withdraw", body={"reason": reason}, claims=SCHOOL)
        assert r.status == 200 and r.json()["student"] is None and r.json()["withdrawn_reason"] == reason
    rt.drain()
    published = {
        json.loads(i["data"])["intake_id"]: (json.loads(i["metadata"]), json.loads(i["data"]))
        for i in rt.scan("intake-outbox")
        if i.get("detail_type") == ev.INTAKE_WITHDRAWN.detail_type
    }
    for reason, iid in ids.items():
        metadata, data = published[iid]
        assert metadata["version"] == ev.INTAKE_WITHDRAWN.version == 2
        assert data["reason"] == reason
        assert set(data) == {"intake_id", "school_id", "school_year", "withdrawn_at", "reason"}
    assert "Zeynep" not in json.dumps(list(published.values()))
    counters = counters_of(c for c in rt.scan("aggregates") if c["pk"] == "year#2026/27")
    assert {k: n for k, n in counters.items() if k.startswith("withdrawn#")} == {
        f"withdrawn#RFS#{reason}": 1 for reason in WITHDRAW_REASON_LABELS
    }


def test_an_unknown_reason_is_a_german_422_and_nothing_is_erased(
    rt: LocalRuntime, form: dict[str, Any]
) -> None:
    iid = submit(rt, form)
    r = rt.api("POST", f"/intakes/{iid}/withdraw", body={"reason": "other"}, claims=SCHOOL)
    assert r.status == 422 and r.json()["errors"][0]["field"] == "reason"
    assert rt.api("GET", f"/intakes/{iid}", claims=SCHOOL).json()["student"]["given_name"] == "Zeynep"
