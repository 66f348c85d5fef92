"""Corrections (PATCH → IntakeUpdated), withdrawal (→ IntakeWithdrawn) and the assignment-status projection
fed by matching's events (order-tolerant, idempotent, never resurrecting a withdrawn intake)."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3

from avdual.runtime import LocalRuntime
from contracts import events as ev
from tests.conftest import companion, new_form
from tests.integration.test_intake_api import OFFICE, SCHOOL, companion_claims, intakes, outbox, post


def submit(rt: LocalRuntime, form: dict) -> str:
    r = post(rt, form)
    assert r.status == 201, r.body
    return str(r.json()["intake_id"])


def outbox_details(rt: LocalRuntime, detail_type: str) -> list[dict[str, Any]]:
    return [
        json.loads(i["data"])
        for i in rt.scan("intake-outbox")
        if i.get("record_type") == "outbox" and i["detail_type"] == detail_type
    ]


# --------------------------------------------------------------------------- PATCH
def test_patch_changes_fields_and_publishes_only_their_names(rt: LocalRuntime, form: dict) -> None:
    iid = submit(rt, form)
    r = rt.api(
        "PATCH",
        f"/intakes/{iid}",
        claims=SCHOOL,
        body={"class_name": "AVd1b", "student": {"phone": "0711 123456"}, "german_support": False},
    )
    assert r.status == 200, r.body
    view = r.json()
    assert (
        view["class_name"] == "AVd1b" and view["student"]["phone"] == "0711 123456" and view["version"] == 2
    )
    assert view["student"]["given_name"] == "Zeynep"  # untouched fields stay
    [updated] = outbox_details(rt, "IntakeUpdated")
    assert sorted(updated["changed_fields"]) == ["class_name", "german_support", "student.phone"]
    assert updated["matching_relevant"] is True and updated["class_name"] == "AVd1b"
    assert "0711" not in json.dumps(updated)  # names of changed fields only, no values of personal data
    rt.drain()
    assert rt.stats.by_detail_type["IntakeUpdated"] >= 1


def test_patch_null_removes_optional_fields_and_required_ones_are_422(rt: LocalRuntime, form: dict) -> None:
    form["student"]["phone"] = "0711 1"
    form["remark"] = "Hinweis"
    iid = submit(rt, form)
    r = rt.api("PATCH", f"/intakes/{iid}", body={"student": {"phone": None}, "remark": None}, claims=SCHOOL)
    assert r.status == 200 and r.json()["student"]["phone"] is None
    assert "phone" not in intakes(rt)[0]["student"] and "remark" not in intakes(rt)[0]
    r = rt.api("PATCH", f"/intakes/{iid}", body={"student": {"given_name": None}}, claims=SCHOOL)
    assert r.status == 422 and r.json()["errors"][0]["field"] == "student.given_name"


def test_patch_is_validated_like_a_new_intake(rt: LocalRuntime, form: dict) -> None:
    iid = submit(rt, form)
    for body, field in (
        ({"student": {"date_of_birth": "2099-01-01"}}, "student.date_of_birth"),
        ({"consent": {"guardian": False}}, "consent.guardian"),
        ({"career_fields": ["mond"]}, "career_fields.0"),
        ({"unknown": 1}, "body"),
    ):
        r = rt.api("PATCH", f"/intakes/{iid}", body=body, claims=SCHOOL)
        assert r.status == 422 and field in {e["field"] for e in r.json()["errors"]}, (body, r.body)
    assert intakes(rt)[0]["version"] == 1 and not outbox_details(rt, "IntakeUpdated")


def test_patch_without_change_publishes_nothing(rt: LocalRuntime, form: dict) -> None:
    iid = submit(rt, form)
    r = rt.api("PATCH", f"/intakes/{iid}", body={"class_name": "AVd1a", "student": {}}, claims=SCHOOL)
    assert r.status == 200 and r.json()["version"] == 1
    assert "IntakeUpdated" not in outbox(rt)


def test_guardian_rule_uses_the_submission_date(rt: LocalRuntime, form: dict) -> None:
    """17 at submission: guardian consent stays required for corrections even after the 18th birthday."""
    from common.auth import principal_from_claims
    from common.errors import DomainValidationError
    from services.intake.dal.intakes import IntakeRepository
    from services.intake.logic.update import patch_intake

    today = date.today()
    form["student"]["date_of_birth"] = date(today.year - 17, 1, 1).isoformat()
    form["school_year"] = (
        f"{today.year - 1}/{today.year % 100:02d}"
        if today.month < 8
        else f"{today.year}/{(today.year + 1) % 100:02d}"
    )
    iid = submit(rt, form)
    later = datetime.now(UTC) + timedelta(days=400)
    with rt.lock:
        try:
            patch_intake(
                iid,
                {"consent": {"guardian": False}},
                principal=principal_from_claims(SCHOOL),
                correlation_id="t",
                repo=IntakeRepository(),
                now=later,
            )
        except DomainValidationError as e:
            assert e.errors[0].field == "consent.guardian"
        else:
            raise AssertionError("guardian consent was dropped")


def test_withdrawn_intakes_cannot_be_changed(rt: LocalRuntime, form: dict) -> None:
    iid = submit(rt, form)
    r = rt.api("POST", f"/intakes/{iid}/withdraw", claims=SCHOOL)  # no body: reason defaults
    assert r.status == 200 and r.json()["status"] == "withdrawn"
    assert r.json()["withdrawn_reason"] == "consent_withdrawn"
    r = rt.api("PATCH", f"/intakes/{iid}", body={"class_name": "X"}, claims=SCHOOL)
    assert r.status == 409 and "zurückgezogen" in r.json()["message"]
    [withdrawn] = outbox_details(rt, "IntakeWithdrawn")
    assert withdrawn == {
        "intake_id": iid,
        "school_id": "RFS",
        "school_year": "2026/27",
        "withdrawn_at": withdrawn["withdrawn_at"],
        "reason": "consent_withdrawn",
    }


def test_stale_version_is_409(rt: LocalRuntime, form: dict) -> None:
    from services.intake.dal.intakes import ConditionFailedError, IntakeRepository

    iid = submit(rt, form)
    repo = IntakeRepository()
    with rt.lock:
        record = repo.get(iid)
        assert record is not None
        repo.update_form(record.model_copy(update={"class_name": "A", "version": 2}), expected_version=1)
        try:  # a second writer that read version 1 too
            repo.update_form(record.model_copy(update={"class_name": "B", "version": 2}), expected_version=1)
        except ConditionFailedError:
            pass
        else:
            raise AssertionError("lost update")
    assert intakes(rt)[0]["class_name"] == "A"


def test_list_filters_and_pagination(rt: LocalRuntime, form: dict) -> None:
    ids = [submit(rt, new_form()) for _ in range(5)]
    rt.api("POST", f"/intakes/{ids[0]}/withdraw", claims=SCHOOL)
    seen, cursor = [], None
    while True:
        r = rt.api(
            "GET", "/intakes", claims=SCHOOL, query={"limit": "2", **({"cursor": cursor} if cursor else {})}
        )
        assert r.status == 200, r.body
        page = r.json()
        assert len(page["items"]) <= 2
        seen += [i["intake_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids))  # newest first, each once
    withdrawn = rt.api("GET", "/intakes", claims=SCHOOL, query={"status": "withdrawn"}).json()["items"]
    assert [i["intake_id"] for i in withdrawn] == [ids[0]]
    assert rt.api("GET", "/intakes", claims=SCHOOL, query={"school_year": "2027/28"}).json()["items"] == []
    assert rt.api("GET", "/intakes", claims=SCHOOL, query={"cursor": "bogus"}).status == 422
    office_cursor = rt.api("GET", "/intakes", claims=OFFICE, query={"limit": "1"}).json()["next_cursor"]
    r = rt.api("GET", "/intakes", claims=SCHOOL, query={"cursor": office_cursor})
    assert r.status == 422  # a cursor of another scope is refused


def test_expired_intakes_are_hidden_before_ttl_deletes_them(rt: LocalRuntime, form: dict) -> None:
    iid = submit(rt, form)
    with rt.lock:
        import boto3

        boto3.resource("dynamodb").Table(rt.names["intakes"]).update_item(
            Key={"intake_id": iid},
            UpdateExpression="SET expires_at = :e",
            ExpressionAttributeValues={":e": 1},
        )
    assert rt.api("GET", f"/intakes/{iid}", claims=OFFICE).status == 404
    assert rt.api("GET", "/intakes", claims=OFFICE).json()["items"] == []


# --------------------------------------------------------------------------- projection
def _envelope(spec: ev.EventSpec, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {
            "version": 1,
            "correlation_id": "t",
            "idempotency_key": f"{spec.detail_type}:{data['intake_id']}",
            "occurred_at": datetime.now(UTC).isoformat(),
        },
        "data": data,
    }


def test_projection_is_order_tolerant_and_idempotent(rt: LocalRuntime, form: dict) -> None:
    iid = submit(rt, form)
    t0 = datetime(2026, 9, 20, 8, 0, tzinfo=UTC)
    base = {"intake_id": iid, "school_id": "RFS", "school_year": "2026/27"}
    profile = {"class_name": "AVd1a", "age_band": "16", "gender": "weiblich"}
    facts = [
        (
            ev.STUDENT_WAITLISTED,
            {**base, **profile, "waitlisted_at": t0.isoformat(), "reason": "no_capacity"},
        ),
        (
            ev.COMPANION_ASSIGNED,
            {
                **base,
                **profile,
                "companion_id": "A",
                "assigned_at": (t0 + timedelta(days=3)).isoformat(),
                "from_waitlist": True,
                "waited_days": 3,
                "cost": 1.0,
            },
        ),
        (
            ev.COMPANION_REASSIGNED,
            {
                **base,
                "from_companion_id": "A",
                "to_companion_id": "B",
                "reassigned_at": (t0 + timedelta(days=9)).isoformat(),
                "cost_change": -1.0,
            },
        ),
    ]
    shuffled = facts * 2
    random.Random(3).shuffle(shuffled)
    from services.intake.dal.intakes import IntakeRepository
    from services.intake.logic import reactions

    handlers = {
        ev.STUDENT_WAITLISTED: reactions.on_student_waitlisted,
        ev.COMPANION_ASSIGNED: reactions.on_companion_assigned,
        ev.COMPANION_REASSIGNED: reactions.on_companion_reassigned,
    }
    with rt.lock:
        for spec, data in shuffled:
            env = spec.envelope_model().model_validate(_envelope(spec, data))
            handlers[spec](env.metadata, env.data, repo=IntakeRepository())  # type: ignore[attr-defined]
    [item] = intakes(rt)
    assert (item["status"], item["companion_id"]) == ("assigned", "B")
    assert rt.api("GET", f"/intakes/{iid}", claims=companion_claims("B")).status == 200
    assert rt.api("GET", f"/intakes/{iid}", claims=companion_claims("A")).status == 404


def test_waitlisted_and_let_in_at_the_same_instant_is_assigned(rt: LocalRuntime) -> None:
    from services.intake.dal.intakes import IntakeRepository

    at = datetime(2026, 9, 20, 8, 0, tzinfo=UTC)
    for order in (("waitlisted", "assigned"), ("assigned", "waitlisted")):
        iid = submit(rt, new_form())  # another student each time (the same one twice is a duplicate)
        with rt.lock:
            repo = IntakeRepository()
            for status in order:
                repo.apply_assignment(
                    iid, status=status, companion_id="A" if status == "assigned" else None, at=at
                )
        [item] = [i for i in intakes(rt) if i["intake_id"] == iid]
        assert (item["status"], item.get("companion_id")) == ("assigned", "A"), order


def test_assignment_end_sets_status_and_retention_through_the_bus(rt: LocalRuntime, form: dict) -> None:
    for c in (companion("A", ["RFS"], capacity=2),):
        assert rt.api("POST", "/companions", body=c, claims=OFFICE).status == 200
    iid = submit(rt, form)
    rt.drain()
    data = {
        "intake_id": iid,
        "companion_id": "A",
        "school_id": "RFS",
        "school_year": "2026/27",
        "ended_at": datetime.now(UTC).isoformat(),
        "exit_date": "2027-02-15",
        "reason": "completed",
        "destination": "dual_training",
    }
    rt.put_event_raw(
        ev.ASSIGNMENT_ENDED.source.value,
        ev.ASSIGNMENT_ENDED.detail_type,
        _envelope(ev.ASSIGNMENT_ENDED, data),
    )
    rt.drain()
    [item] = intakes(rt)
    assert item["status"] == "ended"
    # the one retention rule: 1 August 2028 00:00 in Ludwigsburg (contracts/retention.py)
    assert int(item["expires_at"]) == int(datetime(2028, 7, 31, 22, 0, tzinfo=UTC).timestamp())
    assert rt.dead_letters == []


def test_projection_never_touches_withdrawn_or_unknown_intakes(rt: LocalRuntime, form: dict) -> None:
    iid = submit(rt, form)
    rt.api("POST", f"/intakes/{iid}/withdraw", claims=SCHOOL)
    from services.intake.dal.intakes import IntakeRepository

    with rt.lock:
        repo = IntakeRepository()
        assert not repo.apply_assignment(iid, status="assigned", companion_id="A", at=datetime.now(UTC))
        assert not repo.apply_assignment(
            "01ARZ3NDEKTSV4RRFFQ69G5FAV", status="assigned", companion_id="A", at=datetime.now(UTC)
        )
    assert [i["status"] for i in intakes(rt)] == ["withdrawn"]


def test_withdrawal_erases_the_personal_data_in_the_same_write(rt: LocalRuntime, form: dict) -> None:
    form["remark"] = "Vertraulich"
    iid = submit(rt, form)
    r = rt.api("POST", f"/intakes/{iid}/withdraw", body={"reason": "duplicate"}, claims=SCHOOL)
    assert r.status == 200 and r.json()["student"] is None and r.json()["erased_at"]
    [item] = rt.scan("intakes")
    from services.intake.models.intake import ERASED_FIELDS

    assert not set(ERASED_FIELDS) & set(item)
    assert {"school_id", "school_year", "class_name", "status", "erased_at", "withdrawn_reason"} <= set(item)
    assert "Zeynep" not in json.dumps(item, default=str, ensure_ascii=False)


def test_withdrawal_again_erases_an_intake_withdrawn_before_erasure_existed(
    rt: LocalRuntime, form: dict
) -> None:
    iid = submit(rt, form)
    with rt.lock:  # the state an intake withdrawn by an earlier release is in: withdrawn, data still there
        boto3.resource("dynamodb").Table(rt.names["intakes"]).update_item(
            Key={"intake_id": iid},
            UpdateExpression="SET #s = :w",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":w": "withdrawn"},
        )
    assert rt.scan("intakes")[0]["student"]["given_name"] == "Zeynep"
    r = rt.api("POST", f"/intakes/{iid}/withdraw", claims=SCHOOL)
    assert r.status == 200 and r.json()["student"] is None
    assert "student" not in rt.scan("intakes")[0]
    assert outbox_details(rt, "IntakeWithdrawn") == []  # no second fact: the withdrawal was published then
