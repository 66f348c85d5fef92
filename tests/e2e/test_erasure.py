"""Withdrawal erases a student's personal data everywhere (docs/datenschutz.md).

A student with distinctive name, birth date, contacts and remark is submitted with classmates, assigned,
read by the office and the companion, given an internship (learning task, contact person) and a meeting with a
note by the companion, counted in reports and alerts; then the school withdraws the intake
(delivered twice, shuffled). Afterwards every place under our control is searched for the student's data:
every table of the topology, the stream records of the outbox tables, every queue and DLQ, every object
in the report bucket, the event archive, every e-mail sent through SES and written to ``out/mail``, and
everything logged. A classmate's name *is* still found in the intakes table (the search works), the
withdrawn student's is not, and reporting still counts the withdrawal.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from avdual.runtime import LocalRuntime
from contracts.reference import SCHOOLS
from tests.conftest import VALID_FORM, companion
from tests.privacy import captured_service_logs, everything_stored, identifiers, leaks, texts_of

OFFICE = {"sub": "office-erasure", "cognito:groups": "office"}
SCHOOL = {"sub": "school-erasure", "cognito:groups": "school-RFS", "cognito:username": "lehrkraft-rfs"}
SCHOOL_NAME = SCHOOLS["RFS"]
STABLE = {"name": "Reitstall am Neckar", "town": "Freiberg am Neckar", "sector": "garten"}
COMPANION = {"sub": "companion-erasure", "cognito:groups": "companion", "custom:companion_id": "BEG-01"}


def _form(given: str, family: str, born: str, **extra: Any) -> dict[str, Any]:
    f = copy.deepcopy(VALID_FORM)
    f["student"].update(given_name=given, family_name=family, date_of_birth=born, **extra)
    return f


TARGET = _form(
    "Jolanthe", "Quastwendel", "2010-03-21", phone="+49 7141 998877", email="jolanthe.q@example.org"
)
TARGET["remark"] = "Vertraulich: Pflegefamilie seit Sommer"
TARGET["wished_job"] = "Tierpflegerin"
CLASSMATES = [_form("Brunhilde", "Ohnesorg", "2009-11-02"), _form("Emil", "Pfeffermann", "2010-07-30")]
#: The casework of the student: free text that is personal data (never in an event, a log line or a report).
NOTE = "Gesprächsnotiz: Jolanthe möchte nach dem Umzug zur Tante nach Freiberg wechseln"
TASK = "Lernaufgabe Hufpflege im Reitstall Quastwendel-Hof"
PERSON = "Herr Zwirnemann (Stallmeister)"
CASEWORK_TEXT = [re.compile(re.escape(t)) for t in (NOTE, TASK, PERSON)]


def test_withdrawal_erases_the_student_everywhere(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    with (
        captured_service_logs() as capture,
        LocalRuntime(
            stage="erasure", log_level="DEBUG", out_dir=tmp_path, duplicate=True, shuffle=True, seed=6
        ) as rt,
    ):
        target_id = _before_withdrawal(rt)
        before = everything_stored(rt)
        assert leaks(identifiers([TARGET], contacts=True), {"intakes": before["table:intakes"]}), (
            "the search must find the student before the withdrawal"
        )
        # the casework text is where it belongs, and nowhere else: no event, stream, queue, archive, log line
        assert {where for where, _ in leaks(CASEWORK_TEXT, before)} == {"table:casework"}
        assert leaks(CASEWORK_TEXT, {"logs": "\n".join(capture.lines)}) == []

        key = {"Idempotency-Key": "withdraw-jolanthe-0001"}  # as the web form sends: stored responses
        r = rt.api(
            "POST",
            f"/intakes/{target_id}/withdraw",
            body={"reason": "consent_withdrawn"},
            claims=SCHOOL,
            headers=key,
        )
        assert r.status == 200, r.body
        rt.drain()
        replayed = rt.api(
            "POST",
            f"/intakes/{target_id}/withdraw",
            body={"reason": "consent_withdrawn"},
            claims=SCHOOL,
            headers=key,
        )
        assert replayed.headers.get("Idempotent-Replayed") == "true" and replayed.json() == r.json()
        again = rt.api("POST", f"/intakes/{target_id}/withdraw", claims=SCHOOL)  # idempotent
        assert again.status == 200 and again.json() == r.json()
        rt.drain()
        _after_withdrawal(rt, target_id)
        stored = everything_stored(rt)
        withdrawn_events = [i for i in rt.scan("intake-outbox") if i["detail_type"] == "IntakeWithdrawn"]
    logs = capfd.readouterr()
    texts = {
        **stored,
        **texts_of(tmp_path),
        "stdout": logs.out,
        "stderr": logs.err,
        "logs": "\n".join(capture.lines),
    }

    # the search is not blind: every kind of place was searched, and the classmates are still stored
    kinds = {k.split(":")[0] for k in stored}
    assert {"table", "stream", "queue", "s3", "archive", "ses"} <= kinds
    records = json.loads(stored["table:idempotency"])
    api_records = [r for r in records if not r["id"].startswith("scheduled-run#")]
    assert len(api_records) == 5  # 4 submissions + withdrawal: searched (besides the scheduled runs)
    assert any(k.startswith("s3:") and k.endswith(".pdf") for k in stored)
    assert len(json.loads(stored["archive:" + rt.physical("events")])) > 10
    assert "alert sent" in texts["logs"] and "audit" in texts["logs"]
    assert leaks(identifiers(CLASSMATES[:1]), {"intakes": stored["table:intakes"]})

    assert leaks(identifiers([TARGET], contacts=True) + CASEWORK_TEXT, texts) == []
    assert len(withdrawn_events) == 1  # one fact, although withdrawn twice and delivered twice


def _before_withdrawal(rt: LocalRuntime) -> str:
    for c in (companion("BEG-01", ["RFS"], capacity=2), companion("BEG-02", ["RFS"], capacity=1)):
        assert rt.api("POST", "/companions", body=c, claims=OFFICE).status == 200
    rt.drain()
    ids = []
    for n, f in enumerate((TARGET, *CLASSMATES, _form("Kunigunde", "Zimtstern", "2010-01-09"))):
        r = rt.api("POST", "/intakes", body=f, claims=SCHOOL, headers={"Idempotency-Key": f"submit-{n:08d}"})
        assert r.status == 201, r.body
        ids.append(r.json()["intake_id"])
        rt.drain()
    target_id = ids[0]
    assert rt.api("GET", f"/assignments/{target_id}", claims=OFFICE).json()["status"] == "assigned"
    cid = rt.api("GET", f"/assignments/{target_id}", claims=OFFICE).json()["companion_id"]
    companion_claims = {**COMPANION, "custom:companion_id": cid}
    view = rt.api("GET", f"/intakes/{target_id}", claims=companion_claims).json()
    assert view["remark"] == TARGET["remark"]  # the companion reads the remark (audited)
    company = rt.api("POST", "/companies", body=STABLE, claims=companion_claims).json()["company_id"]
    internship = {
        "company_id": company,
        "career_field": "garten",
        "model": "block",
        "start_date": "2026-10-05",
        "end_date": "2026-10-16",
        "learning_task": TASK,
        "contact_person": PERSON,
    }
    r = rt.api("POST", f"/students/{target_id}/internships", body=internship, claims=companion_claims)
    assert r.status == 201, r.body
    meeting = {"meeting_date": "2026-10-20", "meeting_type": "goal_agreement", "note": NOTE}
    assert (
        rt.api("POST", f"/students/{target_id}/meetings", body=meeting, claims=companion_claims).status == 201
    )
    casework = rt.api("GET", f"/students/{target_id}", claims=companion_claims).json()
    assert casework["meetings"][0]["note"] == NOTE and casework["internships"][0]["learning_task"] == TASK
    assert rt.api("GET", "/intakes", claims=OFFICE).status == 200
    assert rt.api("POST", "/reports", body={"report_type": "weekly"}, claims=OFFICE).status == 201
    rt.run_schedule("reporting-checks", "waiting-check", at=rt.clock.now() + timedelta(days=16))
    rt.drain()
    return target_id


def _after_withdrawal(rt: LocalRuntime, target_id: str) -> None:
    view = rt.api("GET", f"/intakes/{target_id}", claims=SCHOOL).json()
    assert view["status"] == "withdrawn" and view["erased_at"]
    assert view["student"] is None and view["consent"] is None and view["remark"] is None
    assert (view["school_id"], view["class_name"]) == ("RFS", "AVd1a")
    listed = rt.api("GET", "/intakes", claims=SCHOOL, query={"status": "withdrawn"}).json()["items"]
    assert [(i["intake_id"], i["family_name"]) for i in listed] == [(target_id, None)]
    assignment = rt.api("GET", f"/assignments/{target_id}", claims=OFFICE).json()
    assert assignment["status"] == "withdrawn" and assignment["profile"] is None
    assert rt.api("GET", f"/students/{target_id}", claims=OFFICE).status == 404  # casework erased
    (tombstone,) = [i for i in rt.scan("casework") if i["pk"] == f"student#{target_id}"]
    assert (tombstone["status"], tombstone.get("internships", []), tombstone.get("exit")) == (
        "withdrawn",
        [],
        None,
    )
    assert any(c["name"] == STABLE["name"] for c in rt.api("GET", "/companies", claims=OFFICE).json())
    assert assignment["explanation"] == {} and assignment["companion_id"] is None
    # the freed slot went to the waiting classmate
    statuses = sorted(a["status"] for a in rt.scan("assignments"))
    assert statuses == ["assigned", "assigned", "assigned", "withdrawn"]
    # reporting keeps the anonymous count of the withdrawal
    table = rt.api("GET", "/dashboard/summary", claims=OFFICE).json()["status_by_school"]
    rfs, withdrawn = table["row_labels"].index(SCHOOL_NAME), table["col_labels"].index("zurückgezogen")
    assert table["cells"][rfs][withdrawn] == 1  # one withdrawal, counted (exact: the dashboard is internal)
    assert rt.api("POST", "/reports", body={"report_type": "school_year"}, claims=OFFICE).status == 201
    rt.run_schedule("reporting-renderer", "weekly-report", at=rt.clock.now() + timedelta(days=7))
    rt.drain()
    audit = rt.api("GET", "/audit", claims=OFFICE, query={"intake_id": target_id}).json()["items"]
    assert {"create", "read", "list", "withdraw"} == {e["action"] for e in audit}  # the log keeps the ids
