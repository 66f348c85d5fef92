"""How casework writes a case from matching's facts: the fact that opens a case (a first assignment, a
waitlisting) is written without reading first, conditional on no case existing; where a case exists the
write fails and the fact is read and applied as always (docs/performance.md, "Design floor"). Counts the
casework consumer's AWS calls exactly and checks the case each path leaves. Runs on the embedded runtime."""

from __future__ import annotations

from datetime import timedelta

from avdual.runtime import LocalRuntime
from common.events import OutgoingEvent
from contracts.events import (
    COMPANION_ASSIGNED,
    INTAKE_WITHDRAWN,
    STUDENT_WAITLISTED,
    CompanionAssignedData,
    IntakeWithdrawnData,
    StudentWaitlistedData,
)
from services.casework.dal.store import CaseworkStore
from services.casework.models.casework import StudentCase
from tests.integration.test_matching import T0, iid, publish

PROFILE = {
    "school_id": "RFS",
    "school_year": "2026/27",
    "class_name": "AV1",
    "age_band": "16",
    "gender": "weiblich",
}


def assigned(n: int, minutes: int, companion: str = "B1", *, from_waitlist: bool = False) -> OutgoingEvent:
    data = CompanionAssignedData(
        intake_id=iid(n),
        companion_id=companion,
        assigned_at=T0 + timedelta(minutes=minutes),
        from_waitlist=from_waitlist,
        cost=1.0,
        **PROFILE,
    )
    key = f"{COMPANION_ASSIGNED.detail_type}:{iid(n)}:{minutes}"
    return OutgoingEvent(COMPANION_ASSIGNED, data, key, "test", occurred_at=data.assigned_at)


def waitlisted(n: int, minutes: int) -> OutgoingEvent:
    data = StudentWaitlistedData(
        intake_id=iid(n), waitlisted_at=T0 + timedelta(minutes=minutes), reason="no_capacity", **PROFILE
    )
    key = f"{STUDENT_WAITLISTED.detail_type}:{iid(n)}:{minutes}"
    return OutgoingEvent(STUDENT_WAITLISTED, data, key, "test", occurred_at=data.waitlisted_at)


def withdrawn(n: int, minutes: int) -> OutgoingEvent:
    data = IntakeWithdrawnData(
        intake_id=iid(n),
        school_id="RFS",
        school_year="2026/27",
        withdrawn_at=T0 + timedelta(minutes=minutes),
        reason="left_school",
    )
    key = f"{INTAKE_WITHDRAWN.detail_type}:{iid(n)}"
    return OutgoingEvent(INTAKE_WITHDRAWN, data, key, "test", occurred_at=data.withdrawn_at)


def deliver(rt: LocalRuntime, event: OutgoingEvent) -> dict[str, int]:
    """Publish ``event``, deliver it; the casework consumer's AWS calls for it."""
    rt.clear_call_counts()
    publish(rt, event)
    rt.drain()
    return dict(rt.api_calls_by_function.get("casework-consumer", {}))


def case(rt: LocalRuntime, n: int) -> StudentCase | None:
    with rt.lock:
        return CaseworkStore().partition(iid(n))[0]


def kinds(c: StudentCase | None) -> list[str]:
    assert c is not None
    return [h.kind for h in sorted(c.history, key=lambda h: h.at)]


WRITE = {"dynamodb.TransactWriteItems": 1}
READ_AND_WRITE = {"dynamodb.Query": 1, "dynamodb.TransactWriteItems": 1}


def test_a_first_assignment_opens_the_case_with_one_write_and_a_redelivery_changes_nothing(
    rt: LocalRuntime,
) -> None:
    assert deliver(rt, assigned(1, 10)) == WRITE
    first = case(rt, 1)
    assert first is not None and (first.status, first.companion_id, first.version) == ("assigned", "B1", 1)
    assert first.since == T0 + timedelta(minutes=10) and first.expires_at is not None
    # the same fact again: the write finds the case, the read shows nothing new, nothing is written
    assert deliver(rt, assigned(1, 10)) == {"dynamodb.TransactWriteItems": 1, "dynamodb.Query": 1}
    assert case(rt, 1) == first


def test_a_waitlisting_opens_the_case_and_the_assignment_from_the_waitlist_reads_it(rt: LocalRuntime) -> None:
    assert deliver(rt, waitlisted(2, 10)) == WRITE
    assert deliver(rt, assigned(2, 20, from_waitlist=True)) == READ_AND_WRITE
    c = case(rt, 2)
    assert c is not None and (c.status, c.companion_id, c.version) == ("assigned", "B1", 2)
    assert kinds(c) == ["waitlisted", "assigned"]


def test_a_fact_that_usually_opens_a_case_is_applied_to_the_case_that_exists(rt: LocalRuntime) -> None:
    deliver(rt, assigned(3, 10))
    # waitlisted again (the student lost the place): the conditional write fails, the fact is read in
    assert deliver(rt, waitlisted(3, 30)) == {"dynamodb.TransactWriteItems": 2, "dynamodb.Query": 1}
    c = case(rt, 3)
    assert c is not None and (c.status, c.companion_id, c.version) == ("waitlisted", None, 2)
    assert kinds(c) == ["assigned", "waitlisted"]
    # a first assignment (not from the waitlist) of a student casework already knows keeps the history
    assert deliver(rt, assigned(3, 40, "B2")) == {"dynamodb.TransactWriteItems": 2, "dynamodb.Query": 1}
    c = case(rt, 3)
    assert c is not None and (c.status, c.companion_id, c.version) == ("assigned", "B2", 3)
    assert kinds(c) == ["assigned", "waitlisted", "assigned"]


def test_an_erased_student_stays_erased_when_a_late_assignment_arrives(rt: LocalRuntime) -> None:
    deliver(rt, waitlisted(4, 10))
    deliver(rt, withdrawn(4, 20))
    erased = case(rt, 4)
    assert erased is not None and erased.status == "withdrawn"
    deliver(rt, assigned(4, 15))  # matching's assignment, delivered after the withdrawal
    assert case(rt, 4) == erased
