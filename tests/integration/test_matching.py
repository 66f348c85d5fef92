"""Matching against moto (embedded runtime): registry API, online assignment with explanation and
class cohesion, waitlist, exits, leave, intake updates/withdrawals, rebalance, events via the outbox.

Intake facts are put on the bus directly (as the intake service would), so these tests exercise
matching alone, with exactly the profiles they need.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ulid import ULID

from avdual.runtime import LocalRuntime
from common.event_bus import EventBridgePublisher
from common.events import OutgoingEvent
from contracts import calendar
from contracts.events import (
    INTAKE_SUBMITTED,
    INTAKE_UPDATED,
    INTAKE_WITHDRAWN,
    IntakeSubmittedData,
    IntakeUpdatedData,
    IntakeWithdrawnData,
)
from services.matching.dal.store import OUTBOX
from tests.conftest import OFFICE, companion

T0 = datetime(2026, 9, 1, 8, tzinfo=UTC)
EVENT_DAY = T0.date()
"""The day the intake events of these tests happen: matching decides as of the event's time."""
TODAY = calendar.local_date(datetime.now(UTC))
"""The county's day now, the day the services check an exit date against (contracts/calendar.py)."""


def iid(n: int) -> str:
    """Intake id of student ``n``: a ULID whose time is its submission time (``T0`` + n minutes)."""
    ms = int((T0 + timedelta(minutes=n)).timestamp() * 1000)
    return str(ULID.from_bytes(ms.to_bytes(6, "big") + n.to_bytes(10, "big")))


def companion_claims(cid: str) -> dict[str, str]:
    return {"sub": f"user-{cid}", "cognito:groups": "companion", "custom:companion_id": cid}


def school_claims(school: str) -> dict[str, str]:
    return {"sub": f"staff-{school}", "cognito:groups": f"school-{school}"}


def profile_fields(school: str = "RFS", cls: str = "AVd1", **kw: Any) -> dict[str, Any]:
    return {
        "school_id": school,
        "school_year": kw.pop("school_year", "2026/27"),
        "class_name": cls,
        "age_band": "16",
        "gender": "weiblich",
        **kw,
    }


def publish(rt: LocalRuntime, *events: OutgoingEvent) -> None:
    with rt.lock:
        EventBridgePublisher().publish(list(events))


def submitted(n: int, **kw: Any) -> OutgoingEvent:
    data = IntakeSubmittedData(
        intake_id=iid(n), submitted_at=T0 + timedelta(minutes=n), **profile_fields(**kw)
    )
    return OutgoingEvent(
        INTAKE_SUBMITTED, data, f"IntakeSubmitted:{iid(n)}", "test", occurred_at=data.submitted_at
    )


def updated(n: int, minutes: int = 1000, relevant: bool = True, **kw: Any) -> OutgoingEvent:
    at = T0 + timedelta(minutes=minutes)
    data = IntakeUpdatedData(
        intake_id=iid(n),
        updated_at=at,
        changed_fields=sorted(kw),
        matching_relevant=relevant,
        **profile_fields(**kw),
    )
    return OutgoingEvent(
        INTAKE_UPDATED, data, f"IntakeUpdated:{iid(n)}:{at.isoformat()}", "test", occurred_at=at
    )


def withdrawn(n: int, school: str = "RFS") -> OutgoingEvent:
    at = T0 + timedelta(days=5, minutes=n)
    data = IntakeWithdrawnData(
        intake_id=iid(n), school_id=school, school_year="2026/27", withdrawn_at=at, reason="left_school"
    )
    return OutgoingEvent(INTAKE_WITHDRAWN, data, f"IntakeWithdrawn:{iid(n)}", "test", occurred_at=at)


def seed(rt: LocalRuntime, *companions: dict[str, Any]) -> None:
    for c in companions:
        r = rt.api("POST", "/companions", body=c, claims=OFFICE)
        assert r.status == 200, r.body
    rt.drain()


def submit(rt: LocalRuntime, ns: range | list[int], **kw: Any) -> list[str]:
    publish(rt, *(submitted(n, **kw) for n in ns))
    rt.drain()
    return [iid(n) for n in ns]


def state(rt: LocalRuntime) -> dict[str, tuple[str, str | None]]:
    return {a["intake_id"]: (a["status"], a.get("companion_id")) for a in rt.scan("assignments")}


def used(rt: LocalRuntime) -> dict[str, int]:
    return {c["companion_id"]: int(c["used"]) for c in rt.scan("companions")}


def outbox(rt: LocalRuntime, detail_type: str | None = None) -> list[dict[str, Any]]:
    """Events matching wrote to its outbox (data parts), oldest first."""
    items = sorted(rt.scan(OUTBOX), key=lambda i: json.loads(i["metadata"])["occurred_at"])
    return [json.loads(i["data"]) for i in items if detail_type in (None, i["detail_type"])]


def check_invariants(rt: LocalRuntime) -> None:
    """Counters equal the assignments, nobody above capacity, assignments within the companion's schools."""
    comps = {c["companion_id"]: c for c in rt.scan("companions")}
    per: Counter[str] = Counter()
    for a in rt.scan("assignments"):
        if a["status"] == "assigned":
            per[a["companion_id"]] += 1
            assert a["profile"]["school_id"] in comps[a["companion_id"]]["school_ids"]
            assert float(a["cost"]) == pytest.approx(
                sum(float(v) for v in a["explanation"].values()), abs=1e-6
            )
    for cid, c in comps.items():
        assert int(c["used"]) == per[cid], cid
        assert per[cid] <= int(c["capacity"]), cid
    assert rt.dead_letters == []


EXIT = {
    "exit_date": TODAY.isoformat(),
    "reason": "completed",
    "destination": "dual_training",
    "company_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV",  # the training company of the casework directory
}


# ------------------------------------------------------------------------------------- online assignment
def test_assigns_within_schools_and_waitlists_over_capacity(rt: LocalRuntime) -> None:
    seed(rt, companion("A", ["RFS"], 2), companion("B", ["MPS"], 5))
    ids = submit(rt, range(3))
    s = state(rt)
    assert [s[i] for i in ids] == [("assigned", "A"), ("assigned", "A"), ("waitlisted", None)]
    assert used(rt) == {"A": 2, "B": 0}
    assert [e["intake_id"] for e in outbox(rt, "CompanionAssigned")] == ids[:2]
    (w,) = outbox(rt, "StudentWaitlisted")
    assert w["intake_id"] == ids[2] and w["reason"] == "no_capacity"
    check_invariants(rt)


def test_explanation_is_stored_readable_and_sums_to_the_cost(rt: LocalRuntime) -> None:
    seed(
        rt,
        companion("A", ["RFS"], 40, career_fields=["it"], languages=["de", "tr"]),
        companion("B", ["RFS"], 40),
    )
    (i,) = submit(rt, [0], career_fields=["it", "handel"], parent_contact_language="tr")
    r = rt.api("GET", f"/assignments/{i}", claims=OFFICE)
    assert r.status == 200
    a = r.json()
    assert a["companion_id"] == "A"
    assert a["explanation"] == {
        "continuity": 0.0,
        "class_cohesion": 0.0,
        "career_fields": 0.75,
        "parent_language": 0.0,
        "gender_preference": 0.0,
        "load_balance": 0.0,
    }
    assert a["cost"] == pytest.approx(sum(a["explanation"].values()))
    (event,) = outbox(rt, "CompanionAssigned")
    assert event["cost"] == a["cost"] and "name" not in event


def test_class_cohesion_keeps_a_class_together(rt: LocalRuntime) -> None:
    seed(rt, companion("A", ["RFS"], 40), companion("B", ["RFS"], 40))
    first = submit(rt, [0], cls="AVd1")
    second = submit(rt, [1], cls="AVd1")
    other = submit(rt, [2], cls="AVd2")
    s = state(rt)
    assert s[first[0]] == ("assigned", "A")  # tie → id
    assert s[second[0]] == ("assigned", "A")  # classmate at A outweighs A's higher load
    assert s[other[0]] == ("assigned", "B")  # another class: the emptier companion
    assert (
        rt.api("GET", f"/assignments/{other[0]}", claims=OFFICE).json()["explanation"]["class_cohesion"] == 0
    )


def test_roles_companion_sees_own_students_only_school_has_no_access(rt: LocalRuntime) -> None:
    seed(rt, companion("A", ["RFS"], 1), companion("B", ["RFS"], 1))
    a_student, b_student = submit(rt, range(2))
    assert state(rt)[a_student][1] == "A"
    assert rt.api("GET", f"/assignments/{a_student}", claims=companion_claims("A")).status == 200
    assert rt.api("GET", f"/assignments/{b_student}", claims=companion_claims("A")).status == 404
    assert rt.api("GET", f"/assignments/{a_student}", claims=school_claims("RFS")).status == 403
    assert rt.api("GET", f"/assignments/{a_student}", claims=None).status == 401
    r = rt.api("POST", "/companions", body=companion("C", ["RFS"]), claims=companion_claims("A"))
    assert r.status == 403 and r.json()["message"] == "Keine Berechtigung für diese Aktion."
    assert rt.api("POST", "/assignments/rebalance", claims=school_claims("RFS")).status == 403
    assert rt.api("GET", "/assignments/01JXXXXXXXXXXXXXXXXXXXXXXX", claims=OFFICE).status == 404


# ------------------------------------------------------------------------------------- registry
def test_companion_registry_create_read_patch(rt: LocalRuntime) -> None:
    body = companion(
        "A",
        ["RFS", "MPS"],
        40,
        fte=0.75,
        languages=["de", "tr"],
        career_fields=["kfz"],
        gender="maennlich",
        leave_periods=[{"start": "2026-12-21", "end": "2027-01-06"}],
    )
    assert rt.api("POST", "/companions", body=body, claims=OFFICE).status == 200
    got = rt.api("GET", "/companions/A", claims=OFFICE).json()
    assert got["leave_periods"] == [{"start": "2026-12-21", "end": "2027-01-06", "substitute_id": None}]
    assert got["used"] == 0
    r = rt.api("PATCH", "/companions/A", body={"capacity": 45, "active_until": "2027-07-31"}, claims=OFFICE)
    assert r.status == 200, r.body
    got = r.json()
    assert (got["capacity"], got["active_until"], got["fte"], got["school_ids"]) == (
        45,
        "2027-07-31",
        0.75,
        ["RFS", "MPS"],
    )
    assert (
        rt.api("PATCH", "/companions/A", body={"active_until": None}, claims=OFFICE).json()["active_until"]
        is None
    )
    assert rt.api("PATCH", "/companions/Z", body={"capacity": 1}, claims=OFFICE).status == 404
    assert rt.api("GET", "/companions/Z", claims=OFFICE).status == 404
    assert [c["companion_id"] for c in rt.api("GET", "/companions", claims=OFFICE).json()] == ["A"]
    rt.drain()
    updates = outbox(rt, "CompanionUpdated")
    fields = {"companion_id", "name", "school_ids", "capacity", "active", "updated_at", "capacity_increased"}
    assert len(updates) == 3 and all(set(u) == fields | {"fte", "substitutions"} for u in updates)
    # the companion's name (staff), never e-mail, languages or leave dates
    assert all(u["substitutions"] == [] for u in updates)  # a leave without a substitute is not published
    assert [u["capacity_increased"] for u in updates] == [True, True, False]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"capacity": -1}, "capacity"),
        ({"school_ids": ["XYZ"]}, "school_ids"),
        ({"languages": ["klingonisch"]}, "languages"),
        ({"leave_periods": [{"start": "2026-12-21", "end": "2026-12-01"}]}, "leave_periods.0"),
        ({"name": None}, "name"),
        ({"active_from": "2027-08-01"}, "active_from"),  # after the stored active_until
        ({"unknown": 1}, "unknown"),
    ],
)
def test_patch_validation_is_german_per_field(rt: LocalRuntime, body: dict[str, Any], field: str) -> None:
    seed(rt, companion("A", ["RFS"], 40, active_until="2027-07-31"))
    r = rt.api("PATCH", "/companions/A", body=body, claims=OFFICE)
    assert r.status == 422, r.body
    errors = r.json()["errors"]
    assert any(e["field"].startswith(field) or e["field"] == "body" for e in errors), errors
    assert all(e["message"] and "Input" not in e["message"] for e in errors)


def test_capacity_below_the_caseload_is_previewed_refused_with_names_or_applied_when_confirmed(
    rt: LocalRuntime,
) -> None:
    """Finding 1 of issue 16 (capacity): lowering the capacity below the caseload moves the latest students
    to a companion with room; whoever finds none would go back to the waitlist — named in a 409 unless the
    office confirms; the preview (``dry_run``) shows the same without writing."""
    seed(rt, companion("A", ["RFS"], 3), companion("B", ["RFS"], 1))
    ids = submit(rt, range(4))  # A gets three (cheaper: lower load), B one — or the other way round
    at_a = sorted(i for i, (_, cid) in state(rt).items() if cid == "A")
    for method, path, body in (
        ("PATCH", "/companions/A", {"capacity": 1}),
        ("POST", "/companions", companion("A", ["RFS"], 1)),
    ):
        r = rt.api(method, path, body=body, claims=OFFICE)
        assert r.status == 409, r.body
        message = r.json()["message"]
        assert "zurück auf die Warteliste" in message and "allow_waitlist" in message
        assert sum(("…" + i[-6:]) in message for i in at_a) == len(at_a) - 1  # names the students
    preview = rt.api("PATCH", "/companions/A", body={"capacity": 1}, query={"dry_run": "true"}, claims=OFFICE)
    assert preview.status == 200, preview.body
    change = preview.json()["change"]
    assert change["applied"] is False and change["needs_confirmation"] is True
    assert change["changed_fields"] == ["capacity"] and change["kind"] == "changed"
    assert len(change["to_waitlist"]) == len(at_a) - 1 and preview.json()["capacity"] == 1
    assert all(m["why"] and m["to_companion_id"] is None for m in change["moves"])
    assert used(rt)["A"] == len(at_a)  # nothing written
    done = rt.api(
        "PATCH", "/companions/A", body={"capacity": 1}, query={"allow_waitlist": "true"}, claims=OFFICE
    )
    assert done.status == 200 and done.json()["change"]["applied"] is True
    rt.drain()
    assert used(rt)["A"] == 1 and sorted(e["intake_id"] for e in outbox(rt, "StudentWaitlisted")) == sorted(
        change["to_waitlist"]
    )
    assert {s[0] for s in state(rt).values()} == {"assigned", "waitlisted"} and len(ids) == 4
    check_invariants(rt)


# ------------------------------------------------------------------------------------- waitlist
def test_capacity_raise_works_off_the_waitlist_in_submission_order(rt: LocalRuntime) -> None:
    seed(rt, companion("A", ["RFS"], 1))
    publish(rt, submitted(0))
    rt.drain()
    submit(rt, [2, 1])  # published out of order: the waitlist follows submission time
    seed(rt, companion("A", ["RFS"], 2))
    s = state(rt)
    assert [s[iid(n)][0] for n in (0, 1, 2)] == ["assigned", "assigned", "waitlisted"]
    assigned_from_waitlist = [e for e in outbox(rt, "CompanionAssigned") if e["from_waitlist"]]
    assert len(assigned_from_waitlist) == 1 and assigned_from_waitlist[0]["waited_days"] >= 0


def test_waitlist_api_positions_and_school_scope(rt: LocalRuntime) -> None:
    seed(rt, companion("A", ["RFS"], 1), companion("B", ["MPS"], 0))
    submit(rt, range(3))
    submit(rt, [3], school="MPS")
    r = rt.api("GET", "/waitlist", claims=OFFICE)
    assert r.status == 200
    rows = [(w["school_id"], w["position"], w["intake_id"], w["reason"]) for w in r.json()]
    assert rows == [
        ("MPS", 1, iid(3), "no_capacity"),
        ("RFS", 1, iid(1), "no_capacity"),
        ("RFS", 2, iid(2), "no_capacity"),
    ]
    assert all(w["waited_days"] == (datetime.now(UTC) - T0).days for w in r.json())
    mine = rt.api("GET", "/waitlist", claims=school_claims("RFS")).json()
    assert [w["intake_id"] for w in mine] == [iid(1), iid(2)]
    assert rt.api("GET", "/waitlist", query={"school_id": "MPS"}, claims=school_claims("RFS")).status == 403
    assert rt.api("GET", "/waitlist", query={"school_id": "XX"}, claims=OFFICE).status == 422
    assert rt.api("GET", "/waitlist", claims=companion_claims("A")).status == 403


def test_exit_frees_the_slot_for_the_longest_waiting_eligible_student(rt: LocalRuntime) -> None:
    seed(rt, companion("A", ["RFS"], 1))
    first = submit(rt, [0])[0]
    no_consent = submit(rt, [1], consent_present=False)[0]  # waits longest, but is not eligible
    eligible = submit(rt, [2, 3])
    assert state(rt)[no_consent] == ("waitlisted", None)
    r = rt.api("POST", f"/assignments/{first}/exit", body=EXIT, claims=companion_claims("A"))
    assert r.status == 200, r.body
    assert r.json()["status"] == "ended" and r.json()["exit"]["recorded_by"] == "companion"
    rt.drain()
    s = state(rt)
    assert s[first] == ("ended", "A")
    assert s[eligible[0]] == ("assigned", "A")  # the longest-waiting *eligible* student
    assert s[no_consent] == ("waitlisted", None) and s[eligible[1]] == ("waitlisted", None)
    (ended,) = outbox(rt, "AssignmentEnded")
    assert (ended["intake_id"], ended["destination"], ended["company_id"]) == (
        first,
        "dual_training",
        EXIT["company_id"],
    )
    check_invariants(rt)


def test_exit_is_idempotent_and_conflicts_are_409(rt: LocalRuntime) -> None:
    seed(rt, companion("A", ["RFS"], 1))
    a, _waiting = submit(rt, range(2))
    assert rt.api("POST", f"/assignments/{a}/exit", body=EXIT, claims=OFFICE).status == 200
    again = rt.api("POST", f"/assignments/{a}/exit", body=EXIT, claims=OFFICE)
    assert again.status == 200 and again.json()["exit"]["recorded_by"] == "office"
    other = rt.api("POST", f"/assignments/{a}/exit", body={**EXIT, "destination": "job"}, claims=OFFICE)
    assert other.status == 409 and "bereits" in other.json()["message"]
    rt.drain()
    assert len(outbox(rt, "AssignmentEnded")) == 1
    r = rt.api(
        "POST", f"/assignments/{iid(1)}/exit", body=EXIT, claims=OFFICE
    )  # now assigned from the waitlist
    assert r.status == 200
    assert rt.api("POST", f"/assignments/{a}/exit", body=EXIT, claims=companion_claims("B")).status == 404


def test_exit_validation(rt: LocalRuntime) -> None:
    seed(rt, companion("A", ["RFS"], 1))
    a, waiting = submit(rt, range(2))
    bad = rt.api("POST", f"/assignments/{a}/exit", body={**EXIT, "destination": "nothing"}, claims=OFFICE)
    assert bad.status == 422
    early = rt.api("POST", f"/assignments/{a}/exit", body={**EXIT, "exit_date": "2020-01-01"}, claims=OFFICE)
    assert early.status == 422 and early.json()["errors"][0]["field"] == "exit_date"
    assert rt.api("POST", f"/assignments/{waiting}/exit", body=EXIT, claims=OFFICE).status == 409
    assert (
        rt.api("POST", f"/assignments/{a}/exit", body={**EXIT, "destination": "mond"}, claims=OFFICE).status
        == 422
    )


# ------------------------------------------------------------------------------------- leave, active period
def test_companion_on_leave_today_takes_nobody_and_is_worked_off_when_back(rt: LocalRuntime) -> None:
    leave = [
        {
            "start": (EVENT_DAY - timedelta(days=3)).isoformat(),
            "end": (EVENT_DAY + timedelta(days=10)).isoformat(),
        }
    ]
    seed(rt, companion("A", ["RFS"], 5, leave_periods=leave))
    (i,) = submit(rt, [0])
    assert state(rt)[i] == ("waitlisted", None)
    assert outbox(rt, "StudentWaitlisted")[0]["reason"] == "no_active_companion"
    # a start date after the leave makes the companion eligible
    (j,) = submit(rt, [1], start_date=(EVENT_DAY + timedelta(days=11)).isoformat())
    assert state(rt)[j] == ("assigned", "A")
    # back from leave (the office removes the leave): the waiting student is assigned
    assert rt.api("PATCH", "/companions/A", body={"leave_periods": []}, claims=OFFICE).status == 200
    rt.drain()
    assert state(rt)[i] == ("assigned", "A")


def test_active_period_and_inactive_companions(rt: LocalRuntime) -> None:
    seed(
        rt,
        companion("A", ["RFS"], 5, active_from=(TODAY + timedelta(days=30)).isoformat()),
        companion("B", ["RFS"], 5, active=False),
    )
    (i,) = submit(rt, [0])
    assert state(rt)[i] == ("waitlisted", None)
    assert rt.api("PATCH", "/companions/B", body={"active": True}, claims=OFFICE).status == 200
    rt.drain()
    assert state(rt)[i] == ("assigned", "B")


def test_daily_sweep_assigns_when_capacity_appeared_without_an_event(rt: LocalRuntime) -> None:
    seed(rt, companion("A", ["RFS"], 0))
    (i,) = submit(rt, [0])
    with rt.lock:  # e.g. a lost event: the counter is right, nobody told the consumer
        rt.handler("matching-consumer")  # import
        from common import aws

        aws.table("companions").update_item(
            Key={"companion_id": "A"},
            UpdateExpression="SET #c = :c",
            ExpressionAttributeNames={"#c": "capacity"},
            ExpressionAttributeValues={":c": 1},
        )
    assert rt.run_schedule("matching-consumer", "waitlist-sweep") == {"assigned": 1, "moved": 0}
    assert state(rt)[i] == ("assigned", "A")


# ------------------------------------------------------------------------------------- intake updates
def test_update_changing_the_school_moves_the_student_and_frees_the_old_slot(rt: LocalRuntime) -> None:
    seed(rt, companion("A", ["RFS"], 1), companion("B", ["MPS"], 5))
    mover, waiting = submit(rt, range(2))
    publish(rt, updated(0, school="MPS"))
    rt.drain()
    s = state(rt)
    assert s[mover] == ("assigned", "B") and s[waiting] == ("assigned", "A")
    (moved,) = outbox(rt, "CompanionReassigned")
    assert (moved["from_companion_id"], moved["to_companion_id"], moved["school_id"]) == ("A", "B", "MPS")
    assert rt.api("GET", f"/assignments/{mover}", claims=OFFICE).json()["profile"]["school_id"] == "MPS"
    check_invariants(rt)


def test_update_to_a_full_school_goes_back_to_the_waitlist_keeping_the_submission_time(
    rt: LocalRuntime,
) -> None:
    seed(rt, companion("A", ["RFS"], 1), companion("B", ["MPS"], 1))
    mover = submit(rt, [0])[0]
    later = submit(rt, [5], school="MPS")[0]
    rfs_waiting = submit(rt, [6])[0]
    publish(rt, updated(0, school="MPS"))
    rt.drain()
    s = state(rt)
    assert (
        s[mover] == ("waitlisted", None)
        and s[later] == ("assigned", "B")
        and s[rfs_waiting] == ("assigned", "A")
    )
    mps = rt.api("GET", "/waitlist", query={"school_id": "MPS"}, claims=OFFICE).json()
    assert [w["intake_id"] for w in mps] == [mover]
    # the earlier submission goes first when B frees a slot
    submit(rt, [7], school="MPS")
    assert rt.api("POST", f"/assignments/{later}/exit", body=EXIT, claims=OFFICE).status == 200
    rt.drain()
    assert state(rt)[mover] == ("assigned", "B")
    check_invariants(rt)


def test_update_within_the_school_keeps_the_companion_and_stale_updates_are_ignored(rt: LocalRuntime) -> None:
    seed(rt, companion("A", ["RFS"], 5), companion("B", ["RFS"], 5, career_fields=["it"]))
    (i,) = submit(rt, [0])
    assert state(rt)[i] == ("assigned", "A")
    publish(rt, updated(0, minutes=2000, career_fields=["it"], cls="AVd2"))
    rt.drain()
    publish(rt, updated(0, minutes=1500, cls="AVd9"), updated(0, minutes=3000, relevant=False, cls="AVd7"))
    rt.drain()
    a = rt.api("GET", f"/assignments/{i}", claims=OFFICE).json()
    assert a["companion_id"] == "A" and a["profile"]["class_name"] == "AVd2"
    assert a["profile"]["career_fields"] == ["it"]
    assert outbox(rt, "CompanionReassigned") == []


def test_update_of_a_waiting_student_may_make_them_eligible(rt: LocalRuntime) -> None:
    seed(rt, companion("A", ["RFS"], 5))
    (i,) = submit(rt, [0], consent_present=False)
    assert state(rt)[i] == ("waitlisted", None)
    publish(rt, updated(0, consent_present=True))
    rt.drain()
    assert state(rt)[i] == ("assigned", "A")


def test_update_before_its_submission_admits_the_student_once(rt: LocalRuntime) -> None:
    seed(rt, companion("A", ["RFS"], 5))
    publish(rt, updated(0, cls="AVd3"))
    rt.drain()
    submit(rt, [0], cls="AVd1")
    a = rt.api("GET", f"/assignments/{iid(0)}", claims=OFFICE).json()
    assert (a["status"], a["profile"]["class_name"]) == ("assigned", "AVd3")
    assert a["submitted_at"].startswith("2026-09-01T08:00")  # from the ULID
    assert len(outbox(rt, "CompanionAssigned")) == 1


# ------------------------------------------------------------------------------------- withdrawal
def test_withdrawal_before_submission_leaves_no_ghost_and_frees_nothing(rt: LocalRuntime) -> None:
    seed(rt, companion("A", ["RFS"], 1))
    publish(rt, withdrawn(0))
    rt.drain()
    submit(rt, [0])
    publish(rt, updated(0, cls="AVd2"))
    rt.drain()
    assert state(rt) == {iid(0): ("withdrawn", None)}
    assert used(rt) == {"A": 0} and outbox(rt, "CompanionAssigned") == []


def test_withdrawal_of_an_assigned_student_erases_the_profile_and_frees_the_slot(rt: LocalRuntime) -> None:
    seed(rt, companion("A", ["RFS"], 1))
    a, waiting = submit(rt, range(2))
    publish(rt, withdrawn(0), withdrawn(0))
    rt.drain()
    s = state(rt)
    assert s[a] == ("withdrawn", None) and s[waiting] == ("assigned", "A")
    item = next(x for x in rt.scan("assignments") if x["intake_id"] == a)
    assert "profile" not in item and "class_name" not in item and int(item["expires_at"]) > 0
    check_invariants(rt)


# ------------------------------------------------------------------------------------- rebalance
def test_rebalance_dry_run_lists_moves_and_apply_moves_with_events(rt: LocalRuntime) -> None:
    seed(rt, companion("A", ["RFS"], 3))
    # three classes (one classmate elsewhere would add class-cohesion cost to a move)
    ids = [
        submit(rt, [n], cls=f"AVd{n}", career_fields=["it"], parent_contact_language="ar")[0]
        for n in range(3)
    ]
    seed(rt, companion("B", ["RFS"], 3, career_fields=["it"], languages=["de", "ar"]))
    dry = rt.api("POST", "/assignments/rebalance", query={"dry_run": "true"}, claims=OFFICE)
    assert dry.status == 200, dry.body
    plan = dry.json()
    assert plan["dry_run"] and plan["moves"] and plan["applied"] == 0
    assert all(m["from_companion_id"] == "A" and m["to_companion_id"] == "B" for m in plan["moves"])
    assert plan["total_cost_after"] < plan["total_cost_before"]
    assert set(state(rt).values()) == {("assigned", "A")}  # nothing changed
    stale = rt.api("POST", "/assignments/rebalance", query={"dry_run": "false"}, claims=OFFICE)
    assert stale.status == 409 and "nicht mehr aktuell" in stale.json()["message"]  # apply needs the preview
    query = {"dry_run": "false", "plan_id": plan["plan_id"]}
    done = rt.api("POST", "/assignments/rebalance", query=query, claims=OFFICE).json()
    assert (
        done["applied"] == len(plan["moves"]) and done["skipped"] == 0 and done["plan_id"] == plan["plan_id"]
    )
    assert all(m["why"].startswith("Kostenersparnis") for m in done["moves"])
    rt.drain()
    moved = {m["intake_id"] for m in plan["moves"]}
    s = state(rt)
    assert all(s[i] == ("assigned", "B") for i in moved) and all(s[i][0] == "assigned" for i in ids)
    events = outbox(rt, "CompanionReassigned")
    assert {e["intake_id"] for e in events} == moved and all(e["cost_change"] < 0 for e in events)
    for i in moved:  # the stored explanation is the rebalance's and sums to the cost
        a = rt.api("GET", f"/assignments/{i}", claims=OFFICE).json()
        assert a["cost"] == pytest.approx(sum(a["explanation"].values()))
    again = rt.api("POST", "/assignments/rebalance", query={"dry_run": "true"}, claims=OFFICE).json()
    assert again["moves"] == []  # the optimum is stable
    replay = rt.api("POST", "/assignments/rebalance", query=query, claims=OFFICE)
    assert replay.status == 409  # the previewed plan is gone: applying it again is refused, not repeated
    check_invariants(rt)


def test_rebalance_assigns_waiting_students_and_swaps_full_companions_in_one_cycle(rt: LocalRuntime) -> None:
    seed(
        rt,
        companion("A", ["RFS"], 1, career_fields=["kfz"], languages=["tr"]),
        companion("B", ["RFS"], 1, career_fields=["it"], languages=["ar"]),
    )
    # B is unavailable when the IT student arrives, so A gets them; then B takes the KFZ student
    assert rt.api("PATCH", "/companions/B", body={"active": False}, claims=OFFICE).status == 200
    publish(rt, submitted(0, career_fields=["it"], parent_contact_language="ar"))
    rt.drain()
    assert rt.api("PATCH", "/companions/B", body={"active": True}, claims=OFFICE).status == 200
    publish(rt, submitted(1, career_fields=["kfz"], parent_contact_language="tr"))
    rt.drain()
    assert state(rt) == {iid(0): ("assigned", "A"), iid(1): ("assigned", "B")}
    preview = rt.api("POST", "/assignments/rebalance", claims=OFFICE).json()
    query = {"dry_run": "false", "plan_id": preview["plan_id"]}
    done = rt.api("POST", "/assignments/rebalance", query=query, claims=OFFICE).json()
    assert done["applied"] == 2, done
    assert state(rt) == {iid(0): ("assigned", "B"), iid(1): ("assigned", "A")}
    check_invariants(rt)


# ------------------------------------------------------------------------------------- make room online
def test_a_waiting_student_gets_in_when_a_shared_companion_can_shift_a_student(rt: LocalRuntime) -> None:
    """B serves EBS and CSS and is full of a CSS student, CSS's own companion C has room, EBS's A is
    full: the waiting EBS student gets B's place, the CSS student moves to C (fewest moves)."""
    seed(rt, companion("A", ["EBS"], 1), companion("B", ["EBS", "CSS"], 1), companion("C", ["CSS"], 2))
    (css,) = submit(rt, [0], school="CSS")
    assert state(rt)[css] == ("assigned", "B")  # tie with C, broken by id
    ebs = submit(rt, [1, 2], school="EBS")
    s = state(rt)
    assert s[ebs[0]] == ("assigned", "A") and s[ebs[1]] == ("assigned", "B") and s[css] == ("assigned", "C")
    (moved,) = outbox(rt, "CompanionReassigned")
    assert (moved["intake_id"], moved["from_companion_id"], moved["to_companion_id"]) == (css, "B", "C")
    (late,) = [e for e in outbox(rt, "CompanionAssigned") if e["from_waitlist"]]
    assert late["intake_id"] == ebs[1]
    # a school on its own never shifts anybody: RFS waits
    seed(rt, companion("R", ["RFS"], 0))
    (rfs,) = submit(rt, [3])
    assert state(rt)[rfs] == ("waitlisted", None) and len(outbox(rt, "CompanionReassigned")) == 1
    check_invariants(rt)


def test_reads_of_assignments_waitlist_and_exits_are_in_the_audit_log(rt: LocalRuntime) -> None:
    seed(rt, companion("A", ["RFS"], 1))
    assigned, waiting = submit(rt, range(2))
    a, b = companion_claims("A"), companion_claims("B")
    assert rt.api("GET", f"/assignments/{assigned}", claims=a).status == 200
    assert rt.api("GET", f"/assignments/{assigned}", claims=b).status == 404  # not shown, not audited
    assert rt.api("GET", "/waitlist", claims=school_claims("RFS")).status == 200
    assert rt.api("POST", f"/assignments/{assigned}/exit", body=EXIT, claims=a).status == 200
    log = rt.api("GET", "/audit", claims=OFFICE).json()["items"]
    matching = [
        (e["service"], e["action"], e["actor"], e["role"], e["intake_ids"])
        for e in log
        if e["service"] == "matching"
    ]
    assert matching == [
        ("matching", "exit", "user-A", "companion", [assigned]),
        ("matching", "list", "staff-RFS", "school", [waiting]),
        ("matching", "read", "user-A", "companion", [assigned]),
    ]
    assert all(e["purpose"] for e in log)


def test_the_offices_rebalance_and_registry_changes_are_in_the_audit_log(rt: LocalRuntime) -> None:
    """Preview (students it would move: ``list``) and apply (students moved: ``assign``) of a capacity
    change and of a rebalance; a change that moves nobody writes nothing."""
    seed(rt, companion("A", ["RFS"], 1))
    # own classes (a classmate elsewhere would add class-cohesion cost to a move)
    it_ar = {"career_fields": ["it"], "parent_contact_language": "ar"}
    _, waiting = [submit(rt, [n], cls=f"AVd{n}", **it_ar)[0] for n in range(2)]
    raise_a = {"capacity": 2}
    r = rt.api("PATCH", "/companions/A", body=raise_a, query={"dry_run": "true"}, claims=OFFICE)
    assert r.status == 200 and r.json()["change"]["placements"], r.body
    assert rt.api("PATCH", "/companions/A", body=raise_a, claims=OFFICE).status == 200
    rt.drain()
    assert state(rt)[waiting] == ("assigned", "A")
    # B fits both better (career field, parents' language): the rebalance moves them
    seed(rt, companion("B", ["RFS"], 2, career_fields=["it"], languages=["de", "ar"]))
    preview = rt.api("POST", "/assignments/rebalance", query={"dry_run": "true"}, claims=OFFICE).json()
    moved = sorted(m["intake_id"] for m in preview["moves"])
    assert moved
    q = {"dry_run": "false", "plan_id": preview["plan_id"]}
    assert rt.api("POST", "/assignments/rebalance", query=q, claims=OFFICE).json()["applied"] == len(moved)
    log = rt.api("GET", "/audit", claims=OFFICE).json()["items"]
    office = [(e["action"], sorted(e["intake_ids"])) for e in reversed(log) if e["service"] == "matching"]
    assert office == [
        ("list", [waiting]),  # capacity preview: who would get the place
        ("assign", [waiting]),  # applied
        ("list", moved),  # rebalance preview
        ("assign", moved),  # applied
    ]
    assert all(e["role"] == "office" and e["purpose"].startswith("Koordination") for e in log)
    check_invariants(rt)


# ----------------------------------------------------------------------------- findings of the registry issue
def test_an_exit_at_a_one_school_companion_lets_a_student_of_a_linked_school_in_at_once(
    rt: LocalRuntime,
) -> None:
    """The linked-school finding: X serves only MPS (nobody of MPS waits), S serves MPS, OWS and EBS and is
    full with an MPS student, OWS and EBS students wait. An exit at X is used in the same delivery: S's MPS
    student moves to X (``CompanionReassigned``, cause ``make_room``), the longest-waiting one gets S."""
    seed(rt, companion("X", ["MPS"], 1), companion("S", ["MPS", "OWS", "EBS"], 1))
    (m1,) = submit(rt, [0], school="MPS")
    (m2,) = submit(rt, [1], school="MPS")
    ows, ebs = submit(rt, [2], school="OWS")[0], submit(rt, [3], school="EBS")[0]
    s = state(rt)
    assert {s[m1][1], s[m2][1]} == {"X", "S"} and s[ows] == s[ebs] == ("waitlisted", None)
    at_x = m1 if s[m1][1] == "X" else m2
    at_s = m2 if at_x == m1 else m1
    r = rt.api("POST", f"/assignments/{at_x}/exit", body=EXIT, claims=OFFICE)
    assert r.status == 200, r.body
    rt.drain()  # one delivery of AssignmentEnded; no sweep runs
    s = state(rt)
    assert s[at_s] == ("assigned", "X") and s[ows] == ("assigned", "S") and s[ebs] == ("waitlisted", None)
    (moved,) = outbox(rt, "CompanionReassigned")
    assert (moved["intake_id"], moved["cause"]) == (at_s, "make_room")
    history = rt.api("GET", f"/assignments/{at_s}", claims=OFFICE).json()["history"]
    assert history[-1]["cause"] == "make_room" and history[-1]["from_companion_id"] == "S"
    assert history[-1]["why"] == f"Macht bei S Platz für eine wartende Person (…{ows[-6:]}); wechselt zu X."
    placed = rt.api("GET", f"/assignments/{ows}", claims=OFFICE).json()["history"]
    assert placed[-1]["cause"] == "waitlist" and placed[-1]["why"].startswith("Von der Warteliste")
    check_invariants(rt)


def test_a_leave_ends_on_its_date_under_the_simulated_clock() -> None:
    """The leave finding: advancing the local clock past the end of a companion's leave, the daily sweep (as
    of its scheduled time) assigns the waiting students, and their waiting days count on the same clock."""
    start = datetime(2030, 10, 7, 8, tzinfo=UTC)  # Monday; the leave ends Wednesday 9 October (inclusive)
    with LocalRuntime(stage="leave", log_level="ERROR", clock_start=start) as rt:
        leave = [{"start": "2030-10-01", "end": "2030-10-09"}]
        seed(rt, companion("A", ["RFS"], 5, leave_periods=leave))
        at = rt.clock.now()
        ids = [f"01{n:024d}" for n in range(3)]
        publish(
            rt,
            *(
                OutgoingEvent(
                    INTAKE_SUBMITTED,
                    IntakeSubmittedData(
                        intake_id=i, submitted_at=at, **profile_fields(school_year="2030/31", cls=f"K{n}")
                    ),
                    f"IntakeSubmitted:{i}",
                    "test",
                    occurred_at=at,
                )
                for n, i in enumerate(ids)
            ),
        )
        rt.drain()
        assert {state(rt)[i] for i in ids} == {("waitlisted", None)}
        rt.advance(timedelta(days=2))  # Wednesday 10:00: the last day of the leave, the sweep ran at 06:30
        assert {state(rt)[i] for i in ids} == {("waitlisted", None)}
        rt.advance(timedelta(days=1))  # Thursday: back from leave; the 06:30 sweep assigned them
        assert {state(rt)[i] for i in ids} == {("assigned", "A")}
        assigned = outbox(rt, "CompanionAssigned")
        assert {e["waited_days"] for e in assigned} == {2}  # Monday 10:00 → Thursday 06:30
        assert {e["assigned_at"][:16] for e in assigned} == {"2030-10-10T04:30"}  # the sweep's scheduled time
        check_invariants(rt)
