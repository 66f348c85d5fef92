"""Casework through the local runtime (API Gateway events, EventBridge → SQS → consumers): the caseload learnt
from matching's events, who sees which student (per route: another companion nothing, the office everything, a
substitute read-only during the leave), internships, meetings, the company directory, the Klebeeffekt derived
from the internships, the erasure on withdrawal, and the audit log."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from avdual.runtime import LocalRuntime
from contracts.calendar import local_date
from contracts.events import COMPANION_REASSIGNED, CompanionReassignedData
from contracts.topology import ROUTES
from tests.conftest import OFFICE, VALID_FORM, companion
from tests.integration.test_intake_api import SCHOOL, companion_claims

NOTE = "Vertraulich: Streit zu Hause, Mutter bittet um Rückruf"
TASK = "Lernaufgabe: Kundengespräch führen"
PERSON = "Frau Kässbohrer (Ausbilderin)"
COMPANY = {"name": "Autohaus Ströbel", "town": "Ludwigsburg", "sector": "kfz", "phone": "07141 4711"}


def internship(company_id: str, **kw: Any) -> dict[str, Any]:
    return {
        "company_id": company_id,
        "career_field": "kfz",
        "model": "weekly_days",
        "weekdays": ["mo", "di"],
        "start_date": "2026-09-14",
        "days_completed": 4,
        "learning_task": TASK,
        "contact_person": PERSON,
        **kw,
    }


class World:
    """Two companions of RFS with one student each, and a company."""

    def __init__(self, rt: LocalRuntime) -> None:
        self.rt = rt
        for cid in ("B01", "B02"):
            assert rt.api("POST", "/companions", body=companion(cid, ["RFS"], 1), claims=OFFICE).status == 200
        rt.drain()
        self.students: dict[str, str] = {}
        for n in range(2):
            form = copy.deepcopy(VALID_FORM)
            form["student"]["family_name"] = f"Probe{n}"
            form["remark"] = f"Bemerkung {n}"
            r = rt.api("POST", "/intakes", body=form, claims=SCHOOL)
            assert r.status == 201, r.body
            rt.drain()
            iid = r.json()["intake_id"]
            self.students[rt.api("GET", f"/assignments/{iid}", claims=OFFICE).json()["companion_id"]] = iid
        assert set(self.students) == {"B01", "B02"}
        r = rt.api("POST", "/companies", body=COMPANY, claims=companion_claims("B01"))
        assert r.status == 201, r.body
        self.company = r.json()["company_id"]

    def today(self) -> str:
        return local_date(self.rt.clock.now()).isoformat()


@pytest.fixture
def world(rt: LocalRuntime) -> World:
    return World(rt)


def outbox(rt: LocalRuntime, detail_type: str | None = None) -> list[dict[str, Any]]:
    items = [i for i in rt.scan("casework-outbox") if i.get("record_type") == "outbox"]
    return [
        {**json.loads(i["data"]), "_type": i["detail_type"]}
        for i in sorted(items, key=lambda i: json.loads(i["metadata"])["occurred_at"])
        if detail_type is None or i["detail_type"] == detail_type
    ]


# ------------------------------------------------------------------------------------------ the caseload
def test_a_companion_lists_the_own_students_only_and_the_office_any_caseload(world: World) -> None:
    rt, a, b = world.rt, world.students["B01"], world.students["B02"]
    page = rt.api("GET", "/students", claims=companion_claims("B01"))
    assert page.status == 200, page.body
    (row,) = page.json()["items"]
    assert (row["intake_id"], row["companion_id"], row["status"], row["read_only"]) == (
        a,
        "B01",
        "assigned",
        False,
    )
    assert (row["school_name"], row["class_name"], row["internship_target"]) == (
        "Robert-Franck-Schule Ludwigsburg",
        "AVd1a",
        40,
    )
    assert row["goal_meetings"]["done"] == 0 and row["goal_meetings"]["next_due"] is not None
    assert page.json()["companion_names"] == {"B01": "Begleitung B01"}  # learnt from CompanionUpdated
    other = rt.api("GET", "/students", query={"companion_id": "B02"}, claims=companion_claims("B01"))
    assert other.status == 403
    office = rt.api("GET", "/students", query={"companion_id": "B02"}, claims=OFFICE)
    assert [r["intake_id"] for r in office.json()["items"]] == [b]
    unspecific = rt.api("GET", "/students", claims=OFFICE)
    assert unspecific.status == 422 and unspecific.json()["errors"][0]["field"] == "companion_id"


#: Each casework route of one student with a body that would succeed for the student's own companion.
STUDENT_CALLS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/students/{intake_id}", None),
    ("POST", "/students/{intake_id}/internships", {}),
    ("PATCH", "/students/{intake_id}/internships/{internship_id}", {"days_completed": 7}),
    (
        "POST",
        "/students/{intake_id}/internships/{internship_id}/end",
        {"end_date": "2026-10-30", "days_completed": 10, "end_reason": "completed"},
    ),
    ("POST", "/students/{intake_id}/meetings", {"meeting_date": "2026-10-01", "meeting_type": "parents"}),
]


def test_every_student_route_is_declared_here() -> None:
    declared = {
        (r.method, r.path) for r in ROUTES if r.function == "casework-api" and "{intake_id}" in r.path
    }
    assert declared == {(m, p) for m, p, _ in STUDENT_CALLS}


@pytest.mark.parametrize(("method", "path", "body"), STUDENT_CALLS)
def test_another_companion_finds_nothing_on_any_student_route_and_the_office_everything(
    world: World, method: str, path: str, body: dict[str, Any] | None
) -> None:
    rt, a = world.rt, world.students["B01"]
    created = rt.api("POST", f"/students/{a}/internships", body=internship(world.company), claims=OFFICE)
    assert created.status == 201, created.body
    rt.api(
        "POST",
        f"/students/{a}/meetings",
        body={"meeting_date": "2026-09-30", "meeting_type": "goal_agreement", "note": NOTE},
        claims=companion_claims("B01"),
    )
    url = path.format(intake_id=a, internship_id=created.json()["internship_id"])
    payload = internship(world.company) if body == {} else body
    before = rt.api("GET", f"/students/{a}", claims=OFFICE).json()
    foreign = rt.api(method, url, body=payload, claims=companion_claims("B02"))
    assert (foreign.status, foreign.json()["message"]) == (404, "Nicht gefunden.")
    assert NOTE not in foreign.body
    assert rt.api("GET", f"/students/{a}", claims=OFFICE).json() == before  # nothing changed
    own = rt.api(method, url, body=payload, claims=OFFICE)
    assert own.status in (200, 201), own.body
    if method == "GET":
        assert own.json()["meetings"][0]["note"] == NOTE  # the office reads the notes
        mine = rt.api(method, url, claims=companion_claims("B01")).json()
        assert mine["meetings"][0]["note"] == NOTE  # and the student's companion


# ---------------------------------------------------------------------------------------- internships
def test_an_internship_is_entered_changed_and_ended_with_events_that_carry_no_text(world: World) -> None:
    rt, a = world.rt, world.students["B01"]
    me = companion_claims("B01")
    unknown = rt.api(
        "POST", f"/students/{a}/internships", body=internship("01ARZ3NDEKTSV4RRFFQ69G5FAV"), claims=me
    )
    assert unknown.status == 422 and unknown.json()["errors"][0]["field"] == "company_id"
    block = rt.api(
        "POST",
        f"/students/{a}/internships",
        body=internship(world.company, model="block", weekdays=[]),
        claims=me,
    )
    assert block.status == 422 and "Blockpraktikum" in block.json()["errors"][0]["message"]
    key = {"Idempotency-Key": "internship-0001"}
    r = rt.api("POST", f"/students/{a}/internships", body=internship(world.company), claims=me, headers=key)
    assert r.status == 201, r.body
    again = rt.api(
        "POST", f"/students/{a}/internships", body=internship(world.company), claims=me, headers=key
    )
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json() == r.json()
    iid = r.json()["internship_id"]
    assert (r.json()["company_name"], r.json()["revision"], r.json()["recorded_by"]) == (
        "Autohaus Ströbel",
        1,
        "B01",
    )
    p = rt.api("PATCH", f"/students/{a}/internships/{iid}", body={"days_completed": 12}, claims=me)
    assert p.status == 200 and (p.json()["days_completed"], p.json()["revision"]) == (12, 2)
    bad = rt.api("PATCH", f"/students/{a}/internships/{iid}", body={"end_date": "2026-09-01"}, claims=me)
    assert bad.status == 422
    e = rt.api(
        "POST",
        f"/students/{a}/internships/{iid}/end",
        body={"end_date": "2026-11-27", "days_completed": 20, "end_reason": "completed"},
        claims=me,
    )
    assert e.status == 200 and e.json()["ended"] and e.json()["revision"] == 3
    row = rt.api("GET", "/students", claims=me).json()["items"][0]
    assert (row["internships"], row["internship_days"]) == (1, 20)
    assert row["current_internship"]["company_name"] == "Autohaus Ströbel"
    events = outbox(rt)
    assert sorted((x["_type"], x["revision"]) for x in events) == [
        ("InternshipEnded", 3),
        ("InternshipStarted", 1),
        ("InternshipStarted", 2),
        ("InternshipStarted", 3),  # every change restates the internship with its revision
    ]
    ended = next(x for x in events if x["_type"] == "InternshipEnded")
    assert ended["end_reason"] == "completed" and ended["days_completed"] == 20
    assert TASK not in json.dumps(events) and PERSON not in json.dumps(events)


def test_meetings_count_towards_the_goal_agreements_and_the_note_stays_out_of_events(world: World) -> None:
    rt, a = world.rt, world.students["B01"]
    me = companion_claims("B01")
    future = (local_date(rt.clock.now()) + timedelta(days=1)).isoformat()
    r = rt.api(
        "POST", f"/students/{a}/meetings", body={"meeting_date": future, "meeting_type": "parents"}, claims=me
    )
    assert r.status == 422 and r.json()["errors"][0]["field"] == "meeting_date"
    for day, kind in (
        ("2026-10-20", "goal_agreement"),
        ("2026-11-02", "parents"),
        ("2026-11-20", "goal_agreement"),
    ):
        body = {
            "meeting_date": day,
            "meeting_type": kind,
            "participants": ["student", "guardian"],
            "note": NOTE,
        }
        assert rt.api("POST", f"/students/{a}/meetings", body=body, claims=me).status == 201
    row = rt.api("GET", "/students", claims=me).json()["items"][0]
    assert row["goal_meetings"]["done"] == 2 and row["last_meeting"] == "2026-11-20"
    assert row["goal_meetings"]["next_due"] == "2027-05-31"
    detail = rt.api("GET", f"/students/{a}", claims=me).json()
    assert [m["meeting_date"] for m in detail["meetings"]] == ["2026-11-20", "2026-11-02", "2026-10-20"]
    recorded = outbox(rt, "MeetingRecorded")
    assert len(recorded) == 3 and recorded[0]["participants"] == ["student", "guardian"]
    assert NOTE not in json.dumps(recorded) and "note" not in recorded[0]


# ------------------------------------------------------------------------------------- exit, Klebeeffekt
def test_the_klebeeffekt_is_derived_from_the_internships_not_typed(world: World) -> None:
    rt, a, b = world.rt, world.students["B01"], world.students["B02"]
    typed = {"exit_date": world.today(), "reason": "completed", "destination": "dual_training"}
    refused = rt.api(
        "POST",
        f"/assignments/{a}/exit",
        body={**typed, "with_former_internship_company": True},
        claims=OFFICE,
    )
    assert refused.status == 422
    assert (
        rt.api("POST", f"/students/{a}/internships", body=internship(world.company), claims=OFFICE).status
        == 201
    )
    other = rt.api("POST", "/companies", body={**COMPANY, "name": "Bäckerei Nold"}, claims=OFFICE).json()
    for student, company in ((a, world.company), (b, other["company_id"])):
        r = rt.api(
            "POST", f"/assignments/{student}/exit", body={**typed, "company_id": company}, claims=OFFICE
        )
        assert r.status == 200, r.body
    rt.drain()
    exits = {s: rt.api("GET", f"/students/{s}", claims=OFFICE).json()["exit"] for s in (a, b)}
    assert exits[a]["former_internship_company"] is True and exits[b]["former_internship_company"] is False
    assert rt.api("GET", f"/students/{a}", claims=OFFICE).json()["exit_company_name"] == "Autohaus Ströbel"
    # an internship at the training company entered afterwards changes the comparison, and says so
    late = internship(other["company_id"], start_date="2026-09-21")
    assert (
        rt.api("POST", f"/students/{b}/internships", body=late, claims=companion_claims("B02")).status == 201
    )
    assert rt.api("GET", f"/students/{b}", claims=OFFICE).json()["exit"]["former_internship_company"] is True
    compared = outbox(rt, "DestinationCompanyRecorded")
    assert [(x["intake_id"], x["former_internship_company"]) for x in compared] == [
        (a, True),
        (b, False),
        (b, True),
    ]
    # after the exit the companion still sees the student (status ended), nobody else
    row = rt.api("GET", "/students", claims=companion_claims("B01")).json()["items"][0]
    assert (row["status"], row["destination"]) == ("ended", "dual_training")


# --------------------------------------------------------------------------------- handover, substitute
def test_after_a_handover_the_new_companion_sees_everything_and_the_old_one_nothing(world: World) -> None:
    rt, a = world.rt, world.students["B01"]
    body = {"meeting_date": "2026-10-05", "meeting_type": "goal_agreement", "note": NOTE}
    assert rt.api("POST", f"/students/{a}/meetings", body=body, claims=companion_claims("B01")).status == 201
    at = rt.clock.now()
    data = CompanionReassignedData(
        intake_id=a,
        from_companion_id="B01",
        to_companion_id="B02",
        school_id="RFS",
        school_year="2026/27",
        reassigned_at=at,
        cost_change=0.0,
    )
    detail = {
        "metadata": {
            "version": 1,
            "correlation_id": "t",
            "idempotency_key": f"handover:{a}",
            "occurred_at": at.isoformat(),
        },
        "data": data.model_dump(mode="json"),
    }
    for _ in range(2):  # delivered twice
        rt.put_event_raw(COMPANION_REASSIGNED.source.value, COMPANION_REASSIGNED.detail_type, detail)
    rt.drain()
    new = rt.api("GET", f"/students/{a}", claims=companion_claims("B02"))
    assert new.status == 200 and new.json()["meetings"][0]["note"] == NOTE
    assert [(h["kind"], h["companion_id"]) for h in new.json()["history"]] == [
        ("assigned", "B01"),
        ("reassigned", "B02"),
    ]
    assert new.json()["companion_names"] == {"B01": "Begleitung B01", "B02": "Begleitung B02"}
    assert rt.api("GET", f"/students/{a}", claims=companion_claims("B01")).status == 404
    assert {
        r["intake_id"] for r in rt.api("GET", "/students", claims=companion_claims("B02")).json()["items"]
    } == {
        a,
        world.students["B02"],
    }


def test_a_substitute_reads_the_colleagues_students_during_the_leave_and_changes_nothing(
    world: World,
) -> None:
    rt, a = world.rt, world.students["B01"]
    assert (
        rt.api(
            "POST",
            f"/students/{a}/meetings",
            body={"meeting_date": "2026-10-05", "meeting_type": "goal_agreement", "note": NOTE},
            claims=companion_claims("B01"),
        ).status
        == 201
    )
    # the leave begins after the student's start: the student stays with B01 (matching keeps a begun
    # companionship during a leave) and B02 substitutes
    rt.advance(timedelta(days=2))
    today = local_date(rt.clock.now())
    leave = [
        {
            "start": (today - timedelta(days=1)).isoformat(),
            "end": (today + timedelta(days=5)).isoformat(),
            "substitute_id": "B02",
        }
    ]
    unknown = rt.api(
        "PATCH",
        "/companions/B01",
        body={"leave_periods": [{**leave[0], "substitute_id": "B77"}]},
        claims=OFFICE,
    )
    assert unknown.status == 422 and unknown.json()["errors"][0]["field"] == "leave_periods.0.substitute_id"
    assert rt.api("PATCH", "/companions/B01", body={"leave_periods": leave}, claims=OFFICE).status == 200
    rt.drain()
    sub = companion_claims("B02")
    page = rt.api("GET", "/students", claims=sub).json()
    assert page["substituting_for"] == ["B01"]
    assert {(r["intake_id"], r["read_only"]) for r in page["items"]} == {
        (a, True),
        (world.students["B02"], False),
    }
    detail = rt.api("GET", f"/students/{a}", claims=sub)
    assert (
        detail.status == 200
        and detail.json()["summary"]["read_only"]
        and detail.json()["meetings"][0]["note"] == NOTE
    )
    names = rt.api("GET", "/intakes", query={"companion_id": "B01"}, claims=sub)
    assert [i["intake_id"] for i in names.json()["items"]] == [a]
    form = rt.api("GET", f"/intakes/{a}", claims=sub).json()
    assert (
        form["student"]["family_name"] and form["remark"] is None and form["has_remark"]
    )  # remark: own companion
    assert rt.api("GET", f"/assignments/{a}", claims=sub).status == 200
    write = rt.api(
        "POST",
        f"/students/{a}/meetings",
        body={"meeting_date": "2026-10-06", "meeting_type": "parents"},
        claims=sub,
    )
    assert write.status == 403
    exit_body = {"exit_date": today.isoformat(), "reason": "completed", "destination": "nothing"}
    assert rt.api("POST", f"/assignments/{a}/exit", body=exit_body, claims=sub).status == 404
    assert (
        rt.api("GET", "/intakes", query={"companion_id": "B01"}, claims=companion_claims("B03")).status == 403
    )
    rt.advance(timedelta(days=7))  # the leave is over
    assert rt.api("GET", f"/students/{a}", claims=sub).status == 404
    assert rt.api("GET", f"/intakes/{a}", claims=sub).status == 404
    assert rt.api("GET", f"/assignments/{a}", claims=sub).status == 404
    assert rt.api("GET", "/students", claims=sub).json()["substituting_for"] == []


# ---------------------------------------------------------------------------------- companies, erasure
def test_the_company_directory_is_searched_changed_and_refuses_a_duplicate(world: World) -> None:
    rt = world.rt
    me = companion_claims("B02")
    dup = rt.api("POST", "/companies", body={**COMPANY, "name": " autohaus STRÖBEL "}, claims=me)
    assert dup.status == 422 and dup.json()["errors"][0]["field"] == "name"
    assert (
        rt.api(
            "POST",
            "/companies",
            body={"name": "Kita Sonnenschein", "town": "Asperg", "sector": "soziales"},
            claims=me,
        ).status
        == 201
    )
    assert [c["name"] for c in rt.api("GET", "/companies", query={"q": "asp"}, claims=me).json()] == [
        "Kita Sonnenschein"
    ]
    assert [c["name"] for c in rt.api("GET", "/companies", query={"sector": "kfz"}, claims=me).json()] == [
        "Autohaus Ströbel"
    ]
    patched = rt.api(
        "PATCH",
        f"/companies/{world.company}",
        body={"contact_person": "Herr Nold", "phone": None},
        claims=OFFICE,
    )
    assert patched.status == 200 and (patched.json()["contact_person"], patched.json()["phone"]) == (
        "Herr Nold",
        None,
    )
    assert rt.api("PATCH", f"/companies/{world.company}", body={"name": None}, claims=OFFICE).status == 422
    assert rt.api("GET", "/companies", claims=SCHOOL).status == 403


def test_withdrawal_erases_the_students_casework_and_the_reads_are_audited(world: World) -> None:
    rt, a = world.rt, world.students["B01"]
    me = companion_claims("B01")
    assert (
        rt.api("POST", f"/students/{a}/internships", body=internship(world.company), claims=me).status == 201
    )
    body = {"meeting_date": "2026-10-05", "meeting_type": "parents", "note": NOTE}
    assert rt.api("POST", f"/students/{a}/meetings", body=body, claims=me).status == 201
    assert rt.api("GET", f"/students/{a}", claims=me).status == 200
    assert rt.api("GET", "/students", claims=me).status == 200
    audit = rt.api("GET", "/audit", query={"intake_id": a}, claims=OFFICE).json()["items"]
    casework = {(e["action"], e["role"]) for e in audit if e["service"] == "casework"}
    assert casework == {("create", "companion"), ("read", "companion"), ("list", "companion")}
    assert rt.api("POST", f"/intakes/{a}/withdraw", claims=SCHOOL).status == 200
    rt.drain()
    stored = [i for i in rt.scan("casework") if str(i["pk"]).endswith(a)]
    assert [(i["sk"], i["status"]) for i in stored] == [("case", "withdrawn")]
    assert NOTE not in json.dumps(rt.scan("casework"), default=str) and TASK not in json.dumps(
        rt.scan("casework"), default=str
    )
    assert rt.api("GET", f"/students/{a}", claims=OFFICE).status == 404
    assert rt.api("GET", "/students", claims=me).json()["items"] == []
    assert (
        rt.api("GET", "/companies", claims=me).json()[0]["name"] == "Autohaus Ströbel"
    )  # the directory stays


@pytest.fixture(autouse=True)
def _no_dead_letters(rt: LocalRuntime) -> Iterator[None]:
    yield
    assert rt.dead_letters == []


def test_the_page_is_served_with_its_choices_from_the_contracts(rt: LocalRuntime) -> None:
    import json
    import re

    from contracts.casework import MEETING_TYPE_LABELS
    from contracts.reference import DESTINATION_LABELS

    page = rt.api("GET", "/begleitung")
    assert page.status == 200 and "text/html" in page.headers["Content-Type"]
    assert "script-src 'sha256-" in page.headers["Content-Security-Policy"]
    assert "<h1>AV dual – Begleitung</h1>" in page.body and "/*SCRIPT*/" not in page.body
    config = json.loads(
        re.search(r'<script type="application/json" id="config">(.*?)</script>', page.body)[1]
    )
    assert config["labels"]["meeting_types"] == MEETING_TYPE_LABELS
    assert config["labels"]["destinations"] == DESTINATION_LABELS
